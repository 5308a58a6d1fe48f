"""Project tests for the long-context-forward problem that need no judge runner.

The reference is checked against the checker-side float64 oracle (whose row-wise form is checked
against its full form), the stub against the reference's public interface, the metadata against
the files and the statement, and every wrong solution that should get Wrong Answer against one
small case that exposes its mistake. The memory verdicts (Memory Limit Exceeded) need the judge's
worker and are left to `judge verify long-context-forward`.
"""

import importlib.util
import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from judge.catalog import load_catalog

from .problem_support import VERDICTS, load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "long-context-forward"


reference = load(REPO / "solutions_ref" / "long_context_forward.py", "lcf_reference")
stub = load(PROBLEM / "stub.py", "lcf_stub")
oracle = load(PROBLEM / "lcf_oracle.py", "lcf_oracle_for_tests")
META = tomllib.loads((PROBLEM / "problem.toml").read_text())
PROBLEM_ENTRY = load_catalog().get("long-context-forward")
TOLERANCES = {name: (value["atol"], value["rtol"]) for name, value in META["tolerances"].items()}


@pytest.fixture(autouse=True, scope="module")
def one_intra_op_thread():
    """Tiny per-chunk ops on a shared 2-core machine run far faster on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def within_tolerance(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    """The judge's rule: |actual - expected| <= atol + rtol * |expected| with the dtype's tolerance."""
    atol, rtol = TOLERANCES[str(expected.dtype).removeprefix("torch.")]
    a, e = actual.double(), expected.double()
    return bool(torch.isfinite(a).all()) and bool(((a - e).abs() <= atol + rtol * e.abs()).all())


def run(module, case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(module's output, oracle rounded to x's dtype) for a case dict of make_inputs/kwargs."""
    T, C, F, H, Hkv = case["shape"]
    x, weights = oracle.make_inputs(
        T,
        C,
        F,
        H,
        Hkv,
        seed=case.get("seed", 0),
        dtype=case.get("dtype", torch.float32),
        scale=case.get("scale", 1.0),
        x_std=case.get("x_std", 1.0),
    )
    kwargs = case.get("kwargs", {})
    out = module.block_forward(x, weights, n_heads=H, n_kv_heads=Hkv, **kwargs)
    oracle_kwargs = {key: value for key, value in kwargs.items() if key in ("rope_base", "eps")}
    expected = oracle.oracle_block_forward(x, weights, n_heads=H, n_kv_heads=Hkv, **oracle_kwargs)
    return out, expected.to(x.dtype)


# -- oracle and reference ---------------------------------------------------------------------


def test_oracle_rows_match_full_oracle():
    x, weights = oracle.make_inputs(50, 32, 24, 4, 2, seed=1, dtype=torch.float64)
    full = oracle.oracle_block_forward(x, weights, n_heads=4, n_kv_heads=2, rope_base=500.0, eps=0.1)
    rows = [0, 1, 17, 48, 49]
    partial = oracle.oracle_rows(x, weights, rows, n_heads=4, n_kv_heads=2, rope_base=500.0, eps=0.1)
    torch.testing.assert_close(partial, full[rows], atol=1e-13, rtol=1e-12)


def test_worked_example_from_the_statement():
    identity = torch.eye(2)
    weights = {name: identity for name in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")}
    weights |= {"attn_norm": torch.ones(2), "mlp_norm": torch.ones(2)}
    out = reference.block_forward(torch.tensor([[3.0, 4.0]]), weights, n_heads=1, n_kv_heads=1)
    torch.testing.assert_close(out, torch.tensor([[4.3527, 6.0992]]), atol=1e-4, rtol=0)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    expected = torch.tensor([[4.0231, 0.0], [0.0992, 3.9224], [2.0018, 3.1765]])
    for chunk_size in (1, 2):
        out = reference.block_forward(x, weights, n_heads=1, n_kv_heads=1, chunk_size=chunk_size)
        torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "T,C,F,H,Hkv,chunk_size",
    [(1, 8, 4, 2, 1, 1), (37, 32, 20, 4, 2, 8), (64, 48, 50, 6, 3, 64), (70, 32, 16, 8, 2, 1000), (29, 16, 7, 2, 2, 1)],
)
def test_reference_matches_float64_oracle(T, C, F, H, Hkv, chunk_size):
    case = {"shape": (T, C, F, H, Hkv), "seed": T, "dtype": torch.float64, "kwargs": {"chunk_size": chunk_size}}
    out, expected = run(reference, case)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_reference_within_problem_tolerance(dtype):
    case = {"shape": (300, 64, 128, 4, 2), "seed": 3, "dtype": dtype, "x_std": 0.05, "kwargs": {"chunk_size": 32}}
    out, expected = run(reference, case)
    assert out.dtype == dtype
    assert within_tolerance(out, expected)


