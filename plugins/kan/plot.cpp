#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace glia::kan {

std::vector<std::vector<std::pair<double, double>>> input_ranges(const Model<double>& m, const double* x, size_t n) {
  std::vector<std::vector<std::pair<double, double>>> ranges(m.depth());
  Workspace<double> ws;
  if (x && n > 0) forward(m, x, n, ws);
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& L = m.layers[l];
    for (size_t i = 0; i < L.in; ++i) {
      double lo = L.knots_of(i)[L.order], hi = L.knots_of(i)[L.order + L.grid];
      if (x && n > 0) {
        lo = hi = ws.act[l][i];
        for (size_t b = 0; b < n; ++b) {
          lo = std::min(lo, ws.act[l][b * L.in + i]);
          hi = std::max(hi, ws.act[l][b * L.in + i]);
        }
      }
      if (!(hi > lo)) hi = lo + 1e-6;
      ranges[l].push_back({lo, hi});
    }
  }
  return ranges;
}

namespace {
std::string escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '&') r += "&amp;";
    else r += c;
  }
  return r;
}
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
}  // namespace

std::string plot_svg(const Model<double>& m, const std::vector<std::vector<std::pair<double, double>>>& ranges,
                     const std::vector<std::string>& names, size_t points) {
  constexpr double W = 150, H = 110, pad = 14, plot_w = W - 2 * pad, plot_h = H - 2 * pad - 12;
  size_t columns = 1;
  for (const auto& L : m.layers) columns = std::max(columns, L.in * L.out);
  columns = std::min<size_t>(columns, 16);
  std::vector<size_t> rows_of(m.depth());
  size_t total_rows = 0;
  for (size_t l = 0; l < m.depth(); ++l) {
    rows_of[l] = (m.layers[l].in * m.layers[l].out + columns - 1) / columns;
    total_rows += rows_of[l];
  }
  std::ostringstream svg;
  const double width = columns * W, height = total_rows * H + m.depth() * 20;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"9\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  double y0 = 0;
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& L = m.layers[l];
    svg << "<text x=\"4\" y=\"" << y0 + 14 << "\" font-size=\"12\" font-weight=\"bold\">layer " << l << ": "
        << L.in << " -> " << L.out << "</text>\n";
    y0 += 20;
    for (size_t i = 0; i < L.in; ++i)
      for (size_t o = 0; o < L.out; ++o) {
        const size_t e = i * L.out + o;
        const double px = (e % columns) * W, py = y0 + (e / columns) * H;
        const auto [lo, hi] = ranges[l][i];
        std::vector<double> ys(points);
        for (size_t s = 0; s < points; ++s) ys[s] = edge_value(m, l, i, o, lo + (hi - lo) * s / (points - 1));
        double ylo = *std::min_element(ys.begin(), ys.end()), yhi = *std::max_element(ys.begin(), ys.end());
        if (!(yhi - ylo > 1e-12)) ylo -= 0.5, yhi += 0.5;
        const bool off = L.mask[e] == 0 && L.symbolic[e] == Fn::none;
        const std::string in_name = l == 0 && i < names.size() ? names[i] : "n" + std::to_string(l) + "." + std::to_string(i);
        std::string label = in_name + " -> " + (l + 1 == m.depth() ? "out" : "n" + std::to_string(l + 1) + ".") +
                            std::to_string(o);
        if (L.symbolic[e] != Fn::none) label += " [" + std::string(fn_name(L.symbolic[e])) + "]";
        svg << "<g transform=\"translate(" << px << "," << py << ")\"" << (off ? " opacity=\"0.25\"" : "") << ">\n"
            << "<rect x=\"" << pad << "\" y=\"" << pad << "\" width=\"" << plot_w << "\" height=\"" << plot_h
            << "\" fill=\"none\" stroke=\"#999\"/>\n"
            << "<text x=\"" << pad << "\" y=\"10\">" << escape(label) << "</text>\n"
            << "<text x=\"" << pad << "\" y=\"" << H - 4 << "\">" << num(lo) << "</text>\n"
            << "<text x=\"" << W - pad << "\" y=\"" << H - 4 << "\" text-anchor=\"end\">" << num(hi) << "</text>\n"
            << "<text x=\"" << W - pad - 2 << "\" y=\"" << pad + 9 << "\" text-anchor=\"end\" fill=\"#666\">" << num(yhi) << "</text>\n"
            << "<text x=\"" << W - pad - 2 << "\" y=\"" << pad + plot_h - 3 << "\" text-anchor=\"end\" fill=\"#666\">" << num(ylo) << "</text>\n"
            << "<polyline fill=\"none\" stroke=\"" << (L.symbolic[e] != Fn::none ? "#c0392b" : "#1f4e79")
            << "\" stroke-width=\"1.5\" points=\"";
        for (size_t s = 0; s < points; ++s) {
          const double sx = pad + plot_w * s / (points - 1);
          const double sy = pad + plot_h * (1 - (ys[s] - ylo) / (yhi - ylo));
          svg << num(sx) << "," << num(sy) << (s + 1 < points ? " " : "");
        }
        svg << "\"/>\n</g>\n";
      }
    y0 += rows_of[l] * H;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace glia::kan
