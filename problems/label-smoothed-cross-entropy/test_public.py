"""Public tests for label-smoothed-cross-entropy: the statement's examples, runnable with `judge test`."""

import math

import torch

from judge_harness import assert_close, expect_raises

LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
LABELS = torch.tensor([0, -100, 1])


def test_cross_entropy_examples(candidate):
    out = candidate.cross_entropy(LOGITS, LABELS, reduction="none")
    assert_close(out, torch.tensor([0.239545, 0.0, 2.169846]), name="per-row loss", atol=1e-6)
    assert_close(candidate.cross_entropy(LOGITS, LABELS), torch.tensor(1.204695), name="mean loss", atol=1e-6)
    out = candidate.cross_entropy(LOGITS, LABELS, label_smoothing=0.3, reduction="none")
    assert_close(out, torch.tensor([0.639545, 0.0, 2.069846]), name="smoothed per-row loss", atol=1e-6)
    out = candidate.cross_entropy(LOGITS, LABELS, label_smoothing=0.3)
    assert_close(out, torch.tensor(1.354695), name="smoothed mean loss", atol=1e-6)


def test_all_ignored(candidate):
    ignored = torch.tensor([-100, -100, -100])
    assert math.isnan(candidate.cross_entropy(LOGITS, ignored).item()), "mean over no tokens must be NaN"
    assert_close(candidate.cross_entropy(LOGITS, ignored, reduction="sum"), torch.tensor(0.0), name="sum")


def test_accumulated_example(candidate):
    a = (torch.zeros(1, 3, 2), torch.tensor([[0, 1, 1]]))
    b = (torch.tensor([[[0.0, 2.0], [9.0, 9.0]]]), torch.tensor([[1, 0]]))
    assert_close(candidate.accumulated_loss([a, b]), torch.tensor(1.171074), name="accumulated loss", atol=1e-6)


def test_bad_reduction_raises(candidate):
    with expect_raises("ValueError"):
        candidate.cross_entropy(LOGITS, LABELS, reduction="avg")
