"""Hidden tests for label-smoothed-cross-entropy.

Expected values come from the float64 oracle in ce_oracle.py (checker side). Gradients are
computed in the worker by the problem's driver, which makes the logits leaves, calls the
submission and backward, and returns plain tensors.
"""

import math

import pytest
import torch
from ce_oracle import accumulated_oracle, cross_entropy_oracle, random_case
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe(logits, kwargs) -> str:
    return f"logits {tuple(logits.shape)} {dtype_name(logits.dtype)}, {kwargs}"


def check(candidate, logits, labels, kwargs, label="", grad_output=None, grad_atol=None, layout=None):
    """Loss and d loss / d logits against the oracle (for "none": the gradient of sum(loss * grad_output)).

    layout ("transposed") lays logits and labels out non-contiguously in the worker (driver._layout).
    """
    dtype = logits.dtype
    where = (label + "; " if label else "") + describe(logits, kwargs)
    if kwargs.get("reduction") == "none" and grad_output is None:
        grad_output = torch.linspace(-1.0, 2.0, labels.numel(), dtype=torch.float64).reshape(labels.shape)
    expected = cross_entropy_oracle(logits, labels, **kwargs, grad_output=grad_output)
    g_out = None if grad_output is None else grad_output.to(dtype)
    if layout is None:
        loss, grad, has_grad_fn = candidate.driver.forward_backward(logits, labels, kwargs, g_out)
    else:
        loss, grad, has_grad_fn, non_contiguous = candidate.driver.forward_backward_in_layout(
            logits, labels, kwargs, layout, g_out
        )
        assert non_contiguous, f"test bug: the {layout} layout is contiguous"
    if math.isnan(expected.loss.sum().item()):
        assert loss.dim() == 0 and loss.dtype == dtype, f"loss: expected a 0-d {dtype} NaN, got {loss!r} ({where})"
        assert math.isnan(loss.item()), f"loss: expected NaN (mean over no non-ignored token), got {loss!r} ({where})"
        return
    assert_close(loss, expected.loss.to(dtype), name=f"loss ({where})")
    if labels.numel() == 0 or logits.shape[-1] == 1:
        return  # nothing depends on the logits: a constant result may have no grad_fn
    assert has_grad_fn, f"the loss has no grad_fn ({where}): it must be differentiable w.r.t. logits"
    assert grad is not None, f"no gradient reached the logits ({where})"
    assert_close(grad, expected.grad.to(dtype), name=f"d loss / d logits ({where})", atol=grad_atol)


def check_accumulated(candidate, micro_batches, kwargs, label=""):
    dtype = micro_batches[0][0].dtype
    shapes = [tuple(logits.shape) for logits, _ in micro_batches]
    where = (label + "; " if label else "") + f"micro-batch logits {shapes} {dtype_name(dtype)}, {kwargs}"
    expected_loss, expected_grads = accumulated_oracle(micro_batches, **kwargs)
    loss, grads, has_grad_fn = candidate.driver.accumulated_backward(micro_batches, kwargs)
    assert_close(loss, expected_loss.to(dtype), name=f"accumulated loss ({where})")
    assert has_grad_fn, f"the accumulated loss has no grad_fn ({where})"
    for i, (grad, expected) in enumerate(zip(grads, expected_grads, strict=True)):
        assert grad is not None, f"no gradient reached micro-batch {i}'s logits ({where})"
        assert_close(grad, expected.to(dtype), name=f"d loss / d logits of micro-batch {i} ({where})")


def example():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    return logits, torch.tensor([0, -100, 1])


def accumulated_example():
    a = (torch.zeros(1, 3, 2), torch.tensor([[0, 1, 1]]))
    b = (torch.tensor([[[0.0, 2.0], [9.0, 9.0]]]), torch.tensor([[1, 0]]))
    return [a, b]


# -- the statement's examples and the rules of cross_entropy -----------------------------------------


def test_statement_examples(candidate):
    logits, labels = example()
    out = candidate.cross_entropy(logits, labels, reduction="none")
    assert_close(out, torch.tensor([0.239545, 0.0, 2.169846]), name="per-row loss, example", atol=1e-6)
    out = candidate.cross_entropy(logits, labels, label_smoothing=0.3, reduction="sum")
    assert_close(out, torch.tensor(2.709391), name="smoothed summed loss, example", atol=1e-6)
    for kwargs in ({}, {"reduction": "none"}, {"label_smoothing": 0.3}, {"label_smoothing": 0.3, "reduction": "sum"}):
        check(candidate, logits, labels, kwargs, "statement example")
    all_ignored = torch.full((3,), -100)
    check(candidate, logits, all_ignored, {}, "statement example, every row ignored")
    check(candidate, logits, all_ignored, {"reduction": "sum"}, "statement example, every row ignored")


