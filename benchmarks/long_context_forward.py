"""Benchmark: one Llama block forward at long context, naive vs SDPA vs the chunked reference.

    python benchmarks/long_context_forward.py                  # T in {8192, 32768}
    python benchmarks/long_context_forward.py --long           # adds T = 131072 (minutes on CPU)
    python benchmarks/long_context_forward.py --device cuda --dtype bfloat16 --long
    python benchmarks/long_context_forward.py --threads 0      # torch's default thread count

Rows per T, all with C=256, H=4, Hkv=1 (GQA 4), D=64, F=2048 (the judge's memory case is smaller,
T=8192 with C=32, D=8, so that its hidden suite stays fast):
  naive      the textbook block: (H, T, T) scores, mask, softmax, then the MLP over all T
             positions at once ((T, F) activations)
  sdpa       F.scaled_dot_product_attention(is_causal=True, enable_gqa=True) over the whole
             sequence (a fused kernel: no (T, T) tensor), MLP over all T positions at once
  chunked    solutions_ref/long_context_forward.py: queries and key blocks of chunk_size=1024
             with the online softmax, the MLP per chunk

Each measurement runs in a fresh Python process, so one row's freed memory cannot hide the next
row's peak. Columns: seconds for one call, peak memory growth during the call (CPU: Linux VmHWM
reset through /proc/self/clear_refs; CUDA: torch.cuda.max_memory_allocated), and both relative to
the chunked reference. Rows whose estimated peak is over --max-gib are skipped with the estimate.

CPU runs default to one intra-op thread, as the judge's worker does (problems/long-context-forward/
driver.py): on a shared 2-core machine the chunked block's many small ops each pay an OpenMP
hand-off, and 2 threads measured 3x slower than 1 at T = 32768 (the fused SDPA kernel does not care).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

REPO = Path(__file__).resolve().parents[1]
C, H, Hkv, FFN = 256, 4, 1, 2048
D = C // H
GiB = 2**30


def load_reference():
    path = REPO / "solutions_ref" / "long_context_forward.py"
    spec = importlib.util.spec_from_file_location("long_context_forward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = load_reference()


def full_sequence_qkv(x: Tensor, w: dict[str, Tensor], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Rotated q (H, T, D), k and v (Hkv, T, D) for the whole sequence at once."""
    T = x.shape[0]
    xn = REFERENCE._rms_norm(x, w["attn_norm"], eps)
    cos, sin = REFERENCE._rope_cos_sin(0, T, D, 10000.0, x.dtype)
    q = REFERENCE._apply_rope((xn @ w["wq"]).view(T, H, D).transpose(0, 1), cos, sin)
    k = REFERENCE._apply_rope((xn @ w["wk"]).view(T, Hkv, D).transpose(0, 1), cos, sin)
    v = (xn @ w["wv"]).view(T, Hkv, D).transpose(0, 1)
    return q, k, v


def full_sequence_mlp(h: Tensor, w: dict[str, Tensor], eps: float) -> Tensor:
    hn = REFERENCE._rms_norm(h, w["mlp_norm"], eps)
    return h + (F.silu(hn @ w["w_gate"]) * (hn @ w["w_up"])) @ w["w_down"]


def naive_block(x: Tensor, w: dict[str, Tensor], eps: float = 1e-6) -> Tensor:
    T = x.shape[0]
    q, k, v = full_sequence_qkv(x, w, eps)
    k, v = k.repeat_interleave(H // Hkv, dim=0), v.repeat_interleave(H // Hkv, dim=0)
    scores = q @ k.transpose(1, 2) * D**-0.5  # (H, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
    y = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v  # (H, T, D)
    h = x + y.transpose(0, 1).reshape(T, C) @ w["wo"]
    return full_sequence_mlp(h, w, eps)


def sdpa_block(x: Tensor, w: dict[str, Tensor], eps: float = 1e-6) -> Tensor:
    T = x.shape[0]
    q, k, v = full_sequence_qkv(x, w, eps)
    y = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True, enable_gqa=True)[0]
    h = x + y.transpose(0, 1).reshape(T, C) @ w["wo"]
    return full_sequence_mlp(h, w, eps)


def chunked_block(x: Tensor, w: dict[str, Tensor]) -> Tensor:
    return REFERENCE.block_forward(x, w, n_heads=H, n_kv_heads=Hkv, chunk_size=1024)


