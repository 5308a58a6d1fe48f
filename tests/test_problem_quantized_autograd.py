"""Project tests for the quantized-autograd problem that need no judge runner.

The reference is checked against two independent float64 oracles (the checker-side one and the
LSQ paper's autograd formulation), stub and reference are compared name by name, and the
metadata is checked against the files and the installed torch.
"""

import importlib.util
import inspect
import math
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from judge.catalog import load_catalog

from .problem_support import VERDICTS, load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "quantized-autograd"


reference = load(REPO / "solutions_ref" / "quantized_autograd.py", "qa_reference")
stub = load(PROBLEM / "stub.py", "qa_stub")
driver = load(PROBLEM / "driver.py", "qa_driver")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "lsq_oracle.py", "qa_lsq_oracle")
sys.path.remove(str(PROBLEM))
META = tomllib.loads((PROBLEM / "problem.toml").read_text())


def roundpass_oracle(x, scale, grad_out, bits, signed, axis):
    """The LSQ paper's pseudo-code (gradscale, roundpass) differentiated by autograd, float64."""
    qmin, qmax = oracle.quant_range(bits, signed)
    x = x.double().requires_grad_(True)
    scale = scale.double().requires_grad_(True)
    g = 1.0 / math.sqrt(x.numel() / scale.numel() * qmax)
    s = scale * g + (scale - scale * g).detach()
    s = oracle.scale_view(s, x.dim(), axis)
    v = torch.clamp(x / s, qmin, qmax)
    y = (v + (torch.round(v) - v).detach()) * s
    y.backward(grad_out.double())
    return y.detach(), x.grad, scale.grad


def reference_run(x, scale, grad_out, bits, signed, axis):
    return driver.forward_backward(reference, x, scale, grad_out, bits, signed, axis)


CASES = [
    ((6, 7), 8, True, None),
    ((6, 7), 4, False, 0),
    ((3, 4, 5), 2, True, -1),
    ((3, 4, 5), 3, False, 1),
    ((17,), 8, True, 0),
]


@pytest.mark.parametrize("shape, bits, signed, axis", CASES)
def test_reference_matches_paper_autograd_formulation(shape, bits, signed, axis):
    x, scale, grad_out = oracle.random_case(shape, bits, signed, axis, torch.float64, seed=7)
    y, grad_x, grad_s = reference_run(x, scale, grad_out, bits, signed, axis)
    y_ref, grad_x_ref, grad_s_ref = roundpass_oracle(x, scale, grad_out, bits, signed, axis)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(grad_x, grad_x_ref, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(grad_s, grad_s_ref.reshape(scale.shape), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("shape, bits, signed, axis", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_matches_checker_oracle(shape, bits, signed, axis, dtype):
    x, scale, grad_out = oracle.random_case(shape, bits, signed, axis, dtype, seed=3)
    rtol = META["tolerances"][str(dtype).removeprefix("torch.")]["rtol"]
    expected = oracle.lsq_oracle(x, scale, grad_out, bits, signed, axis, rtol)
    y, grad_x, grad_s = reference_run(x, scale, grad_out, bits, signed, axis)
    torch.testing.assert_close(y, expected.y, atol=0, rtol=rtol)
    torch.testing.assert_close(grad_x, expected.grad_x, atol=0, rtol=0)
    atol = expected.grad_s_atol.max().item()
    torch.testing.assert_close(grad_s, expected.grad_s, atol=atol, rtol=rtol)


def test_statement_examples():
    x = torch.tensor([-1.25, -0.25, 0.125, 0.75, 2.0])
    y, grad_x, grad_s = reference_run(x, torch.tensor(0.5), torch.ones(5), 2, True, None)
    assert y.tolist() == [-1.0, -0.0, 0.0, 0.5, 0.5]
    assert grad_x.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert grad_s.item() == pytest.approx(0.25 / math.sqrt(5))


def test_saved_bytes_within_budget():
    x, scale, _ = oracle.random_case((64, 128), 8, True, 1, torch.float32, seed=1)
    info = driver.saved_bytes(reference, x, scale, 8, True, 1)
    assert info["saved_bytes"] == x.numel() * 4 + scale.numel() * 4


def public_callables(module) -> dict[str, inspect.Signature]:
    names = {}
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(value):
            for method in ("forward", "backward"):
                names[f"{name}.{method}"] = inspect.signature(getattr(value, method))
            names[name] = None
        elif inspect.isfunction(value):
            names[name] = inspect.signature(value)
    return names


def test_stub_and_reference_expose_the_same_interface():
    assert public_callables(stub) == public_callables(reference)
    assert set(META["entry_points"]) <= set(public_callables(reference))


def test_stub_raises_not_implemented():
    with pytest.raises(NotImplementedError):
        stub.lsq_fake_quantize(torch.ones(2), torch.tensor(1.0))


WRONG = sorted(path.name for path in (PROBLEM / "wrong").iterdir() if path.suffix in (".patch", ".py"))


def test_wrong_solutions_are_patches_with_verdicts():
    problem = load_catalog().get("quantized-autograd")
    assert "wrong_solutions" not in META, "verdicts live in the patches' headers, not in problem.toml"
    assert set(problem.wrong_solutions) == set(WRONG)
    assert len(WRONG) >= 6
    assert {verdict.value for verdict in problem.wrong_solutions.values()} <= VERDICTS - {"Accepted"}
    whole_files = [name for name in WRONG if not name.endswith(".patch")]
    assert all("why-a-file" in problem.wrong_solution(name).header for name in whole_files)


@pytest.mark.parametrize("name", WRONG)
def test_wrong_solution_applies_to_todays_reference(name):
    module = load_wrong("quantized-autograd", name)
    assert public_callables(module).keys() == public_callables(stub).keys()


def resolve(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            owner = getattr(owner, attr)
        return owner
    raise ImportError(path)


def test_forbidden_paths_exist_in_installed_torch():
    missing = []
    for path in META["forbidden"]:
        try:
            resolve(path)
        except (ImportError, AttributeError):
            missing.append(path)
    assert not missing, f"forbidden paths that do not resolve (the worker would skip them): {missing}"


def test_reference_runs_with_the_forbidden_ops_blocked(monkeypatch):
    def blocked(*args, **kwargs):
        raise RuntimeError("forbidden")

    for path in META["forbidden"]:
        owner_path, _, attr = path.rpartition(".")
        monkeypatch.setattr(resolve(owner_path), attr, blocked)
    x, scale, grad_out = oracle.random_case((8, 9), 4, True, 0, torch.float32, seed=2)
    y, grad_x, grad_s = reference_run(x, scale, grad_out, 4, True, 0)
    assert torch.isfinite(grad_s).all()
    with pytest.raises(RuntimeError, match="forbidden"):
        torch._fake_quantize_learnable_per_channel_affine(x, scale, torch.zeros(9), 0, -8, 7, 1.0)
