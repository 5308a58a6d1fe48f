"""Project tests for the kv-cache-decode problem that need no judge runner.

The checker-side oracle is checked against an independent formulation (RoPE as complex
multiplication, torch's scaled_dot_product_attention over each row's real tokens), the
reference against the oracle (prefill, decode, cache contents, half precision), and the
statement's worked example against the reference.
"""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "kv-cache-decode"

reference = load(REPO / "solutions_ref" / "kv_cache_decode.py", "kv_cache_decode_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "kvd_oracle.py", "kvd_oracle")
sys.path.remove(str(PROBLEM))

TOLERANCES = {
    torch.float64: (1e-9, 1e-7),
    torch.float32: (1e-5, 1e-4),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}


def complex_rope(u: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """u (n, heads, D): the pair (u_i, u_{i+D/2}) as the complex number u_i + j u_{i+D/2}, times e^{j p theta_i}."""
    D = u.shape[-1]
    theta = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    z = torch.complex(u[..., : D // 2], u[..., D // 2 :])
    z = z * torch.polar(torch.ones_like(theta), positions.double()[:, None, None] * theta)
    return torch.cat([z.real, z.imag], dim=-1)


def sdpa_forward(model, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Full causal forward with F.scaled_dot_product_attention, each row's real tokens on their own."""
    wq, wk, wv, wo = (w.double() for w in model.args())
    H, Hkv, D = model.n_heads, model.n_kv_heads, model.head_dim
    y = torch.zeros(x.shape, dtype=torch.float64)
    for b in range(x.shape[0]):
        tokens = x[b][mask[b]].double()
        n = tokens.shape[0]
        if n == 0:
            continue
        positions = torch.arange(n)
        q = complex_rope((tokens @ wq).view(n, H, D), positions, model.rope_base).transpose(0, 1)
        k = complex_rope((tokens @ wk).view(n, Hkv, D), positions, model.rope_base).transpose(0, 1)
        v = (tokens @ wv).view(n, Hkv, D).transpose(0, 1)
        k, v = k.repeat_interleave(H // Hkv, 0), v.repeat_interleave(H // Hkv, 0)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (H, n, D)
        y[b, mask[b]] = out.transpose(0, 1).reshape(n, H * D) @ wo
    return y


CONFIGS = [
    # C, H, Hkv, D, rope_base, lengths, T
    (8, 2, 1, 4, 10000.0, [5, 2, 0], 5),
    (12, 6, 2, 6, 500.0, [7, 7], 7),
    (6, 3, 3, 2, 10.0, [1, 4], 4),
    (16, 4, 1, 8, 1e6, [3], 9),
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_oracle_matches_sdpa_with_complex_rope(config):
    C, H, Hkv, D, base, lengths, T = config
    model = oracle.make_model(C, H, Hkv, D, seed=1, dtype=torch.float64, rope_base=base)
    x = oracle.make_x(len(lengths), T, C, seed=2, dtype=torch.float64)
    mask = oracle.left_padded_mask(lengths, T)
    torch.testing.assert_close(
        oracle.full_forward(model, x, mask).y, sdpa_forward(model, x, mask), atol=1e-12, rtol=1e-10
    )


def test_oracle_rotation_is_complex_multiplication():
    u = torch.randn(5, 2, 8, dtype=torch.float64)
    positions = torch.tensor([0, 1, 7, 100, 3])
    torch.testing.assert_close(oracle.rotate(u, positions, 321.0), complex_rope(u, positions, 321.0))


def run_reference(model, x, mask, steps):
    attn = reference.LlamaAttention(*model.args(), **model.kwargs())
    y, cache = attn.prefill(x, mask)
    decoded = []
    caches = [cache]
    for s in range(steps.shape[1]):
        y_t, cache = attn.decode_step(steps[:, s], cache)
        decoded.append(y_t)
        caches.append(cache)
    return y, decoded, caches


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_reference_matches_oracle(config, dtype):
    C, H, Hkv, D, base, lengths, T = config
    model = oracle.make_model(C, H, Hkv, D, seed=3, dtype=dtype, rope_base=base)
    x = oracle.make_x(len(lengths), T, C, seed=4, dtype=dtype)
    steps = oracle.make_x(len(lengths), 3, C, seed=5, dtype=dtype)
    mask = oracle.left_padded_mask(lengths, T)
    atol, rtol = TOLERANCES[dtype]
    y, decoded, caches = run_reference(model, x, mask, steps)
    expected = oracle.full_forward(model, x, mask)
    torch.testing.assert_close(y, expected.y.to(dtype), atol=atol, rtol=rtol)
    for s, step in enumerate(oracle.decoded(model, x, mask, steps)):
        torch.testing.assert_close(decoded[s], step.y[:, -1].to(dtype), atol=atol, rtol=rtol)
        cache = caches[s + 1]
        assert torch.equal(cache.attention_mask, step.mask)
        keep = step.mask[:, None, :, None]
        torch.testing.assert_close(cache.k * keep, (step.k * keep).to(dtype), atol=atol, rtol=rtol)
        torch.testing.assert_close(cache.v * keep, (step.v * keep).to(dtype), atol=atol, rtol=rtol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_reference_with_padding_x_near_the_dtype_max(dtype):
    # finite padding x that would overflow k and v if projected: the cache stays finite, results unchanged
    model = oracle.make_model(8, 2, 1, 4, seed=6, dtype=dtype)
    mask = oracle.left_padded_mask([3, 1, 0], 4)
    x = oracle.make_x(3, 4, 8, seed=7, dtype=dtype)
    x = torch.where(mask[..., None], x, torch.tensor(torch.finfo(dtype).max * 0.9, dtype=dtype))
    steps = oracle.make_x(3, 2, 8, seed=8, dtype=dtype)
    atol, rtol = TOLERANCES[dtype]
    y, decoded, caches = run_reference(model, x, mask, steps)
    assert all(torch.isfinite(c.k).all() and torch.isfinite(c.v).all() for c in caches)
    torch.testing.assert_close(y, oracle.full_forward(model, x, mask).y.to(dtype), atol=atol, rtol=rtol)
    for s, step in enumerate(oracle.decoded(model, x, mask, steps)):
        torch.testing.assert_close(decoded[s], step.y[:, -1].to(dtype), atol=atol, rtol=rtol)


def test_statement_example():
    eye = torch.eye(2)
    attn = reference.LlamaAttention(eye, eye, eye, eye, n_heads=1, n_kv_heads=1)
    x = torch.tensor([[[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]]])
    mask = torch.tensor([[False, True, True]])
    y, cache = attn.prefill(x, mask)
    torch.testing.assert_close(y, torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.2138, 0.7862]]]), atol=1e-4, rtol=0)
    torch.testing.assert_close(cache.k[0, 0, 1:], torch.tensor([[1.0, 0.0], [-0.8415, 0.5403]]), atol=1e-4, rtol=0)
    torch.testing.assert_close(cache.v[0, 0, 1:], torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    y_t, new = attn.decode_step(torch.tensor([[1.0, 1.0]]), cache)
    torch.testing.assert_close(y_t, torch.tensor([[0.6290, 0.9453]]), atol=1e-4, rtol=0)
    assert new.attention_mask.tolist() == [[False, True, True, True]]
    torch.testing.assert_close(new.k[0, 0, 3], torch.tensor([-1.3254, 0.4932]), atol=1e-4, rtol=0)
    torch.testing.assert_close(attn.prefill(x[:, 1:])[0], y[:, 1:])
    # counting the padding as a position gives the statement's wrong value: the decoded token at
    # position 3 (its query and key rotated by 3 rad) over the prompt's keys at positions 0 and 1
    q = oracle.rotate(torch.tensor([[[1.0, 1.0]]], dtype=torch.float64), torch.tensor([3]), 10000.0)[0, 0]
    keys = torch.cat([cache.k[0, 0, 1:].double(), q[None]])
    values = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    wrong = torch.softmax(keys @ q / 2**0.5, dim=0) @ values
    torch.testing.assert_close(wrong, torch.tensor([0.7630, 0.9249], dtype=torch.float64), atol=1e-4, rtol=0)


def test_decode_equals_prefill_over_the_whole_sequence():
    model = oracle.make_model(8, 4, 2, 4, seed=6)
    x = oracle.make_x(4, 9, 8, seed=6)
    mask = oracle.left_padded_mask([9, 5, 7, 6], 9)  # every row real from position 4 on
    attn = reference.LlamaAttention(*model.args(), **model.kwargs())
    _, cache = attn.prefill(x[:, :4], mask[:, :4])
    for t in range(4, 9):
        y_t, cache = attn.decode_step(x[:, t], cache)
        full, _ = attn.prefill(x[:, : t + 1], mask[:, : t + 1])
        torch.testing.assert_close(y_t, full[:, -1], atol=1e-6, rtol=1e-5)
