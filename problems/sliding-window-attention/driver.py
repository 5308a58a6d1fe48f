"""Runs inside the worker next to the submission (`candidate.driver.<fn>(...)`).

A long decode stream would cost one checker round trip per token, and counting FLOPs has to
watch the submission's own torch ops, so both run here; only plain numbers and the tensors
the checker needs come back. No expected values live here: the checker computes those.
"""

from __future__ import annotations

import statistics
import time
from types import ModuleType
from typing import Any

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

# This problem's work is many small tensor ops (tiles, decode steps). With a multi-threaded
# OpenMP pool on a busy 2-core box, every op pays a thread hand-off that costs more than the
# op, and timings swing by 10x. Submission and reference are judged on one intra-op thread.
torch.set_num_threads(1)


def _held_bytes(obj: Any) -> int:
    """Bytes of tensor storage reachable from `obj`'s attributes (lists, dicts, tuples followed)."""
    seen_storages: set[int] = set()
    seen_objects: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen_objects:
            continue
        seen_objects.add(id(item))
        if isinstance(item, Tensor):
            storage = item.untyped_storage()
            if storage.data_ptr() not in seen_storages:
                seen_storages.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, (type, ModuleType)):
            stack.extend(vars(item).values())
        elif hasattr(item, "__slots__"):
            stack.extend(getattr(item, name, None) for name in item.__slots__)
    return total


