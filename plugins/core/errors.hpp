// Errors thrown by the plain core library (no SDK dependency). The operator bindings map each
// kind onto the matching glia status; the host maps them onto its own exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace glia::core {

enum class ErrorKind {
  config,   // a parameter or a combination of them is unusable
  data,     // input data malformed: shape, values, file contents
  io,       // a file could not be read or written
  numeric,  // NaN/Inf where a finite value is needed
};

class CoreError : public std::runtime_error {
 public:
  CoreError(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

inline CoreError config_failure(const std::string& m) { return {ErrorKind::config, m}; }
inline CoreError data_failure(const std::string& m) { return {ErrorKind::data, m}; }
inline CoreError io_failure(const std::string& m) { return {ErrorKind::io, m}; }
inline CoreError numeric_failure(const std::string& m) { return {ErrorKind::numeric, m}; }

}  // namespace glia::core
