"""Hidden tests for nf4-quantization.

Expected values come from nf4_oracle.py (checker side, float64 with the statement's float32
roundings). Packed bytes, absmax, NF4 dequantization, int8 codes and scales are compared
exactly; the double-quantization mean and double_dequantize with the float32 tolerance.
"""

import math

import nf4_oracle as oracle
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
C32 = torch.tensor(oracle.NF4, dtype=torch.float32)
MID32 = oracle.MIDPOINTS.to(torch.float32)  # (15,)
EXACT = {"atol": 0.0, "rtol": 0.0}


def name_of(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_nf4(candidate, w, block_size, label="", dequantize_dtypes=("float32",)):
    """packed and absmax exactly against the oracle, then nf4_dequantize exactly for each dtype."""
    where = f"{label}; " if label else ""
    where += f"w {tuple(w.shape)} {name_of(w.dtype)}, block_size={block_size}"
    packed, absmax = candidate.nf4_quantize(w, block_size)
    expected_packed, expected_absmax = oracle.nf4_quantize(w, block_size)
    assert_close(absmax, expected_absmax, name=f"absmax ({where})", **EXACT)
    if isinstance(packed, torch.Tensor) and packed.shape == expected_packed.shape and packed.dtype == torch.uint8:
        codes = oracle.unpack(packed, w.numel())
        expected = oracle.unpack(expected_packed, w.numel())
        bad = (codes != expected).nonzero().flatten()[:5].tolist()
        assert not bad, (
            f"NF4 codes ({where}): {int((codes != expected).sum())} of {w.numel()} differ; first at flat indices "
            f"{bad}: got codes {codes[bad].tolist()}, expected {expected[bad].tolist()} "
            f"(x = w / absmax = {[float(oracle.f32(w.reshape(-1)[i].double() / expected_absmax[i // block_size].double())) if float(expected_absmax[i // block_size]) else 0.0 for i in bad]})"
        )
    assert_close(packed, expected_packed, name=f"packed ({where})", **EXACT)
    expected_w_hat = oracle.nf4_dequantize(expected_packed, expected_absmax, tuple(w.shape), block_size)
    for dtype_name in dequantize_dtypes:
        w_hat = candidate.driver.dequantize(expected_packed, expected_absmax, list(w.shape), block_size, dtype_name)
        assert_close(
            w_hat,
            expected_w_hat.to(DTYPES[dtype_name]),
            name=f"nf4_dequantize output, dtype={dtype_name} ({where})",
            **EXACT,
        )
    return packed, absmax


def check_double(candidate, absmax, block_size, label=""):
    """mean with the float32 tolerance, then codes and scales exactly from that mean, then the round trip."""
    where = f"{label}; " if label else ""
    where += f"absmax ({absmax.numel()},), block_size={block_size}"
    codes, scales, mean = candidate.double_quantize(absmax, block_size)
    assert_close(mean, oracle.exact_mean(absmax).to(torch.float32), name=f"mean ({where})")
    expected_codes, expected_scales = oracle.double_quantize_given_mean(absmax, mean, block_size)
    assert_close(scales, expected_scales, name=f"scales ({where}; from your mean {float(mean)!r})", **EXACT)
    assert_close(codes, expected_codes, name=f"int8 codes ({where}; from your mean {float(mean)!r})", **EXACT)
    restored = candidate.double_dequantize(expected_codes, expected_scales, mean, block_size)
    expected_restored = oracle.double_dequantize(expected_codes, expected_scales, mean, block_size)
    assert_close(restored, expected_restored, name=f"double_dequantize output ({where})")
    return codes, scales, mean


def with_absmax_one(values) -> torch.Tensor:
    """A block whose absmax is exactly 1 (its first element), so x = w exactly."""
    return torch.cat([torch.tensor([1.0]), torch.as_tensor(values, dtype=torch.float32).reshape(-1)])


# -- the statement's examples and the code table -------------------------------------------------


def test_statement_examples(candidate):
    w = torch.tensor([[0.5, -1.0, 0.0], [0.25, 4.0, -2.0], [1.0, 3.0, -0.6]])
    packed, absmax = check_nf4(candidate, w, 4, "statement example")
    assert packed.tolist() == [192, 122, 242, 174, 0], f"packed {packed.tolist()}, expected [192, 122, 242, 174, 0]"
    assert_close(absmax, torch.tensor([1.0, 4.0, 0.6]), name="absmax (statement example)", **EXACT)
    packed, _ = candidate.nf4_quantize(torch.tensor([1.0, 0.03979014977812767]))
    assert packed.tolist() == [0xF7], f"a tie at m_7: packed {packed.tolist()}, expected [247] (code 7, the lower)"
    packed, absmax = candidate.nf4_quantize(torch.tensor([0.0, 0.0, 0.0, 0.0, 3.0, -3.0]), 4)
    assert packed.tolist() == [0x77, 0x77, 0xF0], f"all-zero block: packed {packed.tolist()}, expected [119, 119, 240]"
    assert absmax.tolist() == [0.0, 3.0], f"all-zero block: absmax {absmax.tolist()}, expected [0.0, 3.0]"
    codes, scales, mean = check_double(candidate, torch.tensor([1.0, 2.0, 4.0, 9.0]), 2, "statement example")
    assert codes.tolist() == [-127, -85, 0, 127], f"codes {codes.tolist()}, expected [-127, -85, 0, 127]"
    half = torch.tensor([327.0, 73.0, 262.5, 137.5, 263.5, 136.5, 200.0, 200.0])
    codes, scales, mean = check_double(candidate, half, 8, "statement example, half to even")
    assert codes.tolist() == [127, -127, 62, -62, 64, -64, 0, 0], f"codes {codes.tolist()} (half to even)"


def test_code_table_values_quantize_to_their_codes(candidate):
    # the 16 values in order in one block (absmax 1): codes 0..15, bytes 0x01, 0x23, ..., 0xEF
    packed, absmax = check_nf4(candidate, C32.clone(), 16, "the code table", ("float32", "float64"))
    assert packed.tolist() == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF], f"packed {packed.tolist()}"
    scaled = C32 * 3.0  # absmax 3: x = c_k * 3 / 3 is c_k again
    check_nf4(candidate, scaled.flip(0).reshape(4, 4), 16, "the code table times 3, reversed")


