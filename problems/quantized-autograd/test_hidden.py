"""Hidden tests for quantized-autograd (LSQ fake quantization as a torch.autograd.Function).

Expected values come from the float64 oracle in lsq_oracle.py (checker side). Gradients are
computed in the worker by the problem's driver, which makes x and scale leaves, calls
lsq_fake_quantize and backward(grad_out), and returns plain tensors.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lsq_oracle import lsq_oracle, make_unambiguous, quant_range, random_case

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def describe(x, scale, bits, signed, axis) -> str:
    return (
        f"x {tuple(x.shape)} {str(x.dtype).removeprefix('torch.')}, "
        f"scale {tuple(scale.shape)} {str(scale.dtype).removeprefix('torch.')}, "
        f"bits={bits}, signed={signed}, axis={axis}"
    )


def check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, signed, axis, label=""):
    """Run forward + backward in the worker and compare y, grad_x, grad_s with the oracle."""
    atol, rtol = tolerances[str(scale.dtype).removeprefix("torch.")]
    expected = lsq_oracle(x, scale, grad_out, bits, signed, axis, rtol)
    y, grad_x, grad_s = candidate.driver.forward_backward(x, scale, grad_out, bits, signed, axis)
    where = (label + "; " if label else "") + describe(x, scale, bits, signed, axis)
    assert_close(y, expected.y, name=f"y ({where})")
    assert grad_x is not None, f"grad_x is None ({where}): x requires grad"
    assert_close(grad_x, expected.grad_x, name=f"grad_x ({where})")
    assert grad_s is not None, f"grad_s is None ({where}): scale requires grad"
    grad_s_atol = max(atol, expected.grad_s_atol.max().item())
    assert_close(grad_s, expected.grad_s, name=f"grad_s ({where})", atol=grad_s_atol, rtol=rtol)


# -- forward exactness: ties and clamp edges -------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ties_round_half_to_even(candidate, tolerances, dtype):
    s = 0.25  # power of two: x / s is exact
    v = torch.arange(-20, 21, dtype=torch.float64) + 0.5  # -19.5 .. 20.5, every one a tie
    x = (v * s).to(DTYPES[dtype])
    scale = torch.tensor(s, dtype=DTYPES[dtype])
    y = candidate.lsq_fake_quantize(x, scale, bits=8, signed=True)
    expected = (torch.round(v) * s).to(DTYPES[dtype])
    assert_close(y, expected, name=f"y at exact ties x / s = k + 0.5 (s = {s}, {dtype})", atol=0, rtol=0)
    check_against_oracle(candidate, tolerances, x, scale, torch.ones_like(x), 8, True, None, "ties")


def edge_values(bits: int, signed: bool) -> torch.Tensor:
    qmin, qmax = quant_range(bits, signed)
    offsets = [-3.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 3.0]
    v = [qmin + o for o in offsets] + [qmax + o for o in offsets]
    return torch.tensor(sorted(set(v)), dtype=torch.float64)


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("signed", [True, False])
def test_clamp_edges_one_element_per_channel(candidate, tolerances, bits, signed):
    # 1-D x of shape (C,) with axis 0: every element has its own scale, so grad_s exposes d
    # element by element; v == qmin and v == qmax are outside (grad_x 0, d = qmin / qmax)
    v = edge_values(bits, signed)
    scale = torch.full((v.numel(),), 0.5)
    x = (v * 0.5).float()
    grad_out = torch.linspace(0.5, 1.5, v.numel())
    label = f"x / s = {[float(t) for t in v]}"
    check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, signed, 0, label)


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("signed", [True, False])
def test_clamp_edges_per_tensor(candidate, tolerances, bits, signed):
    v = edge_values(bits, signed)
    x = (v * 0.125).reshape(1, -1).repeat(3, 1).double()  # three rows of the edge values
    grad_out = torch.linspace(-1.0, 2.0, x.numel(), dtype=torch.float64).reshape(x.shape)
    scale = torch.tensor(0.125, dtype=torch.float64)
    label = f"rows of x / s = {[float(t) for t in v]}"
    check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, signed, None, label)


# -- gradients against the formula, property-based -------------------------------------------


@st.composite
def cases(draw, per_channel: bool):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(-ndim, ndim - 1)) if per_channel else None
    bits = draw(st.sampled_from([2, 3, 4, 8]))
    signed = draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"]))
    reach = draw(st.sampled_from([0.8, 1.5, 3.0]))
    seed = draw(st.integers(0, 2**16))
    return shape, axis, bits, signed, dtype, reach, seed


def run_case(candidate, tolerances, case):
    shape, axis, bits, signed, dtype, reach, seed = case
    x, scale, grad_out = random_case(shape, bits, signed, axis, DTYPES[dtype], seed, reach)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, signed, axis, f"seed {seed}")


@settings(max_examples=25, report_multiple_bugs=False)
@given(case=cases(per_channel=False))
def test_per_tensor_random(candidate, tolerances, case):
    run_case(candidate, tolerances, case)


@settings(max_examples=30, report_multiple_bugs=False)
@given(case=cases(per_channel=True))
def test_per_channel_random(candidate, tolerances, case):
    run_case(candidate, tolerances, case)


# -- explicit per-channel layouts --------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_per_channel_axes_3d(candidate, tolerances, axis):
    x, scale, grad_out = random_case((6, 5, 7), 4, True, axis, torch.float32, 11 + axis)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 4, True, axis)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("signed", [True, False])
def test_per_channel_1d(candidate, tolerances, axis, signed):
    x, scale, grad_out = random_case((33,), 8, signed, axis, torch.float64, 5)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 8, signed, axis)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_linear_weight_per_output_channel(candidate, tolerances, bits):
    # (F, C) weight, one scale per output row: n = C elements per scale
    x, scale, grad_out = random_case((48, 80), bits, True, 0, torch.float32, 100 + bits)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, True, 0)


@pytest.mark.parametrize("bits, signed", [(2, True), (4, False), (8, True)])
def test_activations_per_tensor(candidate, tolerances, bits, signed):
    # (B, T, C) activations with one scale: n = B * T * C
    x, scale, grad_out = random_case((4, 16, 40), bits, signed, None, torch.float32, bits)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, bits, signed, None)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=["0-d", "1", "1x1"])
def test_per_tensor_scale_shapes(candidate, tolerances, shape):
    x, scale, grad_out = random_case((5, 9), 4, True, None, torch.float64, 21)
    scale = scale.reshape(shape)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 4, True, None)


@pytest.mark.parametrize(
    "shape, axis, scale_shape",
    [((0, 3), None, ()), ((0, 3), 1, (3,)), ((2, 0), 0, (2,)), ((0, 3), 0, (0,))],
    ids=["per-tensor", "per-channel", "empty-channels", "no-channels"],
)
def test_empty_x(candidate, shape, axis, scale_shape):
    # no elements: y and grad_x are empty, grad_s is a sum over nothing, 0
    x, scale = torch.zeros(shape), torch.full(scale_shape, 0.5)
    y, grad_x, grad_s = candidate.driver.forward_backward(x, scale, torch.zeros(shape), 4, True, axis)
    where = describe(x, scale, 4, True, axis)
    assert_close(y, torch.zeros(shape), name=f"y ({where})")
    assert_close(grad_x, torch.zeros(shape), name=f"grad_x ({where})")
    assert_close(grad_s, torch.zeros(scale_shape), name=f"grad_s ({where})", atol=0, rtol=0)


def test_defaults_are_8_bit_signed_per_tensor(candidate, tolerances):
    s = 0.25
    v = torch.tensor([-200.0, -128.0, -100.5, -9.0, -3.5, 7.5, 9.0, 100.0, 127.0, 130.0])
    x, scale = v * s, torch.tensor(s)
    y = candidate.lsq_fake_quantize(x, scale)
    expected = lsq_oracle(x, scale, torch.ones_like(x), 8, True, None, 1e-4).y
    assert_close(y, expected, name=f"y of lsq_fake_quantize(x, scale) with the defaults, x / s = {v.tolist()}")


def test_zero_dim_x(candidate, tolerances):
    x, scale = torch.tensor(0.3), torch.tensor(0.25)
    check_against_oracle(candidate, tolerances, x, scale, torch.tensor(2.0), 4, True, None)


def test_single_channel(candidate, tolerances):
    x, scale, grad_out = random_case((1, 12), 4, False, 0, torch.float32, 8)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 4, False, 0)


# -- dtypes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_dtype, scale_dtype",
    [
        (torch.float16, torch.float16),
        (torch.float16, torch.float32),
        (torch.bfloat16, torch.float32),
        (torch.float32, torch.float64),
        (torch.float64, torch.float32),
    ],
)
def test_half_and_mixed_precision_inputs(candidate, tolerances, x_dtype, scale_dtype):
    # x / s and the rounding must happen in float32: in float16, v near 100 has a spacing of
    # 0.0625 and many elements would round to the wrong integer
    x, scale, grad_out = random_case((64, 96), 8, True, 0, torch.float32, 3, reach=1.2)
    scale = scale.to(scale_dtype)
    x = x.to(x_dtype)
    x = make_unambiguous(x, scale, 8, True, 0)
    grad_out = grad_out.to(x_dtype)
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 8, True, 0)


@pytest.mark.parametrize("scale_dtype", [torch.float16, torch.float32], ids=["float16-scale", "float32-scale"])
def test_half_sums_do_not_overflow(candidate, tolerances, scale_dtype):
    # every v is above qmax = 127, so sum(g_out * d) = 1024 * 127 = 130048 is beyond float16's
    # max (65504) while grad_s = g * sum = sqrt(1024 * 127) = 360.6 is not: the sum and the
    # product with g stay in float32 and only grad_s is cast back
    s = 0.0625  # power of two: x / s is exact
    v = torch.linspace(140.0, 250.0, 1024, dtype=torch.float64).round().reshape(32, 32)
    x, scale = (v * s).to(torch.float16), torch.tensor(s, dtype=scale_dtype)
    grad_out = torch.ones(32, 32, dtype=torch.float16)
    label = "x float16 above the clamp, sum(g_out * d) = 130048 > float16 max"
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 8, True, None, label)


# -- numerical stability --------------------------------------------------------------------


def test_float64_is_not_downcast(candidate, tolerances):
    # x / s sits 2^-30 off a tie: float64 resolves it, float32 rounds it onto the tie
    tiny = 2.0**-30
    v = torch.tensor(
        [2.5 + tiny, 4.5 - tiny, -2.5 - tiny, -6.5 + tiny, 10.5 + tiny, 0.5 - tiny],
        dtype=torch.float64,
    )
    x, scale = v * 0.25, torch.tensor(0.25, dtype=torch.float64)
    check_against_oracle(
        candidate,
        tolerances,
        x,
        scale,
        torch.ones_like(x),
        8,
        True,
        None,
        "x / s within 2^-30 of a tie (float64 inputs need float64 arithmetic)",
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_overflowing_ratio_no_nan(candidate, tolerances, dtype):
    # x / s overflows to +-inf: y must be the clamp value, gradients finite
    big = torch.finfo(DTYPES[dtype]).max
    x = torch.tensor([0.9 * big, -0.9 * big, 1.0, -0.75 * big, 0.3, 0.6 * big], dtype=torch.float64)
    x = x.to(DTYPES[dtype])
    scale = torch.tensor(0.25, dtype=DTYPES[dtype])
    grad_out = torch.tensor([1.0, -2.0, 0.5, 1.5, -1.0, 3.0], dtype=DTYPES[dtype])
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 8, True, None, "x / s overflows")


def test_tiny_scale_overflow_per_channel(candidate, tolerances):
    tiny = 2.0**-126  # smallest normal float32: x / s overflows for |x| >= 2
    x = torch.tensor([[4.0, -4.0, 1e-38, 0.0], [1.0, -0.6, 0.4, 3.0]])
    scale = torch.tensor([tiny, 0.5])
    grad_out = torch.tensor([[1.0, 1.0, 1.0, 1.0], [-1.0, 2.0, 1.0, 0.5]])
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 4, False, 0, "tiny scale")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_subnormal_scale_no_nan(candidate, tolerances, dtype):
    # a subnormal scale is a finite number > 0; 1 / s overflows to inf there, so x * (1 / s)
    # gives 0 * inf = nan for x = 0, while x / s = 0
    s = 2.0**-140 if dtype == "float32" else 2.0**-1070
    x = torch.tensor([0.0, 3.0 * s, -5.25 * s, 200.0 * s, 1.0, -1.0], dtype=torch.float64).to(DTYPES[dtype])
    scale = torch.tensor(s, dtype=DTYPES[dtype])
    grad_out = torch.tensor([1.0, -2.0, 0.5, 1.5, -1.0, 3.0], dtype=DTYPES[dtype])
    label = f"subnormal scale s = {s!r}, x / s = [0, 3, -5.25, 200, 1 / s, -1 / s]"
    check_against_oracle(candidate, tolerances, x, scale, grad_out, 8, True, None, label)


# -- the autograd.Function itself -------------------------------------------------------------


def test_function_apply_positional(candidate, tolerances):
    x, scale, grad_out = random_case((7, 6), 4, False, 1, torch.float64, 17)
    atol, rtol = tolerances["float64"]
    expected = lsq_oracle(x, scale, grad_out, 4, False, 1, rtol)
    y, grad_x, grad_s, node = candidate.driver.apply_backward(x, scale, grad_out, 4, False, 1)
    where = "LSQFakeQuantize.apply(x, scale, 4, False, 1); " + describe(x, scale, 4, False, 1)
    assert_close(y, expected.y, name=f"y ({where})")
    assert_close(grad_x, expected.grad_x, name=f"grad_x ({where})")
    grad_s_atol = max(atol, expected.grad_s_atol.max().item())
    assert_close(grad_s, expected.grad_s, name=f"grad_s ({where})", atol=grad_s_atol, rtol=rtol)


def test_goes_through_the_function(candidate):
    x, scale, _ = random_case((4, 5), 8, True, None, torch.float32, 2)
    names = candidate.driver.graph_node_names(x, scale, 8, True, None)
    assert "LSQFakeQuantizeBackward" in names, (
        "the graph of lsq_fake_quantize's output has no LSQFakeQuantize node "
        f"(nodes: {names}); lsq_fake_quantize must apply LSQFakeQuantize"
    )


def test_two_quantizers_in_one_graph(candidate, tolerances):
    # one graph, two calls with different bits / signed / axis (two layers of a model); the sum
    # passes the same incoming-gradient tensor to both: per-call values belong on ctx, and
    # grad_out must not be written into
    x1, scale1, grad_out = random_case((6, 10), 4, False, 0, torch.float64, 31)
    x2, scale2, _ = random_case((6, 10), 8, True, None, torch.float64, 32)
    args1, args2 = (4, False, 0), (8, True, None)
    out = candidate.driver.two_quantizers(x1, scale1, args1, x2, scale2, args2, grad_out)
    assert_close(
        out["grad_out"], grad_out, name="grad_out after backward (it must not be written into)", atol=0, rtol=0
    )
    atol, rtol = tolerances["float64"]
    for index, (x, scale, args) in enumerate([(x1, scale1, args1), (x2, scale2, args2)], start=1):
        expected = lsq_oracle(x, scale, grad_out, *args, rtol)
        where = f"quantizer {index} of lsq(x1, s1, bits=4, signed=False, axis=0) + lsq(x2, s2, bits=8, signed=True); "
        where += describe(x, scale, *args)
        assert out[f"grad_x{index}"] is not None, f"grad_x is None ({where})"
        assert_close(out[f"grad_x{index}"], expected.grad_x, name=f"grad_x ({where})")
        assert out[f"grad_s{index}"] is not None, f"grad_s is None ({where})"
        grad_s_atol = max(atol, expected.grad_s_atol.max().item())
        assert_close(out[f"grad_s{index}"], expected.grad_s, name=f"grad_s ({where})", atol=grad_s_atol, rtol=rtol)


@pytest.mark.parametrize("grad", [True, False], ids=["backward", "no-grad-on-grid"])
def test_inputs_left_untouched(candidate, grad):
    if grad:  # values on both sides of the clamp, so a masked grad_out differs from grad_out
        x, scale, grad_out = random_case((8, 12), 4, True, 1, torch.float32, 41)
    else:  # every x already on the grid: y equals x, and must still be a new tensor
        scale = torch.tensor(0.25)
        x = torch.arange(-100, 100, 2, dtype=torch.float32).reshape(10, 10) * 0.25
        grad_out = torch.ones_like(x)
    axis = 1 if grad else None
    out = candidate.driver.inputs_after_use(x, scale, grad_out, 8 if not grad else 4, True, axis, grad)
    what = "forward + backward" if grad else "forward under torch.no_grad()"
    assert not out["y_shares_memory"], f"y shares memory with x or scale after {what}: return a new tensor"
    assert_close(out["x"], x, name=f"x after {what} (inputs must not be written into)", atol=0, rtol=0)
    assert_close(out["scale"], scale, name=f"scale after {what}", atol=0, rtol=0)
    assert_close(out["grad_out"], grad_out, name=f"grad_out after {what}", atol=0, rtol=0)


@pytest.mark.parametrize("grad_layout, axis", [("transposed", None), ("transposed", 0), ("expanded", 1)])
def test_non_contiguous_inputs(candidate, tolerances, grad_layout, axis):
    # a transposed x (column-major, like weight.t()), a strided scale, and grad_out either
    # transposed too or expanded from one row (stride 0, what y.sum() sends back)
    x, scale, grad_out = random_case((12, 9), 4, True, axis, torch.float32, 51 + (axis or 0))
    if grad_layout == "expanded":
        grad_out = grad_out[:1].expand(x.shape).clone()
    y, grad_x, grad_s = candidate.driver.forward_backward_strided(x, scale, grad_out, 4, True, axis, grad_layout)
    atol, rtol = tolerances["float32"]
    expected = lsq_oracle(x, scale, grad_out, 4, True, axis, rtol)
    where = f"non-contiguous x, strided scale, {grad_layout} grad_out; " + describe(x, scale, 4, True, axis)
    assert_close(y, expected.y, name=f"y ({where})")
    assert_close(grad_x, expected.grad_x, name=f"grad_x ({where})")
    grad_s_atol = max(atol, expected.grad_s_atol.max().item())
    assert_close(grad_s, expected.grad_s, name=f"grad_s ({where})", atol=grad_s_atol, rtol=rtol)


def test_frozen_scale(candidate):
    # only x requires grad (a fixed step size): x still gets its straight-through gradient
    x, scale, grad_out = random_case((7, 8), 4, True, 0, torch.float32, 61)
    y, grad_x, grad_s = candidate.driver.forward_backward(x, scale, grad_out, 4, True, 0, (True, False))
    expected = lsq_oracle(x, scale, grad_out, 4, True, 0, 1e-4)
    assert grad_x is not None, "x requires grad but got no gradient when the scale does not require grad"
    assert_close(grad_x, expected.grad_x, name="grad_x with a frozen scale (x (7, 8), axis 0)")
    assert grad_s is None, "the scale does not require grad, yet it has a .grad"


def test_no_grad_forward(candidate):
    x, scale, grad_out = random_case((8, 8), 4, True, 0, torch.float32, 4)
    expected = lsq_oracle(x, scale, grad_out, 4, True, 0, 1e-4)
    y = candidate.driver.forward_no_grad(x, scale, 4, True, 0)
    assert_close(y, expected.y, name="y under torch.no_grad() (x (8, 8), per channel axis 0)")


# -- memory saved for backward ----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, axis, dtype",
    [
        ((64, 128), None, torch.float32),
        ((64, 128), 1, torch.float32),
        ((16, 8, 24), 0, torch.float64),
        ((64, 96), 0, torch.float16),
    ],
)
def test_saved_for_backward_budget(candidate, shape, axis, dtype):
    x, scale, _ = random_case(shape, 8, True, axis, dtype, 9)
    info = candidate.driver.saved_bytes(x, scale, 8, True, axis)
    x_bytes = x.numel() * x.element_size()
    scale_bytes = scale.numel() * scale.element_size()
    budget = x_bytes + scale_bytes + x.numel()
    assert info["saved_bytes"] <= budget, (
        f"backward keeps {info['saved_bytes']} bytes alive "
        f"({info['saved_tensors']} saved tensors, {info['ctx_attribute_tensors']} tensors "
        f"on ctx attributes) for {describe(x, scale, 8, True, axis)}; the budget is "
        f"x ({x_bytes}) + scale ({scale_bytes}) + 1 byte per element ({x.numel()}) = {budget}"
    )


def test_large_tensor_time_and_memory(candidate):
    # 16 training steps on a 1M-element weight in one call: 0.2-0.5 s of CPU for the reference,
    # minutes for a Python loop over elements (the time limit is per call)
    shape, bits, axis, seed, steps = (512, 2048), 8, 0, 123, 16
    summary = candidate.driver.big_forward_backward(shape, bits, axis, seed, steps)
    peak = candidate.last_call.peak_bytes
    x_bytes = shape[0] * shape[1] * 4
    # the driver itself holds x, grad_out, y and x.grad: 4 x-sized tensors
    assert peak <= 24 * x_bytes, (
        f"{steps} x forward + backward on x {shape} float32 per channel (axis 0) peaked at "
        f"{peak / 2**20:.0f} MiB over the worker's baseline; x is {x_bytes / 2**20:.0f} MiB "
        f"and the limit is 24 x that"
    )
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator)
    scale = torch.full((shape[axis],), 3.0 / 2 ** (bits - 1))
    grad_out = torch.randn(shape, generator=generator)
    expected = lsq_oracle(x, scale, grad_out, bits, True, axis, 1e-4)
    for key, value, tol in [
        ("y_sum", expected.y.double().sum().item(), 1e-3),
        ("grad_x_sum", expected.grad_x.double().sum().item(), 1e-3),
        ("grad_s_sum", expected.grad_s.double().sum().item(), 1e-3),
    ]:
        got = summary[key]
        assert math.isfinite(got) and abs(got - value) <= tol * (1 + abs(value)), (
            f"{key.removesuffix('_sum')} summed over x {shape} float32, 8 bits, axis 0: "
            f"got {got:.6g}, expected {value:.6g}"
        )


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 1, 9, 16, 4.0])
def test_bits_out_of_range(candidate, bits):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(4, 3), torch.tensor(0.1), bits=bits)


@pytest.mark.parametrize("scale", [0.0, -0.5, float("nan"), float("inf")], ids=["zero", "negative", "nan", "inf"])
def test_per_tensor_scale_not_positive(candidate, scale):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(4, 3), torch.tensor(scale), bits=4)


def test_per_channel_scale_with_a_zero(candidate):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(4, 3), torch.tensor([0.1, 0.0, 0.2]), bits=4, axis=1)


def test_per_tensor_scale_with_several_elements(candidate):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(4, 3), torch.tensor([0.1, 0.2, 0.3]))


@pytest.mark.parametrize(
    "x_shape, scale_shape, axis",
    [((4, 3), (4,), 1), ((4, 3), (3, 1), 1), ((4, 3), (5,), 0), ((4, 3), (1,), -1), ((4, 1), (), 1)],
    ids=["wrong-channel-count", "2d-scale", "too-long", "one-element-per-channel", "0-d-scale-one-channel"],
)
def test_per_channel_scale_shape(candidate, x_shape, scale_shape, axis):
    # per channel the scale's shape is exactly (x.shape[axis],): a 0-d scale is not (1,)
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(x_shape), torch.full(scale_shape, 0.1), bits=4, axis=axis)


@pytest.mark.parametrize(
    "shape, axis", [((4, 3), 2), ((4, 3), -3), ((4, 3), 5), ((), 0)], ids=["2", "-3", "5", "0-d-x"]
)
def test_axis_out_of_range(candidate, shape, axis):
    with expect_raises("ValueError"):
        candidate.lsq_fake_quantize(torch.randn(shape), torch.full((3,), 0.1), bits=4, axis=axis)


@pytest.mark.parametrize(
    "bits, scale, axis",
    [(9, (0.1,), None), (4, (0.1, 0.0, 0.2), 1), (4, (0.1, 0.2), 1), (4, (0.1, 0.2, 0.3), None)],
    ids=["bits-9", "scale-with-a-zero", "scale-shape", "several-elements-per-tensor"],
)
def test_function_apply_raises(candidate, bits, scale, axis):
    # the checks belong to the Function (its forward), not only to the wrapper
    with expect_raises("ValueError"):
        candidate.driver.apply_forward(torch.randn(4, 3), torch.tensor(scale).squeeze(), bits, True, axis)


# -- training smoke check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "axis, start, lr, keep",
    [(None, 1.0, 1e-2, 0.5), (1, 0.02, 1e-2, 0.1)],
    ids=["per-tensor-too-coarse", "per-channel-too-fine"],
)
def test_sgd_on_scale_reduces_error(candidate, axis, start, lr, keep):
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(64, 64, generator=generator)
    scale = torch.full(() if axis is None else (64,), start)
    losses = candidate.driver.train_scale(x, scale, 4, True, axis, 20, lr)
    assert len(losses) == 21 and all(math.isfinite(v) for v in losses), (
        f"sum((y - x)^2) became non-finite during SGD on the scale: {losses}"
    )
    assert losses[-1] <= keep * losses[0], (
        f"20 SGD steps (lr={lr}) on scale alone (start {start}, x (64, 64) N(0, 1), 4 bits, "
        f"axis={axis}) took sum((y - x)^2) from {losses[0]:.4g} to {losses[-1]:.4g}; "
        f"expected at most {keep} x the start. Loss every 5 steps: "
        f"{[round(v, 3) for v in losses[::5]]}"
    )