IMPLEMENTATIONS = {"naive": naive_block, "sdpa": sdpa_block, "chunked": chunked_block}


def estimated_peak_bytes(name: str, T: int, itemsize: int) -> int:
    """Rough peak growth: naive holds scores, masked scores and probabilities; all hold (T, F) x 3."""
    mlp = 3 * T * FFN * itemsize if name != "chunked" else 0
    attention = 3 * H * T * T * max(itemsize, 4) + T * T if name == "naive" else 0
    return mlp + attention + 8 * T * C * itemsize


def rss_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def child(name: str, T: int, device: str, dtype_name: str) -> None:
    """Run one measurement and print it as JSON (runs in its own process)."""
    dtype = getattr(torch, dtype_name)
    generator = torch.Generator().manual_seed(0)
    weights = {
        "attn_norm": torch.ones(C),
        "mlp_norm": torch.ones(C),
        "wq": torch.randn(C, H * D, generator=generator) / math.sqrt(C),
        "wk": torch.randn(C, Hkv * D, generator=generator) / math.sqrt(C),
        "wv": torch.randn(C, Hkv * D, generator=generator) / math.sqrt(C),
        "wo": torch.randn(H * D, C, generator=generator) / math.sqrt(C),
        "w_gate": torch.randn(C, FFN, generator=generator) / math.sqrt(C),
        "w_up": torch.randn(C, FFN, generator=generator) / math.sqrt(C),
        "w_down": torch.randn(FFN, C, generator=generator) / math.sqrt(FFN),
    }
    weights = {key: value.to(device=device, dtype=dtype) for key, value in weights.items()}
    x = torch.randn(T, C, generator=generator).to(device=device, dtype=dtype)
    fn = IMPLEMENTATIONS[name]
    if device == "cuda":
        fn(x[:1024], weights)  # warm up kernels and the allocator outside the measurement
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = rss_bytes("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    started = time.perf_counter()
    out = fn(x, weights)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() - before if device == "cuda" else rss_bytes("VmHWM") - before
    assert out.shape == (T, C) and bool(torch.isfinite(out).all())
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


def measure(name: str, T: int, args: argparse.Namespace) -> dict | None:
    command = [sys.executable, __file__, "--child", name, str(T), "--device", args.device, "--dtype", args.dtype]
    if args.threads:
        command += ["--threads", str(args.threads)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"  {name} T={T} failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="add T = 131072")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--max-gib", type=float, default=6.0, help="skip rows estimated to need more")
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "T"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        child(args.child[0], int(args.child[1]), args.device, args.dtype)
        return

    lengths = [8192, 32768] + ([131072] if args.long else [])
    itemsize = torch.empty(0, dtype=getattr(torch, args.dtype)).element_size()
    print(
        f"long-context block forward: C={C}, H={H}, Hkv={Hkv}, D={D}, F={FFN}, {args.dtype}, {args.device}, "
        f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads"
    )
    header = f"{'T':>7}  {'impl':<8} {'seconds':>9} {'peak MiB':>10} {'time/chunked':>13} {'mem/chunked':>12}"
    print(header)
    print("-" * len(header))
    for T in lengths:
        rows = {}
        for name in ("chunked", "sdpa", "naive"):
            estimate = estimated_peak_bytes(name, T, itemsize)
            if estimate > args.max_gib * GiB:
                rows[name] = f"skipped: needs ~{estimate / GiB:.0f} GiB (> --max-gib {args.max_gib:g})"
                continue
            rows[name] = measure(name, T, args)
        base = rows["chunked"] if isinstance(rows["chunked"], dict) else None
        for name, row in rows.items():
            if isinstance(row, str) or row is None:
                print(f"{T:>7}  {name:<8} {row or 'failed'}")
                continue
            time_ratio = f"{row['seconds'] / base['seconds']:.2f}x" if base else "-"
            mem_ratio = f"{row['peak_bytes'] / max(base['peak_bytes'], 1):.2f}x" if base else "-"
            print(
                f"{T:>7}  {name:<8} {row['seconds']:>9.2f} {row['peak_bytes'] / 2**20:>10.0f} "
                f"{time_ratio:>13} {mem_ratio:>12}"
            )


if __name__ == "__main__":
    main()
