#include "csv.hpp"

#include "errors.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

namespace glia::core {

namespace {

// One physical row: [begin, end) without its line break, starting on 1-based line `line`.
struct Row {
  const char* begin;
  const char* end;
  int64_t line;
};

// Splits text into rows at line breaks outside quotes. Blank (whitespace-only) lines are skipped.
class RowScanner {
 public:
  RowScanner(std::string_view text, bool has_quotes)
      : p_(text.data()), end_(text.data() + text.size()), quotes_(has_quotes) {}

  std::optional<Row> next() {
    while (p_ < end_) {
      const char* start = p_;
      const int64_t line = line_;
      const char* stop = quotes_ ? find_break_quoted(start) : find_break(start);
      p_ = stop < end_ ? stop + 1 : end_;
      ++line_;
      const char* row_end = (stop > start && stop[-1] == '\r') ? stop - 1 : stop;
      if (!is_blank(start, row_end)) return Row{start, row_end, line};
    }
    return std::nullopt;
  }

 private:
  const char* find_break(const char* p) const {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end_ - p));
    return nl ? static_cast<const char*>(nl) : end_;
  }
  // Line breaks inside quotes belong to the field; they still count as lines for messages.
  const char* find_break_quoted(const char* p) {
    bool in_quotes = false;
    for (; p < end_; ++p) {
      if (*p == '"') in_quotes = !in_quotes;
      else if (*p == '\n') {
        if (!in_quotes) return p;
        ++line_;
      }
    }
    return end_;
  }
  static bool is_blank(const char* b, const char* e) {
    for (; b < e; ++b)
      if (*b != ' ' && *b != '\t' && *b != '\r') return false;
    return true;
  }

  const char* p_;
  const char* end_;
  bool quotes_;
  int64_t line_ = 1;
};

// Iterates the fields of one row. Quoted fields are returned without their quotes; "" escapes
// are left as they are (a numeric cell never holds a quote, and header names unescape them).
class FieldReader {
 public:
  FieldReader(const Row& row) : p_(row.begin), end_(row.end) {}

  bool done() const { return done_; }
  // The next field's raw text; sets `malformed` when a quoted field is not closed properly.
  std::string_view next(bool& quoted, bool& malformed) {
    quoted = false;
    malformed = false;
    const char* fs;
    const char* fe;
    if (p_ < end_ && *p_ == '"') {
      quoted = true;
      fs = ++p_;
      while (true) {
        const void* q = std::memchr(p_, '"', static_cast<size_t>(end_ - p_));
        if (!q) {
          malformed = true;
          fe = p_ = end_;
          break;
        }
        const char* qc = static_cast<const char*>(q);
        if (qc + 1 < end_ && qc[1] == '"') {
          p_ = qc + 2;
          continue;
        }
        fe = qc;
        p_ = qc + 1;
        break;
      }
      while (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
      if (p_ < end_ && *p_ != ',') {
        malformed = true;
        const void* c = std::memchr(p_, ',', static_cast<size_t>(end_ - p_));
        p_ = c ? static_cast<const char*>(c) : end_;
      }
    } else {
      fs = p_;
      const void* c = std::memchr(p_, ',', static_cast<size_t>(end_ - p_));
      fe = p_ = c ? static_cast<const char*>(c) : end_;
    }
    if (p_ < end_) ++p_;  // the comma; a trailing comma leaves one more, empty field
    else done_ = true;
    return {fs, static_cast<size_t>(fe - fs)};
  }

 private:
  const char* p_;
  const char* end_;
  bool done_ = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string unescape_quotes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    out.push_back(s[i]);
    if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"') ++i;
  }
  return out;
}

