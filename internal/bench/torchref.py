"""PyTorch reference for `make bench`: the same networks and the same work as mtlrob's benchmark rows.

Run by the Go benchmark driver as a long-lived subprocess (so rows can be interleaved with the Go
side without re-importing torch): it reads one JSON request per line on stdin,
    {"model": "lenet"|"resnet18"|"wrn-D-K", "row": ROW, "batch": B, "reps": N, "warmup": W}
times N repetitions of ROW after W warm-up repetitions and answers one JSON line
    {"seconds": [t1, ..., tN]}.
Rows: "train" (natural multi-task train step: forward, sum of per-head CE, backward, SGD update with momentum 0.9),
"forward" (logits of every head, no gradient), "pgd_step" (one gray-box PGD-Linf step on the main
head: forward, backward to the input, sign step, projection), "pgd7" (PGD-7 attack),
"pgd7_train" (PGD-7 adversarial training step: the attack, then a train step on its output),
"pgd10_train" (the same with PGD-10), "pgd20_eval" (PGD-20 attack, then the main head's logits on
its output, no gradient), "matmul" (a B x B by B x B float32 matrix product, for the machine's matmul peak).
The first line written is {"ready": true, "torch": VERSION, "threads": T, "device": LINE, "info": {...},
"blas": {...}}, or {"ready": false, "error": MESSAGE} when the device asked for is missing. "blas" is what
the process actually loaded and runs with (blas_report): the BLAS/LAPACK/OpenMP libraries mapped into
it (lines of /proc/self/maps), the file whose sgemm_ torch calls (dladdr), OpenBLAS's own answers (config, core, threading mode, threads) read
through ctypes from the loaded library after one matrix product, torch's intra-op and inter-op
threads, OpenMP's max threads, whether torch has MKL, and the environment variables that steer them.
The Go driver names the build from it and refuses a misconfigured reference (internal/bench/blas.go).

MTLROB_BENCH_DEVICE is "cpu" (default) or "cuda". On the CPU use Debian's python3-torch with OpenBLAS
(/usr/bin/python3), threads = cores; the driver puts Debian's openblas-openmp directory first on
LD_LIBRARY_PATH when it exists, so that this process (only) loads the OpenMP OpenBLAS. On "cuda" every repetition ends with torch.cuda.synchronize(), so
the times cover the device's work, as mtlrob's do (they wait for the result on the host).
"""
import ctypes
import json
import os
import platform
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS, ALPHA = 0.1, 0.025
DEVICE = torch.device("cpu")


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


class LeNet(nn.Module):
    """The multi-head LeNet of mtlrob/arch (Madry MNIST net): conv32 5x5 same, pool, conv64 5x5 same, pool, fc1024."""

    def __init__(self, heads, channels=1, size=28):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc1 = nn.Linear(64 * (size // 4) * (size // 4), 1024)
        self.heads = nn.ModuleList([nn.Linear(1024, k) for k in heads])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return [h(x) for h in self.heads]


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.short(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs (3x3 stem, no max pool), one linear head per task."""

    def __init__(self, heads):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.heads = nn.ModuleList([nn.Linear(512, k) for k in heads])

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return [h(x) for h in self.heads]


class WideBlock(nn.Module):
    """WideResNet's pre-activation block, as mtlrob/arch's wideBlock (no dropout)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.short = None if cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        act = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(act))))
        return y + (x if self.short is None else self.short(act))


