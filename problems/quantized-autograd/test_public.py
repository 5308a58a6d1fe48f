"""Public tests for quantized-autograd: the statement's examples, runnable with `judge test`."""

import math

import torch

from judge_harness import assert_close, expect_raises


def test_per_tensor_example(candidate):
    x = torch.tensor([-1.25, -0.25, 0.125, 0.75, 2.0])
    scale = torch.tensor(0.5)
    y, grad_x, grad_s = candidate.driver.forward_backward(x, scale, torch.ones(5), 2, True, None)
    assert_close(y, torch.tensor([-1.0, -0.0, 0.0, 0.5, 0.5]), name="y")
    assert_close(grad_x, torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0]), name="grad_x")
    assert_close(grad_s, torch.tensor(0.25 / math.sqrt(5)), name="grad_s")


def test_per_channel_example(candidate):
    x = torch.tensor([[0.6, -1.0, 9.0], [0.3, 1.0, 0.125]])
    scale = torch.tensor([0.5, 0.25])
    y, grad_x, grad_s = candidate.driver.forward_backward(x, scale, torch.ones(2, 3), 4, False, 0)
    assert_close(y, torch.tensor([[0.5, 0.0, 7.5], [0.25, 1.0, 0.0]]), name="y")
    assert_close(grad_x, torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), name="grad_x")
    expected_grad_s = torch.tensor([14.8, -0.7]) / math.sqrt(45)
    assert_close(grad_s, expected_grad_s, name="grad_s")


def test_ties_round_to_even(candidate):
    # s = 0.25 is a power of two, so x / s is exact: these are exact ties
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]) * 0.25
    y = candidate.lsq_fake_quantize(x, torch.tensor(0.25))
    expected = torch.tensor([-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]) * 0.25
    assert_close(y, expected, name="y at x / s = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]")


def test_bits_out_of_range(candidate):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.ones(4), torch.tensor(0.5), bits=9)


def test_scale_must_be_positive(candidate):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.ones(2, 3), torch.tensor([0.5, 0.0]), axis=0)
