#include "registry.hpp"

#include "util.hpp"

#include <boost/dll/shared_library.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <dlfcn.h>
#include <set>

#include <tbb/parallel_for.h>

extern char** environ;

namespace glia::host {

using nlohmann::json;
namespace fs = std::filesystem;

static constexpr const char* kScanMarker = "GLIA-SCAN-1 ";

RegistryOptions registry_options_from_environment() {
  RegistryOptions o;
  if (const char* fork = std::getenv("GLIA_REGISTRY_FORK"); fork && std::string(fork) == "no")
    o.fork_scanner = false;
  if (const char* t = std::getenv("GLIA_SCAN_TIMEOUT_MS"); t && *t)
    o.scan_timeout = std::chrono::milliseconds(std::max(1L, std::atol(t)));
  return o;
}

const glia_host* host_interface() {
  static const glia_host host = {
      GLIA_ABI_VERSION_INIT, "glia", GLIA_VERSION,
      [](const glia_host*, const char*) -> const void* { return nullptr; }, {}};
  return &host;
}

// Calls into plugin code, turning a C++ exception that escaped the C ABI into a message.
template <class F>
static auto guard_plugin_call(const char* what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("threw a C++ exception across the C ABI from ") + what +
                             ": " + e.what());
  } catch (...) {
    throw std::runtime_error(std::string("threw a C++ exception across the C ABI from ") + what);
  }
}

// Why a loaded library has no glia_plugin_entry_v1: another ABI's entry, or none at all.
// (Boost 1.74's library_info misreads symbol tables of libraries built with DWARF 5 debug
// info, so the exports are probed with dlsym instead.)
static std::string missing_entry_reason(boost::dll::shared_library& lib) {
  for (int major = 0; major < 100; ++major) {
    if (major == GLIA_ABI_MAJOR) continue;
    if (lib.has("glia_plugin_entry_v" + std::to_string(major)))
      return "built for plugin ABI " + std::to_string(major) + ", this glia speaks ABI " +
             std::to_string(GLIA_ABI_MAJOR) + " (no " GLIA_ENTRY_SYMBOL ")";
  }
  return "no " GLIA_ENTRY_SYMBOL " symbol: not a glia plugin";
}

// Loads the library and returns its validated entry; throws std::runtime_error with the reason.
static const glia_plugin_entry* open_entry(const fs::path& file, boost::dll::shared_library& lib) {
  boost::system::error_code ec;
  lib.load(boost::dll::fs::path(file.string()),
           ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* why = dlerror();
    throw std::runtime_error("cannot be loaded: " + std::string(why ? why : ec.message()));
  }
  if (!lib.has(GLIA_ENTRY_SYMBOL)) throw std::runtime_error(missing_entry_reason(lib));
  auto entry_fn = lib.get<const glia_plugin_entry*()>(GLIA_ENTRY_SYMBOL);
  const glia_plugin_entry* entry = guard_plugin_call(GLIA_ENTRY_SYMBOL "()", [&] { return entry_fn(); });
  if (!entry) throw std::runtime_error(GLIA_ENTRY_SYMBOL "() returned NULL");
  if (entry->abi.major != GLIA_ABI_MAJOR)
    throw std::runtime_error("built for plugin ABI " + std::to_string(entry->abi.major) +
                             ", this glia speaks ABI " + std::to_string(GLIA_ABI_MAJOR));
  if (!entry->init || !entry->deinit || !entry->get_factory)
    throw std::runtime_error("entry has null function pointers");
  const int32_t rc = guard_plugin_call("init()", [&] { return entry->init(file.c_str()); });
  if (rc != 0) throw std::runtime_error("init() failed with code " + std::to_string(rc));
  return entry;
}

static const glia_operator_factory* factory_of(const glia_plugin_entry* entry) {
  auto f = static_cast<const glia_operator_factory*>(
      guard_plugin_call("get_factory()", [&] { return entry->get_factory(GLIA_OPERATOR_FACTORY_ID); }));
  if (!f || !f->count || !f->get_descriptor || !f->create)
    throw std::runtime_error("provides no " GLIA_OPERATOR_FACTORY_ID " factory");
  return f;
}

json scan_file_in_process(const fs::path& file) {
  try {
    boost::dll::shared_library lib;
    const glia_plugin_entry* entry = open_entry(file, lib);
    json ops = json::array();
    try {
      const glia_operator_factory* factory = factory_of(entry);
      const uint32_t n = guard_plugin_call("factory count()", [&] { return factory->count(factory); });
      if (n == 0) throw std::runtime_error("declares no operators");
      for (uint32_t k = 0; k < n; ++k) {
        const glia_operator_descriptor* d =
            guard_plugin_call("get_descriptor()", [&] { return factory->get_descriptor(factory, k); });
        OperatorInfo op = operator_from_descriptor(d);
        op.plugin_path = file.string();
        op.plugin_name = entry->name ? entry->name : file.stem().string();
        op.plugin_version = entry->version ? entry->version : "";
        ops.push_back(operator_to_json(op));
      }
    } catch (...) {
      guard_plugin_call("deinit()", [&] { entry->deinit(); return 0; });
      throw;
    }
    guard_plugin_call("deinit()", [&] { entry->deinit(); return 0; });
    // Deliberately not unloading `lib`: some plugins are never safe to unload.
    new boost::dll::shared_library(std::move(lib));
    return {{"ok", true},
            {"name", entry->name ? entry->name : ""},
            {"version", entry->version ? entry->version : ""},
            {"operators", ops}};
  } catch (const std::exception& e) {
    return {{"ok", false}, {"reason", e.what()}};
  }
}

