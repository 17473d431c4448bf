// Command-line helper for the PyTorch interop script (torch_interop.py):
//
//   nn_interop_tool export ARCH_JSON MODEL_OUT     builds the model (seed 1), runs a few Adam
//                                                  steps on seeded data so that every tensor,
//                                                  running statistics included, moves, saves it
//   nn_interop_tool predict MODEL INPUTS OUT       loads MODEL (any safetensors with the
//                                                  architecture in its metadata), applies it in
//                                                  evaluation mode to tensor "x" of INPUTS and
//                                                  writes the outputs as tensor "y" of OUT
#include <glia/nn/loss.hpp>
#include <glia/nn/model.hpp>
#include <glia/nn/optim.hpp>
#include <glia/nn/train.hpp>
#include <glia/random.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace glia::nn;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "export" && argc == 5) {
      // argv: export ARCH_JSON INPUT_SHAPE_JSON MODEL_OUT ; data shape (16, input...) with 3 classes
      auto model = Sequential<float>::from_architecture(argv[2], 1);
      Shape shape{16};
      {
        std::string s = argv[3];
        for (char& c : s)
          if (c == '[' || c == ']' || c == ',') c = ' ';
        std::istringstream in(s);
        size_t d;
        while (in >> d) shape.push_back(d);
      }
      Tensor<float> x = Tensor<float>::from_shape(shape);
      glia::Rng rng(2);
      for (float& v : x) v = float(rng.normal());
      const Shape out = model.output_shape(shape);
      std::vector<int64_t> labels(16);
      for (size_t i = 0; i < 16; ++i) labels[i] = int64_t(i % out.back());
      Adam<float> adam(model.parameters(), 0.01);
      Tensor<float> grad;
      for (int step = 0; step < 5; ++step) {
        adam.zero_grad();
        const Tensor<float>& y = model.forward(x, true);
        cross_entropy_loss(y, labels.data(), &grad);
        model.backward(grad);
        adam.step();
      }
      write(argv[4], save_model(model, {{"format", "pt"}}));
      return 0;
    }
    if (cmd == "predict" && argc == 5) {
      Sequential<float> model = load_model(slurp(argv[2]));
      const safetensors::File inputs = safetensors::read_file(argv[3]);
      const Tensor<float> x = safetensors::to_tensor<float>(inputs.tensors.at("x"));
      safetensors::File out;
      out.tensors["y"] = safetensors::from_tensor(predict(model, x, 64));
      safetensors::write_file(argv[4], out);
      return 0;
    }
    std::fprintf(stderr, "usage: nn_interop_tool export ARCH_JSON INPUT_SHAPE_JSON MODEL_OUT\n"
                         "       nn_interop_tool predict MODEL INPUTS OUT\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nn_interop_tool: %s\n", e.what());
    return 1;
  }
}