def test_reference_large_logits_stay_finite():
    case = {"shape": (64, 32, 16, 4, 2), "seed": 4, "dtype": torch.float64, "scale": 40.0, "kwargs": {"chunk_size": 16}}
    out, expected = run(reference, case)
    torch.testing.assert_close(out, expected, atol=1e-9, rtol=1e-7)


def test_reference_raises_value_error_naming_the_shape():
    x, weights = oracle.make_inputs(8, 16, 8, 4, 2, seed=5)
    with pytest.raises(ValueError, match=r"\(16, 4\)"):
        reference.block_forward(x, weights, n_heads=4, n_kv_heads=1)
    with pytest.raises(ValueError, match="n_kv_heads"):
        reference.block_forward(x, weights, n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError, match="chunk_size"):
        reference.block_forward(x, weights, n_heads=4, n_kv_heads=2, chunk_size=0)


# -- stub, metadata, statement ----------------------------------------------------------------


def public_names(module) -> set[str]:
    return {name for name in vars(module) if not name.startswith("_") and inspect.isfunction(getattr(module, name))}


def test_stub_and_reference_expose_the_same_interface():
    assert META["entry_points"] == ["block_forward"]
    assert public_names(stub) == public_names(reference) == {"block_forward"}
    assert inspect.signature(stub.block_forward) == inspect.signature(reference.block_forward)
    with pytest.raises(NotImplementedError):
        stub.block_forward(torch.zeros(1, 2), {}, n_heads=1, n_kv_heads=1)


def test_wrong_solutions_are_declared_in_their_headers():
    assert "wrong_solutions" not in META  # verdicts live in each file's header
    found = PROBLEM_ENTRY.wrong_solutions
    assert set(found) == {path.name for path in (PROBLEM / "wrong").iterdir()}
    assert len(found) >= 6
    assert {verdict.value for verdict in found.values()} <= VERDICTS - {"Accepted"}
    whole_files = {name for name in found if name.endswith(".py")}
    assert whole_files == {"naive_full_scores.py"}  # the one genuinely different implementation
    for name in found:
        wrong = PROBLEM_ENTRY.wrong_solution(name)
        assert wrong.bug and (
            wrong.verdict.value == "Wrong Answer" or "measured" in wrong.header or name in LAYOUT_CASES
        ), name
    assert META["limits"]["test_timeout_s"] < META["limits"]["suite_cpu_s"]


def test_statement_states_the_tolerances_and_the_memory_limit():
    statement = (PROBLEM / "statement.md").read_text()
    for dtype, (atol, rtol) in TOLERANCES.items():
        row = re.search(rf"^\| {dtype} \| (\S+) \| (\S+) \|$", statement, re.MULTILINE)
        assert row is not None, f"statement.md has no tolerance row for {dtype}"
        assert (float(row[1]), float(row[2])) == (atol, rtol), dtype
    prose = " ".join(statement.split())
    assert f"limited to {META['limits']['memory_mb']} MiB" in prose
    assert "`12 · T · C · 4 bytes + 64 MiB`" in prose  # test_hidden.memory_budget_bytes
    for name in ("block_forward", "chunk_size", "n_kv_heads", "rope_base"):
        assert name in statement


def test_forbidden_paths_exist_in_installed_torch():
    for path in META["forbidden"]:
        module_path, attribute = path.rsplit(".", 1)
        module = importlib.import_module(module_path)
        assert hasattr(module, attribute), path


# -- wrong solutions: each Wrong Answer one fails a small case ---------------------------------

SLUG = "long-context-forward"
SMALL = {"shape": (40, 32, 24, 4, 2), "seed": 6, "kwargs": {"chunk_size": 16}}
SMALL_FLOAT64 = {**SMALL, "dtype": torch.float64}
EXPOSING_CASES = {
    "rope_positions_per_chunk.patch": SMALL,
    "rope_interleaved.patch": SMALL,
    "no_rescale.patch": SMALL,
    "causal_mask_excludes_self.patch": SMALL,
    "gqa_modulo_heads.patch": SMALL,
    "drops_last_partial_chunk.patch": SMALL,
    "float32_rope_angles_for_float64.patch": SMALL_FLOAT64,
    "no_max_subtraction.patch": {"shape": (64, 32, 16, 4, 2), "seed": 7, "dtype": torch.float64, "scale": 40.0},
    "eps_outside_sqrt.patch": {"shape": (20, 16, 16, 2, 1), "seed": 8, "dtype": torch.float64, "kwargs": {"eps": 1.0}},
    "eps_zero_means_default.patch": {
        "shape": (24, 16, 16, 2, 1),
        "seed": 6,
        "dtype": torch.float64,
        "x_std": 1e-3,
        "kwargs": {"eps": 0.0},
    },
    "half_accumulation.patch": {
        "shape": (512, 64, 128, 4, 2),
        "seed": 16,
        "dtype": torch.bfloat16,
        "x_std": 0.05,
        "kwargs": {"chunk_size": 32},
    },
    "rope_half_precision_angles.patch": {
        "shape": (1024, 64, 128, 4, 2),
        "seed": 19,
        "dtype": torch.bfloat16,
        "kwargs": {"chunk_size": 256},
    },
    "norm_in_half_precision.patch": {
        "shape": (48, 32, 32, 4, 2),
        "seed": 17,
        "dtype": torch.float16,
        "x_std": 300.0,
        "kwargs": {"chunk_size": 16},
    },
}