@pytest.mark.parametrize("label_smoothing", [0.5, 1.0])
def test_smoothing_is_eps_over_v_on_every_class(candidate, label_smoothing):
    # eps / (V - 1) on the other classes, or eps / V without the label's class, differ here
    logits = torch.tensor([[3.0, -1.0, 0.5, 0.0, 2.0], [0.0, 0.0, 4.0, -2.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 3])
    for reduction in ("mean", "none"):
        check(candidate, logits, labels, {"label_smoothing": label_smoothing, "reduction": reduction}, "V = 5")


def test_ignored_rows_get_no_smoothing_and_no_gradient(candidate):
    # pytorch/pytorch#73205: the smoothing term of ignored rows leaked into the loss
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64) * 3
    labels = torch.tensor([1, -100, 3, -100, -100, 0])
    for reduction in ("mean", "sum", "none"):
        check(candidate, logits, labels, {"label_smoothing": 0.4, "reduction": reduction}, "half the rows ignored")


def test_mean_divides_by_non_ignored_tokens(candidate):
    # right padding of different lengths in a (B, T, V) batch: 5 of 12 tokens count
    logits, labels = random_case((3, 4), 6, torch.float64, seed=5, ignore_frac=0.0)
    labels[0, 2:] = -100
    labels[1, 1:] = -100
    labels[2, 3:] = -100
    check(candidate, logits, labels, {}, "right padding")
    check(candidate, logits, labels, {"label_smoothing": 0.1}, "right padding")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_rows_ignored_and_empty_inputs(candidate, reduction):
    logits, _ = random_case((2, 3), 4, torch.float64, seed=2)
    kwargs = {"label_smoothing": 0.2, "reduction": reduction}
    check(candidate, logits, torch.full((2, 3), -100), kwargs, "every token ignored")
    check(candidate, logits[:0], torch.zeros(0, 3, dtype=torch.int64), kwargs, "B = 0")
    check(candidate, logits[:, :0], torch.zeros(2, 0, dtype=torch.int64), kwargs, "T = 0")
    check(candidate, logits[0, :0], torch.zeros(0, dtype=torch.int64), kwargs, "N = 0")


@pytest.mark.parametrize("ignore_index", [0, -1, 4, 1000])
def test_ignore_index_values(candidate, ignore_index):
    # a class (0), another negative (-1), V itself and far beyond the vocabulary
    logits, labels = random_case((7,), 4, torch.float64, seed=ignore_index % 97, ignore_index=ignore_index)
    labels[0] = ignore_index
    for kwargs in ({"reduction": "mean"}, {"reduction": "none", "label_smoothing": 0.3}):
        check(candidate, logits, labels, {"ignore_index": ignore_index, **kwargs}, "ignore_index variant")


def test_explicit_falsy_arguments_are_not_defaults(candidate):
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2, -100])
    labels_zero = torch.tensor([0, 2, 1])  # ignore_index=0 drops row 0; the default keeps all three
    check(candidate, logits, labels_zero, {"ignore_index": 0}, "explicit ignore_index=0")
    check(candidate, logits, labels_zero, {"ignore_index": 0, "reduction": "none"}, "explicit ignore_index=0")
    check(candidate, logits, labels, {"label_smoothing": 0.0}, "explicit label_smoothing=0.0")
    check(candidate, logits, labels, {"label_smoothing": 0}, "explicit label_smoothing=0")
    default = candidate.cross_entropy(logits, labels)
    explicit = candidate.cross_entropy(logits, labels, label_smoothing=0.0, ignore_index=-100, reduction="mean")
    assert_close(explicit, default, name="explicit defaults vs omitted arguments", atol=0, rtol=0)


# -- property-based against the oracle --------------------------------------------------------------


