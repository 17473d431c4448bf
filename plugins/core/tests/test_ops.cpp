// The operators through the real ABI trampolines (glia::testing::Harness), and the built plugin.
#include "core_ops.hpp"
#include "npy.hpp"
#include "temp_dir.hpp"

#include <glia/testing.hpp>

#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <set>

using namespace glia::core;
using glia::core::testing::TempDir;
using glia::testing::Harness;

#ifdef GLIA_CORE_PLUGIN
TEST_CASE("plugin: glia-core.so exports the ten operators with documented params and ports") {
  void* lib = dlopen(GLIA_CORE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  REQUIRE(lib);
  auto entry_fn = reinterpret_cast<glia_plugin_entry_fn>(dlsym(lib, GLIA_ENTRY_SYMBOL));
  REQUIRE(entry_fn);
  const glia_plugin_entry* entry = entry_fn();
  CHECK(entry->abi.major == GLIA_ABI_MAJOR);
  CHECK(std::string(entry->name) == "core");
  REQUIRE(entry->init(GLIA_CORE_PLUGIN) == 0);
  auto factory = static_cast<const glia_operator_factory*>(entry->get_factory(GLIA_OPERATOR_FACTORY_ID));
  REQUIRE(factory);
  std::set<std::string> ids;
  for (uint32_t i = 0; i < factory->count(factory); ++i) {
    const glia_operator_descriptor* d = factory->get_descriptor(factory, i);
    ids.insert(d->id);
    INFO(d->id);
    CHECK(std::strlen(d->summary) > 10);
    for (uint32_t p = 0; p < d->n_params; ++p) CHECK(std::strlen(d->params[p].doc) > 10);
    for (uint32_t p = 0; p < d->n_ports; ++p) CHECK(std::strlen(d->ports[p].doc) > 5);
    const glia_operator* op = factory->create(factory, nullptr, d->id);
    REQUIRE(op);
    op->destroy(op);
  }
  CHECK(ids == std::set<std::string>{"io.read_csv", "io.read_npy", "io.write_npy", "io.read_idx",
                                     "data.split", "data.standardize", "data.one_hot", "data.synthetic",
                                     "metrics.regression", "metrics.classification"});
  entry->deinit();
  dlclose(lib);
}
#endif

TEST_CASE("io.read_csv") {
  TempDir dir;
  const auto csv = dir.write("d.csv", "name,a,b,t1,t2\r\nx,1,2,3,4\r\ny,5,6,7,8\r\n").string();
  SECTION("one target gives y (N)") {
    Harness<ReadCsv> h;
    h.param("path", csv);
    h.param("target", "t1");
    h.param("drop", "name,t2");
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output_shape("x") == std::vector<int64_t>{2, 2});
    CHECK(h.output<double>("x") == std::vector<double>{1, 2, 5, 6});
    CHECK(h.output_shape("y") == std::vector<int64_t>{2});
    CHECK(h.output<double>("y") == std::vector<double>{3, 7});
  }
  SECTION("two targets give y (N,T); no target gives no y") {
    Harness<ReadCsv> h;
    h.param("path", csv);
    h.param("target", "t1, t2");
    h.param("columns", "b");
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output_shape("y") == std::vector<int64_t>{2, 2});
    CHECK(h.output<double>("x") == std::vector<double>{2, 6});
    Harness<ReadCsv> g;
    g.param("path", csv);
    g.param("drop", "name");
    REQUIRE(g.run() == GLIA_OK);
    CHECK_FALSE(g.has_output("y"));
  }
  SECTION("errors map onto statuses") {
    Harness<ReadCsv> h;
    h.param("path", (dir / "missing.csv").string());
    CHECK(h.run() == GLIA_ERR_IO);
    CHECK_THAT(h.error(), Catch::Contains("missing.csv"));
    h.param("path", csv);
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK(h.error() == csv + ":2: column 'name' value 'x' is not a number (drop it with drop = \"name\")");
    h.param("drop", "nmae");
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    CHECK_THAT(h.error(), Catch::Contains("did you mean 'name'?"));
    h.param("target", "a");
    h.param("drop", "a");
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    CHECK(h.error() == "column 'a' is in both target and drop");
  }
}

