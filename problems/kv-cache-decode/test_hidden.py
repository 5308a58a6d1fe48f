"""Hidden tests for kv-cache-decode: the judged suite.

Expected values come from kvd_oracle (float64, checker side): the full causal forward over each
row's real tokens. Groups: the statement's example, prefill (padding, positions, RoPE, GQA, the
cache's contents), decode (many steps, caches built by hand), state and ownership, numerics,
validation, then property-based cases.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kvd_oracle import Model, decoded, full_forward, left_padded_mask, make_model, make_x

from judge_harness import Record, assert_close, expect_raises

torch.set_num_threads(1)

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def layer(candidate, model: Model):
    return candidate.LlamaAttention(*model.args(), **model.kwargs())


def describe(model: Model, x: torch.Tensor, mask: torch.Tensor | None, what: str) -> str:
    B, T, C = x.shape
    lengths = mask.sum(1).tolist() if mask is not None else "no mask"
    return (
        f"{what} (B={B}, T={T}, C={C}, H={model.n_heads}, Hkv={model.n_kv_heads}, D={model.head_dim}, "
        f"rope_base={model.rope_base}, real tokens per row {lengths}, {str(x.dtype).removeprefix('torch.')})"
    )


def real(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """k or v (B, Hkv, T, D) with padding positions set to 0, so only real positions are compared."""
    return t.masked_fill(~mask[:, None, :, None], 0)


def check_cache(cache, expected, where: str, dtype: torch.dtype = torch.float32) -> None:
    """The cache's type, mask, and k and v at real positions; k and v must have the model's dtype."""
    mask = expected.mask
    assert cache.type_name == "KVCache", f"{where}: expected a KVCache, got {cache.type_name}"
    assert torch.equal(cache.attention_mask, mask), (
        f"cache.attention_mask ({where}): got {cache.attention_mask.tolist()}, expected {mask.tolist()}"
    )
    assert_close(real(cache.k, mask), expected.k.to(dtype), name=f"cache.k after RoPE at real positions ({where})")
    assert_close(real(cache.v, mask), expected.v.to(dtype), name=f"cache.v at real positions ({where})")


def check_prefill(candidate, model: Model, x, mask, label=""):
    """Prefill output and cache against the oracle; returns the layer, the cache and the expectation."""
    attn = layer(candidate, model)
    y, cache = attn.prefill(x, mask) if mask is not None else attn.prefill(x)
    expected = full_forward(model, x, mask)
    where = describe(model, x, mask, "prefill" + (f", {label}" if label else ""))
    assert_close(y, expected.y.to(x.dtype), name=f"y ({where})")
    check_cache(cache, expected, where, x.dtype)
    return attn, cache


def check_decode(attn, model: Model, x, mask, cache, steps, label=""):
    """Decode steps (B, S, C) one at a time, each y_t and cache checked; returns the last cache."""
    expected = decoded(model, x, mask, steps)
    for s in range(steps.shape[1]):
        y_t, cache = attn.decode_step(steps[:, s], cache)
        where = describe(model, x, mask, f"decode step {s + 1} of {steps.shape[1]}" + (f", {label}" if label else ""))
        assert_close(y_t, expected[s].y[:, -1].to(x.dtype), name=f"y_t ({where})")
        check_cache(cache, expected[s], where, x.dtype)
    return cache


def hand_cache(k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> Record:
    return Record("KVCache", k=k, v=v, attention_mask=mask)


# -- the statement's example ------------------------------------------------------------------


def test_statement_example(candidate):
    eye = torch.eye(2)
    attn = candidate.LlamaAttention(eye, eye, eye, eye, n_heads=1, n_kv_heads=1)
    x = torch.tensor([[[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]]])
    mask = torch.tensor([[False, True, True]])
    y, cache = attn.prefill(x, mask)
    assert_close(y, torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.213838, 0.786162]]]), name="example y", atol=1e-5)
    k_real = cache.k[0, 0, 1:]
    assert_close(k_real, torch.tensor([[1.0, 0.0], [-0.841471, 0.540302]]), name="example cache.k[0, 0, 1:]")
    assert_close(cache.v[0, 0, 1:], torch.tensor([[1.0, 0.0], [0.0, 1.0]]), name="example cache.v[0, 0, 1:]")
    y_t, cache = attn.decode_step(torch.tensor([[1.0, 1.0]]), cache)
    assert_close(y_t, torch.tensor([[0.628972, 0.945318]]), name="example y_t at position 2", atol=1e-5)
    assert cache.attention_mask.tolist() == [[False, True, True, True]], f"example mask {cache.attention_mask}"
    assert_close(cache.k[0, 0, 3], torch.tensor([-1.325444, 0.493151]), name="example cache.k[0, 0, 3]", atol=1e-5)
    y2, _ = attn.prefill(x[:, 1:])
    assert_close(y2, y[:, 1:], name="example without the padding position")


# -- prefill ----------------------------------------------------------------------------------


def test_prefill_without_padding(candidate):
    model = make_model(16, 4, 2, 4, seed=1)
    x = make_x(2, 7, 16, seed=1)
    check_prefill(candidate, model, x, None, "mask None")


def test_left_padding_shifts_no_position(candidate):
    # each row padded differently; every row's real outputs equal those of its prompt alone
    model = make_model(12, 2, 1, 6, seed=2)
    lengths = [6, 4, 1, 5]
    x = make_x(4, 6, 12, seed=2)
    mask = left_padded_mask(lengths, 6)
    attn, _ = check_prefill(candidate, model, x, mask)
    y, _ = attn.prefill(x, mask)
    for b, n in enumerate(lengths):
        alone, _ = attn.prefill(x[b : b + 1, 6 - n :])
        assert_close(y[b : b + 1, 6 - n :], alone, name=f"row {b} ({n} real tokens) padded vs alone")


def test_padding_values_change_nothing(candidate):
    # x at padding positions is huge: unmasked padding keys or values would dominate
    model = make_model(8, 2, 2, 4, seed=3)
    lengths = [2, 5, 3]
    mask = left_padded_mask(lengths, 5)
    x = make_x(3, 5, 8, seed=3)
    x = torch.where(mask[..., None], x, torch.full_like(x, 1e4))
    attn, cache = check_prefill(candidate, model, x, mask, "padding x = 1e4")
    y, _ = attn.prefill(x, mask)
    assert torch.equal(y.masked_select(~mask[..., None]), torch.zeros(int((~mask).sum()) * 8)), (
        f"prefill y at padding positions must be exactly 0, got max |y| {y.masked_select(~mask[..., None]).abs().max()}"
    )
    check_decode(attn, model, x, mask, cache, make_x(3, 2, 8, seed=30), "padding x = 1e4")


@pytest.mark.parametrize("dtype,pad", [("float16", 6e4), ("bfloat16", 3e38), ("float32", 3e38), ("float64", 1e308)])
def test_padding_near_the_dtype_max(candidate, dtype, pad):
    # padding x of either sign near the dtype's largest finite value: projected unzeroed, its k and v
    # overflow to inf (in the cache or in the float32 compute) and 0 * inf puts NaN in y or y_t
    model = make_model(8, 2, 1, 4, seed=33, dtype=DTYPES[dtype])
    lengths = [2, 5, 0]
    mask = left_padded_mask(lengths, 5)
    x = make_x(3, 5, 8, seed=33, dtype=DTYPES[dtype])
    sign = torch.tensor([1.0, -1.0]).repeat(4).to(x.dtype)
    x = torch.where(mask[..., None], x, pad * sign)
    label = f"padding x = +-{pad:g}"
    attn, cache = check_prefill(candidate, model, x, mask, label)
    for name in ("k", "v"):
        t = getattr(cache, name)
        assert bool(torch.isfinite(t).all()), (
            f"prefill cache.{name} ({label}, {dtype}) holds {int((~torch.isfinite(t)).sum())} non-finite values: "
            "the cache must hold finite values at padding positions"
        )
    check_decode(attn, model, x, mask, cache, make_x(3, 2, 8, seed=34, dtype=DTYPES[dtype]), label)


def test_all_padding_row_and_single_token_prompt(candidate):
    model = make_model(8, 2, 1, 4, seed=4)
    mask = left_padded_mask([0, 1, 3], 3)
    x = make_x(3, 3, 8, seed=4)
    attn, cache = check_prefill(candidate, model, x, mask, "row 0 all padding")
    check_decode(attn, model, x, mask, cache, make_x(3, 3, 8, seed=40), "row 0 starts at position 0")
    x1 = make_x(2, 1, 8, seed=5)
    attn, cache = check_prefill(candidate, model, x1, None, "T = 1")
    check_decode(attn, model, x1, None, cache, make_x(2, 2, 8, seed=50), "T = 1")


@pytest.mark.parametrize("H,Hkv", [(4, 2), (6, 2), (6, 3), (4, 1), (3, 3), (8, 2)])
def test_gqa_head_mapping(candidate, H, Hkv):
    model = make_model(16, H, Hkv, 4, seed=H * 10 + Hkv)
    mask = left_padded_mask([5, 3], 5)
    x = make_x(2, 5, 16, seed=H)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(2, 2, 16, seed=H + 1))


@pytest.mark.parametrize(
    "D,rope_base", [(2, 10000.0), (6, 10000.0), (16, 10000.0), (8, 500000.0), (8, 10.0), (8, 100), (4, 1.0)]
)
def test_rope_layout_base_and_head_dims(candidate, D, rope_base):
    model = make_model(8, 2, 1, D, seed=D, rope_base=rope_base)
    mask = left_padded_mask([6, 2], 6)
    x = make_x(2, 6, 8, seed=D)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(2, 2, 8, seed=D + 1))


def test_default_rope_base_is_10000(candidate):
    model = make_model(8, 2, 2, 8, seed=6)
    x = make_x(1, 9, 8, seed=6)
    attn = candidate.LlamaAttention(*model.args(), n_heads=2, n_kv_heads=2)
    y, cache = attn.prefill(x)
    expected = full_forward(model, x)
    assert_close(y, expected.y.float(), name="y with rope_base left at its default (10000)")
    check_cache(cache, expected, "rope_base default")


def test_mask_none_equals_all_true(candidate):
    model = make_model(8, 2, 1, 4, seed=7)
    x = make_x(2, 4, 8, seed=7)
    attn = layer(candidate, model)
    y_none, cache_none = attn.prefill(x)
    y_true, cache_true = attn.prefill(x, torch.ones(2, 4, dtype=torch.bool))
    assert_close(y_none, y_true, name="prefill y, mask None vs all True")
    assert torch.equal(cache_none.attention_mask, torch.ones(2, 4, dtype=torch.bool)), (
        f"with attention_mask=None the cache's mask must be all True, got {cache_none.attention_mask.tolist()}"
    )
    check_cache(cache_true, full_forward(model, x), "mask all True")


# -- decode -----------------------------------------------------------------------------------


def test_decode_many_steps_each_checked(candidate):
    model = make_model(12, 4, 2, 6, seed=8)
    mask = left_padded_mask([4, 1, 3], 4)
    x = make_x(3, 4, 12, seed=8)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(3, 8, 12, seed=80))


def test_decode_from_a_hand_built_cache(candidate):
    # a cache from another engine: large finite values at its padding positions, padding in the middle
    model = make_model(8, 4, 2, 4, seed=9)
    x = make_x(2, 6, 8, seed=9)
    mask = torch.tensor([[False, False, True, True, True, True], [True, False, True, False, False, True]])
    expected = full_forward(model, x, mask)
    junk = torch.full_like(expected.k, 1e4)
    k = torch.where(mask[:, None, :, None], expected.k, junk).float()
    v = torch.where(mask[:, None, :, None], expected.v, -junk).float()
    attn = layer(candidate, model)
    check_decode(attn, model, x, mask, hand_cache(k, v, mask.clone()), make_x(2, 3, 8, seed=90), "hand-built cache")


def test_decode_from_an_empty_cache(candidate):
    model = make_model(8, 2, 1, 4, seed=10)
    attn = layer(candidate, model)
    empty = hand_cache(torch.zeros(3, 1, 0, 4), torch.zeros(3, 1, 0, 4), torch.zeros(3, 0, dtype=torch.bool))
    x = torch.zeros(3, 0, 8)
    check_decode(attn, model, x, torch.zeros(3, 0, dtype=torch.bool), empty, make_x(3, 3, 8, seed=10), "T = 0 cache")


def test_decode_step_positions_are_large(candidate):
    # a prompt of 200 tokens after 40 pads: the decoded token is at position 200, not 240 or 0
    model = make_model(8, 2, 1, 8, seed=11, rope_base=100.0)
    mask = left_padded_mask([200, 160], 240)
    x = make_x(2, 240, 8, seed=11)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(2, 2, 8, seed=110))


# -- state and ownership ----------------------------------------------------------------------


def test_one_layer_serves_two_caches_interleaved(candidate):
    model = make_model(8, 4, 2, 4, seed=12)
    attn = layer(candidate, model)
    xa, ma = make_x(2, 5, 8, seed=12), left_padded_mask([5, 2], 5)
    xb, mb = make_x(1, 3, 8, seed=13), None
    _, ca = attn.prefill(xa, ma)
    _, cb = attn.prefill(xb)
    sa, sb = make_x(2, 4, 8, seed=14), make_x(1, 4, 8, seed=15)
    ea, eb = decoded(model, xa, ma, sa), decoded(model, xb, mb, sb)
    for s in range(4):
        ya, ca = attn.decode_step(sa[:, s], ca)
        yb, cb = attn.decode_step(sb[:, s], cb)
        assert_close(ya, ea[s].y[:, -1].float(), name=f"y_t of cache A at step {s + 1}, interleaved with cache B")
        assert_close(yb, eb[s].y[:, -1].float(), name=f"y_t of cache B at step {s + 1}, interleaved with cache A")
        check_cache(ca, ea[s], f"cache A after step {s + 1}")
        check_cache(cb, eb[s], f"cache B after step {s + 1}")


def test_two_layers_side_by_side(candidate):
    # different weights, head counts, head dims and rope_base: nothing may be shared between them
    m1 = make_model(8, 4, 2, 4, seed=16, rope_base=10000.0)
    m2 = make_model(8, 2, 1, 8, seed=17, rope_base=50.0)
    a1, a2 = layer(candidate, m1), layer(candidate, m2)
    x = make_x(2, 4, 8, seed=16)
    mask = left_padded_mask([4, 3], 4)
    steps = make_x(2, 3, 8, seed=18)
    e1, e2 = decoded(m1, x, mask, steps), decoded(m2, x, mask, steps)
    (y1, c1), (y2, c2) = a1.prefill(x, mask), a2.prefill(x, mask)
    assert_close(y1, full_forward(m1, x, mask).y.float(), name="layer 1 prefill y, beside layer 2")
    assert_close(y2, full_forward(m2, x, mask).y.float(), name="layer 2 prefill y, beside layer 1")
    for s in range(3):
        y1, c1 = a1.decode_step(steps[:, s], c1)
        y2, c2 = a2.decode_step(steps[:, s], c2)
        assert_close(y1, e1[s].y[:, -1].float(), name=f"layer 1 y_t at step {s + 1}, beside layer 2")
        assert_close(y2, e2[s].y[:, -1].float(), name=f"layer 2 y_t at step {s + 1}, beside layer 1")


def test_two_decode_steps_from_one_cache(candidate):
    model = make_model(8, 2, 1, 4, seed=19)
    x, mask = make_x(2, 4, 8, seed=19), left_padded_mask([4, 2], 4)
    steps = make_x(2, 3, 8, seed=20)
    out = candidate.driver.branches(list(model.args()), model.kwargs(), x, mask, [steps[:, i] for i in range(3)])
    root = full_forward(model, x, mask)
    for name in ("k", "v", "attention_mask"):
        assert torch.equal(out["root_now"][name], out["root_then"][name]), (
            f"the prefill cache's {name} changed after decode steps from it: decode_step must return a new cache"
        )
    a = full_forward(model, torch.cat([x, steps[:, :1]], 1), torch.cat([mask, torch.ones(2, 1, dtype=torch.bool)], 1))
    b = full_forward(model, torch.cat([x, steps[:, 1:2]], 1), a.mask)
    c = full_forward(model, torch.cat([x, steps[:, :1], steps[:, 2:3]], 1), torch.cat([a.mask, a.mask[:, -1:]], 1))
    assert_close(out["y"], root.y.float(), name="prefill y (branching test)")
    assert_close(out["ya"], a.y[:, -1].float(), name="y_t of branch A (first decode from the prefill cache)")
    assert_close(out["yb"], b.y[:, -1].float(), name="y_t of branch B (second decode from the same prefill cache)")
    assert_close(out["yc"], c.y[:, -1].float(), name="y_t of a step after branch A, decoded after branch B")
    for label, got, want in (("A", out["cache_a"], a), ("B", out["cache_b"], b), ("A then C", out["cache_c"], c)):
        check_cache(Record("KVCache", **got), want, f"branch {label}'s cache, read after all branches")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_results_share_no_memory_with_arguments(candidate, dtype):
    model = make_model(8, 2, 2, 4, seed=21, dtype=DTYPES[dtype])
    x, mask = make_x(2, 3, 8, seed=21, dtype=DTYPES[dtype]), left_padded_mask([3, 1], 3)
    for m in (mask, None):
        shared = candidate.driver.aliasing(list(model.args()), model.kwargs(), x, m, x[:, 0].clone())
        assert not shared, f"results that share memory with an argument ({dtype}, mask {m is not None}): {shared}"


# -- numerics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_activations(candidate, dtype):
    # scores in the hundreds: softmax must subtract the row max
    model = make_model(8, 2, 1, 8, seed=22, dtype=DTYPES[dtype], scale=6.0)
    x = make_x(2, 5, 8, seed=22, dtype=DTYPES[dtype], scale=6.0)
    mask = left_padded_mask([5, 3], 5)
    tol = {"atol": 1e-3, "rtol": 1e-4} if dtype == "float32" else {}
    attn = layer(candidate, model)
    y, cache = attn.prefill(x, mask)
    expected = full_forward(model, x, mask)
    assert_close(y, expected.y.to(x.dtype), name=f"prefill y with large activations ({dtype})", **tol)
    step = make_x(2, 1, 8, seed=23, dtype=DTYPES[dtype], scale=6.0)
    y_t, _ = attn.decode_step(step[:, 0], cache)
    want = decoded(model, x, mask, step)[0].y[:, -1].to(x.dtype)
    assert_close(y_t, want, name=f"y_t with large activations ({dtype})", **tol)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(candidate, dtype):
    model = make_model(16, 4, 2, 8, seed=24, dtype=DTYPES[dtype])
    x = make_x(2, 6, 16, seed=24, dtype=DTYPES[dtype])
    mask = left_padded_mask([6, 3], 6)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(2, 3, 16, seed=25, dtype=DTYPES[dtype]))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_scores_in_float32(candidate, dtype):
    # scores around 100: float16 holds them to 0.06, bfloat16 to 0.5, so the softmax must be
    # computed in float32. The oracle rounds k and v to the model's dtype, as the cache does.
    half = DTYPES[dtype]
    model = make_model(8, 2, 1, 8, seed=31, dtype=half, scale=3.0)
    x = make_x(2, 6, 8, seed=31, dtype=half, scale=3.0)
    mask = left_padded_mask([6, 4], 6)
    attn = layer(candidate, model)
    y, cache = attn.prefill(x, mask)
    expected = full_forward(model, x, mask, kv_dtype=half)
    where = describe(model, x, mask, "prefill with scores ~100")
    assert_close(y, expected.y.to(half), name=f"y ({where})")
    step = make_x(2, 1, 8, seed=32, dtype=half, scale=3.0)
    y_t, _ = attn.decode_step(step[:, 0], cache)
    want = decoded(model, x, mask, step, kv_dtype=half)[0].y[:, -1].to(half)
    assert_close(y_t, want, name=f"y_t ({describe(model, x, mask, 'decode with scores ~100')})")


def output_projection_case(half: torch.dtype):
    """A layer with v in the hundreds whose wo cancels: y = o0 - o1 (and o4 - o5) is ~10.

    Weights and x are multiples of 1/8 and 1/32, so v is exact before its rounding to the model's
    dtype and the oracle rounds the same values. In float32 y is right to ~1e-5; rounding the
    attention output o (~500) to the model's dtype before wo moves y by up to a half ulp of 500.
    """
    g = torch.Generator().manual_seed(5)

    def eighths(*shape, scale=1.0):
        return torch.randint(-8, 9, shape, generator=g).double() / 8 * scale

    C, H, Hkv, D = 4, 2, 1, 4
    wq, wk = eighths(C, H * D, scale=0.125), eighths(C, Hkv * D, scale=0.125)  # soft attention
    base = torch.tensor([96.0, 64.0, -80.0, 48.0])
    wv = torch.stack([base, base + torch.tensor([2.0, 0.0, -2.0, 1.0]), eighths(C), eighths(C)], 1)
    wo = eighths(H * D, C, scale=0.25)
    wo[[0, 1, 4, 5]] = 0.0
    wo[0, 0], wo[1, 0], wo[4, 1], wo[5, 1] = 1.0, -1.0, 1.0, -1.0
    model = Model(*(w.to(half) for w in (wq, wk, wv, wo)), H, Hkv)
    x = (eighths(2, 6, C, scale=2.0) + 2.0).to(half)
    steps = (eighths(2, 2, C, scale=2.0) + 2.0).to(half)
    return model, x, left_padded_mask([6, 4], 6), steps


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_output_projection_in_float32(candidate, dtype):
    half = DTYPES[dtype]
    model, x, mask, steps = output_projection_case(half)
    attn = layer(candidate, model)
    y, cache = attn.prefill(x, mask)
    expected = full_forward(model, x, mask, kv_dtype=half)
    assert_close(y, expected.y.to(half), name=f"y ({describe(model, x, mask, 'prefill, v ~500, wo cancelling')})")
    wants = decoded(model, x, mask, steps, kv_dtype=half)
    for s in range(steps.shape[1]):
        y_t, cache = attn.decode_step(steps[:, s], cache)
        where = describe(model, x, mask, f"decode step {s + 1}, v ~500, wo cancelling")
        assert_close(y_t, wants[s].y[:, -1].to(half), name=f"y_t ({where})")


def test_bfloat16_positions_past_256(candidate):
    # bfloat16 cannot hold position 301 (it rounds to 300): angles must not be computed in it
    model = make_model(8, 1, 1, 8, seed=26, dtype=torch.bfloat16, rope_base=100.0)
    x = make_x(1, 302, 8, seed=26, dtype=torch.bfloat16)
    attn, cache = check_prefill(candidate, model, x, None)
    check_decode(attn, model, x, None, cache, make_x(1, 1, 8, seed=27, dtype=torch.bfloat16))


def test_float64_is_not_downcast(candidate):
    model = make_model(8, 2, 1, 8, seed=28, dtype=torch.float64, rope_base=10.0)
    x = make_x(2, 40, 8, seed=28, dtype=torch.float64)
    mask = left_padded_mask([40, 33], 40)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(2, 2, 8, seed=29, dtype=torch.float64))


# -- validation -------------------------------------------------------------------------------


def each_raises(cases: dict, call) -> None:
    """call(case) must raise ValueError for every labelled case; a failure names the case."""
    for label, case in cases.items():
        try:
            with expect_raises("ValueError"):
                call(case)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None


def test_bad_head_counts_raise(candidate):
    w = make_model(8, 2, 1, 4, seed=0).args()
    cases = {
        "n_heads = 0": (w, 0, 1),
        "n_kv_heads = 0": (w, 2, 0),
        "negative head counts": (w, -2, -1),
        "n_heads = 4 not a multiple of n_kv_heads = 3": (w, 4, 3),
        "n_kv_heads = 4 > n_heads = 2": (w, 2, 4),
        # weights whose shapes fit H = 3, Hkv = 2, D = 2: only the multiple rule is broken
        "n_heads = 3, n_kv_heads = 2, weights of those shapes": (make_model(8, 3, 2, 2, seed=0).args(), 3, 2),
        "n_heads = 2.0 (a float)": (w, 2.0, 1),
        "n_heads = True (a bool)": (w, True, 1),
        "n_kv_heads = True (a bool)": (w, 2, True),
    }
    each_raises(cases, lambda c: candidate.LlamaAttention(*c[0], n_heads=c[1], n_kv_heads=c[2], rope_base=10000.0))


def test_bad_weights_raise(candidate):
    m = make_model(6, 2, 1, 4, seed=0)  # C = 6 != H * D = 8, so a transposed wo has the wrong shape
    wq, wk, wv, wo = m.args()
    cases = {
        "wq 1-D": (wq.flatten(), wk, wv, wo),
        "wq 3-D": (wq[None], wk, wv, wo),
        "wq columns not H * D": (wq[:, :7], wk, wv, wo),
        "odd head dim D = 3": make_model(6, 2, 1, 3, seed=0).args(),
        "head dim D = 0 (no columns)": make_model(6, 2, 1, 0, seed=0).args(),
        "wk columns not Hkv * D": (wq, wk[:, :3], wv, wo),
        "wk rows not C": (wq, wk[:5], wv, wo),
        "wv (C, 2 * Hkv * D)": (wq, wk, torch.cat([wv, wv], 1), wo),
        "wo transposed (C, H * D)": (wq, wk, wv, wo.T.contiguous()),
        "wo rows not H * D": (wq, wk, wv, wo[:4]),
        "wo columns not C (H * D, 5)": (wq, wk, wv, wo[:, :5]),
        "wk float64, the rest float32": (wq, wk.double(), wv, wo),
        "wo float16, the rest float32": (wq, wk, wv, wo.half()),
        "integer weights": tuple(w.long() for w in m.args()),
        "wv a list": (wq, wk, wv.tolist(), wo),
    }
    each_raises(cases, lambda weights: candidate.LlamaAttention(*weights, n_heads=2, n_kv_heads=1))


@pytest.mark.parametrize(
    "rope_base", [0, 0.0, -10000.0, float("inf"), float("nan"), True, pytest.param("10000", id="str-10000")]
)
def test_bad_rope_base_raises(candidate, rope_base):
    # 0 and 0.0 are values, not "use the default"
    model = make_model(8, 2, 1, 4, seed=0)
    with expect_raises("ValueError"):
        candidate.LlamaAttention(*model.args(), n_heads=2, n_kv_heads=1, rope_base=rope_base)


def test_bad_x_raises(candidate):
    attn = layer(candidate, make_model(8, 2, 1, 4, seed=0))
    x = make_x(2, 3, 8, seed=0)
    cases = {"2-D x": x[0], "4-D x": x[None], "x with C = 6": x[..., :6], "x with T = 0": x[:, :0]}
    cases |= {"x with B = 0": x[:0], "float64 x for float32 weights": x.double(), "x a nested list": x.tolist()}
    each_raises(cases, lambda bad: attn.prefill(bad))
    _, cache = attn.prefill(x)
    cases = {"3-D x_t": x[:, :1], "1-D x_t": x[0, 0], "x_t of batch 1, cache of batch 2": x[:1, 0]}
    cases |= {
        "x_t with C = 6": x[:, 0, :6],
        "float16 x_t for float32 weights": x[:, 0].half(),
        "x_t a list": x[:, 0].tolist(),
    }
    each_raises(cases, lambda bad: attn.decode_step(bad, cache))


def test_bad_attention_mask_raises(candidate):
    attn = layer(candidate, make_model(8, 2, 1, 4, seed=0))
    x = make_x(2, 3, 8, seed=0)
    good = left_padded_mask([3, 2], 3)
    cases = {"int64 mask": good.long(), "float mask": good.float(), "mask (B, T + 1)": left_padded_mask([3, 2], 4)}
    cases |= {"mask (B,)": good[:, 0], "mask of batch 1": good[:1], "mask as a list": good.tolist()}
    each_raises(cases, lambda mask: attn.prefill(x, mask))


def test_right_or_middle_padding_raises(candidate):
    attn = layer(candidate, make_model(8, 2, 1, 4, seed=0))
    x = make_x(2, 3, 8, seed=0)
    rows = {"[T, F, T]": [True, False, True], "[T, T, F]": [True, True, False], "[F, T, F]": [False, True, False]}
    cases = {f"second row {label}": torch.tensor([[True] * 3, row]) for label, row in rows.items()}
    each_raises(cases, lambda mask: attn.prefill(x, mask))


def test_bad_cache_raises(candidate):
    attn = layer(candidate, make_model(8, 2, 1, 4, seed=0))
    k = torch.zeros(2, 1, 3, 4)
    mask = torch.ones(2, 3, dtype=torch.bool)
    cases = {
        "k 3-D": (k[:, 0], k[:, 0], mask),
        "k with 2 kv heads": (torch.zeros(2, 2, 3, 4), torch.zeros(2, 2, 3, 4), mask),
        "k with D = 2": (k[..., :2], k[..., :2], mask),
        "k as (B, T, Hkv, D)": (torch.zeros(2, 3, 1, 4), torch.zeros(2, 3, 1, 4), mask),
        "v shorter than k": (k, k[:, :, :2], mask),
        "k float64": (k.double(), k, mask),
        "v float64": (k, k.double(), mask),
        "mask int64": (k, k, mask.long()),
        "mask (B, T + 1)": (k, k, torch.ones(2, 4, dtype=torch.bool)),
        "mask of batch 1": (k, k, mask[:1]),
        "k a list": (k.tolist(), k, mask),
        "mask a list": (k, k, mask.tolist()),
    }
    x_t = make_x(2, 1, 8, seed=0)[:, 0]
    each_raises(cases, lambda c: attn.decode_step(x_t, hand_cache(*c)))


# -- property-based ---------------------------------------------------------------------------


@st.composite
def cases(draw):
    Hkv = draw(st.sampled_from([1, 2, 3]))
    H = Hkv * draw(st.sampled_from([1, 2, 3]))
    D = draw(st.sampled_from([2, 4, 6]))
    C = draw(st.sampled_from([4, 8, 12]))
    B = draw(st.integers(1, 3))
    T = draw(st.integers(1, 7))
    lengths = draw(st.lists(st.integers(0, T), min_size=B, max_size=B))
    S = draw(st.integers(1, 3))
    rope_base = draw(st.sampled_from([10000.0, 1000.0, 30.0]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    seed = draw(st.integers(0, 2**16))
    return H, Hkv, D, C, B, T, lengths, S, rope_base, dtype, seed


@settings(max_examples=12)
@given(case=cases())
def test_random_prefill_and_decode_match_oracle(candidate, case):
    H, Hkv, D, C, B, T, lengths, S, rope_base, dtype, seed = case
    model = make_model(C, H, Hkv, D, seed=seed, dtype=DTYPES[dtype], rope_base=rope_base)
    x = make_x(B, T, C, seed=seed, dtype=DTYPES[dtype])
    mask = left_padded_mask(lengths, T)
    attn, cache = check_prefill(candidate, model, x, mask)
    check_decode(attn, model, x, mask, cache, make_x(B, S, C, seed=seed + 1, dtype=DTYPES[dtype]))
