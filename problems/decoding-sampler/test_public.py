"""Public tests for decoding-sampler: the statement's examples, runnable with `judge test`."""

import math

import torch

from judge_harness import assert_close, expect_raises


def tokens(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def test_top_p_example(candidate):
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    for u, expected in ((0.70, 0), (0.75, 1)):
        got = candidate.sample(logits, torch.tensor([u]), top_p=0.8)
        assert_close(got, tokens([expected]), name=f"token, top_p=0.8, u={u}", atol=0, rtol=0)
    got = candidate.sample(logits, torch.tensor([0.75]), top_p=0.01)
    assert_close(got, tokens([0]), name="token, top_p=0.01 (the first token is always kept)", atol=0, rtol=0)


def test_penalty_greedy_and_top_k_example(candidate):
    logits = torch.tensor([[1.0, 1.8, -0.5, 0.5]])
    prev = torch.tensor([[1, 2, 1, -1]])
    kwargs = {"repetition_penalty": 2.0, "prev_tokens": prev}
    got = candidate.sample(logits, torch.tensor([0.9]), temperature=0, **kwargs)
    assert_close(got, tokens([0]), name="greedy token with the penalty", atol=0, rtol=0)
    got = candidate.sample(logits, torch.tensor([0.9]), temperature=0)
    assert_close(got, tokens([1]), name="greedy token without the penalty", atol=0, rtol=0)
    for u, expected in ((0.5, 0), (0.6, 1)):
        got = candidate.sample(logits, torch.tensor([u]), temperature=0.5, top_k=2, **kwargs)
        assert_close(got, tokens([expected]), name=f"token, temperature 0.5, top_k=2, u={u}", atol=0, rtol=0)


def test_min_p_and_tie_example(candidate):
    logits = torch.tensor([[0.0, 1.0, 1.0, -math.inf]])
    for u, expected in ((0.25, 1), (0.5, 2)):
        got = candidate.sample(logits, torch.tensor([u]), min_p=0.5)
        assert_close(got, tokens([expected]), name=f"token, min_p=0.5, u={u}", atol=0, rtol=0)


def test_top_p_zero_raises(candidate):
    with expect_raises("ValueError"):
        candidate.sample(torch.zeros(1, 3), torch.tensor([0.5]), top_p=0.0)