TEST_CASE("io.write_npy and io.read_npy round-trip") {
  TempDir dir;
  SECTION("relative path into the artifact folder, float32 (2,2)") {
    Harness<WriteNpy> w;
    w.artifact_dir((dir / "run/stage").string());
    w.param("path", "sub/a.npy");
    w.input<float>("x", {1.5f, -2, 3, 4}, {2, 2});
    REQUIRE(w.run() == GLIA_OK);
    const auto file = dir / "run/stage/sub/a.npy";
    REQUIRE(std::filesystem::exists(file));
    Harness<ReadNpy> r;
    r.param("path", file.string());
    REQUIRE(r.run() == GLIA_OK);
    CHECK(r.output_shape("x") == std::vector<int64_t>{2, 2});
    CHECK(r.output<float>("x") == std::vector<float>{1.5f, -2, 3, 4});
  }
  SECTION("absolute path, int64 and uint8 3-D") {
    Harness<WriteNpy> w;
    w.artifact_dir((dir / "unused").string());
    w.param("path", (dir / "l.npy").string());
    w.input<int64_t>("x", {7, -8, 9}, {3});
    REQUIRE(w.run() == GLIA_OK);
    CHECK_FALSE(std::filesystem::exists(dir / "unused"));
    Harness<ReadNpy> r;
    r.param("path", (dir / "l.npy").string());
    REQUIRE(r.run() == GLIA_OK);
    CHECK(r.output<int64_t>("x") == std::vector<int64_t>{7, -8, 9});

    std::vector<uint8_t> bytes(24);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 10);
    w.param("path", (dir / "u.npy").string());
    w.input<uint8_t>("x", bytes, {2, 3, 4});
    REQUIRE(w.run() == GLIA_OK);
    const npy_array a = read_npy(dir / "u.npy");
    CHECK(a.dtype == npy_dtype::u8);
    CHECK(a.shape == std::vector<int64_t>{2, 3, 4});
    CHECK(std::vector<uint8_t>(a.bytes.begin(), a.bytes.end()) == bytes);
  }
  SECTION("errors") {
    Harness<ReadNpy> r;
    r.param("path", (dir / "none.npy").string());
    CHECK(r.run() == GLIA_ERR_IO);
    r.param("path", dir.write("bad.npy", "not numpy at all").string());
    CHECK(r.run() == GLIA_ERR_DATA);
    CHECK_THAT(r.error(), Catch::Contains("bad.npy: not an NPY file"));
    Harness<WriteNpy> w;
    w.param("path", "/nonexistent-folder/x.npy");
    w.input<double>("x", {1}, {1});
    CHECK(w.run() == GLIA_ERR_IO);
    w.param("path", "");
    CHECK(w.run() == GLIA_ERR_INVALID_ARGUMENT);
  }
}

TEST_CASE("io.read_idx") {
  TempDir dir;
  std::string images{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<char>(i == 11 ? 255 : 0));
  const auto img = dir.write("img.idx", images).string();
  const auto lab = dir.write("lab.idx", std::string("\0\0\x08\x01\0\0\0\x03\x02\x00\x07", 11)).string();
  SECTION("images (N,H,W), flattened, limited") {
    Harness<ReadIdx> h;
    h.param("path", img);
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output_shape("x") == std::vector<int64_t>{2, 2, 3});
    CHECK(h.output<float>("x")[11] == 1.0f);
    CHECK_FALSE(h.has_output("y"));
    h.param("flatten", true);
    h.param("limit", 1);
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output_shape("x") == std::vector<int64_t>{1, 6});
  }
  SECTION("labels") {
    Harness<ReadIdx> h;
    h.param("path", lab);
    REQUIRE(h.run() == GLIA_OK);
    CHECK_FALSE(h.has_output("x"));
    CHECK(h.output<int64_t>("y") == std::vector<int64_t>{2, 0, 7});
  }
  SECTION("errors") {
    Harness<ReadIdx> h;
    h.param("path", (dir / "nope.gz").string());
    CHECK(h.run() == GLIA_ERR_IO);
    h.param("path", dir.write("bad", "\x01\x02\x03\x04\x05").string());
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("not an IDX file"));
    h.param("path", img);
    h.param("limit", -1);
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  }
#ifdef GLIA_FASHION_MNIST
  SECTION("Fashion-MNIST train images load fast") {
    const std::string train = std::string(GLIA_FASHION_MNIST) + "/train-images-idx3-ubyte.gz";
    if (!std::filesystem::exists(train)) return;
    Harness<ReadIdx> h;
    h.param("path", train);
    h.param("flatten", true);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(h.run() == GLIA_OK);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    WARN("Fashion-MNIST train images (60000x784) via io.read_idx: " << ms << " ms");
    CHECK(h.output_shape("x") == std::vector<int64_t>{60000, 784});
  }
