"""Benchmark: LSQ fake quantization, forward + backward, reference vs torch's C++ op.

    python benchmarks/quantized_autograd.py             # 4096 x 4096 float32 (the issue's size)
    python benchmarks/quantized_autograd.py --large     # adds 8192 x 8192
    python benchmarks/quantized_autograd.py --threads 2 --repeats 5

Rows per size and mode (per channel along axis 0, per tensor):
  torch C++ (anchor)  torch._fake_quantize_learnable_per_{channel,tensor}_affine
  reference           solutions_ref/quantized_autograd.py (custom autograd.Function)
  autograd roundpass  the LSQ paper's pseudo-code in plain torch ops (round via detach, gradscale),
                      what one writes without a custom Function; autograd saves its intermediates

Columns: median seconds of forward + backward, peak RSS growth during one forward + backward
(Linux VmHWM, reset through /proc/self/clear_refs), bytes saved for backward
(saved_tensors_hooks), and time / memory relative to the anchor. Note the anchor's gradient
semantics differ slightly (it tests the clip range on round(v), inclusive); only cost is compared.
"""

import argparse
import importlib.util
import math
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

REPO = Path(__file__).resolve().parents[1]
BITS = 8
QMIN, QMAX = -(2 ** (BITS - 1)), 2 ** (BITS - 1) - 1


def load_reference():
    path = REPO / "solutions_ref" / "quantized_autograd.py"
    spec = importlib.util.spec_from_file_location("quantized_autograd", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_anchor(x: Tensor, scale: Tensor, axis: int | None) -> Tensor:
    n = x.numel() // scale.numel()
    g = 1.0 / math.sqrt(n * QMAX)
    if axis is None:
        zero_point = torch.zeros(1)
        return torch._fake_quantize_learnable_per_tensor_affine(x, scale, zero_point, QMIN, QMAX, g)
    zero_point = torch.zeros(scale.shape)
    return torch._fake_quantize_learnable_per_channel_affine(x, scale, zero_point, axis, QMIN, QMAX, g)


def autograd_roundpass(x: Tensor, scale: Tensor, axis: int | None) -> Tensor:
    """LSQ paper, appendix: gradscale + roundpass, differentiated by autograd."""
    n = x.numel() // scale.numel()
    g = 1.0 / math.sqrt(n * QMAX)
    s = scale * g + (scale - scale * g).detach()  # forward s, backward g * grad
    if axis is not None:
        s = s.reshape(-1, *([1] * (x.dim() - 1)))  # (C, 1)
    v = torch.clamp(x / s, QMIN, QMAX)
    v = v + (torch.round(v) - v).detach()  # round forward, identity backward
    return v * s


def vm_hwm_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def vm_rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


def reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def saved_bytes(fn: Callable, x: Tensor, scale: Tensor, axis: int | None) -> int:
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x, scale, axis)
    return sum(storages.values())


def measure(fn: Callable, x: Tensor, scale: Tensor, grad_out: Tensor, axis: int | None, repeats: int):
    def step() -> None:
        x.grad, scale.grad = None, None
        fn(x, scale, axis).backward(grad_out)

    step()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    x.grad, scale.grad = None, None
    peak = math.nan
    if reset_hwm():
        before = vm_rss_bytes()
        step()
        peak = vm_hwm_bytes() - before
    x.grad, scale.grad = None, None
    return statistics.median(times), peak, saved_bytes(fn, x, scale, axis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run 8192 x 8192")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    reference = load_reference()
    implementations = {
        "torch C++ (anchor)": torch_anchor,
        "reference": lambda x, s, axis: reference.lsq_fake_quantize(x, s, bits=BITS, signed=True, axis=axis),
        "autograd roundpass": autograd_roundpass,
    }
    sizes = [(4096, 4096)] + ([(8192, 8192)] if args.large else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, {BITS} bits signed")
    header = f"{'size':>11} {'mode':>11} {'implementation':>20} {'fwd+bwd s':>10} {'x anchor':>9}"
    header += f" {'peak MiB':>9} {'x anchor':>9} {'saved MiB':>10}"
    print(header)
    generator = torch.Generator().manual_seed(0)
    for rows, cols in sizes:
        x = torch.randn(rows, cols, generator=generator).requires_grad_(True)
        grad_out = torch.randn(rows, cols, generator=generator)
        for mode, axis in [("per-channel", 0), ("per-tensor", None)]:
            absmax = x.detach().abs().amax(dim=1) if axis == 0 else x.detach().abs().amax().reshape(1)
            scale = (absmax / QMAX).requires_grad_(True)  # (C,) or (1,)
            anchor = None
            for name, fn in implementations.items():
                seconds, peak, saved = measure(fn, x, scale, grad_out, axis, args.repeats)
                anchor = anchor or (seconds, peak)
                line = f"{rows}x{cols:<6} {mode:>11} {name:>20} {seconds:10.4f} {seconds / anchor[0]:9.2f}"
                line += f" {peak / 2**20:9.1f} {peak / anchor[1]:9.2f} {saved / 2**20:10.1f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
