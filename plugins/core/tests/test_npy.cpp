#include "errors.hpp"
#include "npy.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace glia::core;
using glia::core::testing::TempDir;

namespace {

template <class T>
std::vector<T> values_of(const npy_array& a) {
  std::vector<T> v(a.bytes.size() / sizeof(T));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

npy_array parse(std::string_view s) {
  return parse_npy({reinterpret_cast<const unsigned char*>(s.data()), s.size()}, "mem.npy");
}

// numpy 1.26's exact header for np.save of a (2, 3) float64 array.
const std::string kNumpyHeader =
    std::string("\x93NUMPY\x01\x00v\x00", 10) +
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n";

}  // namespace

TEST_CASE("npy: header matches numpy byte for byte and aligns data to 64") {
  const std::vector<int64_t> shape{2, 3};
  CHECK(npy_header(npy_dtype::f64, shape) == kNumpyHeader);
  for (const auto& s : {std::vector<int64_t>{}, {7}, {1, 2, 3, 4, 5, 6, 7, 8}})
    CHECK(npy_header(npy_dtype::u8, s).size() % 64 == 0);
  CHECK(npy_header(npy_dtype::i32, std::vector<int64_t>{5}).find("'shape': (5,)") != std::string::npos);
  CHECK(npy_header(npy_dtype::f32, std::vector<int64_t>{}).find("'shape': ()") != std::string::npos);
}

TEST_CASE("npy: write then read round-trips every dtype and rank") {
  TempDir dir;
  SECTION("float64 (2,3)") {
    const std::vector<double> v{1.5, -2, 3, 4e300, 5, 6};
    const std::vector<int64_t> shape{2, 3};
    write_npy(dir / "a.npy", v.data(), npy_dtype::f64, shape);
    const npy_array a = read_npy(dir / "a.npy");
    CHECK(a.dtype == npy_dtype::f64);
    CHECK(a.shape == shape);
    CHECK(values_of<double>(a) == v);
    // The file is the numpy header followed by the raw data.
    const std::string file = glia::core::testing::read_file(dir / "a.npy");
    CHECK(file.substr(0, 128) == kNumpyHeader);
    CHECK(file.size() == 128 + 48);
  }
  SECTION("float32 scalar, int32 3-D, int64 1-D, uint8 with a zero dim") {
    const float f = 2.25f;
    write_npy(dir / "f.npy", &f, npy_dtype::f32, std::vector<int64_t>{});
    const npy_array af = read_npy(dir / "f.npy");
    CHECK(af.shape.empty());
    CHECK(af.size() == 1);
    CHECK(values_of<float>(af) == std::vector<float>{2.25f});

    std::vector<int32_t> i(24);
    for (int k = 0; k < 24; ++k) i[static_cast<size_t>(k)] = k - 12;
    write_npy(dir / "i.npy", i.data(), npy_dtype::i32, std::vector<int64_t>{2, 3, 4});
    const npy_array ai = read_npy(dir / "i.npy");
    CHECK(ai.shape == std::vector<int64_t>{2, 3, 4});
    CHECK(values_of<int32_t>(ai) == i);

    const std::vector<int64_t> l{INT64_MIN, 0, INT64_MAX};
    write_npy(dir / "l.npy", l.data(), npy_dtype::i64, std::vector<int64_t>{3});
    CHECK(values_of<int64_t>(read_npy(dir / "l.npy")) == l);

    write_npy(dir / "u.npy", nullptr, npy_dtype::u8, std::vector<int64_t>{0, 3});
    const npy_array au = read_npy(dir / "u.npy");
    CHECK(au.dtype == npy_dtype::u8);
    CHECK(au.shape == std::vector<int64_t>{0, 3});
    CHECK(au.bytes.empty());
  }
  SECTION("atomic: no temporary file is left, an existing file is replaced") {
    const std::vector<double> v{1, 2};
    write_npy(dir / "a.npy", v.data(), npy_dtype::f64, std::vector<int64_t>{2});
    write_npy(dir / "a.npy", v.data(), npy_dtype::f64, std::vector<int64_t>{1, 2});
    CHECK(read_npy(dir / "a.npy").shape == std::vector<int64_t>{1, 2});
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
    CHECK(files == 1);
  }
}

TEST_CASE("npy: reads numpy's Fortran-order big-endian arrays as C order") {
  // np.save of np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)), verbatim.
  std::string file = std::string("\x93NUMPY\x01\x00v\x00", 10) +
                     "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }" +
                     std::string(59, ' ') + "\n";
  const unsigned char data[] = {0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 5};
  file.append(reinterpret_cast<const char*>(data), sizeof data);
  const npy_array a = parse(file);
  CHECK(a.dtype == npy_dtype::i32);
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(values_of<int32_t>(a) == std::vector<int32_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("npy: Fortran order of rank 3 and format version 2.0") {
  // shape (2, 3, 2), element (i, j, k) = 100 i + 10 j + k, stored Fortran order.
  std::vector<double> fortran;
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fortran.push_back(100 * i + 10 * j + k);
  const std::string dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }\n";
  std::string file = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t len = static_cast<uint32_t>(dict.size());
  file.append(reinterpret_cast<const char*>(&len), 4);
  file += dict;
  file.append(reinterpret_cast<const char*>(fortran.data()), fortran.size() * 8);
  const npy_array a = parse(file);
  std::vector<double> expect;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) expect.push_back(100 * i + 10 * j + k);
  CHECK(values_of<double>(a) == expect);
}

TEST_CASE("npy: clear errors for bad files") {
  TempDir dir;
  auto kind_and_message = [](auto&& f) -> std::pair<ErrorKind, std::string> {
    try {
      f();
    } catch (const CoreError& e) {
      return {e.kind(), e.what()};
    }
    return {ErrorKind::config, "no error"};
  };
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  write_npy(dir / "good.npy", v.data(), npy_dtype::f64, std::vector<int64_t>{2, 3});
  const std::string good = glia::core::testing::read_file(dir / "good.npy");

  SECTION("missing file is an io error naming it") {
    auto [kind, msg] = kind_and_message([&] { read_npy(dir / "nope.npy"); });
    CHECK(kind == ErrorKind::io);
    CHECK_THAT(msg, Catch::Contains("nope.npy") && Catch::Contains("No such file"));
  }
  SECTION("bad magic") {
    dir.write("bad.npy", "PK\x03\x04 this is a zip file");
    auto [kind, msg] = kind_and_message([&] { read_npy(dir / "bad.npy"); });
    CHECK(kind == ErrorKind::data);
    CHECK_THAT(msg, Catch::Contains("bad.npy: not an NPY file"));
  }
  SECTION("truncated data, in a file and in memory") {
    dir.write("cut.npy", good.substr(0, good.size() - 8));
    auto [kind, msg] = kind_and_message([&] { read_npy(dir / "cut.npy"); });
    CHECK(kind == ErrorKind::data);
    CHECK_THAT(msg, Catch::Contains("truncated NPY data") && Catch::Contains("needs 48 bytes") &&
                        Catch::Contains("holds 40"));
    CHECK_THROWS_WITH(parse(good.substr(0, 100)), Catch::Contains("truncated NPY header"));
  }
  SECTION("trailing garbage") {
    CHECK_THROWS_WITH(parse(good + "xx"), Catch::Contains("2 unexpected bytes"));
  }
  SECTION("unsupported dtypes") {
    std::string f2 = good;
    f2.replace(f2.find("<f8"), 3, "<f2");
    CHECK_THROWS_WITH(parse(f2), Catch::Contains("unsupported NPY dtype '<f2'"));
    std::string c16 = good;
    c16.replace(c16.find("'<f8'"), 5, "'<c8'");
    CHECK_THROWS_WITH(parse(c16), Catch::Contains("unsupported NPY dtype '<c8'"));
    std::string rec = good;
    rec.replace(rec.find("'<f8'"), 5, "[('a','<f8')]");
    CHECK_THROWS_WITH(parse(rec), Catch::Contains("structured dtypes are not supported"));
  }
  SECTION("malformed header and unknown version") {
    std::string bad = good;
    bad.replace(bad.find("(2, 3)"), 6, "(2, x)");
    CHECK_THROWS_WITH(parse(bad), Catch::Contains("malformed NPY header"));
    std::string v9 = good;
    v9[6] = 9;
    CHECK_THROWS_WITH(parse(v9), Catch::Contains("unsupported NPY format version 9.0"));
  }
  SECTION("writing into a missing folder is an io error and leaves nothing behind") {
    auto [kind, msg] = kind_and_message(
        [&] { write_npy(dir / "no/such/dir/a.npy", v.data(), npy_dtype::f64, std::vector<int64_t>{6}); });
    CHECK(kind == ErrorKind::io);
    CHECK_THAT(msg, Catch::Contains("a.npy"));
  }
}
