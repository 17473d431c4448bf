// safetensors: round trips, the byte layout of the format, and clear errors for broken files.
#include <glia/nn/model.hpp>
#include <glia/nn/safetensors.hpp>
#include <glia/nn/train.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <cstring>

using namespace glia::nn;
namespace st = glia::nn::safetensors;

namespace {
st::File sample_file() {
  st::File f;
  f.metadata = {{"format", "pt"}, {"note", "hello"}};
  Tensor<float> a = {{1.5f, -2.f, 3.f}, {4.f, 5.f, 6.25f}};
  Tensor<double> b = {0.1, 0.2};
  f.tensors["a"] = st::from_tensor(a);
  f.tensors["b"] = st::from_tensor(b);
  st::TensorData c;
  c.dtype = st::DType::I64;
  c.shape = {};
  int64_t v = -7;
  c.bytes.assign(reinterpret_cast<const char*>(&v), 8);
  f.tensors["c"] = c;
  return f;
}
// A file built by hand from the format description, header and data given explicitly.
std::string handmade(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}
std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * 4);
}
}  // namespace

TEST_CASE("safetensors round trip keeps dtypes, shapes, bytes and metadata") {
  const st::File f = sample_file();
  const std::string bytes = st::serialize(f);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);  // data is 8-byte aligned
  CHECK(bytes.size() == 8 + n + 6 * 4 + 2 * 8 + 8);
  const st::File g = st::parse(bytes);
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == 3);
  for (const auto& [name, t] : f.tensors) {
    const auto& u = g.tensors.at(name);
    CHECK(u.dtype == t.dtype);
    CHECK(u.shape == t.shape);
    CHECK(u.bytes == t.bytes);
  }
  Tensor<float> a = st::to_tensor<float>(g.tensors.at("a"));
  CHECK(a(1, 2) == 6.25f);
  CHECK(st::to_tensor<double>(g.tensors.at("c"))() == -7);
}

TEST_CASE("safetensors reads a file laid out as the format specifies") {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
      R"("h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"z":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})";
  // F16 1.0 = 0x3C00, -2.5 = 0xC100; BF16 of 1.0 = 0x3F80, 0.15625 = 0x3E20
  const unsigned char halves[] = {0x00, 0x3C, 0x00, 0xC1, 0x80, 0x3F, 0x20, 0x3E};
  const std::string data = std::string(reinterpret_cast<const char*>(halves), 8) + floats({3.f, -1.f});
  const st::File f = st::parse(handmade(header, data));
  CHECK(f.metadata.at("format") == "pt");
  Tensor<float> h = st::to_tensor<float>(f.tensors.at("h"));
  CHECK(h(0) == 1.0f);
  CHECK(h(1) == -2.5f);
  Tensor<float> z = st::to_tensor<float>(f.tensors.at("z"));
  CHECK(z(0) == 1.0f);
  CHECK(z(1) == 0.15625f);
  Tensor<float> w = st::to_tensor<float>(f.tensors.at("w"));
  CHECK(w(1) == -1.f);
}

TEST_CASE("safetensors rejects truncated files at every cut") {
  const std::string bytes = st::serialize(sample_file());
  for (size_t cut : {size_t(0), size_t(5), size_t(8), size_t(20), bytes.size() - 1, bytes.size() - 9}) {
    INFO("cut at " << cut);
    CHECK_THROWS_WITH(st::parse(std::string_view(bytes).substr(0, cut)), Catch::Contains("truncated"));
  }
}

TEST_CASE("safetensors rejects inconsistent headers with a reason") {
  const std::string d8 = floats({1.f, 2.f});
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8)),
                    Catch::Contains("need 12 bytes but data_offsets span 8"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}})", d8)),
                    Catch::Contains("unknown dtype 'Q8'"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8)),
                    Catch::Contains("non-contiguous"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8)),
                    Catch::Contains("cover 4"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"F32","shape":[2],)", d8)),
                    Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8)),
                    Catch::Contains("negative"));
  CHECK_THROWS_WITH(st::parse(handmade(R"({"__metadata__":{"k":1}})", "")),
                    Catch::Contains("not a string"));
  std::string huge(8, '\xff');
  CHECK_THROWS_WITH(st::parse(huge), Catch::Contains("implausible"));
}

TEST_CASE("a saved model loads back with identical predictions and metadata") {
  auto model = Sequential<float>::from_architecture(
      R"([{"type":"linear","in_features":4,"out_features":8},{"type":"gelu"},
          {"type":"batchnorm1d","num_features":8},{"type":"linear","in_features":8,"out_features":3}])",
      7);
  Tensor<float> x = Tensor<float>::from_shape({5, 4});
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i % 7) / 7 - 0.4f;
  model.forward(x, true);  // moves the batch-norm running statistics off their defaults
  const Tensor<float> before = predict(model, x);
  const std::string bytes = save_model(model, {{"glia.nn.task", "classification"}});
  std::map<std::string, std::string> meta;
  Sequential<float> loaded = load_model(bytes, &meta);
  CHECK(meta.at("glia.nn.task") == "classification");
  CHECK(meta.at(kArchitectureKey) == model.architecture());
  const bool same = predict(loaded, x) == before;
  CHECK(same);
  const st::File f = st::parse(bytes);
  CHECK(f.tensors.count("0.weight"));
  CHECK(f.tensors.at("0.weight").shape == std::vector<int64_t>{8, 4});  // torch's (out, in)
  CHECK(f.tensors.count("2.running_var"));
  CHECK(f.tensors.at("2.num_batches_tracked").shape.empty());
}

TEST_CASE("loading a checkpoint into a mismatched model fails clearly") {
  auto model = Sequential<float>::from_architecture(
      R"([{"type":"linear","in_features":4,"out_features":3}])", 1);
  st::File f = st::parse(save_model(model));
  auto other = Sequential<float>::from_architecture(
      R"([{"type":"linear","in_features":5,"out_features":3}])", 1);
  CHECK_THROWS_WITH(load_state(other, f), Catch::Contains("'0.weight' is (3, 4), the model expects (3, 5)"));
  f.tensors.erase("0.bias");
  CHECK_THROWS_WITH(load_state(model, f), Catch::Contains("lacks tensor '0.bias'"));
  f.tensors["9.extra"] = f.tensors.at("0.weight");
  CHECK_THROWS_WITH(load_state(model, f), Catch::Contains("'9.extra'"));
  st::File plain;
  CHECK_THROWS_WITH(load_model(st::serialize(plain)), Catch::Contains("not a glia::nn model"));
  CHECK_THROWS_WITH(Sequential<float>::from_architecture(R"([{"type":"lstm"}])"),
                    Catch::Contains("unknown layer type 'lstm'"));
}
