// The simulation engine: network construction (CSR per neuron block), the time-step loop, the
// neuron kernels and STDP. See snn.hpp for the step order and the determinism argument.
#include <glia/snn.hpp>

#include <glia/plugin.hpp>
#include <glia/random.hpp>

#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <numeric>

namespace glia::snn {
namespace {

constexpr int64_t kRngBlock = 256;   // neurons per random stream; block boundaries align to it
constexpr int64_t kChunk = 512;      // neurons updated and then scanned while cache-hot
constexpr int64_t kAutoPartSize = 16384;  // auto mode: at least this many neurons per block

// Multi-versioned hot loops: the package stays portable, AVX2/AVX-512 machines get wide vectors.
#define GLIA_SNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// LIF, current synapses, exact integration of the linear system over one step:
//   v' = v_inf + (v - v_inf) e^{-dt/tau_m} + ce ge + ci gi,  ge' = ge e^{-dt/tau_e}, ...
// where ce = tau_e / (tau_e - tau_m) (e^{-dt/tau_e} - e^{-dt/tau_m}). v is held while refractory.
// Each kernel returns whether any new v exceeds the base threshold vt: a cheap vectorised
// pre-filter (adaptive thresholds only add to vt) so that the scalar threshold scan runs on the
// few chunks that hold a spike.
struct LifCurrent {
  double v_inf, dm, de, di, ce, ci, vt;
};
GLIA_SNN_CLONES
int update_lif_current(const LifCurrent& k, double* __restrict v, double* __restrict ge,
                        double* __restrict gi, const int64_t* __restrict ref_until, int64_t t,
                        int64_t n) {
  int any = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double vn = k.v_inf + (v[i] - k.v_inf) * k.dm + ge[i] * k.ce + gi[i] * k.ci;
    v[i] = t < ref_until[i] ? v[i] : vn;
    any |= v[i] > k.vt;
    ge[i] *= k.de;
    gi[i] *= k.di;
  }
  return any;
}

// LIF, conductance synapses (g relative to the leak): exponential Euler, exact for conductances
// frozen over the step: v -> v_inf + (v - v_inf) e^{-dt (1 + ge + gi) / tau_m}.
struct LifConductance {
  double v_rest, e_exc, e_inh, dt_over_tau, de, di, vt;
};
GLIA_SNN_CLONES
int update_lif_conductance(const LifConductance& k, double* __restrict v, double* __restrict ge,
                            double* __restrict gi, const int64_t* __restrict ref_until, int64_t t,
                            int64_t n) {
  int any = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = 1.0 + ge[i] + gi[i];
    const double v_inf = (k.v_rest + ge[i] * k.e_exc + gi[i] * k.e_inh) / g;
    const double vn = v_inf + (v[i] - v_inf) * std::exp(-k.dt_over_tau * g);
    v[i] = t < ref_until[i] ? v[i] : vn;
    any |= v[i] > k.vt;
    ge[i] *= k.de;
    gi[i] *= k.di;
  }
  return any;
}

// Izhikevich (2003), forward Euler; synaptic currents decay exponentially.
struct Izhikevich {
  double dt, a, b, i_ext, de, di, vt;
};
GLIA_SNN_CLONES
int update_izhikevich(const Izhikevich& k, double* __restrict v, double* __restrict u,
                       double* __restrict ge, double* __restrict gi,
                       const int64_t* __restrict ref_until, int64_t t, int64_t n) {
  int any = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = v[i];
    const double vn = x + k.dt * (0.04 * x * x + 5.0 * x + 140.0 - u[i] + ge[i] + gi[i] + k.i_ext);
    u[i] += k.dt * k.a * (k.b * x - u[i]);
    v[i] = t < ref_until[i] ? x : vn;
    any |= v[i] > k.vt;
    ge[i] *= k.de;
    gi[i] *= k.di;
  }
  return any;
}

// x *= decay over a range (traces, adaptive thresholds); src and dst may differ (double buffer).
GLIA_SNN_CLONES
void decay(const double* __restrict src, double* __restrict dst, double factor, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * factor;
}

