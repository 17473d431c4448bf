// Times CUBA (Vogels & Abbott 2005, the cuba preset) in the glia::snn engine.
//   snn_cuba_bench [--n 4000] [--threads 1] [--partitions 0] [--repeat 5] [--seed 1] [--ms 1000]
// One line per repetition: build (connectivity) and loop wall times, spikes, rate, CV, events/s.
// The loop time covers the time steps only, like Brian2 standalone's own run timer; loop_cpu_s is
// the process CPU time of the loop (std::clock, the measure Brian2 2.5.1 reports), which unlike
// wall time does not grow while other processes hold the cores.
#include <glia/snn.hpp>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  int64_t n = 4000;
  int threads = 1, partitions = 0, repeat = 5;
  uint64_t seed = 1;
  double ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--n") n = std::atoll(v);
    else if (a == "--threads") threads = std::atoi(v);
    else if (a == "--partitions") partitions = std::atoi(v);
    else if (a == "--repeat") repeat = std::atoi(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--ms") ms = std::atof(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  using clock = std::chrono::steady_clock;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
  tbb::task_arena arena(threads);
  arena.execute([&] {
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = clock::now();
      glia::snn::Network net(glia::snn::preset("cuba", n), 0.1, seed + r, partitions);
      glia::snn::Recorder rec;
      const auto t1 = clock::now();
      const std::clock_t c1 = std::clock();
      net.run(static_cast<int64_t>(ms * 10 + 0.5), &rec);
      const std::clock_t c2 = std::clock();
      const auto t2 = clock::now();
      const auto s = glia::snn::summarize(net, rec, ms);
      const double loop = std::chrono::duration<double>(t2 - t1).count();
      std::printf("glia n=%lld threads=%d partitions=%d seed=%llu spikes=%lld rate_hz=%.4f cv_isi=%.4f "
                  "events=%lld build_s=%.4f loop_s=%.4f loop_cpu_s=%.4f events_per_s=%.3e\n",
                  static_cast<long long>(n), threads, net.partitions(), static_cast<unsigned long long>(seed + r),
                  static_cast<long long>(s.total_spikes), s.mean_rate_hz, s.cv_isi,
                  static_cast<long long>(rec.events), std::chrono::duration<double>(t1 - t0).count(), loop,
                  static_cast<double>(c2 - c1) / CLOCKS_PER_SEC,
                  rec.events / loop);
      std::fflush(stdout);
    }
  });
  return 0;
}