#endif
}

TEST_CASE("data.split") {
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int i = 0; i < 20; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(10 * i));
    y.push_back(i % 2);
  }
  SECTION("rows stay paired, dtypes kept, seeded") {
    Harness<Split> h;
    h.input<float>("x", x, {20, 2});
    h.input<int64_t>("y", y, {20});
    h.seed(9);
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output_shape("x_train") == std::vector<int64_t>{15, 2});
    CHECK(h.output_shape("y_test") == std::vector<int64_t>{5});
    const auto xt = h.output<float>("x_test");
    const auto yt = h.output<int64_t>("y_test");
    for (size_t i = 0; i < 5; ++i) {
      CHECK(xt[2 * i + 1] == 10 * xt[2 * i]);
      CHECK(yt[i] == static_cast<int64_t>(xt[2 * i]) % 2);
    }
    const auto first = h.output<float>("x_train");
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output<float>("x_train") == first);
    h.seed(10);
    REQUIRE(h.run() == GLIA_OK);
    CHECK(h.output<float>("x_train") != first);
  }
  SECTION("stratified on float labels; no y means no y outputs") {
    Harness<Split> h;
    std::vector<double> yf(y.begin(), y.end());
    h.input<float>("x", x, {20, 2});
    h.input<double>("y", yf, {20});
    h.param("stratify", true);
    h.param("test_fraction", 0.5);
    REQUIRE(h.run() == GLIA_OK);
    const auto yt = h.output<double>("y_test");
    CHECK(std::count(yt.begin(), yt.end(), 1.0) == 5);
    Harness<Split> g;
    g.input<float>("x", x, {20, 2});
    REQUIRE(g.run() == GLIA_OK);
    CHECK_FALSE(g.has_output("y_train"));
  }
  SECTION("errors") {
    Harness<Split> h;
    h.input<float>("x", x, {20, 2});
    h.param("test_fraction", 0.0);
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    h.param("test_fraction", 1.0);
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    h.param("test_fraction", 0.3);
    h.param("stratify", true);
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    CHECK_THAT(h.error(), Catch::Contains("needs input 'y'"));
    h.input<double>("y", std::vector<double>(20, 0.5), {20});
    CHECK(h.run() == GLIA_ERR_DATA);
    h.input<int64_t>("y", std::vector<int64_t>(7, 0), {7});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("input 'y' has 7 rows, x has 20"));
  }
}

TEST_CASE("data.standardize") {
  Harness<Standardize> h;
  h.input<double>("x_train", {1, 5, 3, 5}, {2, 2});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output<double>("x_train") == std::vector<double>{-1, 0, 1, 0});
  CHECK(h.output<double>("mean") == std::vector<double>{2, 5});
  CHECK(h.output<double>("scale") == std::vector<double>{1, 1});
  CHECK_FALSE(h.has_output("x_test"));
  h.input<double>("x_test", {4, 6}, {1, 2});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output<double>("x_test") == std::vector<double>{2, 1});
  h.input<double>("x_test", {4, 6, 7}, {1, 3});
  CHECK(h.run() == GLIA_ERR_DATA);
  h.input<double>("x_train", {1, NAN}, {1, 2});
  CHECK(h.run() == GLIA_ERR_DATA);
}