def test_midpoint_ties_go_to_the_lower_code(candidate):
    below = torch.nextafter(MID32, torch.full_like(MID32, -2.0))
    above = torch.nextafter(MID32, torch.full_like(MID32, 2.0))
    w = with_absmax_one(torch.stack([MID32, below, above], dim=1))  # (1 + 45,)
    packed, _ = check_nf4(candidate, w, 64, "midpoints m_k, just below, just above")
    codes = oracle.unpack(packed, w.numel())[1:].reshape(15, 3)
    k = torch.arange(15)
    assert torch.equal(codes, torch.stack([k, k, k + 1], dim=1)), f"codes at m_k, below, above: {codes.tolist()}"


def test_nibble_order_high_is_the_even_element(candidate):
    packed, _ = candidate.nf4_quantize(torch.tensor([1.0, -1.0]), 2)
    assert packed.tolist() == [0xF0], f"[1, -1] packed as {packed.tolist()}, expected [240] (code 15 high, 0 low)"
    packed, _ = candidate.nf4_quantize(torch.tensor([-1.0, 1.0, 0.0, 1.0]), 4)
    assert packed.tolist() == [0x0F, 0x7F], f"[-1, 1, 0, 1] packed as {packed.tolist()}, expected [15, 127]"


# -- blocks ------------------------------------------------------------------------------------------


def test_absmax_is_per_block(candidate):
    # four blocks of 64 at magnitudes 1e-3 .. 1e3
    g = torch.Generator().manual_seed(3)
    w = torch.randn(4, 64, generator=g) * torch.tensor([[1e-3], [1.0], [1e3], [7.0]])
    _, absmax = check_nf4(candidate, w, 64, "blocks of very different magnitudes")
    assert absmax.shape == (4,), f"absmax shape {tuple(absmax.shape)}, expected (4,)"


