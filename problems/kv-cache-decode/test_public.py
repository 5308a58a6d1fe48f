"""Public tests for kv-cache-decode: the statement's example and the decode invariant, runnable with `judge test`."""

import torch

from judge_harness import assert_close, expect_raises

EYE = torch.eye(2)
X = torch.tensor([[[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]]])  # position 0 is padding
MASK = torch.tensor([[False, True, True]])


def test_prefill_example(candidate):
    attn = candidate.LlamaAttention(EYE, EYE, EYE, EYE, n_heads=1, n_kv_heads=1)
    y, cache = attn.prefill(X, MASK)
    assert_close(y, torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.2138, 0.7862]]]), name="y", atol=1e-4)
    assert_close(
        cache.k[0, 0, 1:], torch.tensor([[1.0, 0.0], [-0.8415, 0.5403]]), name="cache.k at real positions", atol=1e-4
    )
    assert cache.attention_mask.tolist() == [[False, True, True]]


def test_decode_example(candidate):
    attn = candidate.LlamaAttention(EYE, EYE, EYE, EYE, n_heads=1, n_kv_heads=1)
    _, cache = attn.prefill(X, MASK)
    y_t, cache = attn.decode_step(torch.tensor([[1.0, 1.0]]), cache)
    assert_close(y_t, torch.tensor([[0.6290, 0.9453]]), name="y_t at position 2", atol=1e-4)
    assert cache.attention_mask.tolist() == [[False, True, True, True]]
    assert tuple(cache.k.shape) == (1, 1, 4, 2)


def test_decode_equals_prefill_over_the_whole_sequence(candidate):
    g = torch.Generator().manual_seed(0)
    C, H, Hkv, D = 8, 4, 2, 4
    wq, wk, wv = (
        torch.randn(C, H * D, generator=g),
        torch.randn(C, Hkv * D, generator=g),
        torch.randn(C, Hkv * D, generator=g),
    )
    wo = torch.randn(H * D, C, generator=g)
    attn = candidate.LlamaAttention(wq, wk, wv, wo, n_heads=H, n_kv_heads=Hkv)
    x = torch.randn(2, 7, C, generator=g)
    mask = torch.tensor([[True] * 7, [False] * 3 + [True] * 4])
    _, cache = attn.prefill(x[:, :5], mask[:, :5])
    for t in range(5, 7):
        y_t, cache = attn.decode_step(x[:, t], cache)
    full, _ = attn.prefill(x, mask)
    assert_close(y_t, full[:, -1], name="last decoded y_t vs prefill over all 7 positions")


def test_right_padding_raises(candidate):
    attn = candidate.LlamaAttention(EYE, EYE, EYE, EYE, n_heads=1, n_kv_heads=1)
    with expect_raises("ValueError"):
        attn.prefill(X, torch.tensor([[True, True, False]]))
