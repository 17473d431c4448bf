// Plugin discovery, out-of-process scanning with a cache, and in-process loading.
//
// Discovery order: --plugin-path, GLIA_PLUGIN_PATH, the plugin folder next to the executable
// (../lib/glia/plugins-1 or ../lib/<triplet>/glia/plugins-1, so an unpacked tree is
// relocatable), then the build tree's plugin folder. Each *.so is scanned in a child process
// (`glia __scan FILE`) so that a plugin that crashes or hangs while loading is reported and
// skipped. Scan results are cached, keyed by path, size, mtime and host version. Plugins are
// loaded for real only when a pipeline uses them, and are never unloaded.
#pragma once

#include "operator_info.hpp"

#include <glia/plugin.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace glia::host {

struct PluginRecord {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool ok = false;
  std::string reason;  // why it was refused
  std::string name;
  std::string version;
  std::vector<OperatorInfo> operators;
};

struct RegistryOptions {
  std::vector<std::filesystem::path> plugin_path;  // --plugin-path entries (folders or files)
  bool use_cache = true;
  bool fork_scanner = true;                       // GLIA_REGISTRY_FORK=no turns it off
  std::chrono::milliseconds scan_timeout{10000};  // GLIA_SCAN_TIMEOUT_MS
};

// Reads GLIA_REGISTRY_FORK and GLIA_SCAN_TIMEOUT_MS into the defaults.
RegistryOptions registry_options_from_environment();

// The glia_host handed to plugins.
const glia_host* host_interface();

// Scans one plugin file in this process and returns the scanner's JSON answer
// ({"ok": true, "name", "version", "operators": [...]} or {"ok": false, "reason": "..."}).
nlohmann::json scan_file_in_process(const std::filesystem::path& file);

class Registry {
 public:
  explicit Registry(RegistryOptions options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Finds, scans (or reads from cache) every plugin file.
  void scan();

  // One line per refused plugin or duplicate operator id.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<PluginRecord>& plugins() const { return records_; }

  const OperatorInfo* find(const std::string& id) const;
  std::vector<const OperatorInfo*> operators() const;  // sorted by id
  std::vector<std::string> operator_ids() const;

  // Loads the plugin that provides `id` (once per process) and creates an instance.
  // Throws Failure(kExitUnavailable) when the plugin cannot be loaded.
  const glia_operator* create(const std::string& id);

 private:
  struct Loaded;
  std::vector<std::filesystem::path> plugin_files();
  std::filesystem::path cache_file() const;
  PluginRecord scan_one(const std::filesystem::path& file) const;
  Loaded& load(const std::string& path);

  RegistryOptions options_;
  std::vector<std::filesystem::path> search_path_;
  std::vector<PluginRecord> records_;
  std::map<std::string, const OperatorInfo*> by_id_;
  std::vector<std::string> warnings_;
  std::mutex load_mutex_;
  std::map<std::string, std::unique_ptr<Loaded>> loaded_;
};

}  // namespace glia::host