@st.composite
def cases(draw):
    shape = draw(st.sampled_from([(1,), (5,), (11,), (1, 1), (2, 3), (3, 5)]))
    V = draw(st.integers(1, 9))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    eps = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    ignore_index = draw(st.sampled_from([-100, -1, 0, 2, V + 3]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    ignore_frac = draw(st.sampled_from([0.0, 0.3, 0.7]))
    kwargs = {"label_smoothing": eps, "ignore_index": ignore_index, "reduction": reduction}
    return shape, V, dtype, ignore_frac, kwargs, draw(st.integers(0, 2**16))


@settings(max_examples=20, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, case):
    shape, V, dtype, ignore_frac, kwargs, seed = case
    logits, labels = random_case(
        shape, V, DTYPES[dtype], seed, ignore_index=kwargs["ignore_index"], ignore_frac=ignore_frac
    )
    check(candidate, logits, labels, kwargs, f"seed {seed}")


# -- numerics and dtypes -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_logits_are_finite(candidate, dtype):
    # integers up to 1e4, at least 40 apart within a row: exp overflows unless the max is subtracted
    logits = torch.tensor(
        [[1e4, -1e4, 0.0, 5000.0], [-1e4, -9960.0, -5000.0, 9000.0], [-1e4, -1e4 + 40, -1e4 + 80, -1e4 + 120]],
        dtype=DTYPES[dtype],
    )
    labels = torch.tensor([1, 0, 3])
    for kwargs in ({}, {"label_smoothing": 0.1}, {"label_smoothing": 0.1, "reduction": "none"}):
        check(candidate, logits, labels, kwargs, "|logits| = 1e4")
        check(candidate, -logits, labels, kwargs, "|logits| = 1e4, negated")


HALF_OFFSET = {"float16": 1000.0, "bfloat16": 200.0}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_computes_in_fp32(candidate, dtype):
    # a large common offset: log-sum-exp rounded to half precision is off by tenths
    logits, labels = random_case((2, 3), 256, torch.float64, seed=7, ignore_frac=0.2, scale=2.0)
    logits = (logits + HALF_OFFSET[dtype]).to(DTYPES[dtype])
    for kwargs in ({}, {"label_smoothing": 0.1, "reduction": "none"}, {"label_smoothing": 0.1, "reduction": "sum"}):
        check(candidate, logits, labels, kwargs, "half precision with an offset")


def test_float64_is_not_downcast(candidate):
    # logits 1e-6 apart at 1000: float32 rounds them to one value, and log 2 misses by ~5e-7
    logits = torch.tensor([[1000.0, 1000.0 + 1e-6], [1000.0 + 3e-6, 1000.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    out = candidate.cross_entropy(logits, labels, reduction="none")
    expected = cross_entropy_oracle(logits, labels, reduction="none").loss
    assert_close(out, expected, name="per-row loss of logits 1e-6 apart (float64)")
    check(candidate, logits, labels, {"label_smoothing": 0.5}, "logits 1e-6 apart")


def test_vocabulary_of_one(candidate):
    # V = 1: log p = 0, every loss is 0
    logits = torch.tensor([[3.0], [-2.0], [0.0]], dtype=torch.float64)
    for kwargs in ({}, {"label_smoothing": 0.7, "reduction": "none"}, {"reduction": "sum"}):
        check(candidate, logits, torch.tensor([0, -100, 0]), kwargs, "V = 1")
    micro_batches = [(logits.reshape(1, 3, 1), torch.tensor([[0, 0, -100]]))]
    check_accumulated(candidate, micro_batches, {"label_smoothing": 0.7}, "V = 1")


# -- interface: shapes, layouts, caller data, one graph ------------------------------------------------


def test_reduction_none_keeps_labels_shape(candidate):
    for shape in ((1, 1), (1, 4), (4, 1), (2, 3)):
        logits, labels = random_case(shape, 3, torch.float32, seed=sum(shape))
        out = candidate.cross_entropy(logits, labels, reduction="none")
        assert out.shape == labels.shape, (
            f"reduction='none' returned {tuple(out.shape)} for labels {tuple(labels.shape)}"
        )
        check(candidate, logits, labels, {"reduction": "none"}, "(B, T, V)")


def test_non_contiguous_inputs(candidate):
    # tensors cross to the worker contiguous: the driver lays them out there, logits (B, T, V = 5)
    # stored (T, B, 10) with every other class (neither contiguous nor unit-stride in V), labels
    # column-major; .view(-1, V) / .view(-1) refuse both
    logits, labels = random_case((3, 4), 5, torch.float32, seed=11)
    labels[0, 1] = -100
    for kwargs in ({}, {"reduction": "none", "label_smoothing": 0.2}):
        check(candidate, logits, labels, kwargs, "non-contiguous logits and labels", layout="transposed")
    logits, labels = random_case((6,), 5, torch.float64, seed=12)
    check(candidate, logits, labels, {"label_smoothing": 0.1}, "(N, V) logits with class stride 2", layout="transposed")


def test_inputs_unchanged_and_calls_independent(candidate):
    logits, labels = random_case((3, 4), 5, torch.float64, seed=13, ignore_frac=0.4)
    before = (logits.clone(), labels.clone())
    for kwargs in (
        {"label_smoothing": 0.3},
        {"reduction": "none"},
        {"ignore_index": -1, "reduction": "sum"},
        {"label_smoothing": 1.0},
        {},
    ):
        if kwargs.get("ignore_index") == -1:
            check(candidate, logits, labels.clamp(min=-1), kwargs, "calls in sequence, ignore_index=-1")
        check(candidate, logits, labels, kwargs | {"ignore_index": -100}, "calls in sequence")
    assert torch.equal(logits, before[0]) and torch.equal(labels, before[1]), "an input changed"


def test_two_losses_in_one_graph(candidate):
    logits, labels = random_case((2, 5), 4, torch.float64, seed=17)
    ka, kb = {"label_smoothing": 0.0}, {"label_smoothing": 0.6, "reduction": "sum"}
    ea, eb = cross_entropy_oracle(logits, labels, **ka), cross_entropy_oracle(logits, labels, **kb)
    la, lb, grad = candidate.driver.two_losses_one_graph(logits, labels, ka, kb)
    assert_close(la, ea.loss, name=f"first loss {ka}")
    assert_close(lb, eb.loss, name=f"second loss {kb}")
    assert_close(grad, ea.grad + eb.grad, name="d (first + second) / d logits")


# -- accumulated_loss --------------------------------------------------------------------------------


def test_accumulated_statement_example(candidate):
    micro_batches = accumulated_example()
    loss = candidate.accumulated_loss(micro_batches)
    assert_close(loss, torch.tensor(1.171074), name="accumulated loss, example", atol=1e-6)
    check_accumulated(candidate, micro_batches, {}, "statement example")


def test_accumulated_not_mean_of_means(candidate):
    # 1 target token in the first micro-batch, 9 in the second
    a = random_case((1, 2), 5, torch.float64, seed=21, ignore_frac=0.0)
    b = random_case((3, 4), 5, torch.float64, seed=22, ignore_frac=0.0)
    check_accumulated(candidate, [a, b], {}, "1 and 9 targets")
    check_accumulated(candidate, [b, a], {"label_smoothing": 0.2}, "9 and 1 targets")
    check_accumulated(candidate, (a, b), {}, "a tuple of micro-batches")


def test_accumulated_shift_is_next_token(candidate):
    # position t predicts labels[t + 1]: unshifted or reversed pairing gives other values
    logits = torch.tensor([[[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0], [1.0, 1.0, 1.0]]], dtype=torch.float64)
    labels = torch.tensor([[2, 0, 1, 2]])
    check_accumulated(candidate, [(logits, labels)], {}, "labels one step ahead of the logits")
    check_accumulated(candidate, [(logits, labels)], {"label_smoothing": 0.3}, "shift with smoothing")


def test_accumulated_micro_batch_without_targets(candidate):
    # T = 1 has no target; labels[:, 0] is never read, so it may hold anything
    a = (torch.randn(2, 1, 4, dtype=torch.float64), torch.tensor([[999], [-7]]))
    b = random_case((2, 3), 4, torch.float64, seed=23, ignore_frac=0.3)
    b[1][0, 0], b[1][1, 0] = 4, -5
    b[1][0, 1] = 0  # at least one target counts
    check_accumulated(candidate, [a, b], {}, "a T = 1 micro-batch and junk in labels[:, 0]")
    check_accumulated(candidate, [b, a, b], {"label_smoothing": 0.5}, "a T = 1 micro-batch in the middle")
    empty_b = (torch.zeros(0, 3, 4, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.int64))
    empty_t = (torch.zeros(2, 0, 4, dtype=torch.float64), torch.zeros(2, 0, dtype=torch.int64))
    check_accumulated(candidate, [empty_b, b, empty_t], {}, "B = 0 and T = 0 micro-batches")


def test_accumulated_passes_smoothing_and_ignore_index(candidate):
    a = random_case((2, 4), 6, torch.float64, seed=25, ignore_index=0)
    b = random_case((1, 5), 6, torch.float64, seed=26, ignore_index=0)
    a[1][0, 1:3] = 0
    check_accumulated(candidate, [a, b], {"ignore_index": 0}, "explicit ignore_index=0")
    check_accumulated(candidate, [a, b], {"label_smoothing": 0.0, "ignore_index": 3}, "explicit label_smoothing=0.0")
    check_accumulated(candidate, [a, b], {"label_smoothing": 0.25, "ignore_index": 0}, "smoothing and ignore_index=0")
    check_accumulated(candidate, [a, b], {"label_smoothing": 1.0, "ignore_index": 100}, "eps = 1, ignore_index >= V")


@st.composite
def accumulation_cases(draw):
    V = draw(st.integers(2, 7))
    shapes = draw(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 6)), min_size=1, max_size=3))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    eps = draw(st.sampled_from([0.0, 0.1, 1.0]))
    ignore_index = draw(st.sampled_from([-100, 0, V + 1]))
    container = draw(st.sampled_from(["list", "tuple"]))
    return (
        V,
        shapes,
        dtype,
        {"label_smoothing": eps, "ignore_index": ignore_index},
        container,
        draw(st.integers(0, 2**16)),
    )


@settings(max_examples=12, report_multiple_bugs=False)
@given(case=accumulation_cases())
def test_accumulated_random_matches_oracle(candidate, case):
    V, shapes, dtype, kwargs, container, seed = case
    micro_batches = [
        random_case(shape, V, DTYPES[dtype], seed + i, ignore_index=kwargs["ignore_index"])
        for i, shape in enumerate(shapes)
    ]
    if all((labels[:, 1:] == kwargs["ignore_index"]).all() for _, labels in micro_batches):
        with expect_raises("ValueError"):
            candidate.accumulated_loss(micro_batches, **kwargs)
        return
    passed = micro_batches if container == "list" else tuple(micro_batches)
    check_accumulated(candidate, passed, kwargs, f"seed {seed}, {container}")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_accumulated_half_precision(candidate, dtype):
    micro_batches = []
    for i, shape in enumerate(((2, 5), (1, 3))):
        logits, labels = random_case(shape, 128, torch.float64, seed=30 + i, scale=2.0)
        micro_batches.append(((logits + HALF_OFFSET[dtype]).to(DTYPES[dtype]), labels))
    check_accumulated(candidate, micro_batches, {"label_smoothing": 0.1}, "half precision with an offset")


def test_accumulated_large_logits(candidate):
    logits = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, 1e4 - 40, 1e4], [0.0, 0.0, 0.0]]])
    labels = torch.tensor([[0, 1, 0]])
    check_accumulated(candidate, [(logits, labels)], {"label_smoothing": 0.1}, "|logits| = 1e4")


