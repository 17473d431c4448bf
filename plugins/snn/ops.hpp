// Operators over the glia::snn engine.
#pragma once

#include <glia/plugin.hpp>
#include <glia/snn.hpp>


#include <chrono>
#include <fstream>
#include <sstream>

namespace glia::snn {

// snn.simulate: runs a network (a built-in preset or a TOML network file) for duration_ms.
class Simulate {
 public:
  static Descriptor describe() {
    return Descriptor("snn.simulate", "Simulates a spiking network and records spikes, rates and voltages.")
        .doc("The network is a built-in preset (model = \"cuba\": Vogels & Abbott 2005 with `neurons` "
             "neurons, 80 synapses per neuron) or a TOML network file (model = \"file\", see "
             "configs/networks/cuba.toml for the format). LIF neurons with current synapses are "
             "integrated exactly; conductance synapses by exponential Euler; Izhikevich neurons by "
             "forward Euler. Outputs: spikes (S, 2) int64 rows (step, global neuron index), time = "
             "step * dt_ms; rates (P, bins) in Hz per population; populations (P, 2) int64 rows "
             "(first global index, size); voltages (K, steps) of the trace_neurons. The optional "
             "input feeds the population declared with rates_from_input (rates in Hz, shape (size)) "
             "or model = \"spike_input\" (0/1 raster, shape (steps, size), repeated if shorter).")
        .citation("Vogels & Abbott (2005), J. Neurosci. 25(46):10786; Brette et al. (2007), J. Comput. "
                  "Neurosci. 23:349; Izhikevich (2003), IEEE TNN 14(6):1569")
        .capabilities(GLIA_CAP_DETERMINISTIC | GLIA_CAP_CANCELLABLE | GLIA_CAP_REPORTS_PROGRESS)
        .param_enum("model", "cuba", {"cuba", "file"}, "Built-in network preset, or 'file' to read `network`.")
        .param_path("network", "", "TOML network file (model = \"file\").")
        .param_int("neurons", 4000, "Neurons of the cuba preset (80 % excitatory, p = 80 / neurons).", 10, 1e8)
        .param_float("duration_ms", 1000.0, "Simulated time.", 0.0, 1e9, "ms")
        .param_float("dt_ms", 0.1, "Fixed time step.", 1e-4, 10.0, "ms")
        .param_float("rate_bin_ms", 10.0, "Bin width of the population rates.", 1e-3, 1e9, "ms")
        .param_bool("record_spikes", true, "Keep every spike (false: only counts and rates).")
        .param_ints("trace_neurons", {}, "Global neuron indices whose membrane potential is recorded.", 0, 2147483647.0)
        .param_int("partitions", 0, "Neuron blocks run in parallel (0: automatic). Results do not depend on it.", 0, 4096)
        .advanced()
        .input("input", dtype::numeric, -1, nullptr, "Rates (Hz) or spike raster for the input population.")
        .optional()
        .input("synapses", dtype::numeric, 2, "S,*", "Synapses of the connect = \"tensor\" projection: rows "
               "(pre, post, weight) or (pre, post, weight, delay_ms), indices local to the populations.")
        .optional()
        .output("spikes", dtype::i64, 2, "S,2", "Spikes as (step, global neuron index) rows.")
        .save()
        .output("rates", dtype::f64, 2, "P,B", "Population rates (Hz) per bin.")
        .save()
        .output("populations", dtype::i64, 2, "P,2", "First global index and size of each population.")
        .output("voltages", dtype::f64, 2, "K,T", "Membrane potential (mV) of trace_neurons after each step.")
        .optional()
        .save();
  }

