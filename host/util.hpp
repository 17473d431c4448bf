// Small host utilities: exit codes, text helpers, atomic file writes, paths.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace glia::host {

// sysexits-style exit codes, as documented in the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,
  kExitData = 65,
  kExitUnavailable = 69,
  kExitInternal = 70,
  kExitConfig = 78,
  kExitCancelled = 130
};

// An error that ends a command with a given exit code; what() is the one-line message.
class Failure : public std::runtime_error {
 public:
  Failure(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// Maps a plugin status to the exit code of the command that got it.
int exit_code_for_status(int32_t status) noexcept;
const char* status_name(int32_t status) noexcept;

// The closest candidate within a small edit distance, or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
// ", did you mean 'x'?" or "" — ready to append to a message.
std::string suggestion_suffix(std::string_view word, const std::vector<std::string>& candidates);

std::vector<std::string> split(std::string_view text, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Writes the whole content to a temporary file beside `path`, then renames it into place, so
// a reader never sees a half-written file.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
std::string read_file(const std::filesystem::path& path);

// The running executable's path (/proc/self/exe).
std::filesystem::path executable_path();
// "20261122T165300Z" — UTC, sortable, filename-safe.
std::string utc_timestamp();

// 64-bit FNV-1a, for deriving seeds from stage ids.
uint64_t fnv1a(std::string_view text) noexcept;

}  // namespace glia::host
