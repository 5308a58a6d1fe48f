"""Runs inside the worker next to the submission (`candidate.driver.<fn>(...)`).

torch is pinned to one intra-op thread. A chunked block is hundreds of small tensor ops per
chunk; on a busy 2-core machine a 2-thread OpenMP pool pays a thread hand-off on every op that
costs more than the op, so submissions and the reference are judged on one thread.

`watched_calls` makes several calls in one process, on tensors the worker keeps, because each
direct call from the checker gets fresh copies of its arguments: state that outlives a call,
writes into `x` or the weights, and an output that is `x`'s own storage only show here. No
expected values live here: the checker computes those.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
from torch import Tensor

torch.set_num_threads(1)


def _same(a: Tensor, b: Tensor) -> bool:
    """Bitwise the same values (NaN equal to NaN), shape and dtype."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


def _storages(t: Tensor) -> set[int]:
    return {t.untyped_storage().data_ptr()} if t.untyped_storage().nbytes() else set()


def watched_calls(module: ModuleType, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """block_forward for each call in order, in this one process; per call, its output and what it did.

    Each call is {"x": Tensor, "weights": {name: Tensor}, "kwargs": {...}} and may set
    "same_dict": True to pass the previous call's weights dict object with its tensors
    replaced by this call's (a caller that reuses one dict). Returns per call {"out": the
    output, "modified": the arguments whose values changed ("x", "weights['wq']", ...),
    "aliases": the arguments whose storage the output shares}.
    """
    results: list[dict[str, Any]] = []
    weights: dict[str, Tensor] = {}
    for call in calls:
        x = call["x"]
        if call.get("same_dict"):
            weights.clear()
            weights.update(call["weights"])
        else:
            weights = dict(call["weights"])
        before = {"x": x.clone(), **{f"weights[{name!r}]": t.clone() for name, t in weights.items()}}
        tensors = {"x": x, **{f"weights[{name!r}]": t for name, t in weights.items()}}
        out = module.block_forward(x, weights, **call["kwargs"])
        modified = [name for name, t in tensors.items() if not _same(t, before[name])]
        aliases = []
        if isinstance(out, Tensor):
            aliases = [name for name, t in tensors.items() if _storages(t) & _storages(out)]
        results.append({"out": out, "modified": modified, "aliases": aliases})
    return results


def _strided(t: Tensor) -> Tensor:
    """The same values in a non-contiguous layout: a 2-D tensor column-major, a 1-D one at stride 2."""
    if t.dim() == 2:
        return t.t().contiguous().t()
    return torch.stack([t, torch.zeros_like(t)], dim=1)[:, 0]


def strided_call(module: ModuleType, x: Tensor, weights: dict[str, Tensor], kwargs: dict[str, Any]) -> Tensor:
    """block_forward on x and every weight laid out non-contiguously, here in the worker.

    The codec hands a direct call contiguous copies, so this layout only reaches the submission
    when it is built on this side. The values are unchanged: the checker's oracle uses its own copy.
    """
    laid_out = {name: _strided(t) for name, t in weights.items()}
    strided_x = _strided(x)
    assert not strided_x.is_contiguous() and not any(t.is_contiguous() for t in laid_out.values())
    return module.block_forward(strided_x, laid_out, **kwargs)
