"""The Braille network of experiments/braille-synthetic.toml in snnTorch/PyTorch (CPU), for time and memory per
training step next to `bash Benchmarks/run.sh training`.

Same shape: 12 taxels → fixed-gain LIF encoding to 128 → Linear 128→256 → LIF → Linear 256→27 → 27 LIF outputs,
3-bit fake-quantised weights (symmetric max-abs, stochastic rounding, straight-through), spike-count cross-entropy,
Adamax, batch 128, 102 steps, full BPTT. snnTorch has no FeLIF neuron: this is the LIF row of the comparison.

Install (never a CI dependency): Debian's PyTorch, `apt-get install python3-torch` (1.13), or a venv with
`pip install torch snntorch`. snnTorch is used when it is importable; otherwise the script uses an inline
equivalent of its `Leaky` neuron (reset by subtraction, fast-sigmoid surrogate, slope 10) and `ce_count_loss`.
Run:
    OMP_NUM_THREADS=2 python3 Benchmarks/peers/snntorch_braille.py [T=102] [batch=128]
Prints the median seconds per training step over 7 steps (after 1 warm-up) and the peak RSS.
"""
import resource
import sys
import time

import torch

try:
    import snntorch as snn
    from snntorch import functional as SF
    from snntorch import surrogate

    def leaky():
        return snn.Leaky(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=10))

    def count_loss():
        return SF.ce_count_loss()

    FLAVOUR = "snnTorch " + snn.__version__
except ImportError:
    class FastSigmoidSpike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).float()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / (1 + 10 * x.abs()) ** 2

    class Leaky(torch.nn.Module):
        """snnTorch's Leaky: mem = beta*mem + input - reset*threshold, spike = H(mem - threshold)."""

        def __init__(self, beta):
            super().__init__()
            self.beta = beta

        def init_leaky(self):
            return torch.zeros(1)

        def forward(self, x, mem):
            reset = (mem > 1).float().detach()
            mem = self.beta * mem + x - reset
            return FastSigmoidSpike.apply(mem - 1), mem

    def leaky():
        return Leaky(beta=0.9)

    def count_loss():
        def loss(spk, y):
            return torch.nn.functional.cross_entropy(spk.sum(0), y)
        return loss

    FLAVOUR = "PyTorch " + torch.__version__ + " (inline snnTorch-equivalent Leaky)"


class Quantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, bits):
        top = 2 ** (bits - 1) - 1
        scale = w.abs().max().clamp(min=1e-12) / top
        x = w / scale
        q = torch.floor(x) + (torch.rand_like(x) < (x - torch.floor(x))).float()
        return q.clamp(-top, top) * scale

    @staticmethod
    def backward(ctx, g):
        return g, None


class QLinear(torch.nn.Linear):
    def forward(self, x):
        return torch.nn.functional.linear(x, Quantize.apply(self.weight, 3))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("gains", torch.logspace(torch.log10(torch.tensor(0.3)), torch.log10(torch.tensor(3.0)), 128))
        self.enc = leaky()
        self.fc1 = QLinear(128, 256, bias=False)
        self.lif1 = leaky()
        self.fc2 = QLinear(256, 27, bias=False)
        self.lif2 = leaky()

    def forward(self, x):  # x: [T, B, 12]
        me, m1, m2 = self.enc.init_leaky(), self.lif1.init_leaky(), self.lif2.init_leaky()
        out = []
        idx = torch.arange(128) % 12
        for t in range(x.shape[0]):
            s0, me = self.enc(x[t][:, idx] * self.gains, me)
            s1, m1 = self.lif1(self.fc1(s0.detach()), m1)
            s2, m2 = self.lif2(self.fc2(s1), m2)
            out.append(s2)
        return torch.stack(out)


def main():
    T = int(sys.argv[1]) if len(sys.argv) > 1 else 102
    B = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    torch.manual_seed(1)
    net = Net()
    opt = torch.optim.Adamax(net.parameters(), lr=5e-3)
    loss_fn = count_loss()
    x = torch.rand(T, B, 12)
    y = torch.randint(0, 27, (B,))
    times = []
    for i in range(8):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{FLAVOUR}, LIF, T={T}, batch={B}, {torch.get_num_threads()} threads: {times[len(times) // 2]:.3f} s per step, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