TEST_CASE("data.one_hot") {
  Harness<OneHot> h;
  h.input<double>("y", {1, 0, 2}, {3});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output_shape("y") == std::vector<int64_t>{3, 3});
  CHECK(h.output<double>("y") == std::vector<double>{0, 1, 0, 1, 0, 0, 0, 0, 1});
  h.param("classes", 5);
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output_shape("y") == std::vector<int64_t>{3, 5});
  h.param("classes", 2);
  CHECK(h.run() == GLIA_ERR_DATA);
  h.input<int64_t>("y", {-1}, {1});
  CHECK(h.run() == GLIA_ERR_DATA);
  h.input<double>("y", {0.5}, {1});
  CHECK(h.run() == GLIA_ERR_DATA);
}

TEST_CASE("data.synthetic") {
  Harness<Synthetic> h;
  h.param("samples", 50);
  h.param("features", 4);
  h.param("informative", 2);
  h.param("noise", 0.0);
  REQUIRE(h.run() == GLIA_OK);
  const auto x = h.output<double>("x"), y = h.output<double>("y"), w = h.output<double>("coef");
  const double b = h.output<double>("intercept")[0];
  CHECK(h.output_shape("x") == std::vector<int64_t>{50, 4});
  CHECK(w[2] == 0.0);
  CHECK(y[7] == Approx(b + x[28] * w[0] + x[29] * w[1]));
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output<double>("x") == x);

  h.param("task", "classification");
  CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  h.param("function", "blobs");
  h.param("classes", 3);
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output<int64_t>("y")[5] == 2);
  CHECK_FALSE(h.has_output("coef"));
  h.param("function", "moons");
  CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  CHECK_THAT(h.error(), Catch::Contains("classes = 2"));
}

TEST_CASE("metrics.regression") {
  Harness<RegressionMetrics> h;
  h.input<double>("y_true", {3, -0.5, 2, 7}, {4});
  h.input<float>("y_pred", {2.5f, 0, 2, 8}, {4, 1});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.metric("mse") == Approx(0.375));
  CHECK(h.metric("r2") == Approx(0.9486081370449679));
  CHECK(h.output<double>("scores")[2] == Approx(0.5));
  h.input<double>("y_pred", {1, 2, 3}, {3});
  CHECK(h.run() == GLIA_ERR_DATA);
  CHECK(h.error() == "y_pred has shape (3), y_true (4)");
  h.input<double>("y_pred", {1, 2, NAN, 4}, {4});
  CHECK(h.run() == GLIA_ERR_NUMERIC);
}

TEST_CASE("metrics.classification") {
  Harness<ClassificationMetrics> h;
  h.input<int64_t>("y_true", {1, 1, 0, 0, 1}, {5});
  h.input<double>("y_pred", {0.2, 0.8, 0.6, 0.4, 0.9, 0.1, 0.3, 0.7, 0.0, 1.0}, {5, 2});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.metric("accuracy") == Approx(0.6));
  CHECK(h.metric("f1") == Approx(2.0 / 3));
  CHECK(h.output<int64_t>("confusion") == std::vector<int64_t>{1, 1, 1, 2});
  h.input<double>("y_pred", {2, 1, 0, 0, 1}, {5});
  REQUIRE(h.run() == GLIA_OK);
  CHECK(h.output_shape("confusion") == std::vector<int64_t>{3, 3});
  CHECK_THROWS(h.metric("f1"));
  h.param("classes", 2);
  CHECK(h.run() == GLIA_ERR_DATA);
  h.input<double>("y_pred", {0.5, NAN, 0.1, 0.9, 0, 1, 0, 1, 0, 1}, {5, 2});
  CHECK(h.run() == GLIA_ERR_NUMERIC);
  h.input<double>("y_pred", {1, 1, 1, 1, 1, 1}, {2, 3});
  CHECK(h.run() == GLIA_ERR_DATA);
}
