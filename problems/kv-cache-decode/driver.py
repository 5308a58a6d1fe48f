"""Runs inside the worker next to the submission (`candidate.driver.<fn>(...)`).

Tensors cross the checker/worker boundary as copies, so two decode steps from "one" cache sent
from the checker never share memory, and the checker cannot see whether a result aliases an
argument. These run the calls next to the submission, on live objects, and return the results
as plain data; no expected values live here: the checker computes those.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
from torch import Tensor


def _fields(cache: Any) -> dict[str, Tensor]:
    """A cache's three tensors, cloned: what they hold at the time of the call."""
    return {name: getattr(cache, name).clone() for name in ("k", "v", "attention_mask")}


def _storage(t: Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _shared(results: dict[str, Tensor], arguments: dict[str, Tensor]) -> list[str]:
    """'result ~ argument' for each result tensor that shares storage with an argument tensor."""
    return [
        f"{r} ~ {a}"
        for r, rt in results.items()
        for a, at in arguments.items()
        if isinstance(rt, Tensor) and rt.numel() and at.numel() and _storage(rt) == _storage(at)
    ]


def branches(
    module: ModuleType, weights: list[Tensor], kwargs: dict, x: Tensor, mask: Tensor | None, steps: list[Tensor]
) -> dict[str, Any]:
    """Prefill, then decode steps[0] and steps[1] both from the prefill cache, then steps[2] from
    the first branch's cache. Every result is returned as it is after the last call, and the
    prefill cache's tensors as they were right after prefill and at the end.
    """
    attn = module.LlamaAttention(*weights, **kwargs)
    y, root = attn.prefill(x, mask)
    root_then = _fields(root)
    ya, cache_a = attn.decode_step(steps[0], root)
    yb, cache_b = attn.decode_step(steps[1], root)
    yc, cache_c = attn.decode_step(steps[2], cache_a)
    return {
        "y": y,
        "root_then": root_then,
        "root_now": _fields(root),
        "ya": ya,
        "yb": yb,
        "yc": yc,
        "cache_a": _fields(cache_a),
        "cache_b": _fields(cache_b),
        "cache_c": _fields(cache_c),
    }


def aliasing(
    module: ModuleType, weights: list[Tensor], kwargs: dict, x: Tensor, mask: Tensor | None, x_t: Tensor
) -> list[str]:
    """Which results of one prefill and one decode step share memory with that call's arguments."""
    attn = module.LlamaAttention(*weights, **kwargs)
    arguments = {f"w{i}": w for i, w in enumerate(weights)}
    y, cache = attn.prefill(x, mask)
    prefill_args = {"x": x, **({"attention_mask": mask} if mask is not None else {}), **arguments}
    found = _shared({"prefill y": y, **{f"prefill cache.{n}": getattr(cache, n) for n in _fields(cache)}}, prefill_args)
    y_t, new = attn.decode_step(x_t, cache)
    decode_args = {"x_t": x_t, **{f"old cache.{n}": getattr(cache, n) for n in _fields(cache)}, **arguments}
    found += _shared({"decode y_t": y_t, **{f"new cache.{n}": getattr(new, n) for n in _fields(new)}}, decode_args)
    return found


def generate(
    module: ModuleType, weights: list[Tensor], kwargs: dict, x: Tensor, mask: Tensor | None, steps: Tensor
) -> Tensor:
    """Prefill, then decode steps (B, S, C) one at a time; the decoded outputs (B, S, C)."""
    attn = module.LlamaAttention(*weights, **kwargs)
    _, cache = attn.prefill(x, mask)
    outputs = []
    for s in range(steps.shape[1]):
        y_t, cache = attn.decode_step(steps[:, s], cache)
        outputs.append(y_t)
    return torch.stack(outputs, dim=1)