struct Pop {
  PopulationSpec s;
  int64_t first = 0;
  uint64_t seed = 0;
  int64_t ref_steps = 0;
  bool adaptive = false, traced = false;
  double theta_decay = 1, trace_decay = 1, p_spike = 0;
  LifCurrent cur{};
  LifConductance cond{};
  Izhikevich izh{};
  std::vector<double> p_input;     // per-neuron spike probability per step (rates_from_input)
  std::vector<uint8_t> raster;     // spike_input: (raster_steps, size)
  int64_t raster_steps = 0;
  std::vector<int> out;            // projections leaving this population
  std::vector<int> in_plastic;     // plastic projections arriving here
};

struct Proj {
  ProjectionSpec s;
  int pre = 0, post = 0;
  bool delayed = false, plastic = false;
  int64_t count = 0;
};

// The synapses of one projection whose targets a block owns, in CSR by presynaptic neuron.
struct Csr {
  std::vector<uint32_t> row;     // n_pre + 1 offsets
  std::vector<uint32_t> post;    // global target index
  std::vector<double> w;
  std::vector<uint16_t> delay;   // steps; empty when the projection has no delays
  // Plastic projections also index the synapses by target: col[q - lo .. +1] into syn/pre.
  int64_t lo = 0;
  std::vector<uint32_t> col, col_syn, col_pre;
};

struct Segment {
  int pop;
  int64_t lo, hi;  // global neuron range
};

struct Part {
  int64_t lo = 0, hi = 0;
  std::vector<Segment> segs;
  std::vector<Csr> csr;           // per projection
  std::vector<int32_t> spikes;    // spikes of the current step, ascending
  int64_t events = 0;
};

}  // namespace

struct Network::Impl {
  NetworkSpec spec;
  double dt = 0.1;
  uint64_t seed = 0;
  int64_t n = 0, t = 0, ring_len = 1;
  std::vector<Pop> pops;
  std::vector<Proj> projs;
  std::vector<uint16_t> pop_of;
  std::vector<Part> parts;
  // Neuron state, indexed globally.
  std::vector<double> v, u, ge, gi, theta;
  std::vector<double> trace[2];   // double buffer by step parity: read (t-1)&1, write t&1
  std::vector<int64_t> ref_until; // v is held while t < ref_until
  std::vector<double> ring_e, ring_i;  // (ring_len, n) delayed inputs by arrival step
  std::vector<int32_t> prev;      // spikes of the previous step, ascending
  bool learning = true;

  void build_parts(int partitions);
  void build_synapses();
  void init_state(bool draw);
  void step_part(Part& part);
  void update_segment(Part& part, const Segment& s);
};

namespace {

// Splits [0, n) into `count` contiguous blocks of about equal size whose boundaries fall on
// multiples of kRngBlock within a population.
std::vector<int64_t> block_bounds(const std::vector<Pop>& pops, int64_t n, int count) {
  std::vector<int64_t> b{0};
  for (int k = 1; k < count; ++k) {
    int64_t x = n * k / count;
    for (const Pop& p : pops)
      if (x >= p.first && x < p.first + p.s.size) {
        x = p.first + ((x - p.first + kRngBlock / 2) / kRngBlock) * kRngBlock;
        x = std::min(x, p.first + p.s.size);
        break;
      }
    if (x > b.back() && x < n) b.push_back(x);
  }
  b.push_back(n);
  return b;
}

}  // namespace

void Network::Impl::build_parts(int partitions) {
  int count = partitions;
  if (count <= 0) {
    count = static_cast<int>(std::min<int64_t>(tbb::this_task_arena::max_concurrency(),
                                               std::max<int64_t>(1, n / kAutoPartSize)));
  }
  count = static_cast<int>(std::clamp<int64_t>(count, 1, std::max<int64_t>(1, n / kRngBlock)));
  const std::vector<int64_t> b = block_bounds(pops, n, count);
  parts.resize(b.size() - 1);
  for (size_t k = 0; k + 1 < b.size(); ++k) {
    Part& p = parts[k];
    p.lo = b[k], p.hi = b[k + 1];
    for (size_t q = 0; q < pops.size(); ++q) {
      const int64_t lo = std::max(p.lo, pops[q].first), hi = std::min(p.hi, pops[q].first + pops[q].s.size);
      if (lo < hi) p.segs.push_back({static_cast<int>(q), lo, hi});
    }
  }
}

