// Training-step and inference throughput of a whole model (forward + backward + optimizer step) on the CPU or GPU,
// for comparison with ../shared/bench/ref_torch.py and bench/torch/train_step.py on the same machine.
// Usage: train_step_bench [--model seed|default|fmnist|FILE] [--size N] [--batch B] [--steps S] [--device D]
//                         [--threads T] [--optimizer sgd|adam]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/parallel.h"
#include "nn/functional.h"
#include "nn/model.h"
#include "nn/optimizer.h"

using namespace vigil;

int main(int argc, char** argv) {
  std::string model_name = "fmnist", device_spec = "cpu", optimizer = "sgd";
  int size = 0, batch = 32, steps = 5, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model_name = v;
    else if (k == "--size") size = std::atoi(v.c_str());
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--steps") steps = std::atoi(v.c_str());
    else if (k == "--device") device_spec = v;
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--optimizer") optimizer = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (threads > 0) cpu::set_num_threads(threads);
    ModelSpec spec = load_model_spec(model_name);
    if (size > 0) {
      nlohmann::json j = nlohmann::json::parse(spec.text);
      j["input"]["height"] = size;
      j["input"]["width"] = size;
      spec = parse_model_spec(j.dump(), model_name);
    }
    const Device device = resolve_device(device_spec);
    Model m(spec, 1);
    m.to(device);
    OptimizerConfig oc;
    oc.kind = optimizer;
    Optimizer opt(m.parameters(), oc);
    const Shape in = {batch, spec.input.channels, spec.input.height, spec.input.width};
    std::vector<float> xs(shape_numel(in));
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.f - 1.f;
    std::vector<int32_t> ls(batch);
    for (int i = 0; i < batch; ++i) ls[i] = i % static_cast<int>(spec.classes.size());
    Var x(Tensor::from_vector(xs, in, device));
    Tensor labels = Tensor::from_labels(ls, device);
    auto train_step = [&](int64_t s) {
      Tape tape;
      Var loss = fn::cross_entropy(tape, m.forward(tape, x, RunContext{true, 1, static_cast<uint64_t>(s)}), labels);
      tape.backward(loss);
      opt.step(0.01f);
      opt.zero_grad();
      return loss.value().item();
    };
    auto infer_step = [&] {
      Tape tape(false);
      return m.forward(tape, x, RunContext{}).value().to_vector()[0];
    };
    train_step(0);  // warm-up (allocations, cuDNN algorithm choice)
    auto t0 = std::chrono::steady_clock::now();
    for (int s = 1; s <= steps; ++s) train_step(s);
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    infer_step();
    t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) infer_step();
    const double infer_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    std::printf("{\"impl\":\"vigil-%s\",\"model\":\"%s\",\"size\":%d,\"batch\":%d,\"threads\":%d,\"train_step_ms\":%.2f,"
                "\"train_img_per_s\":%.1f,\"infer_img_per_s\":%.1f}\n",
                device.str().c_str(), spec.name.c_str(), spec.input.height, batch, cpu::num_threads(),
                train_s * 1e3, batch / train_s, batch / infer_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_step_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