def test_accumulated_inputs_unchanged(candidate):
    micro_batches = [random_case((2, 4), 5, torch.float64, seed=40 + i, ignore_frac=0.5) for i in range(2)]
    micro_batches[0][1][0, 1] = 3
    before = [(logits.clone(), labels.clone()) for logits, labels in micro_batches]
    for kwargs in ({}, {"label_smoothing": 0.2}, {"label_smoothing": 1.0}):
        check_accumulated(candidate, micro_batches, kwargs, "calls in sequence")
    for (logits, labels), (lb, yb) in zip(micro_batches, before, strict=True):
        assert torch.equal(logits, lb) and torch.equal(labels, yb), "a micro-batch changed"


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["avg", "MEAN", "", None])
def test_bad_reduction_raises(candidate, reduction):
    logits, labels = example()
    with expect_raises("ValueError"):
        candidate.cross_entropy(logits, labels, reduction=reduction)


@pytest.mark.parametrize("label_smoothing", [-0.01, 1.01, math.nan, math.inf, "0.1"])
def test_bad_label_smoothing_raises(candidate, label_smoothing):
    logits, labels = example()
    with expect_raises("ValueError"):
        candidate.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    with expect_raises("ValueError"):
        candidate.accumulated_loss(accumulated_example(), label_smoothing=label_smoothing)