// Generates every projection row by row (one random stream per presynaptic neuron, so the
// synapses do not depend on the block count), then hands each block the synapses it owns.
void Network::Impl::build_synapses() {
  for (Part& part : parts) part.csr.resize(projs.size());
  for (size_t j = 0; j < projs.size(); ++j) {
    Proj& pj = projs[j];
    const ProjectionSpec& s = pj.s;
    const Pop& a = pops[pj.pre];
    const Pop& b = pops[pj.post];
    const int64_t na = a.s.size, nb = b.s.size;
    const uint64_t pseed = derive_seed(seed, 0x5EED0000ull + j);
    // Global CSR first: rows[i] = synapses of pre neuron i in generation order.
    std::vector<int64_t> row(na + 1, 0);
    std::vector<uint32_t> post;
    std::vector<double> w, delay_steps;
    auto draw_w = [&](Rng& r) { return s.weight_lo == s.weight_hi ? s.weight_lo : r.uniform(s.weight_lo, s.weight_hi); };
    auto draw_d = [&](Rng& r) { return s.delay_lo == s.delay_hi ? s.delay_lo : r.uniform(s.delay_lo, s.delay_hi); };
    const bool self = pj.pre == pj.post;
    if (s.connect == Connect::explicit_list) {
      std::vector<int64_t> order(s.pre.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s.pre[x] < s.pre[y]; });
      for (int64_t k : order) {
        ++row[s.pre[k] + 1];
        post.push_back(static_cast<uint32_t>(b.first + s.post[k]));
        w.push_back(s.weights.empty() ? s.weight_lo : s.weights[k]);
        delay_steps.push_back(s.delays.empty() ? s.delay_lo : s.delays[k]);
      }
      for (int64_t i = 0; i < na; ++i) row[i + 1] += row[i];
    } else {
      for (int64_t i = 0; i < na; ++i) {
        Rng r = Rng::stream(pseed, static_cast<uint64_t>(i));
        auto add = [&](int64_t q) {
          post.push_back(static_cast<uint32_t>(b.first + q));
          w.push_back(draw_w(r));
          delay_steps.push_back(draw_d(r));
        };
        if (s.connect == Connect::one_to_one) {
          add(i);
        } else if (s.connect == Connect::all_to_all || s.p >= 1) {
          for (int64_t q = 0; q < nb; ++q)
            if (!self || s.autapses || q != i) add(q);
        } else if (s.p > 0) {
          // Geometric skips between successive targets: O(synapses), not O(na * nb).
          const double log1mp = std::log1p(-s.p);
          int64_t q = -1;
          for (;;) {
            const double skip = std::floor(std::log1p(-r.uniform()) / log1mp);
            if (skip >= static_cast<double>(nb - q - 1)) break;
            q += 1 + static_cast<int64_t>(skip);
            if (!self || s.autapses || q != i) add(q);
          }
        }
        row[i + 1] = static_cast<int64_t>(post.size());
      }
    }
    if (post.size() > UINT32_MAX) throw config_error(s.where + ": projection has more than 2^32 synapses");
    pj.count = static_cast<int64_t>(post.size());
    int64_t max_delay = 0;
    for (double& d : delay_steps) {
      d = std::round(d / dt);
      max_delay = std::max<int64_t>(max_delay, static_cast<int64_t>(d));
    }
    pj.delayed = max_delay > 0;
    ring_len = std::max(ring_len, max_delay + 1);
    // Split by owner block, keeping the order within each row.
    for (Part& part : parts) {
      Csr& c = part.csr[j];
      const int64_t lo = std::max(part.lo, b.first), hi = std::min(part.hi, b.first + nb);
      if (lo >= hi) continue;
      c.lo = lo;
      c.row.assign(na + 1, 0);
      for (int64_t i = 0; i < na; ++i) {
        for (int64_t k = row[i]; k < row[i + 1]; ++k) {
          if (post[k] < lo || post[k] >= hi) continue;
          c.post.push_back(post[k]);
          c.w.push_back(w[k]);
          if (pj.delayed) c.delay.push_back(static_cast<uint16_t>(delay_steps[k]));
        }
        c.row[i + 1] = static_cast<uint32_t>(c.post.size());
      }
      if (pj.plastic) {
        // Incoming index: synapses grouped by target, in CSR order within a target.
        const int64_t m = hi - lo;
        c.col.assign(m + 1, 0);
        for (uint32_t q : c.post) ++c.col[q - lo + 1];
        for (int64_t q = 0; q < m; ++q) c.col[q + 1] += c.col[q];
        c.col_syn.resize(c.post.size());
        c.col_pre.resize(c.post.size());
        std::vector<uint32_t> fill(c.col.begin(), c.col.end() - 1);
        for (int64_t i = 0; i < na; ++i)
          for (uint32_t k = c.row[i]; k < c.row[i + 1]; ++k) {
            const uint32_t slot = fill[c.post[k] - lo]++;
            c.col_syn[slot] = k;
            c.col_pre[slot] = static_cast<uint32_t>(a.first + i);
          }
      }
    }
  }
}

