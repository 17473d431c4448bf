#include "new_plugin.hpp"

#include "../host/util.hpp"

#include <unistd.h>

#include <cstdio>
#include <regex>

namespace glia::cli {
namespace {

namespace fs = std::filesystem;
using glia::host::Failure;

struct EmbeddedFile {
  const char* path;
  const char* text;
};
#include "plugin_template.inc"  // kPluginTemplate, generated from packaging/plugin-template

std::string replace_all(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t start = 0;
  for (size_t at; (at = text.find(from, start)) != std::string::npos; start = at + from.size())
    out.append(text, start, at - start).append(to);
  return out.append(text, start);
}

}  // namespace

int new_plugin(const std::string& name, const fs::path& dir) {
  // The name becomes the operator family, the file name glia-NAME.so and part of C++ names.
  static const std::regex valid("[a-z][a-z0-9_]*");
  if (!std::regex_match(name, valid))
    throw Failure(glia::host::kExitUsage, "plugin name '" + name +
                                              "' must match [a-z][a-z0-9_]* (lowercase letters, digits, _)");
  fs::path target = fs::absolute(dir.empty() ? fs::path(name) : dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  const std::string shown = dir.empty() ? name : dir.string();

  std::error_code ec;
  if (fs::exists(target, ec) && !(fs::is_directory(target, ec) && fs::is_empty(target, ec)))
    throw Failure(glia::host::kExitUsage,
                  shown + ": already exists and is not an empty folder (choose another with --dir)");

  // Write into a hidden sibling folder, then rename it into place.
  const fs::path staging =
      target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  try {
    fs::create_directories(staging);
    for (const auto& file : kPluginTemplate) {
      const fs::path path = staging / file.path;
      fs::create_directories(path.parent_path());
      glia::host::write_file_atomic(path, replace_all(file.text, "@name@", name));
    }
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Failure(glia::host::kExitData, "cannot create " + shown + ": " + e.code().message());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }

  std::printf("created plugin project %s (plugin %s, operator %s.scale)\n\n", shown.c_str(), name.c_str(),
              name.c_str());
  std::printf("  cmake -S %s -B %s/build && cmake --build %s/build && ctest --test-dir %s/build\n",
              shown.c_str(), shown.c_str(), shown.c_str(), shown.c_str());
  std::printf("  glia --plugin-path %s/build run %s/pipelines/sample.toml\n", shown.c_str(), shown.c_str());
  return glia::host::kExitOk;
}

}  // namespace glia::cli