@pytest.mark.parametrize(("N", "block_size"), [(64 * 3 + 5, 64), (5, 64), (7, 3), (65, 64)])
def test_last_partial_block(candidate, N, block_size):
    g = torch.Generator().manual_seed(N)
    w = torch.randn(N, generator=g)
    w[-1] = 0.5 * float(w.abs().max())  # the tail's own absmax is not the tensor's
    check_nf4(candidate, w, block_size, "a partial last block")


def test_odd_length_unused_nibble(candidate):
    w = torch.tensor([0.2, -1.0, 0.9, 1.0, 0.3])
    packed, absmax = check_nf4(candidate, w, 64, "odd N")
    assert packed.tolist()[-1] & 0xF == 0, f"the unused low nibble of the last byte is {packed.tolist()[-1] & 0xF}"
    tampered = oracle.nf4_quantize(w, 64)[0].clone()
    tampered[-1] |= 0xF
    expected = oracle.nf4_dequantize(tampered, absmax, (5,), 64)
    got = candidate.driver.dequantize(tampered, absmax, (5,), 64, "float32")
    assert_close(got, expected, name="nf4_dequantize with 0xF in the unused nibble (it must be ignored)", **EXACT)


def test_all_zero_blocks(candidate):
    w = torch.zeros(5, 8)
    w[1] = torch.linspace(-2, 1, 8)
    w[3, 2] = -0.0
    w[4, 7] = 1e-3
    packed, absmax = check_nf4(candidate, w, 8, "all-zero blocks")
    expected_absmax = torch.tensor([0.0, 2.0, 0.0, 0.0, 1e-3])
    assert_close(absmax, expected_absmax, name="absmax with all-zero blocks", **EXACT)
    w_hat = candidate.nf4_dequantize(packed, absmax, (5, 8), 8)
    assert not torch.isnan(w_hat).any(), "nf4_dequantize returned NaN for an all-zero block"
    only_zeros = torch.zeros(3)
    check_nf4(candidate, only_zeros, 64, "a tensor of zeros")


def test_block_size_one(candidate):
    w = torch.tensor([[0.3, -2.0, 0.0], [5.0, -0.001, 1e4]])
    packed, absmax = check_nf4(candidate, w, 1, "block_size 1")
    assert_close(absmax, w.abs().reshape(-1), name="absmax with block_size 1", **EXACT)


def test_block_larger_than_the_tensor(candidate):
    w = oracle.random_weight((3, 5), torch.float32, seed=4)
    check_nf4(candidate, w, 4096, "one partial block")


# -- shapes and layouts ---------------------------------------------------------------------------


def test_zero_dim_and_single_element(candidate):
    for w in (torch.tensor(-0.7), torch.tensor([2.5]), torch.tensor([[[0.0]]])):
        packed, absmax = check_nf4(candidate, w, 64, "one element")
        w_hat = candidate.driver.dequantize(packed, absmax, list(w.shape), 64, "float32")
        assert tuple(w_hat.shape) == tuple(w.shape), f"dequantized shape {tuple(w_hat.shape)} for {tuple(w.shape)}"


def test_non_contiguous_inputs(candidate):
    w = oracle.random_weight((6, 10), torch.float32, seed=5, spread=10.0)
    packed, absmax, contiguous = candidate.driver.quantize_transposed(w, 8)
    assert not contiguous
    expected_packed, expected_absmax = oracle.nf4_quantize(w.T.contiguous(), 8)
    assert_close(absmax, expected_absmax, name="absmax of w.T (row-major order of the view)", **EXACT)
    assert_close(packed, expected_packed, name="packed of w.T (row-major order of the view)", **EXACT)
    packed, absmax = candidate.driver.quantize_strided(w, 3)
    expected_packed, expected_absmax = oracle.nf4_quantize(w[:, ::2].contiguous(), 3)
    assert_close(absmax, expected_absmax, name="absmax of w[:, ::2]", **EXACT)
    assert_close(packed, expected_packed, name="packed of w[:, ::2]", **EXACT)