void Network::Impl::init_state(bool draw) {
  v.assign(n, 0), u.assign(n, 0), ge.assign(n, 0), gi.assign(n, 0);
  ref_until.assign(n, 0);
  trace[0].assign(n, 0), trace[1].assign(n, 0);
  ring_e.assign(ring_len > 1 ? ring_len * n : 0, 0);
  ring_i.assign(ring_e.size(), 0);
  prev.clear();
  for (size_t q = 0; q < pops.size(); ++q) {
    const Pop& p = pops[q];
    const double rest = p.s.model == Model::izhikevich ? p.s.c : p.s.v_rest;
    const bool ranged = draw && !std::isnan(p.s.v_init_lo);
    for (int64_t blk = 0; blk * kRngBlock < p.s.size; ++blk) {
      Rng r = Rng::stream(derive_seed(p.seed, 0x1A17ull), static_cast<uint64_t>(blk));
      const int64_t end = std::min(p.s.size, (blk + 1) * kRngBlock);
      for (int64_t i = blk * kRngBlock; i < end; ++i) {
        const int64_t g = p.first + i;
        v[g] = ranged ? p.s.v_init_lo + r.uniform() * (p.s.v_init_hi - p.s.v_init_lo) : rest;
        u[g] = p.s.b * v[g];
      }
    }
  }
}

Network::Network(const NetworkSpec& spec, double dt_ms, uint64_t seed, int partitions)
    : m_(new Impl) {
  std::unique_ptr<Impl> guard(m_);
  validate(spec, dt_ms);
  Impl& m = *m_;
  m.spec = spec;
  m.dt = dt_ms;
  m.seed = seed;
  for (size_t q = 0; q < spec.populations.size(); ++q) {
    Pop p;
    p.s = spec.populations[q];
    p.first = m.n;
    p.seed = derive_seed(seed, 0x9090ull + q);
    m.n += p.s.size;
    const PopulationSpec& s = p.s;
    const double de = std::exp(-dt_ms / s.tau_e), di = std::exp(-dt_ms / s.tau_i);
    // tau_e == tau_m makes ce's formula 0/0: its limit is (dt/tau) e^{-dt/tau}.
    auto coupling = [&](double tau) {
      const double dm = std::exp(-dt_ms / s.tau_m), dx = std::exp(-dt_ms / tau);
      return std::abs(tau - s.tau_m) < 1e-12 * s.tau_m ? dt_ms / s.tau_m * dm : tau / (tau - s.tau_m) * (dx - dm);
    };
    p.cur = {s.v_rest + s.i_ext, std::exp(-dt_ms / s.tau_m), de, di, coupling(s.tau_e), coupling(s.tau_i), s.v_thresh};
    p.cond = {s.v_rest + s.i_ext, s.e_exc, s.e_inh, dt_ms / s.tau_m, de, di, s.v_thresh};
    p.izh = {dt_ms, s.a, s.b, s.i_ext, de, di, s.v_thresh};
    p.ref_steps = static_cast<int64_t>(std::llround(s.refractory_ms / dt_ms));
    p.adaptive = s.theta_inc > 0;
    p.theta_decay = s.tau_theta > 0 ? std::exp(-dt_ms / s.tau_theta) : 1.0;
    p.trace_decay = std::exp(-dt_ms / s.trace_tau);
    p.p_spike = s.rate_hz * dt_ms / 1000.0;
    if (s.rates_from_input) p.p_input.assign(s.size, p.p_spike);
    m.pops.push_back(std::move(p));
  }
  m.pop_of.resize(m.n);
  for (size_t q = 0; q < m.pops.size(); ++q)
    std::fill_n(m.pop_of.begin() + m.pops[q].first, m.pops[q].s.size, static_cast<uint16_t>(q));
  if (m.pops.size() > 65535) throw config_error(spec.origin + ": more than 65535 populations");
  for (size_t j = 0; j < spec.projections.size(); ++j) {
    Proj pj;
    pj.s = spec.projections[j];
    pj.pre = population_index(pj.s.from);
    pj.post = population_index(pj.s.to);
    pj.plastic = pj.s.stdp != Stdp::none;
    m.pops[pj.pre].out.push_back(static_cast<int>(j));
    if (pj.plastic) {
      m.pops[pj.post].in_plastic.push_back(static_cast<int>(j));
      m.pops[pj.pre].traced = m.pops[pj.post].traced = true;
    }
    m.projs.push_back(std::move(pj));
  }
  m.build_parts(partitions);
  m.build_synapses();
  m.theta.assign(m.n, 0);
  m.init_state(true);
  guard.release();
}

