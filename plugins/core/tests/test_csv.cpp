#include "csv.hpp"
#include "errors.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <tbb/global_control.h>

using namespace glia::core;
using glia::core::testing::TempDir;

namespace {

CsvOptions opts(std::string target = "", std::string columns = "", std::string drop = "") {
  return {split_names(target), split_names(columns), split_names(drop)};
}

CsvTable parse(std::string_view text, const CsvOptions& o = {}) { return parse_csv(text, "t.csv", o); }

// The kind and message of the CoreError f throws.
template <class F>
std::pair<ErrorKind, std::string> failure(F&& f) {
  try {
    f();
  } catch (const CoreError& e) {
    return {e.kind(), e.what()};
  }
  FAIL("expected a CoreError");
  return {};
}

}  // namespace

TEST_CASE("csv: split_names trims and drops empty items") {
  CHECK(split_names("") == std::vector<std::string>{});
  CHECK(split_names(" a, b ,,c ") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_names("BulkModulus (GPa)") == std::vector<std::string>{"BulkModulus (GPa)"});
}

TEST_CASE("csv: features, single and multiple targets, columns and drop") {
  const std::string text = "id,a,b,t1,t2\n1,0.5,-2,10,20\n2,1e3,+3.25,11,21\n";
  SECTION("no target: every column is a feature") {
    const CsvTable t = parse(text);
    CHECK(t.rows == 2);
    CHECK(t.feature_names == std::vector<std::string>{"id", "a", "b", "t1", "t2"});
    CHECK(t.x == std::vector<double>{1, 0.5, -2, 10, 20, 2, 1000, 3.25, 11, 21});
    CHECK(t.y.empty());
  }
  SECTION("one target, one dropped column") {
    const CsvTable t = parse(text, opts("t2", "", "id"));
    CHECK(t.feature_names == std::vector<std::string>{"a", "b", "t1"});
    CHECK(t.target_names == std::vector<std::string>{"t2"});
    CHECK(t.x == std::vector<double>{0.5, -2, 10, 1000, 3.25, 11});
    CHECK(t.y == std::vector<double>{20, 21});
  }
  SECTION("two targets in the order given, columns in the order given") {
    const CsvTable t = parse(text, opts("t2,t1", "b,a"));
    CHECK(t.feature_names == std::vector<std::string>{"b", "a"});
    CHECK(t.x == std::vector<double>{-2, 0.5, 3.25, 1000});
    CHECK(t.y == std::vector<double>{20, 10, 21, 11});
  }
}

TEST_CASE("csv: CRLF, quotes, BOM, blank lines, no final newline") {
  const std::string text =
      "\xEF\xBB\xBF" "name,\"x, with comma\",y\r\n"
      "\"Cu\"\"Zr\",1,2\r\n"
      "\r\n"
      "\"multi\nline\",\" 3.5 \",4\r\n"
      "plain,5,6";
  const CsvTable t = parse(text, opts("y", "", "name"));
  CHECK(t.rows == 3);
  CHECK(t.feature_names == std::vector<std::string>{"x, with comma"});
  CHECK(t.x == std::vector<double>{1, 3.5, 5});
  CHECK(t.y == std::vector<double>{2, 4, 6});

  // The quoted line break counts as a line: the bad value sits on line 5.
  const std::string bad = "name,x\n\"a\nb\",1\nc,2\nd,oops\n";
  CHECK_THROWS_WITH(parse(bad, opts("", "", "name")),
                    "t.csv:5: column 'x' value 'oops' is not a number (drop it with drop = \"x\")");
}