def test_dequantize_shape_forms(candidate):
    w = oracle.random_weight((2, 3, 5), torch.float32, seed=6)
    packed, absmax = oracle.nf4_quantize(w, 4)
    expected = oracle.nf4_dequantize(packed, absmax, (2, 3, 5), 4)
    for shape, size in (((2, 3, 5), False), ([2, 3, 5], False), ((2, 3, 5), True), ((30,), False), ((5, 6), True)):
        got = candidate.driver.dequantize(packed, absmax, shape, 4, "float32", size)
        form = "torch.Size" if size else type(shape).__name__
        assert_close(got, expected.reshape(tuple(shape)), name=f"nf4_dequantize, shape {shape} as a {form}", **EXACT)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float64", "float32"])
def test_dequantize_output_dtype(candidate, dtype_name):
    w = oracle.random_weight((4, 33), torch.float32, seed=7, spread=30.0)
    check_nf4(candidate, w, 16, f"dequantize to {dtype_name}", (dtype_name,))


# -- property-based ------------------------------------------------------------------------------------


@st.composite
def weights(draw):
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    dtype = draw(st.sampled_from(["float32", "float16", "bfloat16", "float64"]))
    block_size = draw(st.sampled_from([1, 2, 3, 7, 16, 64, 100]))
    spread = draw(st.sampled_from([1.0, 10.0, 1e3]))
    return shape, dtype, block_size, spread, draw(st.integers(0, 2**16))


@settings(max_examples=15, report_multiple_bugs=False)
@given(case=weights())
def test_random_weights_match_oracle(candidate, case):
    shape, dtype, block_size, spread, seed = case
    w = oracle.random_weight(shape, DTYPES[dtype], seed, spread)
    check_nf4(candidate, w, block_size, f"seed {seed}, spread {spread}")


@st.composite
def absmax_vectors(draw):
    n = draw(st.integers(1, 700))
    block_size = draw(st.sampled_from([1, 3, 64, 256, 1000]))
    low, width = draw(st.sampled_from([(0.0, 1.0), (1.0, 0.01), (1e-3, 1e3), (100.0, 5.0)]))
    return n, block_size, low, width, draw(st.integers(0, 2**16))


@settings(max_examples=12, report_multiple_bugs=False)
@given(case=absmax_vectors())
def test_random_double_quantization_matches_oracle(candidate, case):
    n, block_size, low, width, seed = case
    g = torch.Generator().manual_seed(seed)
    absmax = low + width * torch.rand(n, generator=g)
    check_double(candidate, absmax, block_size, f"seed {seed}, values in [{low}, {low + width}]")


# -- numerics and dtypes --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_half_precision_inputs(candidate, dtype_name):
    dtype = DTYPES[dtype_name]
    w = oracle.random_weight((8, 64), dtype, seed=8, spread=100.0)
    packed, absmax = check_nf4(candidate, w, 64, f"{dtype_name} weights", ("float32", dtype_name))
    assert absmax.dtype == torch.float32, f"absmax dtype {absmax.dtype} for {dtype_name} w, expected float32"
    big = (torch.linspace(-1, 1, 64) * (6e4 if dtype == torch.float16 else 3e38)).to(dtype)
    check_nf4(candidate, big, 64, f"{dtype_name} weights near the format's maximum")


def test_float64_is_rounded_to_float32_first(candidate):
    # m_k + a float64 hair rounds onto m_k in float32: code k (the tie), not k + 1
    nudged = MID32.double() + 1e-12
    assert torch.equal(nudged.float(), MID32)
    w = torch.cat([torch.tensor([1.0], dtype=torch.float64), nudged, -nudged])
    packed, absmax = check_nf4(candidate, w, 64, "float64 weights a hair above the float32 midpoints")
    assert absmax.dtype == torch.float32, f"absmax dtype {absmax.dtype} for float64 w, expected float32"
    # a float64 absmax that is not a float32 value: x uses the float32 absmax
    w = torch.tensor([1.0 + 2**-30, 0.5, -0.3, 1.0], dtype=torch.float64)
    check_nf4(candidate, w, 4, "a float64 absmax between float32 values")