// Runs `glia __scan FILE` and reads its answer, with a timeout.
static json scan_in_child(const fs::path& file, std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {{"ok", false}, {"reason", "cannot create a pipe for the scanner"}};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const std::string exe = executable_path().string();
  std::vector<std::string> args = {exe, "__scan", file.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return {{"ok", false}, {"reason", std::string("cannot start the scanner: ") + std::strerror(rc)}};
  }

  std::string out;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    char buf[65536];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return {{"ok", false},
            {"reason", "hung while loading (no answer after " + std::to_string(timeout.count()) + " ms)"}};
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return {{"ok", false},
            {"reason", "crashed while loading (signal " + std::to_string(sig) + ", " + strsignal(sig) + ")"}};
  }
  const size_t at = out.rfind(kScanMarker);
  if (at == std::string::npos)
    return {{"ok", false}, {"reason", "exited with code " + std::to_string(WEXITSTATUS(status)) + " while loading"}};
  try {
    return json::parse(out.substr(at + std::strlen(kScanMarker)));
  } catch (const std::exception&) {
    return {{"ok", false}, {"reason", "scanner answer was not valid"}};
  }
}

Registry::Registry(RegistryOptions options) : options_(std::move(options)) {
  for (const auto& p : options_.plugin_path) search_path_.push_back(p);
  if (const char* env = std::getenv("GLIA_PLUGIN_PATH"); env && *env)
    for (const auto& p : split(env, ':'))
      if (!p.empty()) search_path_.emplace_back(p);
  const fs::path exe_dir = executable_path().parent_path();
  const fs::path beside_exe[] = {exe_dir / ".." / "lib" / GLIA_PLUGIN_SUBDIR,
                                 exe_dir / ".." / GLIA_INSTALL_LIBDIR / GLIA_PLUGIN_SUBDIR};
  std::error_code ec;
  const bool has_own_plugins = fs::is_directory(beside_exe[0], ec) || fs::is_directory(beside_exe[1], ec);
  search_path_.insert(search_path_.end(), std::begin(beside_exe), std::end(beside_exe));
  // An installed or unpacked glia has its own plugins: it must not also pick up the build tree
  // it was built in (that would only duplicate every operator).
  if (!has_own_plugins) search_path_.push_back(GLIA_BUILD_PLUGIN_DIR);
}

std::vector<fs::path> Registry::plugin_files() {
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  auto add = [&](const fs::path& f) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(f, ec);
    if (ec) canonical = f;
    if (seen.insert(canonical).second) files.push_back(canonical);
  };
  for (const auto& entry : search_path_) {
    std::error_code ec;
    if (fs::is_regular_file(entry, ec)) {
      add(entry);
      continue;
    }
    if (!fs::is_directory(entry, ec)) continue;
    std::vector<fs::path> in_dir;
    for (const auto& e : fs::directory_iterator(entry, ec))
      if (e.path().extension() == ".so" && e.is_regular_file(ec)) in_dir.push_back(e.path());
    std::sort(in_dir.begin(), in_dir.end());
    for (const auto& f : in_dir) add(f);
  }
  return files;
}

fs::path Registry::cache_file() const {
  if (const char* r = std::getenv("GLIA_REGISTRY"); r && *r) return r;
  fs::path base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = fs::path(h) / ".cache";
  else return {};
  return base / "glia" / ("registry-abi" + std::to_string(GLIA_ABI_MAJOR) + ".json");
}

PluginRecord Registry::scan_one(const fs::path& file) const {
  PluginRecord r;
  r.path = file.string();
  const json answer = options_.fork_scanner ? scan_in_child(file, options_.scan_timeout)
                                            : scan_file_in_process(file);
  r.ok = answer.value("ok", false);
  if (!r.ok) {
    r.reason = answer.value("reason", "unknown failure");
    return r;
  }
  try {
    r.name = answer.at("name");
    r.version = answer.at("version");
    for (const auto& j : answer.at("operators")) r.operators.push_back(operator_from_json(j));
  } catch (const std::exception& e) {
    r = PluginRecord{};
    r.path = file.string();
    r.reason = std::string("scanner answer was not valid: ") + e.what();
  }
  return r;
}

static json record_to_json(const PluginRecord& r) {
  json ops = json::array();
  for (const auto& op : r.operators) ops.push_back(operator_to_json(op));
  return {{"path", r.path}, {"size", r.size}, {"mtime_ns", r.mtime_ns}, {"ok", r.ok},
          {"reason", r.reason}, {"name", r.name}, {"version", r.version}, {"operators", ops}};
}