  void configure(const Params& p) {
    duration_ = p.real("duration_ms");
    dt_ = p.real("dt_ms");
    bin_ = p.real("rate_bin_ms");
    record_ = p.boolean("record_spikes");
    traces_ = p.integers("trace_neurons");
    partitions_ = static_cast<int>(p.integer("partitions"));
    if (p.string("model") == "file") {
      const std::string path = p.string("network");
      if (path.empty()) throw config_error("snn.simulate: model = \"file\" needs the `network` parameter");
      spec_ = parse_network_file(path);
    } else {
      spec_ = preset("cuba", p.integer("neurons"));
    }
    validate(spec_, dt_, false);
    int takers = 0, tensors = 0;
    for (const ProjectionSpec& j : spec_.projections) tensors += j.connect == Connect::tensor;
    if (tensors > 1) throw config_error(spec_.origin + ": only one projection may take the synapses input");
    for (const PopulationSpec& q : spec_.populations) takers += q.rates_from_input || q.model == Model::spike_input;
    if (takers > 1) throw config_error(spec_.origin + ": only one population may take the input tensor");
    steps_ = static_cast<int64_t>(std::llround(duration_ / dt_));
    if (steps_ < 1) throw config_error("snn.simulate: duration_ms is shorter than one step");
  }

  void run(Call& call) {
    const auto t0 = std::chrono::steady_clock::now();
    NetworkSpec spec = spec_;
    if (call.has_input("synapses")) take_synapses(spec, call.input("synapses"));
    Network net(spec, dt_, call.seed(), partitions_);
    if (call.has_input("input")) feed(net, call.input("input"));
    Recorder rec;
    rec.spikes = record_;
    rec.rate_bin_ms = bin_;
    rec.trace_neurons = traces_;
    const auto t1 = std::chrono::steady_clock::now();
    // Slices of the run report progress; cancellation is polled inside them too.
    const int64_t slices = std::min<int64_t>(20, steps_);
    int64_t done = 0;
    for (int64_t k = 0; k < slices; ++k) {
      const int64_t n = steps_ * (k + 1) / slices - done;
      net.run(n, &rec, [&] { return call.cancelled(); });
      call.check_cancelled();
      done += n;
      call.progress(static_cast<double>(done) / steps_, "simulated " + std::to_string(done) + " steps");
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double build = std::chrono::duration<double>(t1 - t0).count();
    write_outputs(call, net, rec);
    const Summary s = summarize(net, rec, steps_ * dt_);
    call.metric("total_spikes", static_cast<double>(s.total_spikes));
    call.metric("mean_rate_hz", s.mean_rate_hz);
    if (record_) call.metric("cv_isi", s.cv_isi);
    call.metric("synapses", static_cast<double>(net.synapse_count()));
    call.metric("synaptic_events", static_cast<double>(rec.events));
    call.metric("synaptic_events_per_s", wall > 0 ? rec.events / wall : 0.0);
    call.metric("sim_wall_s", wall);
    call.metric("build_wall_s", build);
  }

 private:
  void feed(Network& net, const TensorRef& in) {
    for (size_t q = 0; q < spec_.populations.size(); ++q) {
      const PopulationSpec& p = spec_.populations[q];
      if (p.rates_from_input) {
        if (in.size() != p.size)
          throw data_error("snn.simulate: input has " + std::to_string(in.size()) + " values, population '" +
                           p.name + "' needs one rate per neuron (" + std::to_string(p.size) + ")");
        net.set_rates(static_cast<int>(q), in.to_vector<double>());
        return;
      }
      if (p.model == Model::spike_input) {
        if (in.ndim() != 2 || in.dim(1) != p.size)
          throw data_error("snn.simulate: input must be a (steps, " + std::to_string(p.size) +
                           ") spike raster for population '" + p.name + "'");
        std::vector<double> x = in.to_vector<double>();
        std::vector<uint8_t> raster(x.size());
        for (size_t k = 0; k < x.size(); ++k) raster[k] = x[k] != 0;
        net.set_spike_input(static_cast<int>(q), std::move(raster), in.dim(0));
        return;
      }
    }
    throw config_error("snn.simulate: an input is connected but no population takes it "
                       "(declare rates_from_input = true or model = \"spike_input\")");
  }

  // Turns the connect = "tensor" projection into an explicit list of the input's rows.
  void take_synapses(NetworkSpec& spec, const TensorRef& in) const {
    ProjectionSpec* target = nullptr;
    for (ProjectionSpec& j : spec.projections)
      if (j.connect == Connect::tensor) target = &j;
    if (!target) throw config_error("snn.simulate: `synapses` is connected but no projection has connect = \"tensor\"");
    const int64_t cols = in.dim(1), rows = in.dim(0);
    if (cols != 3 && cols != 4)
      throw data_error("snn.simulate: synapses must have 3 or 4 columns (pre, post, weight[, delay_ms]), got " + std::to_string(cols));
    const std::vector<double> x = in.to_vector<double>();
    target->connect = Connect::explicit_list;
    for (int64_t r = 0; r < rows; ++r) {
      const double* row = &x[r * cols];
      if (row[0] != std::floor(row[0]) || row[1] != std::floor(row[1]) || !std::isfinite(row[2]))
        throw data_error("snn.simulate: synapses row " + std::to_string(r) + " needs integer pre/post and a finite weight");
      target->pre.push_back(static_cast<int64_t>(row[0]));
      target->post.push_back(static_cast<int64_t>(row[1]));
      target->weights.push_back(row[2]);
      if (cols == 4) target->delays.push_back(row[3]);
    }
    validate(spec, dt_);  // ranges of the new synapses, named by row
  }

  int64_t nbins() const { return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(steps_ / (bin_ / dt_) - 1e-9))); }

