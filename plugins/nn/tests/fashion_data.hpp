// Reads Fashion-MNIST's gzip IDX files (test helper; the pipeline uses io.read_idx).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace glia::nn_plugin {

inline const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

// A gzip IDX file of uint8 items: the dimensions from its big-endian header and the data of the
// first `limit` items (all when 0; dims[0] is then the count read).
inline std::vector<uint8_t> read_idx_gz(const std::string& path, std::vector<int64_t>& dims,
                                        int64_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  auto read = [&](void* p, unsigned n) {
    if (gzread(f, p, n) != int(n)) {
      gzclose(f);
      throw std::runtime_error(path + ": truncated");
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] || magic[1] || magic[2] != 0x08) throw std::runtime_error(path + ": not a uint8 IDX file");
  dims.assign(magic[3], 0);
  size_t total = 1;
  for (auto& d : dims) {
    unsigned char b[4];
    read(b, 4);
    d = (int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  }
  if (limit > 0 && limit < dims[0]) dims[0] = limit;
  for (int64_t d : dims) total *= size_t(d);
  std::vector<uint8_t> data(total);
  read(data.data(), unsigned(total));
  gzclose(f);
  return data;
}

struct FashionSplit {
  std::vector<float> x;  // (n, 784) in [0, 1], as io.read_idx scales them
  std::vector<int64_t> y;
  int64_t n = 0;
};

// prefix "train" or "t10k"; limit 0 reads everything.
inline FashionSplit load_fashion(const std::string& dir, const std::string& prefix, int64_t limit) {
  std::vector<int64_t> di, dl;
  const auto images = read_idx_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", di, limit);
  const auto labels = read_idx_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", dl, limit);
  FashionSplit s;
  s.n = di[0];
  s.x.resize(size_t(s.n) * 784);
  for (size_t i = 0; i < s.x.size(); ++i) s.x[i] = images[i] / 255.0f;
  s.y.assign(labels.begin(), labels.begin() + s.n);
  return s;
}

}  // namespace glia::nn_plugin
