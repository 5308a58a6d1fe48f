"""Project tests for the label-smoothed-cross-entropy problem that need no judge runner.

The checker-side oracle (closed-form losses and gradients) is checked against
torch.nn.functional.cross_entropy and its autograd, the reference against the oracle, and the
statement's worked examples against the reference.
"""

import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "label-smoothed-cross-entropy"

reference = load(REPO / "solutions_ref" / "label_smoothed_cross_entropy.py", "label_smoothed_cross_entropy_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "ce_oracle.py", "label_smoothed_cross_entropy_oracle")
sys.path.remove(str(PROBLEM))

KWARGS = [
    {},
    {"label_smoothing": 0.2, "reduction": "sum"},
    {"label_smoothing": 1.0, "reduction": "none"},
    {"label_smoothing": 0.5, "ignore_index": 1},
    {"label_smoothing": 0.1, "ignore_index": 9, "reduction": "none"},
]


def torch_cross_entropy(logits, labels, label_smoothing=0.0, ignore_index=-100, reduction="mean"):
    """torch's loss with the class dimension last, and its autograd gradient of sum(loss * weight)."""
    leaf = logits.double().clone().requires_grad_()
    flat = F.cross_entropy(
        leaf.reshape(-1, leaf.shape[-1]),
        labels.reshape(-1),
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )
    loss = flat.reshape(labels.shape) if reduction == "none" else flat
    weight = torch.linspace(-1.0, 2.0, labels.numel(), dtype=torch.float64).reshape(labels.shape)
    (loss * weight).sum().backward() if reduction == "none" else loss.backward()
    return loss.detach(), leaf.grad, weight


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
@pytest.mark.parametrize("shape", [(7,), (3, 4)], ids=str)
def test_oracle_matches_torch_cross_entropy(kwargs, shape):
    ignore_index = kwargs.get("ignore_index", -100)
    logits, labels = oracle.random_case(shape, 5, torch.float64, seed=len(shape), ignore_index=ignore_index)
    loss, grad, weight = torch_cross_entropy(logits, labels, **kwargs)
    expected = oracle.cross_entropy_oracle(logits, labels, **kwargs, grad_output=weight)
    torch.testing.assert_close(expected.loss, loss, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(expected.grad, grad, atol=1e-12, rtol=1e-12)


def test_oracle_all_ignored_matches_torch():
    logits = torch.randn(4, 3, dtype=torch.float64)
    labels = torch.full((4,), -100)
    for reduction in ("mean", "sum", "none"):
        loss, grad, _ = torch_cross_entropy(logits, labels, label_smoothing=0.3, reduction=reduction)
        expected = oracle.cross_entropy_oracle(logits, labels, 0.3, reduction=reduction)
        torch.testing.assert_close(expected.loss, loss, equal_nan=True)
        torch.testing.assert_close(expected.grad, grad)  # torch gives zeros, also for "mean"


def test_accumulated_oracle_matches_one_torch_batch():
    micro_batches = [
        oracle.random_case((2, 5), 6, torch.float64, seed=1, ignore_frac=0.5),
        oracle.random_case((1, 2), 6, torch.float64, seed=2, ignore_frac=0.0),
        oracle.random_case((3, 1), 6, torch.float64, seed=3),
    ]
    leaves = [logits.clone().requires_grad_() for logits, _ in micro_batches]
    shifted_logits = torch.cat([leaf[:, :-1].reshape(-1, 6) for leaf in leaves])
    shifted_labels = torch.cat([labels[:, 1:].reshape(-1) for _, labels in micro_batches])
    loss = F.cross_entropy(shifted_logits, shifted_labels, label_smoothing=0.2)  # one big batch
    loss.backward()
    expected_loss, expected_grads = oracle.accumulated_oracle(micro_batches, label_smoothing=0.2)
    torch.testing.assert_close(expected_loss, loss.detach(), atol=1e-12, rtol=1e-12)
    for leaf, expected in zip(leaves, expected_grads, strict=True):
        torch.testing.assert_close(expected, leaf.grad, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
def test_reference_matches_oracle(kwargs):
    ignore_index = kwargs.get("ignore_index", -100)
    logits, labels = oracle.random_case((3, 4), 5, torch.float64, seed=9, ignore_index=ignore_index)
    leaf = logits.clone().requires_grad_()
    loss = reference.cross_entropy(leaf, labels, **kwargs)
    weight = torch.linspace(-1.0, 2.0, labels.numel(), dtype=torch.float64).reshape(labels.shape)
    (loss * weight).sum().backward() if loss.dim() else loss.backward()
    expected = oracle.cross_entropy_oracle(logits, labels, **kwargs, grad_output=weight)
    torch.testing.assert_close(loss.detach(), expected.loss, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(leaf.grad, expected.grad, atol=1e-12, rtol=1e-12)


def test_reference_accumulated_matches_oracle():
    micro_batches = [oracle.random_case((2, 4), 5, torch.float64, seed=s, ignore_index=0) for s in (4, 5)]
    leaves = [(logits.clone().requires_grad_(), labels) for logits, labels in micro_batches]
    loss = reference.accumulated_loss(leaves, label_smoothing=0.3, ignore_index=0)
    loss.backward()
    expected_loss, expected_grads = oracle.accumulated_oracle(micro_batches, 0.3, 0)
    torch.testing.assert_close(loss.detach(), expected_loss, atol=1e-12, rtol=1e-12)
    for (leaf, _), expected in zip(leaves, expected_grads, strict=True):
        torch.testing.assert_close(leaf.grad, expected, atol=1e-12, rtol=1e-12)


def test_statement_examples():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    labels = torch.tensor([0, -100, 1])
    r = lambda t: [round(v, 6) for v in t.reshape(-1).tolist()]  # noqa: E731
    assert r(reference.cross_entropy(logits, labels, reduction="none")) == [0.239545, 0.0, 2.169846]
    assert r(reference.cross_entropy(logits, labels)) == [1.204695]
    assert abs((0.239545 + 2.169846) / 2 - 1.204695) < 1e-6
    smoothed = reference.cross_entropy(logits, labels, label_smoothing=0.3, reduction="none")
    assert r(smoothed) == [0.639545, 0.0, 2.069846]
    assert abs(0.7 * 0.239545 + 0.3 * (0.239545 + 2 * 2.239545) / 3 - 0.639545) < 1e-6
    assert abs(0.7 * 2.169846 + 0.3 * (3.169846 + 2.169846 + 0.169846) / 3 - 2.069846) < 1e-6
    assert r(reference.cross_entropy(logits, labels, label_smoothing=0.3)) == [1.354695]
    assert r(reference.cross_entropy(logits, labels, label_smoothing=0.3, reduction="sum")) == [2.709391]
    ignored = torch.tensor([-100, -100, -100])
    assert math.isnan(reference.cross_entropy(logits, ignored).item())
    assert reference.cross_entropy(logits, ignored, reduction="sum").item() == 0.0

    a = (torch.zeros(1, 3, 2), torch.tensor([[0, 1, 1]]))
    b = (torch.tensor([[[0.0, 2.0], [9.0, 9.0]]]), torch.tensor([[1, 0]]))
    assert round(reference.accumulated_loss([a, b]).item(), 6) == 1.171074
    assert round((2 * math.log(2) + math.log1p(math.exp(2))) / 3, 6) == 1.171074
    assert round((math.log(2) + math.log1p(math.exp(2))) / 2, 6) == 1.410038


def test_unstable_wrong_solution_is_not_finite_at_the_extreme():
    # the stability case of the hidden suite really separates the two forms
    wrong = load_wrong("label-smoothed-cross-entropy", "unstable_log_softmax.patch")
    logits, labels = torch.tensor([[1e4, -1e4, 0.0]]), torch.tensor([1])
    assert not math.isfinite(wrong.cross_entropy(logits, labels).item())
    assert reference.cross_entropy(logits, labels).item() == pytest.approx(2e4)


@pytest.mark.parametrize(("dtype", "offset"), [(torch.float16, 1000.0), (torch.bfloat16, 200.0)])
def test_half_compute_wrong_solution_misses_by_more_than_the_tolerance(dtype, offset):
    # the half-precision case of the hidden suite: log-sum-exp in half precision is off by tenths
    wrong = load_wrong("label-smoothed-cross-entropy", "half_compute.patch")
    logits, labels = oracle.random_case((2, 3), 256, torch.float64, seed=7, ignore_frac=0.2, scale=2.0)
    logits = (logits + offset).to(dtype)
    expected = oracle.cross_entropy_oracle(logits, labels, reduction="none").loss
    assert (wrong.cross_entropy(logits, labels, reduction="none").double() - expected).abs().max() > 0.05
    assert (reference.cross_entropy(logits, labels, reduction="none").double() - expected).abs().max() < 0.02


driver = load(PROBLEM / "driver.py", "label_smoothed_cross_entropy_driver")


@pytest.mark.parametrize("shape", [(3, 4), (6,)], ids=str)
def test_driver_layout_keeps_values_and_breaks_contiguity(shape):
    # the hidden non-contiguous test relies on this: tensors arrive contiguous from the wire
    logits, labels = oracle.random_case(shape, 5, torch.float32, seed=11)
    laid_logits, laid_labels = driver._layout(logits, labels, "transposed")
    assert torch.equal(laid_logits, logits) and torch.equal(laid_labels, labels)
    assert not laid_logits.is_contiguous() and laid_logits.stride(-1) == 2
    assert len(shape) < 2 or not laid_labels.is_contiguous()
    kwargs = {"reduction": "none", "label_smoothing": 0.2}
    weight = torch.linspace(-1.0, 2.0, labels.numel()).reshape(labels.shape)
    loss, grad, has_grad_fn, non_contiguous = driver.forward_backward_in_layout(
        reference, logits, labels, kwargs, "transposed", weight
    )
    expected = oracle.cross_entropy_oracle(logits, labels, **kwargs, grad_output=weight.double())
    assert has_grad_fn and non_contiguous
    torch.testing.assert_close(loss.double(), expected.loss, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grad.double(), expected.grad, atol=1e-5, rtol=1e-4)


def test_view_wrong_solution_fails_only_on_the_worker_layout():
    # wrong/logits_view.patch passes on contiguous inputs and raises on the driver's layout
    wrong = load_wrong("label-smoothed-cross-entropy", "logits_view.patch")
    logits, labels = oracle.random_case((3, 4), 5, torch.float32, seed=11)
    torch.testing.assert_close(wrong.cross_entropy(logits, labels), reference.cross_entropy(logits, labels))
    with pytest.raises(RuntimeError, match="view"):
        wrong.cross_entropy(*driver._layout(logits, labels, "transposed"))
