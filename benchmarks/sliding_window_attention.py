"""Benchmark: sliding-window attention, reference vs naive masked SDPA vs compiled FlexAttention.

    python benchmarks/sliding_window_attention.py                 # T in {4096, 16384}, window in {256, 1024}
    python benchmarks/sliding_window_attention.py --large         # adds T = 32768 (naive path skipped there)
    python benchmarks/sliding_window_attention.py --threads 1 --repeats 5 --no-flex

Rows per (T, window), all fp32, B=1, H=4, Hkv=1 (GQA 4), D=64:
  naive SDPA     F.scaled_dot_product_attention with a (T, T) boolean band mask (enable_gqa)
  flex compiled  torch.compile(flex_attention) with create_block_mask(sliding window), the
                 PyTorch expert's choice; the first call's compile time is its own column
  reference      solutions_ref/sliding_window_attention.py (blockwise online softmax, block 128)

Columns: median seconds per call, peak RSS growth during one call (Linux VmHWM, reset through
/proc/self/clear_refs, so it includes the mask the naive path builds; memory freed by earlier
calls is reused, so small figures are lower bounds), and time / memory of each row relative
to the naive path. The note gives flex's first call (compile) and block mask build times and
each output's max |diff| from the naive path. If torch.compile
fails on this machine, the flex row falls back to eager flex_attention (which materialises
the scores) and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

REPO = Path(__file__).resolve().parents[1]
B, H, Hkv, D = 1, 4, 1, 64


def load_reference() -> Callable[..., Tensor]:
    path = REPO / "solutions_ref" / "sliding_window_attention.py"
    spec = importlib.util.spec_from_file_location("sliding_window_attention", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sliding_window_attention


def rss_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def measure(fn: Callable[..., Tensor], args: tuple, repeats: int) -> tuple[float, int]:
    """Median seconds over `repeats` calls of fn(*args) and the largest peak-RSS growth of any call."""
    times, peaks = [], []
    for _ in range(repeats):
        before = rss_bytes("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        started = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - started)
        peaks.append(rss_bytes("VmHWM") - before)
        del out
    return statistics.median(times), max(peaks)


def naive_sdpa(q: Tensor, k: Tensor, v: Tensor, window: int) -> Tensor:
    T = q.shape[2]
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    mask = (j <= i) & (j > i - window)  # (T, T) bool
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)


class Flex:
    """torch.compile(flex_attention) with a sliding-window BlockMask; eager if compile fails."""

    def __init__(self) -> None:
        from torch.nn.attention.flex_attention import flex_attention

        self.eager = flex_attention
        self.compiled = torch.compile(flex_attention, dynamic=False)
        self.mode = "compiled"
        self.error = ""

    def block_mask(self, T: int, window: int):
        from torch.nn.attention.flex_attention import create_block_mask

        def sliding_window(b, h, q_idx, kv_idx):
            return (kv_idx <= q_idx) & (q_idx - kv_idx < window)

        return create_block_mask(sliding_window, B=None, H=None, Q_LEN=T, KV_LEN=T, device="cpu")

    def __call__(self, q: Tensor, k: Tensor, v: Tensor, block_mask) -> Tensor:
        if self.mode == "compiled":
            try:
                return self.compiled(q, k, v, block_mask=block_mask, enable_gqa=True)
            except Exception as exc:  # inductor needs a C++ compiler; report and fall back
                self.mode, self.error = "eager", f"{type(exc).__name__}: {str(exc)[:200]}"
        return self.eager(q, k, v, block_mask=block_mask, enable_gqa=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="add T = 32768 (naive path skipped there)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-flex", action="store_true", help="skip FlexAttention (its compile takes minutes)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    reference = load_reference()
    flex = None if args.no_flex else Flex()
    lengths = [4096, 16384] + ([32768] if args.large else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, B={B} H={H} Hkv={Hkv} D={D}")
    header = f"{'T':>6} {'window':>6}  {'implementation':<15} {'time s':>8} {'peak MiB':>9} {'x naive t':>9} {'x naive mem':>11}  {'note'}"
    print(header)
    print("-" * len(header))
    for T in lengths:
        g = torch.Generator().manual_seed(T)
        q = torch.randn(B, H, T, D, generator=g)
        k = torch.randn(B, Hkv, T, D, generator=g)
        v = torch.randn(B, Hkv, T, D, generator=g)
        for window in (256, 1024):
            rows = []
            if T <= 16384:
                expected = naive_sdpa(q, k, v, window)
                rows.append(("naive SDPA", *measure(naive_sdpa, (q, k, v, window), args.repeats), ""))
            else:
                expected = None
            if flex is not None:
                started = time.perf_counter()
                block_mask = flex.block_mask(T, window)
                mask_s = time.perf_counter() - started
                started = time.perf_counter()
                out = flex(q, k, v, block_mask)  # first call: compiles
                first_s = time.perf_counter() - started
                seconds, peak = measure(flex, (q, k, v, block_mask), args.repeats)
                note = f"first call {first_s:.1f} s, block mask {mask_s:.2f} s"
                if flex.mode == "eager":
                    note += f"; EAGER (compile failed: {flex.error})"
                if expected is not None:
                    note += f", max |diff| {(out - expected).abs().max().item():.1e}"
                rows.append((f"flex {flex.mode}", seconds, peak, note))
            out = reference(q, k, v, window)
            seconds, peak = measure(reference, (q, k, v, window), args.repeats)
            note = f"max |diff| {(out - expected).abs().max().item():.1e}" if expected is not None else ""
            rows.append(("reference", seconds, peak, note))
            base_s, base_mem = (rows[0][1], rows[0][2]) if expected is not None else (None, None)
            for name, seconds, peak, note in rows:
                ratio_t = f"{seconds / base_s:9.2f}" if base_s else f"{'-':>9}"
                ratio_m = f"{peak / base_mem:11.3f}" if base_mem else f"{'-':>11}"
                print(f"{T:>6} {window:>6}  {name:<15} {seconds:8.3f} {peak / 2**20:9.1f} {ratio_t} {ratio_m}  {note}")
            del expected


if __name__ == "__main__":
    main()