BAD_LOGITS = {
    "int": lambda z, y: (z.long(), y),
    "1-D": lambda z, y: (z[0], y[0]),
    "4-D": lambda z, y: (z[None, None], y[None, None]),
    "V = 0": lambda z, y: (z[:, :0], y),
    "V = 0, every label ignored": lambda z, y: (z[:, :0], torch.full_like(y, -100)),
}


@pytest.mark.parametrize("case", list(BAD_LOGITS))
def test_bad_logits_raise(candidate, case):
    logits, labels = BAD_LOGITS[case](*example())
    with expect_raises("ValueError"):
        candidate.cross_entropy(logits, labels)


@pytest.mark.parametrize("case", ["2-D", "int", "V = 0", "V = 0, every label ignored"])
def test_bad_micro_batch_logits_raise(candidate, case):
    micro_batches = accumulated_example()
    logits, labels = micro_batches[1]
    if case == "2-D":
        micro_batches[1] = (logits[0], labels[0])
    elif case == "int":
        micro_batches = [(m.long(), y) for m, y in micro_batches]
    elif case == "V = 0":
        micro_batches = [(m[..., :0], y) for m, y in micro_batches]
    else:
        micro_batches = [(m[..., :0], torch.full_like(y, -100)) for m, y in micro_batches]
    with expect_raises("ValueError"):
        candidate.accumulated_loss(micro_batches)