Network::~Network() { delete m_; }

// One block's share of one time step (see the header for the order).
void Network::Impl::step_part(Part& part) {
  const int64_t prev_t = t - 1;
  const int rd = static_cast<int>(prev_t & 1);
  const double* tr = trace[rd].data();
  part.events = 0;
  // Delayed inputs that arrive now (they were due right after the previous step's threshold).
  if (ring_len > 1 && t > 0) {
    const int64_t slot = (prev_t % ring_len) * n;
    for (int64_t i = part.lo; i < part.hi; ++i) {
      ge[i] += ring_e[slot + i];
      gi[i] += ring_i[slot + i];
      ring_e[slot + i] = 0;
      ring_i[slot + i] = 0;
    }
  }
  // Spikes of the previous step onto this block's targets, in spike order then row order.
  for (const int32_t g : prev) {
    const Pop& a = pops[pop_of[g]];
    const int64_t i = g - a.first;
    for (const int j : a.out) {
      Csr& c = part.csr[j];
      if (c.row.empty()) continue;
      const Proj& pj = projs[j];
      const uint32_t b = c.row[i], e = c.row[i + 1];
      part.events += e - b;
      double* x = pj.s.receptor == Receptor::exc ? ge.data() : gi.data();
      const uint32_t* q = c.post.data();
      double* w = c.w.data();
      if (!pj.delayed) {
        for (uint32_t k = b; k < e; ++k) x[q[k]] += w[k];
      } else {
        double* ring = pj.s.receptor == Receptor::exc ? ring_e.data() : ring_i.data();
        for (uint32_t k = b; k < e; ++k) {
          const int64_t d = c.delay[k];
          if (d == 0) x[q[k]] += w[k];
          else ring[((prev_t + d) % ring_len) * n + q[k]] += w[k];
        }
      }
      if (!pj.plastic || !learning) continue;
      // Pre spike: depression by the target's trace.
      const double eta = pj.s.eta_pre, lo = pj.s.w_min;
      if (pj.s.stdp == Stdp::additive)
        for (uint32_t k = b; k < e; ++k) w[k] = std::max(lo, w[k] - eta * tr[q[k]]);
      else
        for (uint32_t k = b; k < e; ++k) w[k] -= eta * tr[q[k]] * (w[k] - lo);
    }
  }
  // Post spikes among this block's own neurons: potentiation by the sources' traces.
  auto first = std::lower_bound(prev.begin(), prev.end(), static_cast<int32_t>(part.lo));
  for (auto it = first; learning && it != prev.end() && *it < part.hi; ++it) {
    const Pop& p = pops[pop_of[*it]];
    for (const int j : p.in_plastic) {
      Csr& c = part.csr[j];
      const Proj& pj = projs[j];
      const double eta = pj.s.eta_post, hi = pj.s.w_max;
      const int64_t q = *it - c.lo;
      for (uint32_t s = c.col[q]; s < c.col[q + 1]; ++s) {
        double& w = c.w[c.col_syn[s]];
        const double x = tr[c.col_pre[s]];
        if (pj.s.stdp == Stdp::additive) w = std::min(hi, w + eta * x);
        else w += eta * x * (hi - w);
      }
    }
  }
  part.spikes.clear();
  for (const Segment& s : part.segs) update_segment(part, s);
}

