// glia::snn, a spiking network engine: LIF (current- or conductance-based synapses, adaptive
// threshold), Izhikevich, Poisson and tensor-driven inputs, CSR projections with delays in a ring
// buffer, pair-based STDP with traces. Units: ms, mV, Hz.
//
// Time step t (0-based) runs, for every neuron block in parallel:
//   1. deliver: the ring-buffer slot of step t-1, then the spikes of step t-1 (delay 0) into the
//      block's own targets; STDP updates of the block's own synapses;
//   2. update: the state of the block's neurons (exact exponential integration for LIF currents);
//   3. threshold and reset, appending the block's spikes of step t.
// Each block owns its neurons and their incoming synapses (owner computes), and every target sees
// its inputs in the same order (spikes by neuron index, synapses in row order) whatever the block
// count, so results are bit-identical for a seed at any thread count. Random numbers come from
// glia::Rng streams keyed by (seed, population, step, 256-neuron block), never by thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace glia::snn {

enum class Model : uint8_t { lif, izhikevich, poisson, spike_input };
enum class Synapse : uint8_t { current, conductance };
enum class Reset : uint8_t { value, subtract };
enum class Receptor : uint8_t { exc, inh };
// tensor: the synapses come from a (S, 3|4) tensor (pre, post, weight[, delay_ms]) handed to
// snn.simulate; it becomes an explicit_list before the network is built.
enum class Connect : uint8_t { random, all_to_all, one_to_one, explicit_list, tensor };
enum class Stdp : uint8_t { none, additive, multiplicative };

struct PopulationSpec {
  std::string name;
  int64_t size = 0;
  Model model = Model::lif;
  Synapse synapse = Synapse::current;
  Reset reset = Reset::value;
  // LIF: tau_m dv/dt = (v_rest - v) + I (current) or + g_e (e_exc - v) + g_i (e_inh - v) (conductance,
  // g in units of the leak conductance); current inputs I = ge + gi + i_ext are in mV.
  double tau_m = 20, v_rest = -65, v_thresh = -50, v_reset = -65, refractory_ms = 0;
  double tau_e = 5, tau_i = 10;
  double e_exc = 0, e_inh = -80;
  double i_ext = 0;
  double v_init_lo = NAN, v_init_hi = NAN;  // initial v uniform in [lo, hi]; NaN: v_rest (izh: c)
  // Adaptive threshold: v_thresh + theta, theta += theta_inc per spike, decays with tau_theta
  // (tau_theta = 0: no decay, the homeostatic threshold of Diehl & Cook).
  double theta_inc = 0, tau_theta = 0;
  // Izhikevich (2003): v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u); v >= v_thresh
  // (default 30) -> v = c, u += d.
  double a = 0.02, b = 0.2, c = -65, d = 8;
  // Poisson: constant rate_hz, or per-neuron rates from the input tensor.
  double rate_hz = 0;
  bool rates_from_input = false;
  // STDP trace of this population (used when it is pre or post of a plastic projection).
  double trace_tau = 20;
  bool trace_nearest = false;  // trace set to 1 on a spike instead of incremented
  std::string where;           // "file:line:col" of its declaration, for error messages
};

struct ProjectionSpec {
  std::string from, to;
  Receptor receptor = Receptor::exc;
  Connect connect = Connect::random;
  double p = 0;                 // random: connection probability
  bool autapses = true;         // random/all_to_all within one population
  double weight_lo = 0, weight_hi = 0;  // uniform in [lo, hi] (equal: constant)
  double delay_lo = 0, delay_hi = 0;    // ms, uniform, rounded to steps
  std::vector<int64_t> pre, post;       // explicit_list: local indices
  std::vector<double> weights, delays;  // explicit_list: one per synapse (delays may be empty)
  Stdp stdp = Stdp::none;
  double eta_pre = 0;    // depression on a pre spike: w -= eta_pre * post_trace (* w)
  double eta_post = 0;   // potentiation on a post spike: w += eta_post * pre_trace (* (w_max - w))
  double w_min = 0, w_max = 1;
  std::string where;
};

struct NetworkSpec {
  std::vector<PopulationSpec> populations;
  std::vector<ProjectionSpec> projections;
  std::string origin;  // file name or preset name
};