@pytest.mark.parametrize("magnitude", [1e-40, 1e-30, 1e4, 1e30, 3e38])
def test_extreme_magnitudes(candidate, magnitude):
    g = torch.Generator().manual_seed(9)
    w = torch.randn(3, 16, generator=g, dtype=torch.float64).clamp(-3, 3) / 3 * magnitude
    w[0, 0] = magnitude
    w = w.to(torch.float32)
    packed, absmax = check_nf4(candidate, w, 16, f"|w| up to {magnitude:g}")
    assert torch.isfinite(absmax).all()


def test_double_quantization_half_to_even(candidate):
    # scale 1 exactly: centred values k + 0.5 are exact ties
    centred = torch.tensor([127.0, -127.0, 62.5, -62.5, 63.5, -63.5, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.0, 0.0])
    absmax = 300.0 + centred
    codes, _, _ = check_double(candidate, absmax, 14, "exact ties (scale 1)")
    expected = [127, -127, 62, -62, 64, -64, 0, 0, 2, -2, 2, -2, 0, 0]
    assert codes.tolist() == expected, f"codes {codes.tolist()}, expected {expected} (half to even)"


def test_double_quantization_subtracts_the_mean(candidate):
    # absmax values 10 +- 0.01: centred values use the whole int8 range
    absmax = torch.tensor([9.99, 10.0, 10.01, 10.005, 9.995, 10.0])
    codes, scales, mean = check_double(candidate, absmax, 256, "values close to their mean")
    assert int(codes.abs().max()) == 127


@pytest.mark.parametrize("n", [300, 257, 511])
def test_double_quantization_partial_last_block(candidate, n):
    g = torch.Generator().manual_seed(n)
    absmax = 1.0 + torch.rand(n, generator=g)
    absmax[-1] = 5.0  # the tail block's own max
    codes, scales, mean = check_double(candidate, absmax, 256, "a partial last block")
    assert scales.shape == (2,), f"scales shape {tuple(scales.shape)}, expected (2,)"


def test_double_quantization_constant_and_zero_input(candidate):
    for absmax in (torch.full((5,), 0.25), torch.zeros(300), torch.tensor([3.0])):
        codes, scales, mean = check_double(candidate, absmax, 256, f"constant {float(absmax[0])}")
        assert not torch.isnan(scales).any(), "NaN scale for a constant block"
        assert codes.abs().max() == 0, f"codes {codes.tolist()[:8]} for a constant input, expected 0"
    # one constant block next to a varying one
    absmax = torch.cat([torch.full((4,), 2.0), torch.tensor([1.0, 3.0, 2.0, 2.0])])
    check_double(candidate, absmax, 4, "a constant first block")


def test_double_quantization_subnormal_scales(candidate):
    tiny = 2**-149  # the smallest float32 subnormal
    # centred +-178 ulps: scale 178 / 127 ulps rounds to 1 ulp, the ratio 178 is clamped to 127
    absmax = torch.tensor([0.0, 356 * tiny, 178 * tiny, 178 * tiny], dtype=torch.float32)
    codes, scales, _ = check_double(candidate, absmax, 4, "a subnormal scale")
    assert codes.tolist() == [-127, 127, 0, 0], f"codes {codes.tolist()}, expected [-127, 127, 0, 0] (the clamp)"
    # centred +-1 ulp: the scale underflows to 0, codes 0
    absmax = torch.tensor([0.0, 2 * tiny], dtype=torch.float32)
    codes, scales, _ = check_double(candidate, absmax, 4, "a scale that underflows to 0")
    assert codes.tolist() == [0, 0] and scales.tolist() == [0.0], f"codes {codes.tolist()}, scales {scales.tolist()}"


def test_double_dequantize_statement_example(candidate):
    codes = torch.tensor([-127, -85, 0, 127], dtype=torch.int8)
    scales = torch.tensor([3.0, 5.0]) / 127
    got = candidate.double_dequantize(codes, scales, torch.tensor(4.0), 2)
    expected = oracle.double_dequantize(codes, scales, torch.tensor(4.0), 2)
    assert_close(got, expected, name="double_dequantize (statement example)")
    got = candidate.double_dequantize(codes, scales, torch.tensor(0.0), 2)
    assert_close(got, oracle.double_dequantize(codes, scales, torch.tensor(0.0), 2), name="double_dequantize, mean 0")


