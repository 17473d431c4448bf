"""snnTorch side of tests/bench/snn/run_train_bench.sh: one BPTT step of the 784-H-10 network
that snn_train_bench times (Leaky, beta 0.9, threshold 1, subtract reset, fast-sigmoid surrogate
slope 25; rate-coded Fashion-MNIST batch; cross-entropy of the output spike counts).

    python3 snntorch_bench.py [threads=1] [steps=100] [batch=128] [hidden=1000] [repeats=7] [images.gz]

Prints one JSON line with the median forward (autograd on, as in training, and under no_grad)
and forward+backward times. Exits 0 with a SKIP line when torch or snntorch is missing.
"""
import gzip
import json
import sys
import time

try:
    import torch
    import snntorch as snn
    from snntorch import surrogate
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(0)

args = sys.argv[1:]
threads = int(args[0]) if len(args) > 0 else 1
T = int(args[1]) if len(args) > 1 else 100
B = int(args[2]) if len(args) > 2 else 128
H = int(args[3]) if len(args) > 3 else 1000
repeats = int(args[4]) if len(args) > 4 else 7
path = args[5] if len(args) > 5 else "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
torch.set_num_threads(threads)
torch.manual_seed(0)

with gzip.open(path, "rb") as f:
    raw = f.read(16 + B * 784)
images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).float().reshape(B, 784) / 255
spikes = (torch.rand(T, B, 784) < images).float()  # snntorch.spikegen.rate's Bernoulli code
labels = torch.arange(B) % 10


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=25)
        self.fc1 = torch.nn.Linear(784, H)
        self.lif1 = snn.Leaky(beta=0.9, threshold=1.0, spike_grad=grad, reset_mechanism="subtract")
        self.fc2 = torch.nn.Linear(H, 10)
        self.lif2 = snn.Leaky(beta=0.9, threshold=1.0, spike_grad=grad, reset_mechanism="subtract")

    def forward(self, x):
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        count = 0
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            count = count + spk2
        return count


net = Net()
loss_fn = torch.nn.CrossEntropyLoss()


def median(v):
    return sorted(v)[len(v) // 2]


fwd, fwd_nograd, fwdbwd = [], [], []
for r in range(repeats + 1):  # the first round warms up
    t0 = time.perf_counter()
    with torch.no_grad():
        net(spikes)
    a = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = net(spikes)
    b = time.perf_counter() - t0
    net.zero_grad()
    t0 = time.perf_counter()
    out = net(spikes)
    loss = loss_fn(out, labels)
    loss.backward()
    c = time.perf_counter() - t0
    if r:
        fwd_nograd.append(a)
        fwd.append(b)
        fwdbwd.append(c)
print(json.dumps({"impl": "snntorch", "threads": threads, "steps": T, "batch": B, "hidden": H,
                  "input_density": round(float(spikes.mean()), 4), "loss": round(float(loss), 4),
                  "forward_s": round(median(fwd), 4), "forward_nograd_s": round(median(fwd_nograd), 4),
                  "forward_backward_s": round(median(fwdbwd), 4)}))