class WideResNet(nn.Module):
    """WRN-depth-widen for 32x32 inputs (Zagoruyko & Komodakis), one linear head per task."""

    def __init__(self, depth, widen, heads):
        super().__init__()
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        layers, cin = [], 16
        for stage, width in enumerate([16 * widen, 32 * widen, 64 * widen]):
            for block in range(n):
                layers.append(WideBlock(cin, width, 2 if block == 0 and stage > 0 else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(cin)
        self.heads = nn.ModuleList([nn.Linear(cin, k) for k in heads])

    def forward(self, x):
        x = F.relu(self.bn(self.layers(self.conv1(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return [h(x) for h in self.heads]


def make(model, batch):
    torch.manual_seed(0)
    wrn = re.fullmatch(r"wrn-(\d+)-(\d+)", model)
    if model == "lenet":
        net, shape = LeNet([10, 3, 4]), (batch, 1, 28, 28)
    elif model == "resnet18":
        net, shape = ResNet18([10, 2, 3]), (batch, 3, 32, 32)
    elif wrn:
        net, shape = WideResNet(int(wrn.group(1)), int(wrn.group(2)), [10, 2, 3]), (batch, 3, 32, 32)
    else:
        raise ValueError("unknown model %r" % model)
    net = net.to(DEVICE)
    x = torch.rand(shape).to(DEVICE)
    ys = [torch.randint(0, k, (batch,)).to(DEVICE) for k in net_heads(net)]
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    return net, x, ys, opt


def net_heads(net):
    return [h.out_features for h in net.heads]


def train_step(net, opt, x, ys):
    net.train()
    opt.zero_grad(set_to_none=True)
    loss = sum(F.cross_entropy(z, y) for z, y in zip(net(x), ys))
    loss.backward()
    opt.step()


def pgd(net, x, y, steps):
    """Gray-box PGD-Linf on the main head, uniform random start, as mtlrob's PGD."""
    net.eval()
    x_adv = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(net(x_adv)[0], y)
        (g,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + ALPHA * g.sign()
        x_adv = torch.min(torch.max(x_adv, x - EPS), x + EPS).clamp(0, 1)
    return x_adv.detach()


def run(req, cache):
    key = (req["model"], req["batch"])
    if req["row"] != "matmul" and key not in cache:
        cache.clear()
        cache[key] = make(req["model"], req["batch"])
    net, x, ys, opt = cache.get(key, (None, None, None, None))
    row = req["row"]
    if row == "matmul":
        n = req["batch"]
        a, b = torch.rand(n, n, device=DEVICE), torch.rand(n, n, device=DEVICE)
        fn = lambda: torch.mm(a, b)
    elif row == "train":
        fn = lambda: train_step(net, opt, x, ys)
    elif row == "forward":
        def fn():
            net.eval()
            with torch.no_grad():
                net(x)
    elif row == "pgd_step":
        fn = lambda: pgd(net, x, ys[0], 1)
    elif row == "pgd7":
        fn = lambda: pgd(net, x, ys[0], 7)
    elif row == "pgd7_train":
        fn = lambda: train_step(net, opt, pgd(net, x, ys[0], 7), ys)
    elif row == "pgd10_train":
        fn = lambda: train_step(net, opt, pgd(net, x, ys[0], 10), ys)
    elif row == "pgd20_eval":
        def fn():
            adv = pgd(net, x, ys[0], 20)
            with torch.no_grad():
                net(adv)[0]
    else:
        raise ValueError("unknown row %r" % row)
    for _ in range(req.get("warmup", 1)):
        fn()
    sync()
    times = []
    for _ in range(req["reps"]):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return {"seconds": times}


def device_info():
    """The device line and the versions the report records."""
    info = {"python": platform.python_version(), "torch": torch.__version__}
    if DEVICE.type != "cuda":
        return "cpu (%d threads)" % torch.get_num_threads(), info
    info.update(cuda=str(torch.version.cuda), cudnn=str(torch.backends.cudnn.version()),
                gpu=torch.cuda.get_device_name(0), gpus=str(torch.cuda.device_count()))
    return "cuda: %s, CUDA %s, cuDNN %s" % (info["gpu"], info["cuda"], info["cudnn"]), info


BLAS_LIBS = re.compile(r"lib(open)?blas|liblapack|libmkl|libblis|libgomp|libiomp|libomp[.]")
BLAS_ENV = ("LD_LIBRARY_PATH", "LD_PRELOAD", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS", "GOMP_SPINCOUNT")


class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p), ("sname", ctypes.c_char_p),
                ("saddr", ctypes.c_void_p)]


def sgemm_provider():
    """The file of the sgemm_ torch calls, or "": the dynamic linker binds libtorch_cpu's sgemm_ from the
    global scope (the executable, LD_PRELOAD) first, then from libtorch_cpu's own dependencies."""
    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    for handle in (None, torch_lib):
        try:
            lib = ctypes.CDLL(handle)
            info = DlInfo()
            if lib.dladdr(ctypes.cast(lib.sgemm_, ctypes.c_void_p), ctypes.byref(info)) and info.fname:
                return os.path.realpath(info.fname.decode())
        except (OSError, AttributeError):
            continue
    return ""


def blas_report():
    """Which BLAS this process loaded and the threads it runs with (see the module's docstring)."""
    a = torch.rand(256, 256)
    torch.mm(a, a)  # the first product loads the BLAS and lets OpenMP OpenBLAS adopt torch's thread count
    maps = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and BLAS_LIBS.search(os.path.basename(fields[5])) and fields[5] not in maps:
                    maps.append(fields[5])
    except OSError as e:
        maps.append("error: %s" % e)
    rep = {"maps": maps, "torch_threads": torch.get_num_threads(),
           "interop_threads": torch.get_num_interop_threads(), "mkl": bool(torch.backends.mkl.is_available()),
           "env": {k: os.environ[k] for k in BLAS_ENV if k in os.environ}}
    sgemm = sgemm_provider()
    if sgemm:
        rep["sgemm"] = sgemm
    for path in ([sgemm] if sgemm else []) + maps:
        if "openblas" in os.path.basename(path) or "/openblas" in path:
            try:
                lib = ctypes.CDLL(path)  # the already-loaded library: same handle, no second copy
                lib.openblas_get_config.restype = ctypes.c_char_p
                lib.openblas_get_corename.restype = ctypes.c_char_p
                rep["openblas"] = {"path": path, "config": lib.openblas_get_config().decode(),
                                   "core": lib.openblas_get_corename().decode(),
                                   "parallel": lib.openblas_get_parallel(),
                                   "threads": lib.openblas_get_num_threads()}
                break
            except (OSError, AttributeError):
                continue
    for path in maps:
        if os.path.basename(path).startswith(("libgomp", "libiomp", "libomp.")):
            try:
                rep["omp_threads"] = ctypes.CDLL(path).omp_get_max_threads()
                break
            except (OSError, AttributeError):
                continue
    return rep


def safe_blas_report():
    try:
        return blas_report()
    except Exception as e:  # the driver reports it as a reference it cannot vouch for
        return {"error": "%s: %s" % (type(e).__name__, e)}


def main():
    global DEVICE
    threads = int(os.environ.get("MTLROB_BENCH_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    device = os.environ.get("MTLROB_BENCH_DEVICE", "cpu")
    if device not in ("cpu", "cuda"):
        print(json.dumps({"ready": False, "error": "MTLROB_BENCH_DEVICE=%r: want cpu or cuda" % device}), flush=True)
        return
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"ready": False, "error": "torch %s sees no CUDA device (torch.version.cuda=%s)"
                          % (torch.__version__, torch.version.cuda)}), flush=True)
        return
    DEVICE = torch.device(device)
    line, info = device_info()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "device": line, "info": info, "blas": safe_blas_report()}), flush=True)
    cache = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = run(json.loads(line), cache)
        except Exception as e:  # report, keep serving
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
