// The full-size STDP experiment (Diehl & Cook 2015 style) on Fashion-MNIST.
//   snn_diehl_cook [--train 10000] [--assign 2000] [--test 2000] [--neurons 100] [--epochs 1]
//                  [--seed 1] [--threads 1] [--theta-inc 0.01] [--eta-post 0.01] [--mean-pixel 50]
//                  [--data /usr/share/datasets/fashion-mnist]
// Training images are the first --train of the training set, assignment images the next --assign,
// test images the first --test of the test set.
#include <glia/snn_diehl_cook.hpp>

#include <tbb/global_control.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  int64_t n_train = 10000, n_assign = 2000, n_test = 2000;
  glia::snn::DiehlCookConfig cfg;
  uint64_t seed = 1;
  int threads = 1;
  std::string data = "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--train") n_train = std::atoll(v);
    else if (a == "--assign") n_assign = std::atoll(v);
    else if (a == "--test") n_test = std::atoll(v);
    else if (a == "--neurons") cfg.n_exc = std::atoll(v);
    else if (a == "--epochs") cfg.epochs = std::atoi(v);
    else if (a == "--theta-inc") cfg.theta_inc = std::atof(v);
    else if (a == "--eta-post") cfg.eta_post = std::atof(v);
    else if (a == "--mean-pixel") cfg.mean_pixel = std::atof(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--threads") threads = std::atoi(v);
    else if (a == "--data") data = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
  try {
    using namespace glia::snn;
    Images all = read_idx_images(data + "/train-images-idx3-ubyte.gz", n_train + n_assign);
    std::vector<uint8_t> all_labels = read_idx_labels(data + "/train-labels-idx1-ubyte.gz", n_train + n_assign);
    const int64_t d = all.rows * all.cols;
    Images train = all, assign = all;
    train.count = std::min(n_train, all.count);
    train.pixels.resize(train.count * d);
    assign.count = all.count - train.count;
    assign.pixels.assign(all.pixels.begin() + train.count * d, all.pixels.end());
    std::vector<uint8_t> train_labels(all_labels.begin(), all_labels.begin() + train.count);
    std::vector<uint8_t> assign_labels(all_labels.begin() + train.count, all_labels.end());
    Images test = read_idx_images(data + "/t10k-images-idx3-ubyte.gz", n_test);
    std::vector<uint8_t> test_labels = read_idx_labels(data + "/t10k-labels-idx1-ubyte.gz", n_test);
    const DiehlCookResult r = diehl_cook(train, train_labels, assign, assign_labels, test, test_labels, cfg, seed);
    int assigned[10] = {};
    for (int c : r.assignments)
      if (c >= 0) ++assigned[c];
    std::printf("diehl_cook fashion-mnist neurons=%lld train=%lld x%d assign=%lld test=%lld seed=%llu accuracy=%.4f "
                "silent=%lld train_s=%.1f eval_s=%.1f\nneurons per class:",
                static_cast<long long>(cfg.n_exc), static_cast<long long>(train.count), cfg.epochs,
                static_cast<long long>(assign.count), static_cast<long long>(test.count),
                static_cast<unsigned long long>(seed), r.accuracy, static_cast<long long>(r.silent_test_images),
                r.train_seconds, r.eval_seconds);
    for (int c = 0; c < 10; ++c) std::printf(" %d", assigned[c]);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "snn_diehl_cook: %s\n", e.what());
    return 1;
  }
  return 0;
}