// Updates, thresholds and resets one population's neurons [s.lo, s.hi) at step t, chunk by chunk
// so that the threshold scan reads what the update just wrote while it is still in L1.
void Network::Impl::update_segment(Part& part, const Segment& s) {
  Pop& p = pops[s.pop];
  const int wr = static_cast<int>(t & 1);
  const double* tr_old = trace[wr ^ 1].data();
  double* tr = trace[wr].data();
  auto fire = [&](int64_t g) {
    part.spikes.push_back(static_cast<int32_t>(g));
    if (p.traced) tr[g] = p.s.trace_nearest ? 1.0 : tr[g] + 1.0;
  };
  if (p.s.model == Model::poisson || p.s.model == Model::spike_input) {
    if (p.traced) decay(tr_old + s.lo, tr + s.lo, p.trace_decay, s.hi - s.lo);
    for (int64_t blk_lo = s.lo; blk_lo < s.hi; blk_lo += kRngBlock) {
      const int64_t blk_hi = std::min(s.hi, blk_lo + kRngBlock);
      const int64_t i0 = blk_lo - p.first;
      if (p.s.model == Model::spike_input) {
        if (p.raster_steps == 0) continue;
        const uint8_t* row = p.raster.data() + (t % p.raster_steps) * p.s.size;
        for (int64_t i = i0; i < i0 + (blk_hi - blk_lo); ++i)
          if (row[i]) fire(p.first + i);
        continue;
      }
      Rng r = Rng::stream(derive_seed(p.seed, static_cast<uint64_t>(t)), static_cast<uint64_t>(i0 / kRngBlock));
      for (int64_t i = i0; i < i0 + (blk_hi - blk_lo); ++i) {
        const double prob = p.p_input.empty() ? p.p_spike : p.p_input[i];
        if (r.uniform() < prob) fire(p.first + i);
      }
    }
    return;
  }
  const double vt = p.s.v_thresh;
  const double jump = p.s.v_thresh - p.s.v_reset;
  for (int64_t lo = s.lo; lo < s.hi; lo += kChunk) {
    const int64_t m = std::min(kChunk, s.hi - lo);
    double* pv = v.data() + lo;
    const int64_t* pr = ref_until.data() + lo;
    int any;
    if (p.s.model == Model::izhikevich)
      any = update_izhikevich(p.izh, pv, u.data() + lo, ge.data() + lo, gi.data() + lo, pr, t, m);
    else if (p.s.synapse == Synapse::current)
      any = update_lif_current(p.cur, pv, ge.data() + lo, gi.data() + lo, pr, t, m);
    else
      any = update_lif_conductance(p.cond, pv, ge.data() + lo, gi.data() + lo, pr, t, m);
    if (p.adaptive && p.theta_decay != 1.0) decay(theta.data() + lo, theta.data() + lo, p.theta_decay, m);
    if (p.traced) decay(tr_old + lo, tr + lo, p.trace_decay, m);
    if (!any) continue;
    const double* th = p.adaptive ? theta.data() + lo : nullptr;
    for (int64_t i = 0; i < m; ++i) {
      // Skip 16 neurons at a time with one vectorised test; most groups hold no spike.
      if ((i & 15) == 0 && i + 16 <= m) {
        int hit = 0;
        for (int64_t k = i; k < i + 16; ++k) hit |= pv[k] > vt;
        if (!hit) {
          i += 15;
          continue;
        }
      }
      if (!(pv[i] > vt + (th ? th[i] : 0.0)) || t < pr[i]) continue;
      const int64_t g = lo + i;
      if (p.s.model == Model::izhikevich) {
        pv[i] = p.s.c;
        u[g] += p.s.d;
      } else {
        pv[i] = p.s.reset == Reset::value ? p.s.v_reset : pv[i] - jump;
      }
      ref_until[g] = t + 1 + p.ref_steps;
      if (p.adaptive) theta[g] += p.s.theta_inc;
      fire(g);
    }
  }
}

