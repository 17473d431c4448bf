// Numeric CSV tables: a header row of column names, then one row of numbers per line. Handles
// CRLF line ends, quoted fields (with "" escapes and embedded newlines), a UTF-8 byte-order mark,
// blank lines and a missing final newline. Rows are parsed in parallel into preallocated arrays,
// with std::from_chars and no per-cell allocation; the error reported is always the first one in
// file order. Plain C++ (no SDK); errors are glia::core::CoreError (errors.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace glia::core {

struct CsvOptions {
  std::vector<std::string> target;   // target columns, in output order; empty: no y
  std::vector<std::string> columns;  // feature columns in output order; empty: every column that
                                     // is neither a target nor dropped, in file order
  std::vector<std::string> drop;     // columns to skip (text columns, ids, ...)
};

struct CsvTable {
  int64_t rows = 0;
  std::vector<std::string> feature_names;
  std::vector<std::string> target_names;
  std::vector<double> x;  // rows x feature_names.size(), row-major
  std::vector<double> y;  // rows x target_names.size(), row-major
};

// Splits "a, b,c" into {"a", "b", "c"}: items trimmed, empty items dropped.
std::vector<std::string> split_names(std::string_view list);

// Rejects option combinations that cannot be right whatever the file holds (a column named twice,
// or both kept and dropped). Throws a config CoreError naming `param_*` as the user wrote them.
void check_csv_options(const CsvOptions& options);

// Reads a CSV file: io error if it cannot be read, config error for a column name not in the
// header (with a did-you-mean), data error with "<file>:<line>:" for anything wrong in the rows.
CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options);

// Same from text already in memory; `source` names it in messages.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options);

}  // namespace glia::core
