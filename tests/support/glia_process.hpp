// Runs the glia executable as a child process for end-to-end tests: arguments, extra
// environment, captured stdout/stderr and exit code. Each run gets its own registry cache file
// unless the test sets GLIA_REGISTRY itself.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace glia::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

using Env = std::map<std::string, std::string>;

// A fresh, empty temporary folder removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

ProcessResult run_glia(const std::vector<std::string>& args, const Env& env = {});

// Starts glia, waits until `started` exists (at most 60 s), sends SIGINT `delay_ms` later, and
// waits for glia to end.
ProcessResult run_glia_and_interrupt(const std::vector<std::string>& args, const std::filesystem::path& started,
                                     int delay_ms, const Env& env = {});

std::string read_text(const std::filesystem::path& p);
void write_text(const std::filesystem::path& p, const std::string& text);

}  // namespace glia::test