def decode_stream(
    module: ModuleType,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    tail: int,
    checkpoints: list[int],
) -> dict[str, Any]:
    """Feed q, k, v one position at a time through a fresh SlidingWindowKVCache(window).

    Returns the outputs of the last `tail` steps, and at each checkpoint (positions fed)
    the cache's len() and the tensor bytes it holds; plus median per-step seconds over
    the first and the last 512 steps.
    """
    cache = module.SlidingWindowKVCache(window)
    T = q.shape[2]
    outputs: list[Tensor] = []
    step_seconds: list[float] = []
    lengths: dict[int, int] = {}
    held: dict[int, int] = {}
    for i in range(T):
        started = time.perf_counter()
        out = cache.step(q[:, :, i : i + 1], k[:, :, i : i + 1], v[:, :, i : i + 1])
        step_seconds.append(time.perf_counter() - started)
        if i >= T - tail:
            outputs.append(out)
        if i + 1 in checkpoints:
            lengths[i + 1] = len(cache)
            held[i + 1] = _held_bytes(cache)
    span = min(512, T // 4)
    return {
        "tail": torch.cat(outputs, dim=2) if outputs else None,
        "lengths": lengths,
        "held_bytes": held,
        "first_step_s": statistics.median(step_seconds[window : window + span]),
        "last_step_s": statistics.median(step_seconds[-span:]),
    }


class _MatmulFlops(TorchFunctionMode):
    """Counts the FLOPs of matrix products as the submission calls them (2 * M * K * N each).

    A torch-function mode, not FlopCounterMode: that one is a dispatch mode, whose first use
    imports torch._dynamo (seconds) and whose per-op overhead is ~20x larger. Calls made while
    handling one call are not seen again (the mode is off inside), so nothing is counted twice.
    Elementwise multiply-and-sum is not counted.
    """

    # contraction dim K = args[i].shape[-1] for these; the output gives M * N (and batch)
    K_FROM_ARG = {
        torch.matmul: 0,
        Tensor.matmul: 0,
        Tensor.__matmul__: 0,
        torch.mm: 0,
        Tensor.mm: 0,
        torch.bmm: 0,
        Tensor.bmm: 0,
        torch.nn.functional.linear: 0,
        torch.mv: 0,
        Tensor.mv: 0,
        torch.addmm: 1,
        Tensor.addmm: 1,
        torch.baddbmm: 1,
        Tensor.baddbmm: 1,
        torch.dot: 0,
        Tensor.dot: 0,
        torch.inner: 0,
    }

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in self.K_FROM_ARG and isinstance(out, Tensor):
            self.flops += 2 * max(out.numel(), 1) * args[self.K_FROM_ARG[func]].shape[-1]
        elif func is Tensor.__rmatmul__ and isinstance(out, Tensor):
            self.flops += 2 * max(out.numel(), 1) * args[1].shape[-1]
        elif func is torch.einsum and isinstance(out, Tensor):
            self.flops += 2 * max(out.numel(), 1) * _einsum_contracted_size(args)
        return out


def _einsum_contracted_size(args: tuple) -> int:
    """Product of the sizes of the indices summed over in torch.einsum(equation, *operands)."""
    equation = args[0].replace(" ", "")
    operands = args[1:] if len(args) != 2 or isinstance(args[1], Tensor) else tuple(args[1])
    lhs, _, rhs = equation.partition("->")
    terms = lhs.split(",")
    letters = [c for c in lhs if c.isalpha()]
    output = set(rhs) if "->" in equation else {c for c in letters if letters.count(c) == 1}
    sizes: dict[str, int] = {}
    for term, operand in zip(terms, operands, strict=False):
        head, ellipsis, tail = term.partition("...")
        for i, c in enumerate(head):
            sizes[c] = operand.shape[i]
        if ellipsis:
            for i, c in enumerate(reversed(tail)):
                sizes[c] = operand.shape[-1 - i]
    contracted = 1
    for c in set(sizes) - output:
        contracted *= sizes[c]
    return contracted


def matmul_flops(module: ModuleType, q: Tensor, k: Tensor, v: Tensor, window: int, block_size: int) -> int:
    """FLOPs of the matrix products in one sliding_window_attention(q, k, v, window) call."""
    with _MatmulFlops() as counter:
        module.sliding_window_attention(q, k, v, window, block_size=block_size)
    return counter.flops


# -- who owns the tensors ---------------------------------------------------------------------
# Tensors cross the checker/worker boundary as copies, so the checker alone cannot see a
# submission write into its inputs, hand back one of them, or keep a reference to them. These
# run next to the submission and report what they saw; the checker decides.


def _storage(t: Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _ownership(out: Any, inputs: dict[str, Tensor], before: dict[str, Tensor]) -> dict[str, list[str]]:
    """Which inputs changed since `before`, and which of them the result shares memory with."""
    modified = [name for name, t in inputs.items() if not torch.equal(t, before[name])]
    aliased = []
    if isinstance(out, Tensor):
        aliased = [name for name, t in inputs.items() if _storage(out) == _storage(t)]
    return {"modified": modified, "aliased": aliased}


def _transposed(x: Tensor) -> Tensor:
    """The same values as x (B, H, T, D), laid out as a (B, T, H, D) tensor transposed: not contiguous."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


def guarded_call(
    module: ModuleType, q: Tensor, k: Tensor, v: Tensor, window: int, transposed: bool = False, **kwargs: Any
) -> dict[str, Any]:
    """One sliding_window_attention call; the output, and which inputs it modified or aliases.

    transposed: pass q, k, v as non-contiguous views (a (B, T, H, D) layout transposed), the
    layout a model's projections usually produce.
    """
    if transposed:
        q, k, v = _transposed(q), _transposed(k), _transposed(v)
    inputs = {"q": q, "k": k, "v": v}
    before = {name: t.clone() for name, t in inputs.items()}
    out = module.sliding_window_attention(q, k, v, window, **kwargs)
    return {"out": out, **_ownership(out, inputs, before)}


def repeated_calls(module: ModuleType, calls: list[tuple[Tensor, Tensor, Tensor, int]]) -> list[Tensor]:
    """Several sliding_window_attention calls in a row; every result as it is after the last call."""
    return [module.sliding_window_attention(q, k, v, window) for q, k, v, window in calls]


def guarded_stream(
    module: ModuleType, q: Tensor, k: Tensor, v: Tensor, window: int, sizes: list[int], scale: float | None = None
) -> dict[str, Any]:
    """Feed chunks of `sizes` through a fresh cache the way a serving loop does.

    Each chunk is handed over in tensors the caller owns and overwrites (with nan) as soon as
    step returns, as a loop that reuses its buffers would. Reports every step's output as it
    is at the end, and the steps whose call modified its inputs or returned one of them.
    """
    cache = module.SlidingWindowKVCache(window, scale=scale)
    outputs: list[Tensor] = []
    modified: list[str] = []
    aliased: list[str] = []
    start = 0
    for n in sizes:
        rows = slice(start, start + n)
        inputs = {"q": q[:, :, rows].clone(), "k": k[:, :, rows].clone(), "v": v[:, :, rows].clone()}
        before = {name: t.clone() for name, t in inputs.items()}
        out = cache.step(inputs["q"], inputs["k"], inputs["v"])
        seen = _ownership(out, inputs, before)
        modified += [f"{name} (step at positions {rows.start}:{rows.stop})" for name in seen["modified"]]
        aliased += [f"{name} (step at positions {rows.start}:{rows.stop})" for name in seen["aliased"]]
        outputs.append(out)
        for t in inputs.values():
            t.fill_(float("nan"))
        start = rows.stop
    return {"outputs": outputs, "modified": modified, "aliased": aliased}