def test_pipeline_with_double_quantization(candidate):
    w = oracle.random_weight((40, 64), torch.float32, seed=10, spread=50.0)  # 40 blocks of 64
    packed, absmax = check_nf4(candidate, w, 64, "pipeline")
    codes, scales, mean = check_double(candidate, absmax, 16, "pipeline")
    restored = candidate.double_dequantize(codes, scales, mean, 16)
    w_hat = candidate.nf4_dequantize(packed, restored, (40, 64), 64)
    expected_restored = oracle.double_dequantize(*oracle.double_quantize_given_mean(absmax, mean, 16), mean, 16)
    expected = oracle.nf4_dequantize(packed, expected_restored, (40, 64), 64)
    assert_close(w_hat, expected, name="w_hat through double quantization")


# -- defaults, caller data, calls in sequence ----------------------------------------------------------


def test_explicit_defaults_equal_omitted(candidate):
    w = oracle.random_weight((3, 70), torch.float32, seed=11)
    omitted = candidate.nf4_quantize(w)
    explicit = candidate.nf4_quantize(w, 64)
    expected = oracle.nf4_quantize(w, 64)
    for got, label in ((omitted, "omitted"), (explicit, "block_size=64")):
        assert_close(got[0], expected[0], name=f"packed, block_size {label}", **EXACT)
        assert_close(got[1], expected[1], name=f"absmax, block_size {label}", **EXACT)
    w_hat = oracle.nf4_dequantize(*expected, (3, 70), 64)
    assert_close(candidate.nf4_dequantize(*expected, (3, 70)), w_hat, name="nf4_dequantize, defaults", **EXACT)
    for got in candidate.driver.dequantize_default_dtype(*expected, (3, 70), 64):
        assert_close(got, w_hat, name="nf4_dequantize, dtype omitted / float32", **EXACT)
    absmax = 1.0 + torch.rand(600, generator=torch.Generator().manual_seed(1))
    a = candidate.double_quantize(absmax)
    b = candidate.double_quantize(absmax, 256)
    assert_close(a[1], b[1], name="scales, block_size omitted vs 256", **EXACT)
    assert a[1].shape == (3,), f"scales shape {tuple(a[1].shape)} with the default block_size, expected (3,)"
    assert_close(a[0], b[0], name="codes, block_size omitted vs 256", **EXACT)
    restored = candidate.double_dequantize(b[0], b[1], b[2])
    assert_close(restored, oracle.double_dequantize(b[0], b[1], b[2], 256), name="double_dequantize, default")


def test_inputs_unchanged_and_calls_independent(candidate):
    w = oracle.random_weight((5, 24), torch.float32, seed=12, spread=10.0)
    other = oracle.random_weight((7,), torch.float16, seed=13)
    before = w.clone()
    first = check_nf4(candidate, w, 8, "first call")
    check_nf4(candidate, other, 3, "a different tensor and block size")
    check_nf4(candidate, w, 12, "the first tensor, another block size")
    again = check_nf4(candidate, w, 8, "the first call repeated")
    assert torch.equal(w, before), "w changed"
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1]), "a repeated call gave another result"
    absmax = first[1].clone()
    check_double(candidate, absmax, 4, "first")
    check_double(candidate, absmax[:7], 2, "a prefix, another block size")
    check_double(candidate, absmax, 4, "first repeated")
    assert torch.equal(absmax, first[1]), "absmax changed"


# -- errors -------------------------------------------------------------------------------------------------

W = torch.tensor([0.5, -1.0, 0.25, 0.0])


@pytest.mark.parametrize("case", ["int64", "int8", "bool", "list"])
def test_non_float_w_raises(candidate, case):
    w = [0.5, 1.0] if case == "list" else W.to(getattr(torch, case))
    with expect_raises("ValueError"):
        candidate.nf4_quantize(w, 64)


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty_w_raises(candidate, shape):
    with expect_raises("ValueError"):
        candidate.nf4_quantize(torch.zeros(shape), 64)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_w_raises(candidate, value):
    w = W.clone()
    w[2] = value
    with expect_raises("ValueError"):
        candidate.nf4_quantize(w, 64)