@pytest.mark.parametrize("name", sorted(EXPOSING_CASES))
def test_wrong_solution_fails_its_case_and_reference_passes(name):
    assert PROBLEM_ENTRY.wrong_solutions[name].value == "Wrong Answer"
    case = EXPOSING_CASES[name]
    out, expected = run(load_wrong(SLUG, name), case)
    assert not within_tolerance(out, expected), f"{name} passes the case meant to expose it"
    out, expected = run(reference, case)
    assert within_tolerance(out, expected)


# (kwargs, weights edit): the call that must raise ValueError, and these raise something else or nothing
VALIDATION_CASES = {
    "no_validation.patch": ({"n_heads": 4, "n_kv_heads": 3}, None),
    "zero_heads_divide.patch": ({"n_heads": 4, "n_kv_heads": 0}, None),
    "missing_weight_keyerror.patch": ({"n_heads": 4, "n_kv_heads": 2}, "w_down"),
}


@pytest.mark.parametrize("name", sorted(VALIDATION_CASES))
def test_wrong_validation_does_not_raise_value_error(name):
    kwargs, drop = VALIDATION_CASES[name]
    x, weights = oracle.make_inputs(8, 16, 8, 4, 2, seed=9)
    weights = {key: w for key, w in weights.items() if key != drop}
    with pytest.raises(ValueError):
        reference.block_forward(x, weights, **kwargs)
    try:
        load_wrong(SLUG, name).block_forward(x, weights, **kwargs)
    except ValueError:
        pytest.fail(f"{name} raises ValueError for {kwargs} (dropped weight: {drop})")
    except Exception:  # any other exception is the bug
        pass


# wrong solution -> a weight whose shape it lets through: the reference raises ValueError, it does not
WEIGHT_SHAPE_CASES = {"w_down_f_unchecked.patch": "w_down"}


@pytest.mark.parametrize("name", sorted(WEIGHT_SHAPE_CASES))
def test_wrong_shape_check_lets_a_weight_through(name):
    key = WEIGHT_SHAPE_CASES[name]
    x, weights = oracle.make_inputs(8, 16, 8, 4, 2, seed=9)
    weights = {**weights, key: torch.cat([weights[key], weights[key][:1]], dim=0)}  # one F row too many
    kwargs = {"n_heads": 4, "n_kv_heads": 2}
    with pytest.raises(ValueError, match=key):
        reference.block_forward(x, weights, **kwargs)
    try:
        load_wrong(SLUG, name).block_forward(x, weights, **kwargs)
    except ValueError:
        pytest.fail(f"{name} raises ValueError for {key} of shape {tuple(weights[key].shape)}")
    except Exception:  # the matmul's RuntimeError is the bug
        pass


driver = load(PROBLEM / "driver.py", "lcf_driver_for_tests")


def calls(kind: str) -> list[dict]:
    """Two calls in one process: the same twice, another rope_base, or new weights in the same dict."""
    x, weights = oracle.make_inputs(40, 32, 24, 4, 2, seed=10)
    args = {"n_heads": 4, "n_kv_heads": 2, "chunk_size": 16}
    second = {"x": x, "weights": weights, "kwargs": {**args, "rope_base": 100.0} if kind == "rope_base" else args}
    if kind == "same_dict":
        second = {**second, "weights": oracle.make_inputs(40, 32, 24, 4, 2, seed=11)[1], "same_dict": True}
    return [{"x": x, "weights": weights, "kwargs": args}, second]


# wrong solution -> what the driver's calls in one process reveal: "modified", "aliases" or "state"
IN_PROCESS_CASES = {
    "scale_folded_into_wq.patch": "modified",
    "residual_written_into_x.patch": "modified",
    "rope_table_cached_without_base.patch": "state",
    "weights_cached_by_dict_id.patch": "state",
    "returns_x_overwritten.patch": "aliases",
}
PLANS = {"rope_table_cached_without_base.patch": "rope_base", "weights_cached_by_dict_id.patch": "same_dict"}


