// KAN models as safetensors: per layer "layers.<l>.{coef,scale_base,scale_sp,bias,knots,mask,affine}"
// in float64 and __metadata__ {"kan": {"widths", "grid", "k", "symbolic": [[names per edge]...],
// "extra": caller's JSON}}.
#include "kan.hpp"

#include <glia/nn/safetensors.hpp>

#include <nlohmann/json.hpp>

#include <cstring>
#include <stdexcept>

namespace glia::kan {

namespace st = nn::safetensors;

namespace {

st::TensorData tensor(const double* data, std::vector<int64_t> shape) {
  st::TensorData t;
  t.dtype = st::DType::F64;
  t.shape = std::move(shape);
  t.bytes.assign(reinterpret_cast<const char*>(data), t.numel() * sizeof(double));
  return t;
}

void read_into(const st::File& file, const std::string& name, std::vector<int64_t> shape, double* out) {
  auto it = file.tensors.find(name);
  if (it == file.tensors.end()) throw std::runtime_error("KAN model has no tensor '" + name + "'");
  if (it->second.shape != shape) throw std::runtime_error("KAN model tensor '" + name + "' has the wrong shape");
  const nn::Tensor<double> t = st::to_tensor<double>(it->second);
  std::copy(t.begin(), t.end(), out);
}

Fn fn_from_name(const std::string& s) {
  if (s == "spline") return Fn::none;
  for (int f = 0; f < kFnCount; ++f)
    if (s == fn_name(static_cast<Fn>(f))) return static_cast<Fn>(f);
  throw std::runtime_error("KAN model names an unknown symbolic function '" + s + "'");
}

}  // namespace

std::string save_model(const Model<double>& m, const std::string& extra_json) {
  st::File file;
  nlohmann::json meta;
  meta["widths"] = m.widths;
  meta["grid"] = m.grid;
  meta["k"] = m.order;
  meta["symbolic"] = nlohmann::json::array();
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& L = m.layers[l];
    const auto in = static_cast<int64_t>(L.in), out = static_cast<int64_t>(L.out);
    const std::string p = "layers." + std::to_string(l) + ".";
    file.tensors[p + "coef"] = tensor(m.coef(l), {in, static_cast<int64_t>(L.bases()), out});
    file.tensors[p + "scale_base"] = tensor(m.scale_base(l), {in, out});
    file.tensors[p + "scale_sp"] = tensor(m.scale_sp(l), {in, out});
    file.tensors[p + "bias"] = tensor(m.bias(l), {out});
    file.tensors[p + "knots"] = tensor(L.knots.data(), {in, static_cast<int64_t>(L.n_knots())});
    file.tensors[p + "mask"] = tensor(L.mask.data(), {in, out});
    file.tensors[p + "affine"] = tensor(m.affine.value.data() + L.affine, {in, out, 4});
    nlohmann::json names = nlohmann::json::array();
    for (Fn f : L.symbolic) names.push_back(fn_name(f));
    meta["symbolic"].push_back(names);
  }
  meta["extra"] = extra_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(extra_json);
  file.metadata["format"] = "glia-kan";
  file.metadata["kan"] = meta.dump();
  return st::serialize(file);
}

Model<double> load_model(const std::string& bytes, std::string* extra_json) {
  const st::File file = st::parse(bytes);
  auto fmt = file.metadata.find("format");
  auto kan = file.metadata.find("kan");
  if (fmt == file.metadata.end() || fmt->second != "glia-kan" || kan == file.metadata.end())
    throw std::runtime_error("not a glia KAN model (no 'glia-kan' metadata)");
  const nlohmann::json meta = nlohmann::json::parse(kan->second);
  Model<double> m = empty_model<double>(meta.at("widths").get<std::vector<size_t>>(), meta.at("grid").get<int>(),
                                        meta.at("k").get<int>());
  for (size_t l = 0; l < m.depth(); ++l) {
    Layer<double>& L = m.layers[l];
    const auto in = static_cast<int64_t>(L.in), out = static_cast<int64_t>(L.out);
    const std::string p = "layers." + std::to_string(l) + ".";
    read_into(file, p + "coef", {in, static_cast<int64_t>(L.bases()), out}, m.coef(l));
    read_into(file, p + "scale_base", {in, out}, m.scale_base(l));
    read_into(file, p + "scale_sp", {in, out}, m.scale_sp(l));
    read_into(file, p + "bias", {out}, m.bias(l));
    read_into(file, p + "knots", {in, static_cast<int64_t>(L.n_knots())}, L.knots.data());
    read_into(file, p + "mask", {in, out}, L.mask.data());
    read_into(file, p + "affine", {in, out, 4}, m.affine.value.data() + L.affine);
    const auto& names = meta.at("symbolic").at(l);
    if (names.size() != L.symbolic.size()) throw std::runtime_error("KAN model symbolic table has the wrong size");
    for (size_t e = 0; e < names.size(); ++e) L.symbolic[e] = fn_from_name(names[e].get<std::string>());
  }
  if (extra_json) *extra_json = meta.contains("extra") ? meta["extra"].dump() : "{}";
  return m;
}

}  // namespace glia::kan