bool Network::run(int64_t steps, Recorder* rec, const std::function<bool()>& cancelled) {
  Impl& m = *m_;
  double bin_steps = 0;
  if (rec) {
    if (!(rec->rate_bin_ms > 0)) throw config_error("rate_bin_ms must be positive");
    for (int64_t g : rec->trace_neurons)
      if (g < 0 || g >= m.n)
        throw config_error("trace neuron " + std::to_string(g) + " is outside the network (" +
                           std::to_string(m.n) + " neurons)");
    if (rec->origin < 0) rec->origin = m.t;
    bin_steps = rec->rate_bin_ms / m.dt;
    const auto bins = static_cast<size_t>(std::ceil((m.t + steps - rec->origin) / bin_steps - 1e-9));
    rec->bin_counts.resize(m.pops.size());
    for (auto& c : rec->bin_counts) c.resize(std::max(c.size(), bins), 0);
    rec->traces.resize(rec->trace_neurons.size());
  }
  const int np = static_cast<int>(m.parts.size());
  for (int64_t s = 0; s < steps; ++s) {
    if (cancelled && (s & 1023) == 0 && cancelled()) return false;
    if (np == 1) {
      m.step_part(m.parts[0]);
    } else {
      tbb::parallel_for(0, np, [&](int k) { m.step_part(m.parts[k]); }, tbb::static_partitioner());
    }
    // Blocks cover ascending index ranges, so concatenation keeps the spikes sorted.
    m.prev.clear();
    int64_t events = 0;
    for (Part& part : m.parts) {
      m.prev.insert(m.prev.end(), part.spikes.begin(), part.spikes.end());
      events += part.events;
    }
    if (rec) {
      rec->events += events;
      const auto bin = static_cast<size_t>((m.t - rec->origin) / bin_steps);
      for (const int32_t g : m.prev) ++rec->bin_counts[m.pop_of[g]][bin];
      if (rec->spikes) {
        rec->spike_steps.insert(rec->spike_steps.end(), m.prev.size(), m.t);
        rec->spike_neurons.insert(rec->spike_neurons.end(), m.prev.begin(), m.prev.end());
      }
      for (size_t k = 0; k < rec->trace_neurons.size(); ++k) rec->traces[k].push_back(m.v[rec->trace_neurons[k]]);
    }
    ++m.t;
  }
  return true;
}

void Network::set_rates(int pop, std::span<const double> rates_hz) {
  Pop& p = m_->pops.at(pop);
  if (p.s.model != Model::poisson) throw config_error("population '" + p.s.name + "' is not a poisson population");
  if (static_cast<int64_t>(rates_hz.size()) != p.s.size)
    throw data_error("population '" + p.s.name + "' needs " + std::to_string(p.s.size) + " rates, got " + std::to_string(rates_hz.size()));
  p.p_input.resize(p.s.size);
  for (int64_t i = 0; i < p.s.size; ++i) {
    const double r = rates_hz[i];
    if (!(r >= 0) || r * m_->dt > 1000) throw data_error("rate " + std::to_string(r) + " Hz for neuron " + std::to_string(i) + " of '" + p.s.name + "' is outside [0, 1000/dt]");
    p.p_input[i] = r * m_->dt / 1000.0;
  }
}

void Network::set_spike_input(int pop, std::vector<uint8_t> raster, int64_t steps) {
  Pop& p = m_->pops.at(pop);
  if (p.s.model != Model::spike_input) throw config_error("population '" + p.s.name + "' is not a spike_input population");
  if (steps < 1 || static_cast<int64_t>(raster.size()) != steps * p.s.size)
    throw data_error("spike input for '" + p.s.name + "' must be (steps, " + std::to_string(p.s.size) + ")");
  p.raster = std::move(raster);
  p.raster_steps = steps;
}

void Network::set_learning(bool on) { m_->learning = on; }

void Network::reset_state() {
  m_->init_state(false);
}

void Network::normalize_incoming(int proj, double total) {
  Impl& m = *m_;
  const Proj& pj = m.projs.at(proj);
  if (!pj.plastic) throw config_error("normalize_incoming needs a plastic projection");
  for (Part& part : m.parts) {
    Csr& c = part.csr[proj];
    if (c.col.empty()) continue;
    for (size_t q = 0; q + 1 < c.col.size(); ++q) {
      double sum = 0;
      for (uint32_t s = c.col[q]; s < c.col[q + 1]; ++s) sum += c.w[c.col_syn[s]];
      if (sum <= 0) continue;
      const double f = total / sum;
      for (uint32_t s = c.col[q]; s < c.col[q + 1]; ++s) c.w[c.col_syn[s]] *= f;
    }
  }
}

