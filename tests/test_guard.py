"""The input guard (judge_harness/guard.py): fingerprints, parameter names, the autograd wrapper, mutable_inputs.

The end-to-end cases (a submission judged by the worker) are golden cases: tests/golden/guard_*.
"""

from __future__ import annotations

import shutil
import types
from pathlib import Path

import pytest
import torch

from judge.catalog import ProblemError, load_problem
from judge_harness.guard import (
    CallGuard,
    InputModified,
    _tensor_fingerprint,
    fingerprint,
    guard_autograd_functions,
    parameter_names,
)

GUARD_PROBLEM = Path(__file__).resolve().parent / "fixtures" / "guard_problems" / "toy-guard"


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool]
)
def test_tensor_fingerprint_sees_one_changed_element(dtype: torch.dtype) -> None:
    x = torch.ones(4, 5, dtype=dtype)
    before = fingerprint(x)
    assert fingerprint(x.clone()) == before
    x[2, 3] = 0
    assert fingerprint(x) != before


def test_tensor_fingerprint_shapes_views_and_scalars() -> None:
    scalar = torch.tensor(3.0)
    before = fingerprint(scalar)
    scalar.add_(1)
    assert fingerprint(scalar) != before
    base = torch.arange(12.0).reshape(3, 4)
    view = base.t()  # not contiguous
    before = fingerprint(view)
    base[0, 1] = -1
    assert fingerprint(view) != before
    x = torch.zeros(6)
    before = fingerprint(x)
    x.resize_(2, 3)
    assert fingerprint(x) != before
    assert fingerprint(torch.empty(0, 3)) == fingerprint(torch.empty(0, 3))


def test_a_one_element_view_with_a_stride_is_fingerprinted() -> None:
    base = torch.randn(1, 2)
    view = base[:, 0]  # shape (1,), stride (2,): is_contiguous() is true, a byte view is not possible
    before = _tensor_fingerprint(view)
    assert _tensor_fingerprint(view) == before
    base[0, 0] += 1
    assert _tensor_fingerprint(view) != before, "a change to the viewed element went unseen"


def test_equal_values_of_another_type_or_identity_are_changes() -> None:
    grades = {"d1": 3, "d2": 0}
    before = fingerprint([grades])
    grades["d1"] = 3.0  # == 3, same hash: still a write into the caller's dict
    assert fingerprint([grades]) != before
    inner = {"a": 1}
    outer = [inner]
    before = fingerprint(outer)
    outer[0] = dict(inner)  # an equal copy: the caller's object is gone from its list
    assert fingerprint(outer) != before


def test_containers_are_fingerprinted_recursively() -> None:
    nested = {"a": [1, 2, torch.zeros(2)], "b": ("x", {3, 4})}
    before = fingerprint(nested)
    nested["a"][2][0] = 1
    assert fingerprint(nested) != before
    items = ["p", "q"]
    before = fingerprint(items)
    items[1] = "r"
    assert fingerprint(items) != before
    assert fingerprint(5) is None and fingerprint("s") is None  # top-level scalars cannot change
    assert fingerprint(object()) is None  # the submission's own objects are not looked into
    nan_list = [float("nan")]
    assert fingerprint(nan_list) == fingerprint(nan_list)


def test_parameter_names_follow_the_signature() -> None:
    def f(q, k, *rest, scale=1.0, **extra):
        return q

    names = [name for name, _ in parameter_names(f, (1, 2, 3, 4), {"scale": 2.0, "other": 5})]
    assert names == ["q", "k", "rest[0]", "rest[1]", "scale", "other"]


def test_call_guard_names_the_parameter_and_honours_mutable() -> None:
    def step(q, k):
        q.mul_(2)
        return q

    q, k = torch.ones(3), torch.ones(3)
    guard = CallGuard("Cache.step", step, (q, k), {}, set())
    step(q, k)
    with pytest.raises(InputModified, match=r"modified its input `q` in place \(in Cache.step\)"):
        guard.check()
    allowed = CallGuard("Cache.step", step, (q, k), {}, {"Cache.step:q"})
    step(q, k)
    allowed.check()
    other = CallGuard("Other.step", step, (q, k), {}, {"Cache.step:q"})
    step(q, k)
    with pytest.raises(InputModified):
        other.check()


def test_backward_of_the_submissions_function_is_guarded() -> None:
    module = types.ModuleType("guarded_submission")

    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.mul_(2)

    Scale.__module__ = module.__name__
    module.Scale = Scale
    assert guard_autograd_functions(module) == ["Scale"]
    x = torch.ones(3, requires_grad=True)

    def run(x):
        (Scale.apply(x) * 3).sum().backward()
        return x.grad

    guard = CallGuard("run", run, (x,), {}, set())
    assert torch.equal(run(x), torch.full((3,), 6.0))
    with pytest.raises(InputModified, match="gradient `grad_output` handed to Scale.backward"):
        guard.check()


def test_mutable_inputs_are_validated(tmp_path: Path) -> None:
    problem = load_problem(GUARD_PROBLEM)
    assert problem.mutable_inputs == ("normalise_:x",)
    target = tmp_path / "toy-guard"
    shutil.copytree(GUARD_PROBLEM, target)
    toml = target / "problem.toml"
    toml.write_text(toml.read_text().replace('["normalise_:x"]', '["normalise_ x"]'))
    with pytest.raises(ProblemError, match="mutable_inputs: expected <callable>:<parameter>"):
        load_problem(target)
