// SVG raster plot: one short horizontal stroke per spike (one <path> per population keeps the file
// small), population rates as polylines beneath.
#include <glia/snn.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

namespace glia::snn {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string fmt(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", x);
  return b;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

}  // namespace

std::string raster_svg(std::span<const int64_t> spike_steps, std::span<const int64_t> spike_neurons,
                       double dt_ms, int64_t steps, std::span<const int64_t> pop_first,
                       std::span<const int64_t> pop_size, std::span<const std::string> pop_names,
                       std::span<const double> rates, int64_t bins, const RasterStyle& st) {
  const size_t np = pop_first.size();
  int64_t n = 0;
  for (size_t q = 0; q < np; ++q) n = std::max(n, pop_first[q] + pop_size[q]);
  n = std::max<int64_t>(n, 1);
  steps = std::max<int64_t>(steps, 1);
  const double left = 60, top = 20, gap = 40, right = 20, bottom = 40;
  const double w = st.width - left - right;
  const double h1 = st.raster_height, h2 = st.rate_height;
  const double total_h = top + h1 + gap + h2 + bottom;
  const double t_ms = steps * dt_ms;
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(st.width) + "\" height=\"" + fmt(total_h) +
       "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // Raster.
  const int64_t stride = std::max<int64_t>(1, (static_cast<int64_t>(spike_steps.size()) + st.max_dots - 1) / std::max<int64_t>(1, st.max_dots));
  const double dot = std::max(0.6, std::min(2.0, w / steps));
  std::vector<std::string> paths(std::max<size_t>(np, 1));
  for (size_t k = 0; k < spike_steps.size(); k += stride) {
    const int64_t g = spike_neurons[k];
    size_t q = 0;
    while (q + 1 < np && g >= pop_first[q + 1]) ++q;
    const double x = left + w * spike_steps[k] / steps;
    const double y = top + h1 * (g + 0.5) / n;
    std::string& d = paths[q];
    d += 'M';
    d += fmt(x);
    d += ' ';
    d += fmt(y);
    d += 'h';
    d += fmt(dot);
  }
  for (size_t q = 0; q < paths.size(); ++q)
    if (!paths[q].empty())
      o += "<path stroke=\"" + std::string(kColors[q % 8]) + "\" stroke-width=\"" + fmt(std::max(1.0, h1 / n)) +
           "\" d=\"" + paths[q] + "\"/>\n";
  o += "<rect x=\"" + fmt(left) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(w) + "\" height=\"" + fmt(h1) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"15\" y=\"" + fmt(top + h1 / 2) + "\" transform=\"rotate(-90 15 " + fmt(top + h1 / 2) +
       ")\" text-anchor=\"middle\">neuron</text>\n";
  o += "<text x=\"" + fmt(left - 4) + "\" y=\"" + fmt(top + 10) + "\" text-anchor=\"end\">0</text>\n";
  o += "<text x=\"" + fmt(left - 4) + "\" y=\"" + fmt(top + h1) + "\" text-anchor=\"end\">" + std::to_string(n) + "</text>\n";
  // Rates.
  const double y0 = top + h1 + gap;
  double peak = 0;
  for (double r : rates) peak = std::max(peak, r);
  peak = peak > 0 ? peak * 1.05 : 1.0;
  for (size_t q = 0; q < np && bins > 0; ++q) {
    std::string pts;
    for (int64_t b = 0; b < bins; ++b) {
      const double x = left + w * (b + 0.5) / bins;
      const double y = y0 + h2 * (1.0 - rates[q * bins + b] / peak);
      pts += fmt(x);
      pts += ',';
      pts += fmt(y);
      pts += ' ';
    }
    o += "<polyline fill=\"none\" stroke=\"" + std::string(kColors[q % 8]) + "\" stroke-width=\"1.5\" points=\"" + pts + "\"/>\n";
    // Legend in the top right corner, clear of the axis labels.
    o += "<text x=\"" + fmt(left + w - 8 - 90 * (np - 1 - q)) + "\" y=\"" + fmt(y0 + 14) +
         "\" text-anchor=\"end\" fill=\"" + kColors[q % 8] + "\">" +
         escape(q < pop_names.size() ? pop_names[q] : "pop" + std::to_string(q)) + "</text>\n";
  }
  o += "<rect x=\"" + fmt(left) + "\" y=\"" + fmt(y0) + "\" width=\"" + fmt(w) + "\" height=\"" + fmt(h2) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + fmt(left - 4) + "\" y=\"" + fmt(y0 + 10) + "\" text-anchor=\"end\">" + fmt(peak) + "</text>\n";
  o += "<text x=\"" + fmt(left - 4) + "\" y=\"" + fmt(y0 + h2) + "\" text-anchor=\"end\">0</text>\n";
  o += "<text x=\"15\" y=\"" + fmt(y0 + h2 / 2) + "\" transform=\"rotate(-90 15 " + fmt(y0 + h2 / 2) +
       ")\" text-anchor=\"middle\">rate (Hz)</text>\n";
  const double yb = y0 + h2 + 16;
  o += "<text x=\"" + fmt(left) + "\" y=\"" + fmt(yb) + "\">0</text>\n";
  o += "<text x=\"" + fmt(left + w) + "\" y=\"" + fmt(yb) + "\" text-anchor=\"end\">" + fmt(t_ms) + "</text>\n";
  o += "<text x=\"" + fmt(left + w / 2) + "\" y=\"" + fmt(yb + 14) + "\" text-anchor=\"middle\">time (ms)</text>\n";
  o += "</svg>\n";
  return o;
}

}  // namespace glia::snn
