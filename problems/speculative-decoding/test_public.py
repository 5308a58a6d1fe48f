"""Public tests for speculative-decoding: the statement's examples, runnable with `judge test`."""

import torch

from judge_harness import assert_close, expect_raises

DRAFT = torch.tensor([[1, 2]])
Q = torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0]]])
P = torch.tensor([[[0.25, 0.5, 0.25, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]]])


def check(out, tokens, num_tokens):
    assert isinstance(out, tuple) and len(out) == 2, "verify must return (tokens, num_tokens)"
    assert_close(out[0], torch.tensor(tokens), name="tokens", atol=0, rtol=0)
    assert_close(out[1], torch.tensor(num_tokens), name="num_tokens", atol=0, rtol=0)


def test_rejection_draws_from_the_residual(candidate):
    # draft 1 sits on the boundary 0.5 * 0.5 == 0.25: equality rejects
    check(candidate.verify(DRAFT, Q, P, torch.tensor([[0.5, 0.5, 0.3]])), [[1, 3, -1]], [2])


def test_all_accepted_gives_a_bonus_token(candidate):
    check(candidate.verify(DRAFT, Q, P, torch.tensor([[0.5, 0.25, 0.7]])), [[1, 2, 3]], [3])


def test_no_drafts_draws_from_p(candidate):
    out = candidate.verify(
        torch.zeros(1, 0, dtype=torch.long),
        torch.zeros(1, 0, 3),
        torch.tensor([[[0.0, 0.75, 0.25]]]),
        torch.tensor([[0.0]]),
    )
    check(out, [[1]], [1])


def test_zero_residual_falls_back_to_p(candidate):
    q = torch.tensor([[[0.5, 0.5]]])
    p = torch.tensor([[[0.25, 0.25], [0.5, 0.5]]])
    check(candidate.verify(torch.tensor([[0]]), q, p, torch.tensor([[0.75, 0.6]])), [[1, -1]], [1])


def test_uniform_one_raises(candidate):
    with expect_raises("ValueError"):
        candidate.verify(DRAFT, Q, P, torch.tensor([[0.5, 0.5, 1.0]]))