  void write_outputs(Call& call, const Network& net, const Recorder& rec) const {
    const int64_t ns = static_cast<int64_t>(rec.spike_steps.size());
    auto spikes = call.output<int64_t>("spikes", {ns, 2});
    for (int64_t k = 0; k < ns; ++k) {
      spikes[2 * k] = rec.spike_steps[k];
      spikes[2 * k + 1] = rec.spike_neurons[k];
    }
    const int64_t np = static_cast<int64_t>(spec_.populations.size()), bins = nbins();
    auto rates = call.output<double>("rates", {np, bins});
    const double bin_steps = bin_ / dt_;
    for (int64_t q = 0; q < np; ++q)
      for (int64_t b = 0; b < bins; ++b) {
        // The last bin may be shorter than rate_bin_ms.
        const double lo = std::ceil(b * bin_steps - 1e-9);
        const double hi = std::min<double>(steps_, std::ceil((b + 1) * bin_steps - 1e-9));
        const double seconds = std::max(1.0, hi - lo) * dt_ / 1000.0;
        rates[q * bins + b] = rec.bin_counts[q][b] / (spec_.populations[q].size * seconds);
      }
    auto pops = call.output<int64_t>("populations", {np, 2});
    for (int64_t q = 0; q < np; ++q) {
      pops[2 * q] = net.first(static_cast<int>(q));
      pops[2 * q + 1] = spec_.populations[q].size;
    }
    if (!traces_.empty()) {
      auto v = call.output<double>("voltages", {static_cast<int64_t>(traces_.size()), steps_});
      for (size_t k = 0; k < traces_.size(); ++k)
        std::copy(rec.traces[k].begin(), rec.traces[k].end(), v.data() + k * steps_);
    }
  }

  NetworkSpec spec_;
  double duration_ = 1000, dt_ = 0.1, bin_ = 10;
  bool record_ = true;
  std::vector<int64_t> traces_;
  int partitions_ = 0;
  int64_t steps_ = 0;
};

// snn.raster: an SVG raster plot of snn.simulate's spikes with the population rates beneath.
class Raster {
 public:
  static Descriptor describe() {
    return Descriptor("snn.raster", "Draws a spike raster with population rates as raster.svg.")
        .doc("Writes raster.svg into the stage's artifact folder: one dot per spike (time on x, "
             "neuron on y, coloured by population), the population rates beneath. Above max_dots "
             "spikes every k-th spike is drawn.")
        .param_float("dt_ms", 0.1, "Time step the spike steps are counted in.", 1e-4, 10.0, "ms")
        .param_float("duration_ms", 0.0, "Time axis length (0: up to the last spike).", 0.0, 1e9, "ms")
        .param_string("labels", "", "Comma-separated population names for the legend.")
        .param_int("max_dots", 200000, "Most spikes drawn.", 1, 1e8)
        .input("spikes", dtype::ints, 2, "S,2", "Spikes as (step, global neuron index) rows.")
        .input("rates", dtype::floats, 2, "P,B", "Population rates (Hz) per bin.")
        .optional()
        .input("populations", dtype::ints, 2, "P,2", "First global index and size of each population.")
        .optional();
  }

