#include "console.hpp"

#include <unistd.h>

#include <cstdio>

namespace glia::host {

Console::Console(bool quiet, bool verbose)
    : quiet_(quiet), verbose_(verbose), tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

Console::~Console() { end_progress(); }

void Console::log(int level, const std::string& message) {
  static const char* names[] = {"debug", "info", "warning", "error"};
  const int l = level < 0 ? 0 : level > 3 ? 3 : level;
  std::lock_guard<std::mutex> lock(mutex_);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%9.3f ", t);
  log_ += std::string(stamp) + names[l] + ": " + message + "\n";
  const bool show = l >= 2 || (l == 1 && !quiet_) || (l == 0 && verbose_);
  if (!show) return;
  clear_line_locked();
  std::fprintf(stderr, "%s%s\n", l >= 2 ? (std::string("glia: ") + names[l] + ": ").c_str() : "", message.c_str());
  draw_locked();
}

void Console::progress(const std::string& key, double fraction, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_[key] = {fraction, message};
}

void Console::task_done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_.erase(key);
  ++done_;
}

void Console::begin_progress(size_t total_tasks) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    total_ = total_tasks;
    done_ = 0;
  }
  if (!interactive() || drawing_.exchange(true)) return;
  drawer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (drawing_) {
      draw_locked();
      wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
    clear_line_locked();
  });
}

void Console::end_progress() {
  if (!drawing_.exchange(false)) return;
  wake_.notify_all();
  if (drawer_.joinable()) drawer_.join();
}

std::string Console::log_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

void Console::clear_line_locked() {
  if (!line_shown_) return;
  std::fputs("\r\033[K", stderr);
  line_shown_ = false;
}

void Console::draw_locked() {
  if (!drawing_ || !interactive()) return;
  std::string line = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "]";
  for (const auto& [key, task] : running_) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " %3.0f%%", 100.0 * task.fraction);
    line += "  " + key + pct + (task.message.empty() ? "" : " " + task.message);
  }
  if (line.size() > 160) line = line.substr(0, 157) + "...";
  std::fputs(("\r\033[K" + line).c_str(), stderr);
  std::fflush(stderr);
  line_shown_ = true;
}

}  // namespace glia::host