static PluginRecord record_from_json(const json& j) {
  PluginRecord r;
  r.path = j.at("path");
  r.size = j.at("size");
  r.mtime_ns = j.at("mtime_ns");
  r.ok = j.at("ok");
  r.reason = j.at("reason");
  r.name = j.at("name");
  r.version = j.at("version");
  for (const auto& o : j.at("operators")) r.operators.push_back(operator_from_json(o));
  return r;
}

void Registry::scan() {
  const auto files = plugin_files();
  std::map<std::string, PluginRecord> cached;
  const fs::path cache = options_.use_cache ? cache_file() : fs::path();
  if (!cache.empty()) {
    try {
      const json j = json::parse(read_file(cache));
      if (j.at("host_version") == GLIA_VERSION && j.at("abi") == GLIA_ABI_MAJOR)
        for (const auto& r : j.at("plugins")) {
          PluginRecord rec = record_from_json(r);
          cached[rec.path] = std::move(rec);
        }
    } catch (const std::exception&) {
      // A missing or unreadable cache only costs a rescan.
    }
  }

  records_.assign(files.size(), PluginRecord{});
  std::vector<size_t> stale;
  for (size_t k = 0; k < files.size(); ++k) {
    std::error_code ec;
    const uint64_t size = fs::file_size(files[k], ec);
    const auto mtime = fs::last_write_time(files[k], ec).time_since_epoch();
    const int64_t mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime).count();
    auto it = cached.find(files[k].string());
    if (it != cached.end() && it->second.size == size && it->second.mtime_ns == mtime_ns) {
      records_[k] = it->second;
    } else {
      records_[k].size = size;
      records_[k].mtime_ns = mtime_ns;
      stale.push_back(k);
    }
  }
  // Each scan waits on its own child process, so scan them all at once.
  tbb::parallel_for(size_t(0), stale.size(), [&](size_t s) {
    const size_t k = stale[s];
    PluginRecord r = scan_one(files[k]);
    r.size = records_[k].size;
    r.mtime_ns = records_[k].mtime_ns;
    records_[k] = std::move(r);
  });

  if (!stale.empty() && !cache.empty()) {
    json plugins = json::array();
    for (const auto& r : records_) plugins.push_back(record_to_json(r));
    for (const auto& [path, r] : cached)  // keep entries of other search paths
      if (std::none_of(records_.begin(), records_.end(), [&](const PluginRecord& x) { return x.path == path; }))
        plugins.push_back(record_to_json(r));
    try {
      fs::create_directories(cache.parent_path());
      write_file_atomic(cache, json{{"host_version", GLIA_VERSION}, {"abi", GLIA_ABI_MAJOR}, {"plugins", plugins}}.dump());
    } catch (const std::exception&) {
      // An unwritable cache only costs a rescan next time.
    }
  }

  warnings_.clear();
  by_id_.clear();
  for (auto& r : records_) {
    if (!r.ok) {
      warnings_.push_back("skipping plugin " + r.path + ": " + r.reason);
      continue;
    }
    for (auto& op : r.operators) {
      auto [it, inserted] = by_id_.emplace(op.id, &op);
      if (!inserted)
        warnings_.push_back("operator '" + op.id + "' in " + r.path + " ignored: already provided by " +
                            it->second->plugin_path);
    }
  }
}

const OperatorInfo* Registry::find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<const OperatorInfo*> Registry::operators() const {
  std::vector<const OperatorInfo*> ops;
  for (const auto& [id, op] : by_id_) ops.push_back(op);
  return ops;
}

std::vector<std::string> Registry::operator_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, op] : by_id_) ids.push_back(id);
  return ids;
}

struct Registry::Loaded {
  boost::dll::shared_library library;
  const glia_plugin_entry* entry = nullptr;
  const glia_operator_factory* factory = nullptr;
};

Registry::~Registry() = default;

Registry::Loaded& Registry::load(const std::string& path) {
  auto it = loaded_.find(path);
  if (it != loaded_.end()) return *it->second;
  auto loaded = std::make_unique<Loaded>();
  try {
    loaded->entry = open_entry(path, loaded->library);
    loaded->factory = factory_of(loaded->entry);
  } catch (const std::exception& e) {
    throw Failure(kExitUnavailable, "plugin " + path + " " + e.what());
  }
  return *loaded_.emplace(path, std::move(loaded)).first->second;
}

const glia_operator* Registry::create(const std::string& id) {
  const OperatorInfo* info = find(id);
  if (!info) throw Failure(kExitUnavailable, "no plugin provides operator '" + id + "'");
  std::lock_guard<std::mutex> lock(load_mutex_);
  Loaded& l = load(info->plugin_path);
  const glia_operator* op = nullptr;
  try {
    op = l.factory->create(l.factory, host_interface(), id.c_str());
  } catch (...) {
    throw Failure(kExitInternal, "plugin " + info->plugin_path + " threw a C++ exception across the C ABI from create('" + id + "')");
  }
  if (!op || !op->desc || !op->configure || !op->run || !op->destroy)
    throw Failure(kExitInternal, "plugin " + info->plugin_path + " could not create operator '" + id + "'");
  return op;
}

}  // namespace glia::host
