// Terminal output: log lines on stderr and a single progress line redrawn in place when stderr
// is a terminal (never with --quiet or when piped). Every log line also goes to the run log.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace glia::host {

class Console {
 public:
  Console(bool quiet, bool verbose);
  ~Console();

  // level: GLIA_LOG_*. Debug only with verbose; info unless quiet; warnings and errors always.
  void log(int level, const std::string& message);
  void error(const std::string& message) { log(3, message); }
  void warn(const std::string& message) { log(2, message); }

  // Progress of one running task (key: "[trial ]stage"); fraction in [0, 1].
  void progress(const std::string& key, double fraction, const std::string& message);
  void task_done(const std::string& key);
  void begin_progress(size_t total_tasks);
  void end_progress();

  // Everything logged so far, timestamped, for run.log.
  std::string log_text() const;
  bool interactive() const { return tty_ && !quiet_; }

 private:
  void clear_line_locked();
  void draw_locked();

  bool quiet_;
  bool verbose_;
  bool tty_;
  mutable std::mutex mutex_;
  std::string log_;
  std::chrono::steady_clock::time_point start_;
  struct Task {
    double fraction;
    std::string message;
  };
  std::map<std::string, Task> running_;
  size_t total_ = 0;
  size_t done_ = 0;
  bool line_shown_ = false;
  std::atomic<bool> drawing_{false};
  std::condition_variable wake_;
  std::thread drawer_;
};

}  // namespace glia::host
