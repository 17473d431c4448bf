// Diehl & Cook (2015) style unsupervised network on the engine; see snn_diehl_cook.hpp.
#include <glia/snn_diehl_cook.hpp>

#include <glia/plugin.hpp>

#include <zlib.h>

#include <chrono>

namespace glia::snn {
namespace {

// Reads a whole file through zlib (which passes uncompressed files through unchanged).
std::vector<uint8_t> slurp(const std::filesystem::path& file) {
  gzFile f = gzopen(file.c_str(), "rb");
  if (!f) throw io_error(file.string() + ": cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  const bool bad = n < 0;
  gzclose(f);
  if (bad) throw data_error(file.string() + ": corrupt gzip stream");
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | b[at + 3];
}

}  // namespace

Images read_idx_images(const std::filesystem::path& file, int64_t max_count) {
  const std::vector<uint8_t> b = slurp(file);
  if (b.size() < 16 || be32(b, 0) != 0x803)
    throw data_error(file.string() + ": not an IDX image file (magic 0x00000803)");
  Images im;
  im.count = be32(b, 4), im.rows = be32(b, 8), im.cols = be32(b, 12);
  if (static_cast<int64_t>(b.size()) < 16 + im.count * im.rows * im.cols)
    throw data_error(file.string() + ": truncated: header promises " + std::to_string(im.count) + " images");
  if (max_count >= 0) im.count = std::min(im.count, max_count);
  im.pixels.assign(b.begin() + 16, b.begin() + 16 + im.count * im.rows * im.cols);
  return im;
}

std::vector<uint8_t> read_idx_labels(const std::filesystem::path& file, int64_t max_count) {
  const std::vector<uint8_t> b = slurp(file);
  if (b.size() < 8 || be32(b, 0) != 0x801)
    throw data_error(file.string() + ": not an IDX label file (magic 0x00000801)");
  int64_t n = be32(b, 4);
  if (static_cast<int64_t>(b.size()) < 8 + n) throw data_error(file.string() + ": truncated");
  if (max_count >= 0) n = std::min(n, max_count);
  return {b.begin() + 8, b.begin() + 8 + n};
}

NetworkSpec diehl_cook_network(int64_t n_input, const DiehlCookConfig& cfg) {
  NetworkSpec s;
  s.origin = "diehl-cook";
  PopulationSpec in;
  in.name = "in", in.size = n_input, in.model = Model::poisson, in.rates_from_input = true;
  in.trace_tau = 20, in.trace_nearest = true, in.where = "diehl-cook:in";  // D&C: pre = 1 on a spike
  PopulationSpec e;
  e.name = "exc", e.size = cfg.n_exc, e.synapse = Synapse::conductance, e.where = "diehl-cook:exc";
  e.tau_m = 100, e.v_rest = -65, e.v_reset = -65, e.v_thresh = -52, e.refractory_ms = 5;
  e.tau_e = 1, e.tau_i = 2, e.e_exc = 0, e.e_inh = -100;
  e.theta_inc = cfg.theta_inc, e.tau_theta = 1e7, e.trace_tau = 20, e.trace_nearest = true;
  PopulationSpec i;
  i.name = "inh", i.size = cfg.n_exc, i.synapse = Synapse::conductance, i.where = "diehl-cook:inh";
  i.tau_m = 10, i.v_rest = -60, i.v_reset = -45, i.v_thresh = -40, i.refractory_ms = 2;
  i.tau_e = 1, i.tau_i = 2, i.e_exc = 0, i.e_inh = -85;
  s.populations = {in, e, i};
  ProjectionSpec w;
  w.from = "in", w.to = "exc", w.connect = Connect::all_to_all, w.weight_lo = 0, w.weight_hi = 0.3;
  w.stdp = Stdp::additive, w.eta_pre = cfg.eta_pre, w.eta_post = cfg.eta_post, w.w_min = 0, w.w_max = 1;
  w.where = "diehl-cook:in->exc";
  ProjectionSpec ei;
  ei.from = "exc", ei.to = "inh", ei.connect = Connect::one_to_one, ei.weight_lo = ei.weight_hi = 10.4;
  ei.where = "diehl-cook:exc->inh";
  ProjectionSpec ie;  // every inhibitory neuron inhibits every excitatory neuron but its partner
  ie.from = "inh", ie.to = "exc", ie.receptor = Receptor::inh, ie.connect = Connect::explicit_list;
  ie.weight_lo = ie.weight_hi = 17.0, ie.where = "diehl-cook:inh->exc";
  for (int64_t a = 0; a < cfg.n_exc; ++a)
    for (int64_t b = 0; b < cfg.n_exc; ++b)
      if (a != b) ie.pre.push_back(a), ie.post.push_back(b);
  s.projections = {w, ei, ie};
  return s;
}

namespace {

// Shows one image: rates from its pixels, brighter until the layer answers; returns the spike
// count of every excitatory neuron and leaves the network reset ("rested").
std::vector<int> present(Network& net, const uint8_t* pixels, int64_t n_input, const DiehlCookConfig& cfg,
                         bool learn, int plastic) {
  const int64_t exc0 = net.first(1), steps = static_cast<int64_t>(std::llround(cfg.present_ms / cfg.dt_ms));
  std::vector<double> rates(n_input);
  std::vector<int> counts(cfg.n_exc, 0);
  const double in_sum = cfg.weight_sum * n_input / 784.0;
  double gain = 1;
  if (cfg.mean_pixel > 0) {
    double sum = 0;
    for (int64_t k = 0; k < n_input; ++k) sum += pixels[k];
    gain = sum > 0 ? cfg.mean_pixel * n_input / sum : 1.0;
  }
  for (int attempt = 0; attempt <= cfg.max_retries; ++attempt) {
    const double scale = gain * (cfg.max_rate_hz + 32.0 * attempt) / 255.0;
    for (int64_t k = 0; k < n_input; ++k) rates[k] = pixels[k] * scale;
    net.set_rates(0, rates);
    if (learn) net.normalize_incoming(plastic, in_sum);
    Recorder rec;
    net.run(steps, &rec);
    std::fill(counts.begin(), counts.end(), 0);
    int total = 0;
    for (const int32_t g : rec.spike_neurons)
      if (g >= exc0 && g < exc0 + cfg.n_exc) ++counts[g - exc0], ++total;
    net.reset_state();
    if (total >= cfg.min_spikes) break;
  }
  return counts;
}

}  // namespace

DiehlCookResult diehl_cook(const Images& train, const std::vector<uint8_t>& train_labels,
                           const Images& assign, const std::vector<uint8_t>& assign_labels,
                           const Images& test, const std::vector<uint8_t>& test_labels,
                           const DiehlCookConfig& cfg, uint64_t seed) {
  const int64_t n_input = train.rows * train.cols;
  for (const Images* im : {&assign, &test})
    if (im->rows * im->cols != n_input) throw data_error("diehl_cook: image sizes differ between the sets");
  if (static_cast<int64_t>(train_labels.size()) < train.count || static_cast<int64_t>(assign_labels.size()) < assign.count ||
      static_cast<int64_t>(test_labels.size()) < test.count)
    throw data_error("diehl_cook: fewer labels than images");
  using clock = std::chrono::steady_clock;
  DiehlCookResult r;
  Network net(diehl_cook_network(n_input, cfg), cfg.dt_ms, seed);
  const auto t0 = clock::now();
  for (int e = 0; e < cfg.epochs; ++e)
    for (int64_t k = 0; k < train.count; ++k) present(net, &train.pixels[k * n_input], n_input, cfg, true, 0);
  const auto t1 = clock::now();
  net.set_learning(false);
  // Assignment: the class with the highest mean response of each neuron.
  constexpr int kClasses = 10;
  std::vector<double> response(cfg.n_exc * kClasses, 0.0);
  std::vector<int64_t> per_class(kClasses, 0);
  for (int64_t k = 0; k < assign.count; ++k) {
    const int c = assign_labels[k];
    if (c >= kClasses) throw data_error("diehl_cook: label " + std::to_string(c) + " is not a class 0-9");
    const std::vector<int> counts = present(net, &assign.pixels[k * n_input], n_input, cfg, false, 0);
    ++per_class[c];
    for (int64_t j = 0; j < cfg.n_exc; ++j) response[j * kClasses + c] += counts[j];
  }
  r.assignments.assign(cfg.n_exc, -1);
  for (int64_t j = 0; j < cfg.n_exc; ++j) {
    double best = 0;
    for (int c = 0; c < kClasses; ++c) {
      const double mean = per_class[c] ? response[j * kClasses + c] / per_class[c] : 0.0;
      if (mean > best) best = mean, r.assignments[j] = c;
    }
  }
  // Test: the class whose assigned neurons fire most on average.
  int64_t correct = 0;
  for (int64_t k = 0; k < test.count; ++k) {
    const std::vector<int> counts = present(net, &test.pixels[k * n_input], n_input, cfg, false, 0);
    double score[kClasses] = {}, members[kClasses] = {};
    int total = 0;
    for (int64_t j = 0; j < cfg.n_exc; ++j) {
      total += counts[j];
      if (r.assignments[j] < 0) continue;
      score[r.assignments[j]] += counts[j];
      members[r.assignments[j]] += 1;
    }
    if (total == 0) ++r.silent_test_images;
    int pred = 0;
    for (int c = 1; c < kClasses; ++c) {
      const double a = members[c] ? score[c] / members[c] : 0.0, b = members[pred] ? score[pred] / members[pred] : 0.0;
      if (a > b) pred = c;
    }
    correct += pred == test_labels[k];
  }
  r.accuracy = test.count ? static_cast<double>(correct) / test.count : 0.0;
  r.train_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.eval_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return r;
}

}  // namespace glia::snn
