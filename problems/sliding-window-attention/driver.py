"""Runs inside the worker next to the submission (`candidate.driver.<fn>(...)`).

Long decode streams and timings would cost one checker round trip per token, so they run
here; only plain numbers and the tensors the checker needs come back. No expected values
live here: the checker computes those.
"""

from __future__ import annotations

import statistics
import time
from types import ModuleType
from typing import Any

import torch
from torch import Tensor


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


def best_time(module: ModuleType, q: Tensor, k: Tensor, v: Tensor, window: int, repeats: int) -> float:
    """Fastest of `repeats` calls of sliding_window_attention(q, k, v, window), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        module.sliding_window_attention(q, k, v, window)
        best = min(best, time.perf_counter() - started)
    return best