// Parses a network TOML file; errors are glia::config_error("file:line:col: ...").
NetworkSpec parse_network_file(const std::filesystem::path& file);
NetworkSpec parse_network(std::string_view text, const std::string& origin);
// Built-in presets. cuba: Vogels & Abbott (2005) as in Brian2's examples/CUBA.py with n neurons
// (80 % excitatory) and p = 80 / n (0.02 at n = 4000).
NetworkSpec preset(const std::string& name, int64_t n = 4000);
// Checks ranges and cross references; throws config_error naming the place. build: the spec is
// about to be simulated, so every synapse must be known (no connect = tensor left).
void validate(const NetworkSpec& spec, double dt_ms, bool build = true);

// What runs record; successive runs append. Spikes are (step, global neuron index) in
// step-then-index order; rate bins count from the first recorded step (origin).
struct Recorder {
  bool spikes = true;
  double rate_bin_ms = 10;
  std::vector<int64_t> trace_neurons;  // global indices whose v is sampled after every step

  int64_t origin = -1;
  std::vector<int64_t> spike_steps;
  std::vector<int32_t> spike_neurons;
  std::vector<std::vector<int64_t>> bin_counts;  // [population][bin]
  std::vector<std::vector<double>> traces;       // [k][step]
  int64_t events = 0;                            // synaptic events delivered
};

class Network {
 public:
  // partitions: neuron blocks run in parallel (0: one per TBB arena slot, fewer for small nets).
  // The result does not depend on it.
  Network(const NetworkSpec& spec, double dt_ms, uint64_t seed, int partitions = 0);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Runs `steps` time steps from the current state; rec may be null. `cancelled`, if given, is
  // polled every 1024 steps and stops the run early (returns false).
  bool run(int64_t steps, Recorder* rec, const std::function<bool()>& cancelled = {});

  // Poisson rates (Hz) of population `pop`, one per neuron (rates_from_input populations).
  void set_rates(int pop, std::span<const double> rates_hz);
  // Spike-input population: a (steps, size) row-major 0/1 raster, row t used at step t (modulo).
  void set_spike_input(int pop, std::vector<uint8_t> raster, int64_t steps);
  // Resets membrane state, synaptic variables, traces, ring buffers and refractoriness; weights
  // and adaptive thresholds are kept (they are what a network learns).
  void reset_state();
  // Switches every STDP projection on or off (weights freeze while off).
  void set_learning(bool on);
  // Diehl & Cook weight normalisation: scales each post neuron's incoming weights of projection
  // `proj` to sum to `total`.
  void normalize_incoming(int proj, double total);
  // Dense (n_pre, n_post) weight matrix of a projection (0 where there is no synapse).
  std::vector<double> weights(int proj) const;

  int64_t size() const;                  // neurons in all populations
  int64_t step() const;                  // steps simulated so far
  int partitions() const;
  int population_index(const std::string& name) const;
  int projection_count() const;
  int64_t first(int pop) const;          // global index of its first neuron
  int64_t synapse_count() const;
  const NetworkSpec& spec() const;
  std::span<const double> voltages() const;
  std::span<const double> thresholds(int pop) const;  // theta of an adaptive population

  struct Impl;

 private:
  Impl* m_;
};

// Summary statistics of a recorded run over populations [pops] (empty: all non-input ones).
struct Summary {
  int64_t total_spikes = 0;
  double mean_rate_hz = 0;
  double cv_isi = 0;  // mean over neurons with >= 3 spikes of std(ISI)/mean(ISI) (ddof 0)
};
Summary summarize(const Network& net, const Recorder& rec, double duration_ms);

// SVG raster plot (one dot per spike, coloured by population) with population rates beneath.
struct RasterStyle {
  double width = 900, raster_height = 420, rate_height = 160;
  int64_t max_dots = 200000;  // above this, spikes are thinned deterministically
};
std::string raster_svg(std::span<const int64_t> spike_steps, std::span<const int64_t> spike_neurons,
                       double dt_ms, int64_t steps, std::span<const int64_t> pop_first,
                       std::span<const int64_t> pop_size, std::span<const std::string> pop_names,
                       std::span<const double> rates, int64_t bins, const RasterStyle& style = {});

}  // namespace glia::snn