@pytest.mark.parametrize("module_name", ["reference", *sorted(IN_PROCESS_CASES)])
def test_calls_in_one_process_expose_state_and_writes(module_name):
    module = reference if module_name == "reference" else load_wrong(SLUG, module_name)
    kind = IN_PROCESS_CASES.get(module_name, "")
    plan = calls(PLANS.get(module_name, "same"))
    results = driver.watched_calls(module, [{**c, "x": c["x"].clone()} for c in plan])
    wrong_outputs = []
    for c, result in zip(plan, results, strict=True):
        kwargs = dict(c["kwargs"])
        H, Hkv = kwargs.pop("n_heads"), kwargs.pop("n_kv_heads")
        oracle_kwargs = {key: value for key, value in kwargs.items() if key in ("rope_base", "eps")}
        expected = oracle.oracle_block_forward(c["x"], c["weights"], n_heads=H, n_kv_heads=Hkv, **oracle_kwargs)
        wrong_outputs.append(not within_tolerance(result["out"], expected.float()))
    revealed = {
        "modified": any(r["modified"] for r in results),
        "aliases": any(r["aliases"] for r in results),
        "state": wrong_outputs == [False, True],
    }
    if module_name == "reference":
        assert not any(revealed.values()) and not any(wrong_outputs)
    else:
        assert revealed[kind], f"{module_name}: the calls in one process do not reveal {kind}: {revealed}"


# wrong solutions that only fail on inputs laid out non-contiguously in the worker (driver.strided_call)
LAYOUT_CASES = {"x_flat_view.patch"}  # a Runtime Error: the view raises


@pytest.mark.parametrize("module_name", ["reference", *sorted(LAYOUT_CASES)])
def test_non_contiguous_inputs_expose_views(module_name):
    module = reference if module_name == "reference" else load_wrong(SLUG, module_name)
    x, weights = oracle.make_inputs(40, 32, 24, 4, 2, seed=27)
    kwargs = {"n_heads": 4, "n_kv_heads": 2, "chunk_size": 16}
    expected = oracle.oracle_block_forward(x, weights, n_heads=4, n_kv_heads=2).float()
    if module_name == "reference":
        assert within_tolerance(driver.strided_call(module, x, weights, kwargs), expected)
        return
    with pytest.raises(RuntimeError):
        driver.strided_call(module, x, weights, kwargs)


def test_every_wrong_answer_solution_has_an_exposing_case():
    wrong_answers = {name for name, verdict in PROBLEM_ENTRY.wrong_solutions.items() if verdict.value == "Wrong Answer"}
    memory = {"mlp_all_positions.patch", "query_chunks_only.patch"}  # the memory test's budget: judge verify
    assert (
        wrong_answers
        == set(EXPOSING_CASES) | set(VALIDATION_CASES) | set(WEIGHT_SHAPE_CASES) | set(IN_PROCESS_CASES) | memory
    )


# -- RoPE angle precision: the statement's rule, both ways ---------------------------------------

FLOAT32_ANGLES_UNLESS_FLOAT64 = (
    "    i = torch.arange(0, head_dim, 2, dtype=torch.float64)\n",
    "    angle_dtype = torch.float64 if dtype == torch.float64 else torch.float32\n"
    "    i = torch.arange(0, head_dim, 2, dtype=angle_dtype)\n",
    "    positions = torch.arange(start, end, dtype=torch.float64)\n",
    "    positions = torch.arange(start, end, dtype=angle_dtype)\n",
)


def test_float32_rope_angles_are_accepted_for_float32_and_half_inputs(tmp_path):
    # the statement allows float32 angles unless x is float64: a block that does exactly that
    # (float64 angles for float64 inputs only) passes the whole hidden suite
    source = (REPO / "solutions_ref" / "long_context_forward.py").read_text()
    old_i, new_i, old_p, new_p = FLOAT32_ANGLES_UNLESS_FLOAT64
    assert source.count(old_i) == source.count(old_p) == 1
    variant = tmp_path / "float32_angles.py"
    variant.write_text(source.replace(old_i, new_i).replace(old_p, new_p))
    result = subprocess.run(
        [sys.executable, "-m", "judge_harness.inprocess", str(PROBLEM), str(variant), "hidden"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "sandbox")])},
        timeout=600,
    )
    assert result.stdout.rstrip().endswith("overall: Accepted"), result.stdout[-3000:] + result.stderr[-2000:]
    assert "float32_rope_angles_for_float64.patch" in EXPOSING_CASES  # and for float64 inputs: Wrong Answer
