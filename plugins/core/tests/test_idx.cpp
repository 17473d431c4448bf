#include "errors.hpp"
#include "idx.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <chrono>

using namespace glia::core;
using glia::core::testing::TempDir;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX file of `type` with the given dims and raw big-endian payload.
std::string idx_file(uint8_t type, std::vector<uint32_t> dims, std::string payload) {
  std::string s{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s + payload;
}

void write_gz(const std::filesystem::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

// 3 images of 2x2 pixels with values 0, 51, ..., 255 (k * 51 = k/5 of full scale).
std::string three_images() {
  std::string px;
  for (int i = 0; i < 12; ++i) px.push_back(static_cast<char>((i % 6) * 51));
  return idx_file(0x08, {3, 2, 2}, px);
}

}  // namespace

TEST_CASE("idx: images and labels, plain and gzip, with a limit") {
  TempDir dir;
  const auto plain = dir.write("img.idx", three_images());
  write_gz(dir / "img.idx.gz", three_images());
  for (const auto& path : {plain, dir / "img.idx.gz"}) {
    const IdxArray a = read_idx(path);
    CHECK(a.type == idx_type::u8);
    CHECK(a.dims == std::vector<int64_t>{3, 2, 2});
    std::vector<float> x(12);
    idx_to_float(a, true, x.data());
    CHECK(x[0] == 0.0f);
    CHECK(x[1] == 0.2f);
    CHECK(x[5] == 1.0f);
    CHECK(x[11] == 1.0f);
  }
  const IdxArray two = read_idx(plain, 2);
  CHECK(two.dims == std::vector<int64_t>{2, 2, 2});
  CHECK(two.bytes.size() == 8);
  CHECK(read_idx(plain, 99).dims[0] == 3);

  write_gz(dir / "labels.gz", idx_file(0x08, {4}, std::string("\x03\x00\x09\x01", 4)));
  const IdxArray l = read_idx(dir / "labels.gz");
  std::vector<int64_t> y(4);
  idx_to_int64(l, y.data());
  CHECK(y == std::vector<int64_t>{3, 0, 9, 1});
}

TEST_CASE("idx: multi-byte big-endian types") {
  TempDir dir;
  const auto p = dir.write("i32.idx", idx_file(0x0C, {2}, be32(0xFFFFFFFE) + be32(70000)));
  std::vector<int64_t> y(2);
  idx_to_int64(read_idx(p), y.data());
  CHECK(y == std::vector<int64_t>{-2, 70000});
  const auto f = dir.write("f32.idx", idx_file(0x0D, {1, 1}, be32(0x3FC00000)));  // 1.5f
  float v = 0;
  idx_to_float(read_idx(f), true, &v);
  CHECK(v == 1.5f);
  CHECK_THROWS_WITH(idx_to_int64(read_idx(f), y.data()), Catch::Contains("floating-point"));
}

TEST_CASE("idx: clear errors") {
  TempDir dir;
  auto kind_of = [](auto&& f) {
    try {
      f();
    } catch (const CoreError& e) {
      return e.kind();
    }
    return ErrorKind::config;
  };
  SECTION("missing file") {
    CHECK(kind_of([&] { read_idx(dir / "none.gz"); }) == ErrorKind::io);
    CHECK_THROWS_WITH(read_idx(dir / "none.gz"), Catch::Contains("none.gz") && Catch::Contains("No such file"));
  }
  SECTION("bad magic") {
    const auto p = dir.write("x.idx", "\x89PNG\r\n\x1a\n....");
    CHECK(kind_of([&] { read_idx(p); }) == ErrorKind::data);
    CHECK_THROWS_WITH(read_idx(p), Catch::Contains("x.idx: not an IDX file (magic 0x89504e47"));
    const auto t = dir.write("t.idx", idx_file(0x07, {1}, "a"));
    CHECK_THROWS_WITH(read_idx(t), Catch::Contains("not an IDX file"));
  }
  SECTION("truncated data, plain and gzip") {
    std::string cut = three_images();
    cut.resize(cut.size() - 3);
    const auto p = dir.write("cut.idx", cut);
    CHECK(kind_of([&] { read_idx(p); }) == ErrorKind::data);
    CHECK_THROWS_WITH(read_idx(p), Catch::Contains("truncated IDX data: header announces 3 items of 4 bytes, 2 items could be read"));
    CHECK_NOTHROW(read_idx(p, 2));  // the first two items are all there

    write_gz(dir / "full.gz", three_images());
    const std::string gz = glia::core::testing::read_file(dir / "full.gz");
    const auto g = dir.write("cut.gz", gz.substr(0, gz.size() - 12));
    CHECK_THROWS_WITH(read_idx(g), Catch::Contains("cut.gz"));
    const auto h = dir.write("header.idx", std::string("\0\0\x08\x03\0\0", 6));
    CHECK_THROWS_WITH(read_idx(h), Catch::Contains("truncated IDX header"));
  }
}

#ifdef GLIA_FASHION_MNIST
TEST_CASE("idx: Fashion-MNIST as shipped by Debian") {
  const std::filesystem::path dir = GLIA_FASHION_MNIST;
  if (!std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << dir << " not found (Debian package dataset-fashion-mnist)");
    return;
  }
  const IdxArray labels = read_idx(dir / "t10k-labels-idx1-ubyte.gz");
  REQUIRE(labels.dims == std::vector<int64_t>{10000});
  std::vector<int64_t> y(10000);
  idx_to_int64(labels, y.data());
  for (int64_t c = 0; c < 10; ++c) CHECK(std::count(y.begin(), y.end(), c) == 1000);

  const auto t0 = std::chrono::steady_clock::now();
  const IdxArray images = read_idx(dir / "t10k-images-idx3-ubyte.gz");
  std::vector<float> x(static_cast<size_t>(images.size()));
  idx_to_float(images, true, x.data());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  WARN("t10k images (10000x28x28) read in " << ms << " ms");
  CHECK(images.dims == std::vector<int64_t>{10000, 28, 28});
  CHECK(*std::min_element(x.begin(), x.end()) == 0.0f);
  CHECK(*std::max_element(x.begin(), x.end()) == 1.0f);

  const IdxArray first = read_idx(dir / "train-images-idx3-ubyte.gz", 5);
  CHECK(first.dims == std::vector<int64_t>{5, 28, 28});
}
#endif