std::vector<double> Network::weights(int proj) const {
  const Impl& m = *m_;
  const Proj& pj = m.projs.at(proj);
  const int64_t na = m.pops[pj.pre].s.size, nb = m.pops[pj.post].s.size, first = m.pops[pj.post].first;
  std::vector<double> out(na * nb, 0.0);
  for (const Part& part : m.parts) {
    const Csr& c = part.csr[proj];
    if (c.row.empty()) continue;
    for (int64_t i = 0; i < na; ++i)
      for (uint32_t k = c.row[i]; k < c.row[i + 1]; ++k) out[i * nb + (c.post[k] - first)] += c.w[k];
  }
  return out;
}

int64_t Network::size() const { return m_->n; }
int64_t Network::step() const { return m_->t; }
int Network::partitions() const { return static_cast<int>(m_->parts.size()); }
int Network::projection_count() const { return static_cast<int>(m_->projs.size()); }
int64_t Network::first(int pop) const { return m_->pops.at(pop).first; }
const NetworkSpec& Network::spec() const { return m_->spec; }
std::span<const double> Network::voltages() const { return m_->v; }
std::span<const double> Network::thresholds(int pop) const {
  const Pop& p = m_->pops.at(pop);
  return {m_->theta.data() + p.first, static_cast<size_t>(p.s.size)};
}
int64_t Network::synapse_count() const {
  int64_t s = 0;
  for (const Proj& p : m_->projs) s += p.count;
  return s;
}
int Network::population_index(const std::string& name) const {
  for (size_t q = 0; q < m_->spec.populations.size(); ++q)
    if (m_->spec.populations[q].name == name) return static_cast<int>(q);
  throw config_error(m_->spec.origin + ": no population named '" + name + "'");
}

Summary summarize(const Network& net, const Recorder& rec, double duration_ms) {
  const NetworkSpec& spec = net.spec();
  std::vector<char> counted(net.size(), 0);
  int64_t neurons = 0;
  for (size_t q = 0; q < spec.populations.size(); ++q) {
    const PopulationSpec& p = spec.populations[q];
    if (p.model == Model::poisson || p.model == Model::spike_input) continue;
    std::fill_n(counted.begin() + net.first(static_cast<int>(q)), p.size, 1);
    neurons += p.size;
  }
  // Running ISI sums per neuron (spikes arrive in time order).
  std::vector<int64_t> last(net.size(), -1), count(net.size(), 0);
  std::vector<double> s1(net.size(), 0), s2(net.size(), 0);
  Summary out;
  for (size_t k = 0; k < rec.spike_neurons.size(); ++k) {
    const int32_t g = rec.spike_neurons[k];
    if (!counted[g]) continue;
    if (last[g] >= 0) {
      const double isi = static_cast<double>(rec.spike_steps[k] - last[g]);
      s1[g] += isi, s2[g] += isi * isi, ++count[g];
    }
    last[g] = rec.spike_steps[k];
  }
  double cv_sum = 0;
  int64_t cv_n = 0;
  for (int64_t g = 0; g < net.size(); ++g) {
    if (count[g] < 2) continue;
    const double mean = s1[g] / count[g];
    const double var = std::max(0.0, s2[g] / count[g] - mean * mean);
    cv_sum += std::sqrt(var) / mean;
    ++cv_n;
  }
  out.cv_isi = cv_n ? cv_sum / cv_n : 0.0;
  // Counts come from the rate bins, which are kept even when spikes are not.
  for (size_t q = 0; q < spec.populations.size() && q < rec.bin_counts.size(); ++q) {
    const Model model = spec.populations[q].model;
    if (model == Model::poisson || model == Model::spike_input) continue;
    for (int64_t c : rec.bin_counts[q]) out.total_spikes += c;
  }
  out.mean_rate_hz = neurons && duration_ms > 0 ? out.total_spikes / (neurons * duration_ms / 1000.0) : 0.0;
  return out;
}

}  // namespace glia::snn