@pytest.mark.parametrize("case", ["longer", "shorter", "3-D for 2-D logits", "int32", "float"])
def test_bad_labels_raise(candidate, case):
    logits, labels = example()
    bad = {
        "longer": torch.tensor([0, 1, 2, 0]),
        "shorter": labels[:2],
        "3-D for 2-D logits": labels[None, :, None],
        "int32": labels.int(),
        "float": labels.float(),
    }[case]
    with expect_raises("ValueError"):
        candidate.cross_entropy(logits, bad)
    micro_batches = accumulated_example()
    mb_logits, mb_labels = micro_batches[0]
    mb_bad = {
        "longer": torch.tensor([[0, 1, 1, 0]]),
        "shorter": mb_labels[:, :2],
        "3-D for 2-D logits": mb_labels[:, :, None],
        "int32": mb_labels.int(),
        "float": mb_labels.float(),
    }[case]
    micro_batches[0] = (mb_logits, mb_bad)
    with expect_raises("ValueError"):
        candidate.accumulated_loss(micro_batches)


@pytest.mark.parametrize("bad_label", [3, -1, -100, 10**6])
def test_label_out_of_range_raises(candidate, bad_label):
    logits, labels = example()
    labels[2] = bad_label
    with expect_raises("ValueError"):
        candidate.cross_entropy(logits, labels, ignore_index=-5 if bad_label == -100 else -100)
    micro_batches = accumulated_example()
    micro_batches[1][1][0, 1] = 2 if bad_label == 3 else bad_label  # a target; V = 2 there
    with expect_raises("ValueError"):
        candidate.accumulated_loss(micro_batches, ignore_index=-5 if bad_label == -100 else -100)


@pytest.mark.parametrize("case", ["empty list", "empty tuple", "a tensor", "V differs", "dtype differs"])
def test_bad_micro_batches_raise(candidate, case):
    micro_batches = accumulated_example()
    if case == "empty list":
        micro_batches = []
    elif case == "empty tuple":
        micro_batches = ()
    elif case == "a tensor":
        micro_batches = micro_batches[0][0]
    elif case == "V differs":
        micro_batches.append((torch.zeros(1, 3, 3), torch.tensor([[0, 1, 2]])))
    else:
        micro_batches[1] = (micro_batches[1][0].double(), micro_batches[1][1])
    with expect_raises("ValueError"):
        candidate.accumulated_loss(micro_batches)


def test_accumulated_no_targets_raises(candidate):
    ignored = [(torch.zeros(2, 3, 4), torch.full((2, 3), -100)), (torch.zeros(1, 1, 4), torch.tensor([[2]]))]
    with expect_raises("ValueError"):
        candidate.accumulated_loss(ignored)
    only_first = [(torch.zeros(1, 3, 4), torch.tensor([[1, 0, 0]]))]  # labels[:, 0] is no target
    with expect_raises("ValueError"):
        candidate.accumulated_loss(only_first, ignore_index=0)