TEST_CASE("csv: errors name the file, line and column") {
  SECTION("ragged row") {
    auto [kind, msg] = failure([] { parse("a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5\n"); });
    CHECK(kind == ErrorKind::data);
    CHECK(msg == "t.csv:3: row has 5 fields, header has 6");
    CHECK_THROWS_WITH(parse("a,b\n1,2,\n"), "t.csv:2: row has 3 fields, header has 2");
  }
  SECTION("a ragged row is reported as ragged even when a shifted cell is not a number") {
    CHECK_THROWS_WITH(parse("a,b,c\n1,x\n"), "t.csv:2: row has 2 fields, header has 3");
  }
  SECTION("non-numeric cell suggests dropping the column") {
    auto [kind, msg] = failure([] { parse("Alloy,v\nCuZr,1\n"); });
    CHECK(kind == ErrorKind::data);
    CHECK(msg == "t.csv:2: column 'Alloy' value 'CuZr' is not a number (drop it with drop = \"Alloy\")");
    CHECK_THROWS_WITH(parse("a,y\n1,big\n", opts("y")),
                      "t.csv:2: target column 'y' value 'big' is not a number");
  }
  SECTION("NaN, Inf, empty cells and overflow") {
    CHECK_THROWS_WITH(parse("a,b\n1,nan\n"), "t.csv:2: column 'b' value 'nan' is not finite");
    CHECK_THROWS_WITH(parse("a,b\n1,2\n-inf,1\n"), "t.csv:3: column 'a' value '-inf' is not finite");
    CHECK_THROWS_WITH(parse("a,b\n1, \n"), "t.csv:2: column 'b' is empty");
    CHECK_THROWS_WITH(parse("a\n1e999\n"), Catch::Contains("out of the float64 range"));
  }
  SECTION("the first error in file order wins, whatever the thread count") {
    std::string text = "a,b\n";
    for (int i = 0; i < 5000; ++i) text += (i == 3100 || i == 4900) ? "1,x\n" : "1,2\n";
    CHECK_THROWS_WITH(parse(text), Catch::StartsWith("t.csv:3102:"));
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    CHECK_THROWS_WITH(parse(text), Catch::StartsWith("t.csv:3102:"));
  }
  SECTION("unknown column names, with a did-you-mean") {
    auto [kind, msg] = failure([] { parse("Alloy,BulkModulus (GPa)\nx,1\n", opts("bulkmodulus (gpa)")); });
    CHECK(kind == ErrorKind::config);
    CHECK(msg == "t.csv: column 'bulkmodulus (gpa)' (named in target) is not in the header; did you "
                 "mean 'BulkModulus (GPa)'?");
    CHECK_THROWS_WITH(parse("Alloy,b\nx,1\n", opts("", "", "Aloy")),
                      Catch::Contains("column 'Aloy' (named in drop)") && Catch::Contains("did you mean 'Alloy'?"));
    CHECK_THROWS_WITH(parse("a,b\n1,1\n", opts("", "zzzzzz")),
                      Catch::Contains("column 'zzzzzz' (named in columns) is not in the header (it has 2 columns"));
  }
  SECTION("empty file, header only, nothing left as a feature") {
    CHECK_THROWS_WITH(parse(""), "t.csv: file is empty (a header row is required)");
    CHECK_THROWS_WITH(parse("\n\r\n"), "t.csv: file is empty (a header row is required)");
    CHECK_THROWS_WITH(parse("a,b\n"), "t.csv: no data rows after the header");
    CHECK_THROWS_WITH(parse("a,b\n1,2\n", opts("a", "", "b")), Catch::Contains("no feature columns left"));
  }
  SECTION("malformed quotes and duplicate header names") {
    CHECK_THROWS_WITH(parse("a,b\n\"1\"x,2\n"), "t.csv:2: malformed quoted field in column 1");
    CHECK_THROWS_WITH(parse("a,a\n1,2\n", opts("a")), Catch::Contains("'a' appears 2 times"));
    CHECK(parse("a,a,b\n1,2,3\n", opts("b")).x == std::vector<double>{1, 2});
  }
  SECTION("option conflicts are config errors") {
    CHECK_THROWS_WITH(check_csv_options(opts("y", "y")), "column 'y' is in both target and columns");
    CHECK_THROWS_WITH(check_csv_options(opts("", "a", "a")), "column 'a' is in both columns and drop");
    CHECK_THROWS_WITH(check_csv_options(opts("y,y")), "target: column 'y' is listed twice");
  }
  SECTION("missing file is an io error") {
    auto [kind, msg] = failure([] { read_csv("/nonexistent/data.csv", {}); });
    CHECK(kind == ErrorKind::io);
    CHECK(msg == "cannot open '/nonexistent/data.csv': No such file or directory");
  }
}

TEST_CASE("csv: 100k rows parse fast and identically with 1 or 2 threads") {
  std::string text = "a,b,c,d,e,f,g,h,label\n";
  for (int i = 0; i < 100000; ++i) {
    for (int j = 0; j < 8; ++j) text += std::to_string((i * 31 + j * 7) % 1000 / 8.0) + ",";
    text += std::to_string(i % 3) + "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const CsvTable t = parse(text, opts("label"));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  WARN("parsed 100000 x 9 CSV (" << text.size() / 1e6 << " MB) in " << ms << " ms");
  REQUIRE(t.rows == 100000);
  CHECK(t.x[12345 * 8 + 5] == (12345 * 31 + 5 * 7) % 1000 / 8.0);
  CHECK(t.y[99999] == 99999 % 3);
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const CsvTable serial = parse(text, opts("label"));
  CHECK(serial.x == t.x);
  CHECK(serial.y == t.y);
}

#ifdef GLIA_HEA_DATA
TEST_CASE("csv: the HEA tables") {
  const std::filesystem::path dir = GLIA_HEA_DATA;
  if (!std::filesystem::exists(dir / "hea_classifier.csv")) {
    WARN("skipped: " << dir << " not found");
    return;
  }
  const CsvTable c = read_csv(dir / "hea_classifier.csv", opts("HEA/Non-HEA", "", "Alloy"));
  CHECK(c.rows == 1887);
  const size_t d = c.feature_names.size();
  CHECK(d == 80);  // Length + 79 element fractions
  CHECK(std::count(c.y.begin(), c.y.end(), 1.0) == 826);
  for (int64_t i = 0; i < c.rows; ++i) {  // fractions of each alloy sum to 1
    double sum = 0;
    for (size_t j = 1; j < d; ++j) sum += c.x[static_cast<size_t>(i) * d + j];
    REQUIRE(sum == Approx(1.0).margin(0.02));
  }

  const auto bulk = dir / "hea_bulk_modulus.csv";
  const CsvTable b = read_csv(bulk, opts("BulkModulus (GPa)", "", "Alloy, S_Phase"));
  CHECK(b.rows == 1149);
  CHECK(b.feature_names.size() == 81);  // AM, IM, SS + 78 element fractions
  CHECK(*std::min_element(b.y.begin(), b.y.end()) == Approx(9.1));
  CHECK(*std::max_element(b.y.begin(), b.y.end()) == Approx(276.7).margin(0.05));
  CHECK_THROWS_WITH(read_csv(bulk, opts("BulkModulus (GPa)")),
                    bulk.string() + ":2: column 'Alloy' value 'CuZr' is not a number (drop it with drop = \"Alloy\")");
  CHECK_THROWS_WITH(read_csv(bulk, opts("BulkModulus")),
                    Catch::Contains("did you mean 'BulkModulus (GPa)'?"));
}
#endif