  void configure(const Params& p) {
    dt_ = p.real("dt_ms");
    duration_ = p.real("duration_ms");
    max_dots_ = p.integer("max_dots");
    labels_.clear();
    std::stringstream ss(p.string("labels"));
    for (std::string s; std::getline(ss, s, ',');) labels_.push_back(s);
  }

  void run(Call& call) {
    const TensorRef sp = call.input("spikes");
    if (sp.dim(1) != 2) throw data_error("snn.raster: spikes must be (S, 2) rows of (step, neuron)");
    const std::vector<int64_t> flat = sp.to_vector<int64_t>();
    const int64_t ns = sp.dim(0);
    std::vector<int64_t> steps(ns), neurons(ns);
    int64_t last_step = 0, max_neuron = 0;
    for (int64_t k = 0; k < ns; ++k) {
      steps[k] = flat[2 * k], neurons[k] = flat[2 * k + 1];
      if (steps[k] < 0 || neurons[k] < 0)
        throw data_error("snn.raster: spike row " + std::to_string(k) + " has a negative step or neuron");
      last_step = std::max(last_step, steps[k]);
      max_neuron = std::max(max_neuron, neurons[k]);
    }
    std::vector<int64_t> first, size;
    if (call.has_input("populations")) {
      const TensorRef pt = call.input("populations");
      if (pt.dim(1) != 2) throw data_error("snn.raster: populations must be (P, 2) rows of (first, size)");
      const std::vector<int64_t> f = pt.to_vector<int64_t>();
      for (int64_t q = 0; q < pt.dim(0); ++q) {
        first.push_back(f[2 * q]), size.push_back(f[2 * q + 1]);
        if (f[2 * q] < 0 || f[2 * q + 1] < 1 || (q > 0 && f[2 * q] < f[2 * q - 2] + f[2 * q - 1]))
          throw data_error("snn.raster: populations row " + std::to_string(q) + " is not an ascending (first, size) range");
      }
      if (!first.empty() && max_neuron >= first.back() + size.back())
        throw data_error("snn.raster: spike neuron " + std::to_string(max_neuron) + " lies beyond the populations");
    }
    std::vector<double> rates;
    int64_t bins = 0;
    if (call.has_input("rates")) {
      const TensorRef rt = call.input("rates");
      rates = rt.to_vector<double>();
      bins = rt.dim(1);
      if (first.empty()) {
        // Without population bounds the rows cannot be placed; split the neurons evenly.
        const int64_t n = max_neuron + 1, p = rt.dim(0);
        for (int64_t q = 0; q < p; ++q) first.push_back(n * q / p), size.push_back(std::max<int64_t>(1, n * (q + 1) / p - n * q / p));
      } else if (rt.dim(0) != static_cast<int64_t>(first.size())) {
        throw data_error("snn.raster: rates has " + std::to_string(rt.dim(0)) + " rows but there are " +
                         std::to_string(first.size()) + " populations");
      }
    }
    if (first.empty()) first.push_back(0), size.push_back(max_neuron + 1);
    std::vector<std::string> names;
    for (size_t q = 0; q < first.size(); ++q) names.push_back(q < labels_.size() ? labels_[q] : "population " + std::to_string(q));
    const int64_t total_steps = duration_ > 0 ? static_cast<int64_t>(std::llround(duration_ / dt_)) : last_step + 1;
    RasterStyle style;
    style.max_dots = max_dots_;
    const std::string svg = raster_svg(steps, neurons, dt_, total_steps, first, size, names, rates, bins, style);
    const std::filesystem::path dir = call.artifact_dir();
    const std::filesystem::path tmp = dir / "raster.svg.tmp", out = dir / "raster.svg";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << svg;
      f.flush();
      if (!f) throw io_error("snn.raster: cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, out);  // readers never see a half-written file
  }

 private:
  double dt_ = 0.1, duration_ = 0;
  int64_t max_dots_ = 200000;
  std::vector<std::string> labels_;
};

}  // namespace glia::snn