std::string shown(std::string_view v) {
  constexpr size_t kMax = 40;
  return v.size() <= kMax ? std::string(v) : std::string(v.substr(0, kMax)) + "...";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edits (insert, delete, substitute, swap two neighbours) that turn a into b.
size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  for (size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t v = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1,
                           d[(i - 1) * w + j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        v = std::min(v, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = v;
    }
  return d.back();
}

// The header name closest to `name`, or "" when none is close enough to suggest.
std::string closest_name(const std::string& name, const std::vector<std::string>& header) {
  const std::string want = lower(name);
  std::string best;
  size_t best_score = SIZE_MAX;
  for (const auto& h : header) {
    const std::string have = lower(h);
    size_t score = edit_distance(want, have);
    const bool prefix = want.size() >= 3 && (have.starts_with(want) || want.starts_with(have));
    if (prefix) score = std::min(score, size_t{1});
    if (score <= std::max<size_t>(1, want.size() / 3) && score < best_score) {
      best_score = score;
      best = h;
    }
  }
  return best;
}

enum class Role : int8_t { skip, feature, target };

struct ColumnRole {
  Role role = Role::skip;
  int32_t slot = 0;  // index within the features or the targets
};

struct CellError {
  int64_t line = 0;
  std::string message;
};

struct TableLayout {
  std::vector<std::string> header;
  std::vector<ColumnRole> roles;  // one per header column
  std::vector<std::string> feature_names, target_names;
};

TableLayout resolve_columns(std::vector<std::string> header, const std::string& source,
                            const CsvOptions& options) {
  TableLayout t;
  t.header = std::move(header);
  t.roles.assign(t.header.size(), {});
  std::unordered_map<std::string, std::vector<size_t>> where;
  for (size_t i = 0; i < t.header.size(); ++i) where[t.header[i]].push_back(i);

  auto find = [&](const std::string& name, const char* param) -> size_t {
    auto it = where.find(name);
    if (it == where.end()) {
      std::string msg = source + ": column '" + name + "' (named in " + param + ") is not in the header";
      const std::string guess = closest_name(name, t.header);
      if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
      else msg += " (it has " + std::to_string(t.header.size()) + " columns, starting '" +
                  t.header.front() + "')";
      throw config_failure(msg);
    }
    if (it->second.size() > 1)
      throw data_failure(source + ": column name '" + name + "' appears " +
                         std::to_string(it->second.size()) + " times in the header");
    return it->second.front();
  };

  std::vector<bool> excluded(t.header.size(), false);
  for (const auto& name : options.drop) excluded[find(name, "drop")] = true;
  for (const auto& name : options.target) {
    const size_t i = find(name, "target");
    t.roles[i] = {Role::target, static_cast<int32_t>(t.target_names.size())};
    t.target_names.push_back(name);
    excluded[i] = true;
  }
  if (!options.columns.empty()) {
    for (const auto& name : options.columns) {
      const size_t i = find(name, "columns");
      t.roles[i] = {Role::feature, static_cast<int32_t>(t.feature_names.size())};
      t.feature_names.push_back(name);
    }
  } else {
    for (size_t i = 0; i < t.header.size(); ++i) {
      if (excluded[i]) continue;
      t.roles[i] = {Role::feature, static_cast<int32_t>(t.feature_names.size())};
      t.feature_names.push_back(t.header[i]);
    }
  }
  if (t.feature_names.empty())
    throw data_failure(source + ": no feature columns left after taking out the target and "
                       "dropped columns");
  return t;
}

// Parses one data row into its x and y rows; returns the first problem, if any.
std::optional<CellError> parse_row(const Row& row, const TableLayout& t, const std::string& source,
                                   double* x, double* y) {
  const size_t ncols = t.header.size();
  FieldReader fields(row);
  size_t count = 0;
  std::optional<CellError> value_error;
  auto fail = [&](std::string msg) {
    if (!value_error) value_error = CellError{row.line, source + ":" + std::to_string(row.line) + ": " + msg};
  };
  while (!fields.done()) {
    bool quoted, malformed;
    const std::string_view raw = fields.next(quoted, malformed);
    const size_t col = count++;
    if (malformed) {
      fail("malformed quoted field in column " + std::to_string(col + 1));
      continue;
    }
    if (col >= ncols || t.roles[col].role == Role::skip) continue;
    const ColumnRole role = t.roles[col];
    const std::string& name = t.header[col];
    const bool is_target = role.role == Role::target;
    std::string_view s = trim(raw);
    if (s.empty()) {
      fail(std::string(is_target ? "target " : "") + "column '" + name + "' is empty");
      continue;
    }
    if (s.front() == '+') s.remove_prefix(1);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      fail("column '" + name + "' value '" + shown(trim(raw)) + "' is out of the float64 range");
      continue;
    }
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      if (is_target)
        fail("target column '" + name + "' value '" + shown(trim(raw)) + "' is not a number");
      else
        fail("column '" + name + "' value '" + shown(trim(raw)) +
             "' is not a number (drop it with drop = \"" + name + "\")");
      continue;
    }
    if (!std::isfinite(v)) {
      fail("column '" + name + "' value '" + shown(trim(raw)) + "' is not finite");
      continue;
    }
    (is_target ? y : x)[role.slot] = v;
  }
  if (count != ncols)
    return CellError{row.line, source + ":" + std::to_string(row.line) + ": row has " +
                                   std::to_string(count) + " fields, header has " +
                                   std::to_string(ncols)};
  return value_error;
}

