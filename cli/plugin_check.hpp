// `glia plugins check FILE`: runs one plugin file through the host's conformance checks.
#pragma once

#include "../host/registry.hpp"

#include <filesystem>

namespace glia::cli {

// Prints one line per check on stdout and returns the exit code: 0 when the plugin conforms,
// kExitInternal (70) when it does not, kExitUnavailable (69) when the file does not exist.
// The checks run in a child process, so a plugin that crashes or hangs is reported, not fatal.
// Call it before anything starts threads (fork).
int check_plugin(const std::filesystem::path& file, glia::host::RegistryOptions options);

}  // namespace glia::cli
