"""Project tests for the long-context-forward problem that need no judge runner.

The reference is checked against the checker-side float64 oracle (whose row-wise form is checked
against its full form), the stub against the reference's public interface, the metadata against
the files and the statement, and every wrong solution that should get Wrong Answer against one
small case that exposes its mistake. The memory verdicts (Memory Limit Exceeded) need the judge's
worker and are left to `judge verify long-context-forward`.
"""

import importlib.util
import inspect
import re
import tomllib
from pathlib import Path

import pytest
import torch

from .problem_support import VERDICTS, load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "long-context-forward"


reference = load(REPO / "solutions_ref" / "long_context_forward.py", "lcf_reference")
stub = load(PROBLEM / "stub.py", "lcf_stub")
oracle = load(PROBLEM / "lcf_oracle.py", "lcf_oracle_for_tests")
META = tomllib.loads((PROBLEM / "problem.toml").read_text())
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


def test_metadata_lists_every_wrong_solution():
    files = {path.name for path in (PROBLEM / "wrong").glob("*.py")}
    assert set(META["wrong_solutions"]) == files
    assert len(files) >= 6
    assert set(META["wrong_solutions"].values()) <= VERDICTS - {"Accepted"}
    assert META["limits"]["test_timeout_s"] < META["limits"]["suite_wall_s"]


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

SMALL = {"shape": (40, 32, 24, 4, 2), "seed": 6, "kwargs": {"chunk_size": 16}}
EXPOSING_CASES = {
    "rope_positions_per_chunk.py": SMALL,
    "rope_interleaved.py": SMALL,
    "no_rescale.py": SMALL,
    "causal_mask_excludes_self.py": SMALL,
    "gqa_modulo_heads.py": SMALL,
    "drops_last_partial_chunk.py": SMALL,
    "no_max_subtraction.py": {"shape": (64, 32, 16, 4, 2), "seed": 7, "dtype": torch.float64, "scale": 40.0},
    "eps_outside_sqrt.py": {"shape": (20, 16, 16, 2, 1), "seed": 8, "dtype": torch.float64, "kwargs": {"eps": 1.0}},
    "half_accumulation.py": {
        "shape": (1024, 64, 128, 4, 2),
        "seed": 16,
        "dtype": torch.bfloat16,
        "x_std": 0.05,
        "kwargs": {"chunk_size": 32},
    },
    "rope_half_precision_angles.py": {
        "shape": (1024, 64, 128, 4, 2),
        "seed": 16,
        "dtype": torch.bfloat16,
        "kwargs": {"chunk_size": 256},
    },
}


@pytest.mark.parametrize("name", sorted(EXPOSING_CASES))
def test_wrong_solution_fails_its_case_and_reference_passes(name):
    assert META["wrong_solutions"][name] == "Wrong Answer"
    case = EXPOSING_CASES[name]
    wrong = load(PROBLEM / "wrong" / name, f"lcf_wrong_{name[:-3]}")
    out, expected = run(wrong, case)
    assert not within_tolerance(out, expected), f"{name} passes the case meant to expose it"
    out, expected = run(reference, case)
    assert within_tolerance(out, expected)


def test_no_validation_does_not_raise_value_error():
    wrong = load(PROBLEM / "wrong" / "no_validation.py", "lcf_wrong_no_validation")
    x, weights = oracle.make_inputs(8, 16, 8, 4, 2, seed=9)
    with pytest.raises(Exception) as info:
        wrong.block_forward(x, weights, n_heads=4, n_kv_heads=3)
    assert info.type is not ValueError


def test_every_wrong_answer_solution_has_an_exposing_case():
    wrong_answers = {name for name, verdict in META["wrong_solutions"].items() if verdict == "Wrong Answer"}
    assert wrong_answers == set(EXPOSING_CASES) | {"no_validation.py"}
