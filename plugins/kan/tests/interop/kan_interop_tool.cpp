// Interop helper for the pykan scripts in this folder (built by hand: target kan_interop_tool).
//
//   kan_interop_tool forward <in.json> <out.json>
//     in:  {"widths": [...], "grid": G, "k": k, "layers": [{"knots": [in][G+2k+1], "coef": [in][out][G+k],
//           "scale_base": [in][out], "scale_sp": [in][out]}], "x": [n][d]}   (pykan's layouts)
//     out: {"y": [n][out]}
//   kan_interop_tool symbolic <in.json> <out.json>
//     in as above plus optional "library": [pykan names] (default: the functions both sides
//     share), "samples" (grid-search samples, default 1000) and "bias": [layer][out]; fits every
//     edge on x and writes {"edges": [[l, i, o, fn, r2, a, b, c, d]], "formula": [...]}.
//   kan_interop_tool export <model.safetensors> <out.json>
//     a glia model file in the input layout above (plus "bias", "symbolic"; no "x").
#include "kan.hpp"
#include "symbolic.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

using namespace glia::kan;
using nlohmann::json;

static Model<double> model_from(const json& j) {
  Model<double> m = empty_model<double>(j.at("widths").get<std::vector<size_t>>(), j.at("grid").get<int>(), j.at("k").get<int>());
  for (size_t l = 0; l < m.depth(); ++l) {
    Layer<double>& L = m.layers[l];
    const json& jl = j.at("layers").at(l);
    for (size_t i = 0; i < L.in; ++i) {
      const auto knots = jl.at("knots").at(i).get<std::vector<double>>();
      std::copy(knots.begin(), knots.end(), L.knots.begin() + i * L.n_knots());
      for (size_t o = 0; o < L.out; ++o) {
        const auto c = jl.at("coef").at(i).at(o).get<std::vector<double>>();
        for (size_t k = 0; k < L.bases(); ++k) m.coef(l)[(i * L.bases() + k) * L.out + o] = c[k];
        m.scale_base(l)[i * L.out + o] = jl.at("scale_base").at(i).at(o).get<double>();
        m.scale_sp(l)[i * L.out + o] = jl.at("scale_sp").at(i).at(o).get<double>();
        if (jl.contains("mask")) L.mask[i * L.out + o] = jl.at("mask").at(i).at(o).get<double>();
      }
    }
    if (j.contains("bias"))
      for (size_t o = 0; o < L.out; ++o) m.bias(l)[o] = j.at("bias").at(l).at(o).get<double>();
  }
  return m;
}

static json json_from(const Model<double>& m) {
  json j;
  j["widths"] = m.widths;
  j["grid"] = m.grid;
  j["k"] = m.order;
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& L = m.layers[l];
    json jl;
    for (size_t i = 0; i < L.in; ++i) {
      jl["knots"].push_back(std::vector<double>(L.knots_of(i), L.knots_of(i) + L.n_knots()));
      json coef, sb, sp, mask, sym;
      for (size_t o = 0; o < L.out; ++o) {
        std::vector<double> c(L.bases());
        for (size_t k = 0; k < L.bases(); ++k) c[k] = m.coef(l)[(i * L.bases() + k) * L.out + o];
        coef.push_back(c);
        sb.push_back(m.scale_base(l)[i * L.out + o]);
        sp.push_back(m.scale_sp(l)[i * L.out + o]);
        mask.push_back(L.mask[i * L.out + o]);
        sym.push_back(fn_name(L.symbolic[i * L.out + o]));
      }
      jl["coef"].push_back(coef);
      jl["scale_base"].push_back(sb);
      jl["scale_sp"].push_back(sp);
      jl["mask"].push_back(mask);
      jl["symbolic"].push_back(sym);
    }
    j["layers"].push_back(jl);
    j["bias"].push_back(std::vector<double>(m.bias(l), m.bias(l) + L.out));
  }
  return j;
}

static Fn fn_from(const std::string& s) {
  for (int f = 0; f < kFnCount; ++f)
    if (s == fn_name(static_cast<Fn>(f))) return static_cast<Fn>(f);
  if (s == "x^-1") return Fn::inv;
  throw std::runtime_error("unknown function '" + s + "'");
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: kan_interop_tool forward|symbolic|export <in> <out.json>\n";
    return 64;
  }
  const std::string mode = argv[1];
  if (mode == "export") {
    std::ifstream file(argv[2], std::ios::binary);
    std::stringstream bytes;
    bytes << file.rdbuf();
    std::string extra;
    json out = json_from(load_model(bytes.str(), &extra));
    out["extra"] = json::parse(extra);
    std::ofstream(argv[3]) << out.dump();
    return 0;
  }
  json in;
  std::ifstream(argv[2]) >> in;
  const Model<double> m = model_from(in);
  const auto rows = in.at("x").get<std::vector<std::vector<double>>>();
  std::vector<double> x;
  for (const auto& r : rows) x.insert(x.end(), r.begin(), r.end());
  json out;
  if (mode == "forward") {
    Workspace<double> ws;
    const auto& y = forward(m, x.data(), rows.size(), ws);
    const size_t o = m.widths.back();
    for (size_t b = 0; b < rows.size(); ++b) out["y"].push_back(std::vector<double>(y.begin() + b * o, y.begin() + (b + 1) * o));
  } else if (mode == "symbolic") {
    SymbolicOptions opt;
    opt.library = {Fn::x, Fn::x2, Fn::x3, Fn::x4, Fn::inv, Fn::sqrt, Fn::exp, Fn::log, Fn::sin, Fn::tanh, Fn::abs, Fn::zero};
    if (in.contains("library")) {
      opt.library.clear();
      for (const auto& s : in.at("library")) opt.library.push_back(fn_from(s.get<std::string>()));
    }
    opt.max_samples = in.value("samples", size_t(1000));
    Model<double> locked = m;
    const auto fits = fit_edges(m, x.data(), rows.size(), opt);
    for (const auto& f : fits) out["edges"].push_back({f.layer, f.in, f.out, fn_name(f.fit.fn), f.fit.r2, f.fit.a, f.fit.b, f.fit.c, f.fit.d});
    lock_edges(locked, fits);
    std::vector<std::string> names;
    for (size_t i = 0; i < m.widths[0]; ++i) names.push_back("x_" + std::to_string(i + 1));
    out["formula"] = formula(locked, names);
  } else {
    std::cerr << "unknown mode '" << mode << "'\n";
    return 64;
  }
  std::ofstream(argv[3]) << out.dump();
  return 0;
}