std::string read_whole_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw io_failure("cannot read '" + source + "': it is a folder");
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw io_failure("cannot open '" + source + "': " + std::strerror(errno));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw io_failure("cannot read '" + source + "': " + ec.message());
  std::string text(static_cast<size_t>(size), '\0');
  if (size && std::fread(text.data(), 1, text.size(), f.get()) != text.size())
    throw io_failure("cannot read '" + source + "': " + std::strerror(errno));
  return text;
}

}  // namespace

std::vector<std::string> split_names(std::string_view list) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

void check_csv_options(const CsvOptions& o) {
  auto check_unique = [](const std::vector<std::string>& names, const char* param) {
    for (size_t i = 0; i < names.size(); ++i)
      for (size_t j = i + 1; j < names.size(); ++j)
        if (names[i] == names[j])
          throw config_failure(std::string(param) + ": column '" + names[i] + "' is listed twice");
  };
  auto check_disjoint = [](const std::vector<std::string>& a, const char* pa,
                           const std::vector<std::string>& b, const char* pb) {
    for (const auto& n : a)
      if (std::find(b.begin(), b.end(), n) != b.end())
        throw config_failure("column '" + n + "' is in both " + pa + " and " + pb);
  };
  check_unique(o.target, "target");
  check_unique(o.columns, "columns");
  check_unique(o.drop, "drop");
  check_disjoint(o.target, "target", o.columns, "columns");
  check_disjoint(o.target, "target", o.drop, "drop");
  check_disjoint(o.columns, "columns", o.drop, "drop");
}

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  check_csv_options(options);
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const bool has_quotes = text.find('"') != std::string_view::npos;
  RowScanner scanner(text, has_quotes);

  const std::optional<Row> head = scanner.next();
  if (!head) throw data_failure(source + ": file is empty (a header row is required)");
  std::vector<std::string> header;
  for (FieldReader f(*head); !f.done();) {
    bool quoted, malformed;
    const std::string_view raw = f.next(quoted, malformed);
    if (malformed)
      throw data_failure(source + ":" + std::to_string(head->line) + ": malformed quoted header name");
    header.push_back(quoted ? unescape_quotes(raw) : std::string(trim(raw)));
  }
  const TableLayout layout = resolve_columns(std::move(header), source, options);

  std::vector<Row> rows;
  rows.reserve(text.size() / std::max<size_t>(1, 2 * layout.header.size()) + 1);
  while (auto r = scanner.next()) rows.push_back(*r);
  if (rows.empty()) throw data_failure(source + ": no data rows after the header");

  CsvTable table;
  table.rows = static_cast<int64_t>(rows.size());
  table.feature_names = layout.feature_names;
  table.target_names = layout.target_names;
  const size_t d = table.feature_names.size(), t = table.target_names.size();
  table.x.assign(rows.size() * d, 0.0);
  table.y.assign(rows.size() * t, 0.0);

  // Fixed blocks, each keeping its own first error: the reported error is the first in the file
  // whatever the thread count.
  constexpr size_t kBlock = 1024;
  const size_t nblocks = (rows.size() + kBlock - 1) / kBlock;
  std::vector<std::optional<CellError>> errors(nblocks);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, nblocks), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t b = r.begin(); b != r.end(); ++b) {
      const size_t stop = std::min(rows.size(), (b + 1) * kBlock);
      for (size_t i = b * kBlock; i < stop; ++i) {
        if (auto e = parse_row(rows[i], layout, source, table.x.data() + i * d,
                               table.y.data() + i * t)) {
          errors[b] = std::move(e);
          break;
        }
      }
    }
  });
  for (auto& e : errors)
    if (e) throw data_failure(e->message);
  return table;
}

CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  check_csv_options(options);
  const std::string text = read_whole_file(path);
  return parse_csv(text, path.string(), options);
}

}  // namespace glia::core
