"""Project tests for the sliding-window-attention problem that need no judge runner.

The reference is checked against the checker-side float64 oracles (which are checked against
each other), the cache against the one-shot function, the driver against the reference, and
the metadata against the files, the statement and the installed torch.
"""

import importlib
import importlib.util
import inspect
import re
import sys
import tomllib
import types
from pathlib import Path

import pytest
import torch

from judge.catalog import load_catalog

from .problem_support import VERDICTS, load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "sliding-window-attention"


reference = load(REPO / "solutions_ref" / "sliding_window_attention.py", "swa_reference")
stub = load(PROBLEM / "stub.py", "swa_stub")
driver = load(PROBLEM / "driver.py", "swa_driver")
oracle = load(PROBLEM / "swa_oracle.py", "swa_oracle_for_tests")
META = tomllib.loads((PROBLEM / "problem.toml").read_text())


# -- oracles and reference --------------------------------------------------------------------


@pytest.mark.parametrize("T,window", [(1, 1), (17, 1), (17, 4), (40, 40), (40, 100), (65, 16)])
def test_naive_and_banded_oracles_agree(T, window):
    q, k, v = oracle.make_qkv(2, 4, 2, T, 8, seed=T, dtype=torch.float64)
    naive = oracle.naive_attention(q, k, v, window)
    torch.testing.assert_close(oracle.banded_attention(q, k, v, window), naive, atol=1e-12, rtol=1e-12)
    rows = slice(T // 2, T)
    torch.testing.assert_close(
        oracle.banded_attention(q, k, v, window, rows=rows), naive[:, :, rows], atol=1e-12, rtol=1e-12
    )


@pytest.mark.parametrize(
    "B,H,Hkv,T,D,window,block_size",
    [
        (1, 1, 1, 1, 4, 1, 128),
        (2, 4, 2, 37, 8, 5, 8),
        (1, 8, 1, 300, 16, 64, 32),
        (2, 8, 8, 129, 4, 200, 128),
        (1, 2, 1, 50, 4, 1, 16),
        (1, 4, 4, 70, 8, 70, 1),
        (1, 16, 2, 90, 8, 33, 7),
    ],
)
def test_reference_matches_float64_oracle(B, H, Hkv, T, D, window, block_size):
    q, k, v = oracle.make_qkv(B, H, Hkv, T, D, seed=T + window, dtype=torch.float64)
    out = reference.sliding_window_attention(q, k, v, window, block_size=block_size)
    torch.testing.assert_close(out, oracle.naive_attention(q, k, v, window), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_reference_half_precision_within_problem_tolerance(dtype):
    q, k, v = oracle.make_qkv(1, 4, 2, 200, 32, seed=1, dtype=dtype)
    out = reference.sliding_window_attention(q, k, v, 50, block_size=64)
    tol = META["tolerances"][str(dtype).removeprefix("torch.")]
    assert out.dtype == dtype
    torch.testing.assert_close(out, oracle.naive_attention(q, k, v, 50), atol=tol["atol"], rtol=tol["rtol"])


def test_reference_survives_logits_of_1e4():
    q, k, v = oracle.make_qkv(1, 2, 1, 64, 16, seed=2, dtype=torch.float64, magnitude=1e4)
    out = reference.sliding_window_attention(q, k, v, 16, block_size=16)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, oracle.naive_attention(q, k, v, 16), atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("window", [1, 3, 16, 100])
@pytest.mark.parametrize("sizes", [[1] * 40, [40], [7, 1, 1, 20, 11], [16, 16, 8]])
def test_cache_equals_one_shot(window, sizes):
    T = sum(sizes)
    q, k, v = oracle.make_qkv(2, 4, 2, T, 8, seed=window, dtype=torch.float64)
    cache = reference.SlidingWindowKVCache(window)
    outputs, start = [], 0
    for n in sizes:
        outputs.append(cache.step(q[:, :, start : start + n], k[:, :, start : start + n], v[:, :, start : start + n]))
        start += n
        assert len(cache) == min(start, window)
    torch.testing.assert_close(
        torch.cat(outputs, dim=2), oracle.naive_attention(q, k, v, window), atol=1e-12, rtol=1e-10
    )


def test_reference_raises_value_errors():
    q, k, v = oracle.make_qkv(1, 2, 1, 8, 4, seed=0)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="window"):
            reference.sliding_window_attention(q, k, v, bad)
    with pytest.raises(ValueError, match="multiple"):
        reference.sliding_window_attention(torch.randn(1, 3, 8, 4), torch.randn(1, 2, 8, 4), torch.randn(1, 2, 8, 4), 2)
    with pytest.raises(ValueError, match=r"\(1, 2, 9, 4\)"):
        reference.sliding_window_attention(q, torch.randn(1, 2, 9, 4), torch.randn(1, 2, 9, 4), 2)
    with pytest.raises(ValueError):
        reference.SlidingWindowKVCache(0)


def test_reference_checks_before_fast_paths_and_a_failed_step_changes_nothing():
    q, k, v = oracle.make_qkv(1, 2, 1, 8, 4, seed=0)
    for window in (1, 10**6):  # window 1 and window >= T are validated like any other
        with pytest.raises(ValueError, match="block_size"):
            reference.sliding_window_attention(q, k, v, window, block_size=0)
        with pytest.raises(ValueError, match="dtype"):
            reference.sliding_window_attention(q, k, v.double(), window)
    cache = reference.SlidingWindowKVCache(3)
    with pytest.raises(ValueError):
        cache.step(*(x[:, :, :0] for x in oracle.make_qkv(2, 4, 2, 1, 8, seed=1)))  # t = 0 first
    assert len(cache) == 0
    outputs = [cache.step(q[:, :, :5], k[:, :, :5], v[:, :, :5])]  # other B, Hkv, D than the failed step
    with pytest.raises(ValueError):
        cache.step(q[:, :, 5:6].double(), k[:, :, 5:6].double(), v[:, :, 5:6].double())
    assert len(cache) == 3
    outputs.append(cache.step(q[:, :, 5:], k[:, :, 5:], v[:, :, 5:]))
    torch.testing.assert_close(torch.cat(outputs, dim=2), oracle.naive_attention(q, k, v, 3))


def test_reference_masks_with_minus_inf_at_logits_near_minus_1e12():
    # the hidden test's construction: exact float64 logits of -2**40 plus a few halves per key
    g = torch.Generator().manual_seed(57)
    q = torch.randint(-2, 3, (1, 2, 40, 4), generator=g).double()
    k = torch.randint(-2, 3, (1, 1, 40, 4), generator=g).double()
    q[..., 0], k[..., 0] = -(2.0**41), 1
    v = torch.randn(1, 1, 40, 4, generator=g, dtype=torch.float64)
    out = reference.sliding_window_attention(q, k, v, 16, block_size=16)
    torch.testing.assert_close(out, oracle.naive_attention(q, k, v, 16), atol=1e-12, rtol=1e-10)


# -- driver --------------------------------------------------------------------------------


def test_driver_decode_stream_with_reference():
    q, k, v = oracle.make_qkv(1, 4, 2, 300, 8, seed=3)
    report = driver.decode_stream(reference, q, k, v, 16, 20, [16, 300])
    assert report["lengths"] == {16: 16, 300: 16}
    ring_bytes = 2 * 1 * 2 * 16 * 8 * 4  # k and v, (B, Hkv, window, D) fp32
    assert report["held_bytes"][300] == ring_bytes
    torch.testing.assert_close(report["tail"], oracle.banded_attention(q, k, v, 16, rows=slice(280, 300)))
    # query blocks of 64 see their own 64 keys plus the 15 before them (none before block 0)
    rows_times_keys = 64 * 64 + 3 * 64 * (64 + 15) + 44 * (44 + 15)
    assert driver.matmul_flops(reference, q, k, v, 16, 64) == 2 * 2 * 4 * 8 * rows_times_keys  # QK^T and PV


def test_driver_ownership_checks_see_writes_aliases_and_kept_references():
    q, k, v = oracle.make_qkv(1, 2, 2, 12, 4, seed=5)
    clean = driver.guarded_call(reference, q, k, v, 1, transposed=True)
    assert clean["modified"] == [] and clean["aliased"] == []
    torch.testing.assert_close(clean["out"], v)
    assert not driver._transposed(q).is_contiguous() and torch.equal(driver._transposed(q), q)

    def scales_q_and_returns_v(q, k, v, window, **kwargs):
        q.mul_(2.0)
        return v

    bad = driver.guarded_call(types.SimpleNamespace(sliding_window_attention=scales_q_and_returns_v), q, k, v, 1)
    assert bad["modified"] == ["q"] and bad["aliased"] == ["v"]

    stream = driver.guarded_stream(reference, q, k, v, 4, [5, 1, 6])
    assert stream["modified"] == [] and stream["aliased"] == []
    torch.testing.assert_close(torch.cat(stream["outputs"], dim=2), oracle.naive_attention(q, k, v, 4))
    keeps = load_wrong("sliding-window-attention", "cache_keeps_caller_tensors.patch")
    late = driver.guarded_stream(keeps, q, k, v, 4, [5, 1, 6])
    assert torch.isnan(torch.cat(late["outputs"], dim=2)).any()  # it read back the caller's overwritten chunk

    outs = driver.repeated_calls(
        load_wrong("sliding-window-attention", "out_buffer_reused.patch"), [(q, k, v, 3), (k, k, k, 3)]
    )
    assert outs[0].data_ptr() == outs[1].data_ptr() and torch.equal(outs[0], outs[1])  # one buffer, overwritten


# -- stub, metadata, statement --------------------------------------------------------------


def public_names(module) -> set[str]:
    return {name for name, value in vars(module).items() if not name.startswith("_") and callable(value)} - {
        "Tensor",
        "annotations",
    }


def test_stub_and_reference_expose_the_same_interface():
    assert public_names(stub) == public_names(reference) == set(META["entry_points"])
    assert inspect.signature(stub.sliding_window_attention) == inspect.signature(reference.sliding_window_attention)
    for method in ("__init__", "__len__", "step"):
        assert inspect.signature(getattr(stub.SlidingWindowKVCache, method)) == inspect.signature(
            getattr(reference.SlidingWindowKVCache, method)
        ), method
    with pytest.raises(NotImplementedError):
        stub.sliding_window_attention(*oracle.make_qkv(1, 1, 1, 4, 4, seed=0), 2)


def test_wrong_solutions_are_patches_with_a_verdict_and_a_bug():
    problem = load_catalog().get("sliding-window-attention")
    on_disk = {path.name for path in (PROBLEM / "wrong").iterdir() if path.suffix in (".patch", ".py")}
    assert set(problem.wrong_solutions) == on_disk
    assert len(on_disk) >= 6
    assert "wrong_solutions" not in META  # the verdict lives in each file's header
    assert {verdict.value for verdict in problem.wrong_solutions.values()} <= VERDICTS - {"Accepted"}
    for name in sorted(on_disk):
        wrong = problem.wrong_solution(name)
        assert wrong.is_patch or wrong.header.get("why-a-file"), name
        assert wrong.bug and "\n" not in wrong.bug, name
        if wrong.verdict.value in ("Time Limit Exceeded", "Memory Limit Exceeded"):
            assert wrong.header.get("measured"), f"{name}: a resource-limit verdict states what was measured"
        module = load_wrong("sliding-window-attention", name)
        assert all(hasattr(module, entry) for entry in META["entry_points"]), name


def test_tolerances_and_limits_are_stated_in_the_statement():
    statement = (PROBLEM / "statement.md").read_text()

    for dtype, tol in META["tolerances"].items():
        match = re.search(rf"`{dtype}`\s+\(([0-9.e-]+), ([0-9.e-]+)\)", statement)
        assert match, f"statement.md does not state the {dtype} tolerances"
        assert (float(match[1]), float(match[2])) == (tol["atol"], tol["rtol"]), dtype
    assert META["limits"]["memory_mb"] == 1024 and "1 GiB" in statement


def test_forbidden_paths_exist_in_installed_torch():
    for path in META["forbidden"]:
        module_name, attr = path.rsplit(".", 1)
        assert hasattr(importlib.import_module(module_name), attr), path


def test_checker_helpers_are_importable_by_plain_name():
    sys.path.insert(0, str(PROBLEM))
    try:
        assert importlib.import_module("swa_oracle").naive_attention
    finally:
        sys.path.remove(str(PROBLEM))
