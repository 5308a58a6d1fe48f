"""Assertions for hidden and public tests, with messages a candidate can act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from judge_harness.remote import CandidateError

# dtype name -> (atol, rtol); the plugin fills it from problem.toml before tests run
TOLERANCES: dict[str, tuple[float, float]] = {}
MISMATCHES_SHOWN = 5


def tolerance_for(dtype_name: str) -> tuple[float, float]:
    try:
        return TOLERANCES[dtype_name]
    except KeyError:
        raise AssertionError(f"problem.toml states no tolerance for {dtype_name}") from None


def assert_close(
    actual: Any, expected: Any, *, name: str = "output", atol: float | None = None, rtol: float | None = None
) -> None:
    """Check type, shape and dtype, then values within the problem's tolerance for expected's dtype."""
    import torch

    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{name}: expected a tensor of shape {tuple(expected.shape)}, got {type(actual).__name__}")
    if tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(f"{name}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{name}: dtype {actual.dtype}, expected {expected.dtype} (shape {tuple(expected.shape)})")
    dtype_name = str(expected.dtype).removeprefix("torch.")
    if atol is None or rtol is None:
        default_atol, default_rtol = tolerance_for(dtype_name)
        atol = default_atol if atol is None else atol
        rtol = default_rtol if rtol is None else rtol
    if expected.numel() == 0:
        return
    if expected.dtype in (torch.bool,) or not expected.is_floating_point():
        bad = actual != expected
        if bad.any():
            index = tuple(int(i) for i in bad.nonzero()[0])
            raise AssertionError(
                f"{name}: {int(bad.sum())} of {expected.numel()} elements differ (shape {tuple(expected.shape)}); "
                f"first at {index}: got {actual[index].item()}, expected {expected[index].item()}"
            )
        return
    a = actual.double()
    e = expected.double()
    finite_mismatch = torch.isfinite(a) != torch.isfinite(e)
    nan_mismatch = torch.isnan(a) != torch.isnan(e)
    both_inf = torch.isinf(a) & torch.isinf(e)
    diff = (a - e).abs()
    diff = torch.where(torch.isfinite(e) & torch.isfinite(a), diff, torch.zeros_like(diff))
    bad = (diff > atol + rtol * e.abs()) | finite_mismatch | nan_mismatch | (both_inf & (a != e))
    if not bad.any():
        return
    rel = diff / e.abs().clamp_min(1e-30)
    indices = [tuple(int(i) for i in idx) for idx in bad.nonzero()[:MISMATCHES_SHOWN]]
    shown = "; ".join(f"{idx}: got {a[idx].item():.6g}, expected {e[idx].item():.6g}" for idx in indices)
    nonfinite = int((~torch.isfinite(a)).sum())
    extra = f"; {nonfinite} non-finite values in {name}" if nonfinite else ""
    raise AssertionError(
        f"{name}: {int(bad.sum())} of {expected.numel()} elements outside atol={atol:g}, rtol={rtol:g} "
        f"({dtype_name}, shape {tuple(expected.shape)}); max abs error {diff.max().item():.3g}, "
        f"max rel error {rel[torch.isfinite(rel)].max().item() if torch.isfinite(rel).any() else float('nan'):.3g}{extra}; "
        f"first mismatches {shown}"
    )


@contextlib.contextmanager
def expect_raises(*type_names: str, match: str | None = None) -> Iterator[None]:
    """Expect the submission to raise one of `type_names` (by class name) inside the block."""
    try:
        yield
    except CandidateError as exc:
        if exc.type_name not in type_names:
            raise AssertionError(
                f"expected {' or '.join(type_names)}, the submission raised {exc.type_name}: {exc.message}"
            ) from None
        if match is not None and match.lower() not in exc.message.lower():
            raise AssertionError(f"expected {exc.type_name} mentioning {match!r}, got: {exc.message}") from None
        return
    raise AssertionError(f"expected the submission to raise {' or '.join(type_names)}, it returned normally")