@pytest.mark.parametrize("block_size", [0, -64, 64.0, True, "64"])
def test_bad_block_size_raises(candidate, block_size):
    packed, absmax = oracle.nf4_quantize(W, 64)
    codes, scales = oracle.double_quantize_given_mean(absmax, torch.tensor(1.0), 64)
    calls = [
        lambda: candidate.nf4_quantize(W, block_size),
        lambda: candidate.nf4_dequantize(packed, absmax, (4,), block_size),
        lambda: candidate.double_quantize(absmax, block_size),
        lambda: candidate.double_dequantize(codes, scales, torch.tensor(1.0), block_size),
    ]
    for call in calls:
        with expect_raises("ValueError"):
            call()


@pytest.mark.parametrize(
    "case",
    ["packed int8", "packed 2-D", "packed too short", "absmax too long", "shape zero", "shape negative", "shape float"],
)
def test_bad_dequantize_arguments_raise(candidate, case):
    packed, absmax = oracle.nf4_quantize(torch.arange(1.0, 11.0), 4)  # 5 bytes, 3 blocks
    shape = (10,)
    if case == "packed int8":
        packed = packed.to(torch.int8)
    elif case == "packed 2-D":
        packed = packed[None]
    elif case == "packed too short":
        packed = packed[:4]
    elif case == "absmax too long":
        absmax = torch.cat([absmax, absmax])
    elif case == "shape zero":
        shape = (0, 10)
    elif case == "shape float":
        shape = (10.0,)
    else:
        shape = (-2, -5)
    with expect_raises("ValueError"):
        candidate.nf4_dequantize(packed, absmax, shape, 4)


@pytest.mark.parametrize("dtype_name", ["int32", "uint8", "bool"])
def test_bad_dequantize_dtype_raises(candidate, dtype_name):
    packed, absmax = oracle.nf4_quantize(W, 64)
    with expect_raises("ValueError"):
        candidate.driver.dequantize(packed, absmax, (4,), 64, dtype_name)


@pytest.mark.parametrize("case", ["float64", "2-D", "empty", "nan", "inf"])
def test_bad_absmax_raises(candidate, case):
    absmax = torch.tensor([1.0, 2.0])
    if case == "float64":
        absmax = absmax.double()
    elif case == "2-D":
        absmax = absmax[None]
    elif case == "empty":
        absmax = absmax[:0]
    else:
        absmax[1] = math.nan if case == "nan" else math.inf
    packed = torch.tensor([0xF0, 0x7F], dtype=torch.uint8)
    calls = [
        lambda: candidate.nf4_dequantize(packed, absmax, (4,), 2),
        lambda: candidate.double_quantize(absmax, 256),
        lambda: candidate.double_dequantize(torch.tensor([1, -1], dtype=torch.int8), absmax, torch.tensor(0.0), 1),
    ]
    for call in calls:
        with expect_raises("ValueError"):
            call()


@pytest.mark.parametrize(
    "case", ["codes int32", "codes empty", "codes 2-D", "scales short", "mean 1-D", "mean float64", "mean nan"]
)
def test_bad_double_dequantize_arguments_raise(candidate, case):
    codes = torch.tensor([-127, -85, 0, 127], dtype=torch.int8)
    scales = torch.tensor([3.0, 5.0]) / 127
    mean = torch.tensor(4.0)
    if case == "codes int32":
        codes = codes.to(torch.int32)
    elif case == "codes empty":
        codes = codes[:0]
    elif case == "codes 2-D":
        codes = codes[None]
    elif case == "scales short":
        scales = scales[:1]
    elif case == "mean 1-D":
        mean = mean[None]
    elif case == "mean float64":
        mean = mean.double()
    else:
        mean = torch.tensor(math.nan)
    with expect_raises("ValueError"):
        candidate.double_dequantize(codes, scales, mean, 2)
