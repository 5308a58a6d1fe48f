"""Hidden tests for ddpm-sampler.

Expected values come from the float64 oracle in diffusion_oracle.py (checker side: Python-float
schedule and coefficients, one sample at a time), rounded to the inputs' dtype, or are worked out
by hand in the comments. Schedules handed to GaussianDiffusion are built by the oracle, so that a
wrong beta_schedule fails only the schedule tests.
"""

import math

import pytest
import torch
from diffusion_oracle import (
    alpha_bars,
    betas_oracle,
    cfg_oracle,
    ddim_oracle,
    p_sample_oracle,
    posterior,
    q_sample_oracle,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

F64 = torch.float64
SMALL = [0.1, 0.2, 0.5]  # alpha = [0.9, 0.8, 0.5], abar = [0.9, 0.72, 0.36]
LINEAR = betas_oracle("linear", 1000)
COSINE = betas_oracle("cosine", 1000)  # COSINE[999] = 0.999: 1 / sqrt(alpha) = 31.6 at t = 999


def schedule(betas: list[float], dtype=F64) -> torch.Tensor:
    return torch.tensor(betas, dtype=dtype)


def steps(values: list[int], dtype=torch.int64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def randn(seed: int, shape: tuple, dtype=F64, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=F64) * scale).to(dtype)


def expect(got, expected64: torch.Tensor, like: torch.Tensor, label: str) -> None:
    """`got` against the float64 oracle rounded to the dtype of `like`, with that dtype's tolerance."""
    where = f"{label}; shape {tuple(like.shape)}, {str(like.dtype).removeprefix('torch.')}"
    assert_close(got, expected64.to(like.dtype), name=where)


def new(candidate, betas: list[float], dtype=F64):
    return candidate.GaussianDiffusion(schedule(betas, dtype))


def check_q(candidate, d, betas, x0, t, noise, label):
    expect(
        d.q_sample(x0, t, noise), q_sample_oracle(betas, x0, t.tolist(), noise), x0, f"q_sample ({label}, t={_show(t)})"
    )


def check_p(candidate, d, betas, eps, x, t, z, label):
    got = d.p_sample_step(eps, x, t, z)
    expect(got, p_sample_oracle(betas, eps, x, t.tolist(), z), x, f"p_sample_step ({label}, t={_show(t)})")
    return got


def check_ddim(candidate, d, betas, eps, x, t, t_prev, eta, z, label):
    got = d.ddim_step(eps, x, t, t_prev, eta, z)
    expected = ddim_oracle(betas, eps, x, t.tolist(), t_prev.tolist(), eta, z)
    expect(got, expected, x, f"ddim_step ({label}, t={_show(t)}, t_prev={_show(t_prev)}, eta={eta!r})")
    return got


def _show(t: torch.Tensor) -> str:
    return str(t.tolist()) if t.numel() <= 8 else f"{t[:8].tolist()}..."


ONE = torch.ones(1, 1, dtype=F64)


def scalar(value: float) -> torch.Tensor:
    return torch.tensor([[value]], dtype=F64)


# -- the statement's examples ------------------------------------------------------------------


def test_statement_examples(candidate):
    expected = torch.tensor([1e-4, 0.01005, 0.02], dtype=F64)
    assert_close(candidate.beta_schedule("linear", 3), expected, name="linear betas, T=3")
    assert_close(candidate.beta_schedule("cosine", 2), schedule([0.5061564095593623, 0.999]), name="cosine, T=2")
    d = new(candidate, SMALL)
    assert_close(d.q_sample(ONE, steps([1]), ONE), scalar(math.sqrt(0.72) + math.sqrt(0.28)), name="q_sample t=1")
    assert_close(d.p_sample_step(ONE, ONE, steps([1]), ONE), scalar(0.9627181032980608), name="DDPM step t=1")
    assert_close(d.p_sample_step(ONE, ONE, steps([0]), ONE), scalar(0.7207592200561264), name="DDPM step t=0")
    ddim = d.ddim_step(ONE, ONE, steps([2]), steps([0]), 0.0, ONE)
    assert_close(ddim, scalar(0.6324555320336758), name="DDIM 2 -> 0, eta=0")
    ddim = d.ddim_step(ONE, ONE, steps([2]), steps([0]), 1.0, ONE)
    assert_close(ddim, scalar(0.7014709253689446), name="DDIM 2 -> 0, eta=1")
    assert_close(d.ddim_step(ONE, ONE, steps([2]), steps([-1]), 1.0, ONE), scalar(1 / 3), name="DDIM 2 -> x0")
    ddim = d.ddim_step(ONE, ONE, steps([1]), steps([0]), 1.0, ONE)
    assert_close(ddim, scalar(0.9627181032980608), name="DDIM 1 -> 0, eta=1")
    for w, value in ((3, 2.0), (1, 1.0), (0, 0.5)):
        assert_close(
            candidate.cfg(torch.tensor([1.0]), torch.tensor([0.5]), w), torch.tensor([value]), name=f"cfg w={w}"
        )


# -- beta_schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 7, 1000])
def test_linear_schedule(candidate, T):
    got = candidate.beta_schedule("linear", T)
    assert_close(got, schedule(betas_oracle("linear", T)), name=f"linear betas, T={T}")
    if T > 1:  # both endpoints are included
        assert got[0].item() == pytest.approx(1e-4, rel=1e-12) and got[-1].item() == pytest.approx(0.02, rel=1e-12)


@pytest.mark.parametrize("T", [1, 2, 7, 1000])
def test_cosine_schedule_is_clipped_at_0_999(candidate, T):
    got = candidate.beta_schedule("cosine", T)
    assert_close(got, schedule(betas_oracle("cosine", T)), name=f"cosine betas, T={T}")
    assert got[-1].item() == pytest.approx(0.999, abs=1e-12), f"cosine T={T}: the last beta is {got[-1].item()!r}"


def test_cosine_schedule_offset(candidate):
    # s = 0.008 sets the first beta: 4.1284e-05 at T = 1000 (without the offset it is 2.5e-6)
    got = candidate.beta_schedule("cosine", 1000)
    assert_close(got[:3], schedule(COSINE[:3]), name="the first three cosine betas, T=1000")
    assert_close(got[-3:], schedule(COSINE[-3:]), name="the last three cosine betas, T=1000")


# -- q_sample -----------------------------------------------------------------------------------


def test_q_sample_uses_alpha_bar_at_zero_based_t(candidate):
    d = new(candidate, SMALL)
    x0, noise = schedule([[1.0, -2.0]] * 3), schedule([[0.5, 1.0]] * 3)
    # t = 0, 1, 2: abar = 0.9, 0.72, 0.36 (alpha would be 0.9, 0.8, 0.5)
    got = d.q_sample(x0, steps([0, 1, 2]), noise)
    rows = [[math.sqrt(a) * x + math.sqrt(1 - a) * n for x, n in ((1.0, 0.5), (-2.0, 1.0))] for a in (0.9, 0.72, 0.36)]
    assert_close(got, schedule(rows), name="q_sample on the schedule [0.1, 0.2, 0.5], t=[0, 1, 2]")


def test_q_sample_per_sample_steps(candidate):
    for name, betas in (("linear", LINEAR), ("cosine", COSINE)):
        d = new(candidate, betas)
        t = steps([0, 1, 500, 999])
        check_q(candidate, d, betas, randn(1, (4, 3, 5)), t, randn(2, (4, 3, 5)), f"{name} T=1000")


# -- p_sample_step -------------------------------------------------------------------------------


def test_p_sample_step_mean_divides_by_sqrt_alpha(candidate):
    d = new(candidate, SMALL)
    zero = torch.zeros(1, 1, dtype=F64)
    # t = 2, eps = 0, z = 0: x / sqrt(alpha_2) = 1 / sqrt(0.5) (abar would give 1 / 0.6)
    got = d.p_sample_step(zero, ONE, steps([2]), zero)
    assert_close(got, scalar(1 / math.sqrt(0.5)), name="p_sample_step mean at t=2, eps=0, z=0")
    # t = 1, x = 0, eps = 0, z = 1: sqrt(beta_tilde_1) = sqrt(0.2 * 0.1 / 0.28) (beta would give sqrt(0.2))
    got = d.p_sample_step(zero, zero, steps([1]), ONE)
    assert_close(got, scalar(math.sqrt(0.2 * 0.1 / 0.28)), name="p_sample_step noise scale at t=1 (beta_tilde)")
    # t = 1, x = 0, eps = 1, z = 0: -(0.2 / sqrt(0.28)) / sqrt(0.8)
    got = d.p_sample_step(ONE, zero, steps([1]), zero)
    assert_close(got, scalar(-0.2 / math.sqrt(0.28) / math.sqrt(0.8)), name="p_sample_step eps coefficient at t=1")


def test_p_sample_step_per_sample_steps(candidate):
    for name, betas in (("linear", LINEAR), ("cosine", COSINE), ("small", SMALL)):
        d = new(candidate, betas)
        T = len(betas)
        t = steps([T - 1, 0, 1, T // 2])
        check_p(candidate, d, betas, randn(3, (4, 6)), randn(4, (4, 6)), t, randn(5, (4, 6)), f"{name} T={T}")


def test_no_noise_at_the_last_step(candidate):
    d = new(candidate, LINEAR)
    eps, x = randn(6, (4, 5)), randn(7, (4, 5))
    z = randn(8, (4, 5), scale=1000.0)
    zero = torch.zeros_like(z)
    t = steps([0, 0, 0, 0])
    mean = p_sample_oracle(LINEAR, eps, x, t.tolist(), zero)
    expect(d.p_sample_step(eps, x, t, z), mean, x, "p_sample_step at t=0 with z of magnitude 1000 (must be the mean)")
    t = steps([0, 7, 0, 999])
    check_p(candidate, d, LINEAR, eps, x, t, z, "the last step beside others, z of magnitude 1000")


def test_predicted_x0_is_not_clipped(candidate):
    # x of magnitude 5: the predicted x0 lies far outside [-1, 1]; neither step clips it
    for name, betas in (("linear", LINEAR), ("cosine", COSINE)):
        d = new(candidate, betas)
        x, eps, z = randn(9, (3, 8), scale=5.0), randn(10, (3, 8)), randn(11, (3, 8))
        t = steps([3, 400, 900])
        check_p(candidate, d, betas, eps, x, t, z, f"{name}, |x| ~ 5")
        check_ddim(candidate, d, betas, eps, x, t, steps([-1, 300, 850]), 0.0, z, f"{name}, |x| ~ 5")


# -- ddim_step -----------------------------------------------------------------------------------


def test_ddim_eta_zero_is_deterministic(candidate):
    d = new(candidate, LINEAR)
    x, eps = randn(12, (4, 3)), randn(13, (4, 3))
    t, t_prev = steps([999, 500, 20, 1]), steps([979, 0, -1, 0])
    for eta in (0.0, 0):
        got = check_ddim(candidate, d, LINEAR, eps, x, t, t_prev, eta, randn(14, (4, 3), scale=100.0), "skipped steps")
        again = d.ddim_step(eps, x, t, t_prev, eta, torch.zeros(4, 3, dtype=F64))
        assert_close(got, again, name=f"ddim_step eta={eta!r}: z must not matter")


@pytest.mark.parametrize("eta", [0.3, 1.0, 1])
def test_ddim_eta_scales_the_noise(candidate, eta):
    for name, betas in (("linear", LINEAR), ("cosine", COSINE)):
        d = new(candidate, betas)
        x, eps, z = randn(15, (4, 5)), randn(16, (4, 5)), randn(17, (4, 5))
        check_ddim(candidate, d, betas, eps, x, steps([999, 600, 50, 3]), steps([949, 0, 49, -1]), eta, z, name)


def test_ddim_sigma_and_direction_explicitly(candidate):
    # x = 0, eps = 0, z = 1: the result is sigma itself; x = 0, eps = 1, z = 0: -sqrt(0.72) sqrt(0.28) / sqrt(0.36) ...
    d = new(candidate, SMALL)
    zero = torch.zeros(1, 1, dtype=F64)
    sigma = 0.5 * math.sqrt(0.1 / 0.64) * math.sqrt(1 - 0.36 / 0.9)
    assert_close(d.ddim_step(zero, zero, steps([2]), steps([0]), 0.5, ONE), scalar(sigma), name="DDIM sigma, eta=0.5")
    direction = math.sqrt(1 - 0.9 - sigma**2) - math.sqrt(0.9) * math.sqrt(0.64) / 0.6
    got = d.ddim_step(ONE, zero, steps([2]), steps([0]), 0.5, zero)
    assert_close(got, scalar(direction), name="DDIM eps coefficient sqrt(1 - abar_prev - sigma^2) - ..., eta=0.5")


def test_ddim_direction_is_clamped_at_zero(candidate):
    # every beta 0.999: abar_t = 1e-3 ** (t + 1), so 1 - abar_t rounds to 1 from t = 6 on and, at eta = 1,
    # 1 - abar_prev - sigma^2 (exactly ~1e-18) rounds to -1.1e-16: sqrt of it unclamped is NaN
    betas = [0.999] * 10
    d = new(candidate, betas)
    got = d.ddim_step(ONE, ONE, steps([6]), steps([0]), 1.0, ONE)
    assert_close(
        got,
        scalar(0.999499874937461),
        name="ddim_step (betas [0.999] * 10, t=[6], t_prev=[0], eta=1.0, x = eps = z = 1)",
    )
    t, t_prev = steps([6, 7, 7, 8, 9, 9, 3]), steps([0, 0, 1, 1, 0, 1, 2])
    x = randn(24, (7, 3))  # eps = x: x0_pred is exactly 0 where 1 - abar_t rounds to 1
    z = randn(25, (7, 3))
    for eta in (1.0, 1):
        check_ddim(candidate, d, betas, x, x, t, t_prev, eta, z, "betas [0.999] * 10, abar_t ~ 0, eps = x")


def test_ddim_eta_one_is_the_ddpm_step(candidate):
    for name, betas in (("cosine", COSINE), ("small", SMALL)):
        d = new(candidate, betas)
        T = len(betas)
        t = steps([1, T - 1, T // 2, 2])
        x, eps, z = randn(18, (4, 2, 3)), randn(19, (4, 2, 3)), randn(20, (4, 2, 3))
        got = d.ddim_step(eps, x, t, t - 1, 1.0, z)
        expect(got, p_sample_oracle(betas, eps, x, t.tolist(), z), x, f"ddim_step eta=1, t_prev=t-1 ({name})")


def test_ddim_final_step_returns_the_predicted_x0(candidate):
    for name, betas in (("linear", LINEAR), ("cosine", COSINE)):
        d = new(candidate, betas)
        x, eps, z = randn(21, (3, 4)), randn(22, (3, 4)), randn(23, (3, 4))
        t = steps([0, 3, 999])
        abar = alpha_bars(betas)
        x0 = torch.stack(
            [(x[b] - math.sqrt(1 - abar[s]) * eps[b]) / math.sqrt(abar[s]) for b, s in enumerate([0, 3, 999])]
        )
        for eta in (0.0, 1.0):
            got = d.ddim_step(eps, x, t, steps([-1, -1, -1]), eta, z)
            expect(got, x0, x, f"ddim_step to t_prev=-1 ({name}, eta={eta}): the predicted x0")
        check_ddim(candidate, d, betas, eps, x, t, steps([-1, 0, 998]), 0.7, z, f"{name}, t_prev -1 beside others")


# -- cfg ------------------------------------------------------------------------------------------


def test_cfg_convention(candidate):
    cond, uncond = randn(24, (2, 4, 3, 3), torch.float32), randn(25, (2, 4, 3, 3), torch.float32)
    for w in (0, 0.0):
        expect(candidate.cfg(cond, uncond, w), uncond.double(), cond, f"cfg w={w!r}: the unconditional eps")
    for w in (1, 1.0):
        expect(candidate.cfg(cond, uncond, w), cond.double(), cond, f"cfg w={w!r}: the conditional eps")
    for w in (7.5, 3, -0.5, 100.0):
        expect(candidate.cfg(cond, uncond, w), cfg_oracle(cond, uncond, w), cond, f"cfg w={w!r}")


# -- many calls, several instances ---------------------------------------------------------------


def test_sampling_loops_on_one_instance(candidate):
    # every step starts from the candidate's own previous output and is checked at once
    betas = betas_oracle("cosine", 30)
    d = new(candidate, betas)
    x = randn(26, (2, 3, 4))
    for step in range(29, -1, -1):
        eps = 0.8 * x + 0.1 * randn(100 + step, (2, 3, 4))  # any function of x_t will do
        t = steps([step, step])
        x = check_p(candidate, d, betas, eps, x, t, randn(200 + step, (2, 3, 4)), f"DDPM loop, step {step}")
    x = randn(27, (2, 3, 4))
    schedule_steps = [29, 25, 17, 8, 2, -1]
    for step, previous in zip(schedule_steps, schedule_steps[1:], strict=False):
        eps = 0.8 * x + 0.1 * randn(300 + step, (2, 3, 4))
        t, t_prev = steps([step, step]), steps([previous, previous])
        x = check_ddim(candidate, d, betas, eps, x, t, t_prev, 0.5, randn(400 + step, (2, 3, 4)), "DDIM loop")
    check_q(candidate, d, betas, randn(28, (2, 3, 4)), steps([0, 29]), randn(29, (2, 3, 4)), "after the loops")


def test_two_instances_side_by_side(candidate):
    short = betas_oracle("cosine", 20)
    instances = [(new(candidate, LINEAR), LINEAR, "linear T=1000"), (new(candidate, short), short, "cosine T=20")]
    instances.append((new(candidate, SMALL), SMALL, "small T=3"))
    x, eps, z = randn(30, (2, 5)), randn(31, (2, 5)), randn(32, (2, 5))
    for round_ in range(2):
        for d, betas, name in instances:
            T = len(betas)
            t = steps([T - 1, round_])
            check_q(candidate, d, betas, x, t, z, name)
            check_p(candidate, d, betas, eps, x, t, z, name)
            check_ddim(candidate, d, betas, eps, x, t, steps([T // 2 - 1, -1]), 0.4, z, name)


def test_betas_are_copied(candidate):
    # the caller overwrites their betas after building the schedule: nothing changes
    x, z = randn(33, (2, 3)), randn(34, (2, 3))
    t = steps([1, 2])
    for dtype in (F64, torch.float32, torch.float16, torch.bfloat16):
        betas = [float(b) for b in schedule(SMALL, dtype).double()]  # the values in that dtype, read exactly
        got = candidate.driver.betas_written_after_construction(schedule(SMALL, dtype), x, t, z)
        label = f"betas ({str(dtype).removeprefix('torch.')}) overwritten after GaussianDiffusion(betas)"
        expect(got[0], q_sample_oracle(betas, x, [1, 2], z), x, f"q_sample, {label}")
        expect(got[1], p_sample_oracle(betas, z, x, [1, 2], z), x, f"p_sample_step, {label}")
        expect(got[2], ddim_oracle(betas, z, x, [1, 2], [0, 1], 0.5, z), x, f"ddim_step, {label}")


# -- shapes, layouts, index dtypes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [(4,), (4, 3), (2, 3, 5, 5), (4, 3, 4), (1, 7), (3, 1, 1, 3)],
    ids=["B", "B-D", "B-C-H-W", "last-axis-B", "B1-D", "B-1-1-B"],
)
def test_sample_shapes(candidate, shape):
    # (4, 3, 4) and (3, 1, 1, 3): a (B,) coefficient broadcast against the last axis fits and is wrong
    B = shape[0]
    d = new(candidate, LINEAR)
    x, eps, z = randn(35, shape), randn(36, shape), randn(37, shape)
    t = steps([999, 0, 250, 600][:B] if B <= 4 else [5] * B)
    t_prev = torch.where(t > 0, t // 2, -1)
    check_q(candidate, d, LINEAR, x, t, z, "per-sample t")
    check_p(candidate, d, LINEAR, eps, x, t, z, "per-sample t")
    check_ddim(candidate, d, LINEAR, eps, x, t, t_prev, 0.6, z, "per-sample t")
    expect(candidate.cfg(x, eps, 2.5), cfg_oracle(x, eps, 2.5), x, "cfg w=2.5")


def test_int32_steps(candidate):
    d = new(candidate, COSINE)
    x, eps, z = randn(38, (3, 4)), randn(39, (3, 4)), randn(40, (3, 4))
    for t_dtype, prev_dtype in ((torch.int32, torch.int32), (torch.int32, torch.int64), (torch.int64, torch.int32)):
        t, t_prev = steps([999, 10, 0], t_dtype), steps([500, -1, -1], prev_dtype)
        label = f"t {t_dtype}, t_prev {prev_dtype}"
        check_q(candidate, d, COSINE, x, t, z, label)
        check_p(candidate, d, COSINE, eps, x, t, z, label)
        check_ddim(candidate, d, COSINE, eps, x, t, t_prev, 0.5, z, label)


def test_non_contiguous_inputs(candidate):
    betas = schedule(LINEAR)
    x, eps, z = randn(41, (3, 4, 5)), randn(42, (3, 4, 5)), randn(43, (3, 4, 5))
    t, t_prev = steps([999, 1, 300]), steps([0, -1, 299])
    label = "column-major inputs"
    got = candidate.driver.call_non_contiguous(betas, "q_sample", [x, t, z])
    expect(got, q_sample_oracle(LINEAR, x, t.tolist(), z), x, f"q_sample, {label}")
    got = candidate.driver.call_non_contiguous(betas, "p_sample_step", [eps, x, t, z])
    expect(got, p_sample_oracle(LINEAR, eps, x, t.tolist(), z), x, f"p_sample_step, {label}")
    got = candidate.driver.call_non_contiguous(betas, "ddim_step", [eps, x, t, t_prev, 0.5, z])
    expect(got, ddim_oracle(LINEAR, eps, x, t.tolist(), t_prev.tolist(), 0.5, z), x, f"ddim_step, {label}")
    got = candidate.driver.call_non_contiguous(None, "cfg", [x, eps, 4.0])
    expect(got, cfg_oracle(x, eps, 4.0), x, f"cfg, {label}")


# -- precision ----------------------------------------------------------------------------------------


def test_float64_is_not_downcast(candidate):
    # at t = 0..3 of the linear schedule 1 - abar_t is ~1e-4: a float32 abar_t gets it wrong by ~1e-3 (relative)
    d = new(candidate, LINEAR)
    x, eps, z = randn(44, (4, 6)), randn(45, (4, 6)), randn(46, (4, 6))
    t = steps([0, 1, 2, 3])
    check_q(candidate, d, LINEAR, x, t, z, "float64, early steps")
    check_p(candidate, d, LINEAR, eps, x, t, z, "float64, early steps")
    check_ddim(candidate, d, LINEAR, eps, x, steps([1, 2, 3, 3]), steps([0, 1, -1, 2]), 0.9, z, "float64, early steps")
    close, ones = schedule([[1.0 + 1e-12, 1.0]]), schedule([[1.0, 1.0]])
    expect(candidate.cfg(close, ones, 1e6), cfg_oracle(close, ones, 1e6), close, "cfg in float64: 1e-12 apart, w=1e6")
    # float32 betas are converted to float64 before the cumulative product
    read = [float(b) for b in schedule(LINEAR, torch.float32).double()]
    d = new(candidate, LINEAR, torch.float32)
    check_q(candidate, d, read, x, t, z, "float64 inputs, float32 betas, early steps")
    check_p(candidate, d, read, eps, x, t, z, "float64 inputs, float32 betas, early steps")


def test_float32_inputs(candidate):
    for name, betas in (("linear", LINEAR), ("cosine", COSINE)):
        d = new(candidate, betas)
        x, eps, z = (randn(seed, (4, 2, 8), torch.float32) for seed in (47, 48, 49))
        t = steps([999, 0, 1, 500])
        check_q(candidate, d, betas, x, t, z, name)
        check_p(candidate, d, betas, eps, x, t, z, name)
        check_ddim(candidate, d, betas, eps, x, t, steps([900, -1, 0, 499]), 0.5, z, name)


def test_float32_inputs_meet_float64_coefficients(candidate):
    # terms of ~10 that cancel at the first steps, where sqrt(1 - abar_t) ~ 0.01: computed from a
    # float32 abar_t that coefficient is off by ~1e-4 (relative), ~1e-3 here; from float64 it is exact
    d = new(candidate, LINEAR)
    abar = alpha_bars(LINEAR)
    t = steps([0, 1, 0, 1])
    noise = randn(74, (4, 8), scale=5.0) + 1000.0
    ratio = torch.tensor([math.sqrt((1 - abar[s]) / abar[s]) for s in t.tolist()], dtype=F64)[:, None]
    x0 = (-ratio * noise + randn(75, (4, 8), scale=1e-3)).float()
    check_q(candidate, d, LINEAR, x0, t, noise.float(), "float32, terms of ~10 that cancel")
    # the same for the eps term of the mean: beta_t / sqrt(1 - abar_t) eps ~ x_t
    eps_coefficient = torch.tensor([posterior(LINEAR, s)[1] for s in t.tolist()], dtype=F64)[:, None]
    x = (eps_coefficient * noise + randn(76, (4, 8), scale=1e-3)).float()
    zero = torch.zeros(4, 8)
    check_p(candidate, d, LINEAR, noise.float(), x, t, zero, "float32, x_t ~ the eps term")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_is_computed_in_float32(candidate, dtype):
    half = getattr(torch, dtype)
    d = new(candidate, COSINE)
    x, eps, z = (randn(seed, (4, 16), half) for seed in (50, 51, 52))
    t = steps([999, 0, 1, 500])
    check_q(candidate, d, COSINE, x, t, z, dtype)
    check_p(candidate, d, COSINE, eps, x, t, z, dtype)
    check_ddim(candidate, d, COSINE, eps, x, steps([998, 1, 1, 500]), steps([900, -1, 0, 499]), 0.5, z, dtype)
    # magnitudes ~100 that cancel: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise is ~0 while each term is ~70
    abar = alpha_bars(COSINE)
    t = steps([400, 500, 600, 700])
    x0 = randn(53, (4, 16), scale=100.0)
    ratio = torch.tensor([math.sqrt(abar[s] / (1 - abar[s])) for s in t.tolist()], dtype=F64)[:, None]
    noise = -ratio * x0 + randn(54, (4, 16), scale=0.05)
    x0, noise = x0.to(half), noise.to(half)
    check_q(candidate, d, COSINE, x0, t, noise, f"{dtype}, terms of ~100 that cancel")
    # the last cosine step: 1 / sqrt(alpha_999) = 31.6 times x_t - 0.999 eps, which cancels
    eps = randn(55, (4, 16), scale=30.0)
    x = (eps.double() * 0.999 + randn(56, (4, 16), scale=0.05)).to(half)
    t = steps([999, 999, 999, 999])
    check_p(candidate, d, COSINE, eps.to(half), x, t, torch.zeros(4, 16, dtype=half), f"{dtype}, the last step")
    cond = randn(57, (4, 16), scale=100.0)
    uncond = (cond + randn(58, (4, 16), scale=0.3)).to(half)
    cond = cond.to(half)
    expect(candidate.cfg(cond, uncond, 7.5), cfg_oracle(cond, uncond, 7.5), cond, f"cfg w=7.5, {dtype}, ~100")
    # guidance that cancels: w (eps_cond - eps_uncond) ~ -eps_uncond ~ 500, rounded in the half dtype it is off by ~0.1
    uncond = randn(77, (4, 16), scale=500.0)
    cond = (uncond * (1 - 1 / 7.5) + randn(78, (4, 16), scale=0.05)).to(half)
    uncond = uncond.to(half)
    expect(candidate.cfg(cond, uncond, 7.5), cfg_oracle(cond, uncond, 7.5), cond, f"cfg w=7.5, {dtype}, cancelling")


# -- caller data ----------------------------------------------------------------------------------


def test_beta_schedule_is_built_at_every_call(candidate):
    # the caller scales the first result in place: a cached schedule would come back scaled
    for kind in ("linear", "cosine"):
        got = candidate.driver.schedule_after_a_write(kind, 50)
        assert_close(
            got, schedule(betas_oracle(kind, 50)), name=f"beta_schedule({kind!r}, 50) after a write into the first one"
        )


def test_results_are_fresh_tensors(candidate):
    betas = schedule(SMALL)
    x, eps, z = randn(59, (2, 3)), randn(60, (2, 3)), randn(61, (2, 3))
    t = steps([0, 2])
    calls = {
        "q_sample": [x, t, z],
        "p_sample_step": [eps, x, t, z],
        "ddim_step": [eps, x, t, steps([-1, -1]), 0.0, z],
    }
    for name, args in calls.items():
        assert not candidate.driver.shares_memory_with_an_input(betas, name, args), f"{name} returned an input's memory"
    for w in (0, 1, 0.0, 1.0, 2.0):
        shared = candidate.driver.shares_memory_with_an_input(None, "cfg", [x, eps, w])
        assert not shared, f"cfg(w={w!r}) returned a tensor that shares memory with an input"


# -- errors ---------------------------------------------------------------------------------------


def raises_for_each(cases: dict) -> None:
    """ValueError for every case (a zero-argument callable)."""
    for label, call in cases.items():
        try:
            with expect_raises("ValueError"):
                call()
        except AssertionError as error:
            raise AssertionError(f"{label}: {error}") from None


def test_bad_kind_raises(candidate):
    kinds = ["quadratic", "Linear", "COSINE", "", None, 1]
    raises_for_each({f"kind={k!r}": (lambda k=k: candidate.beta_schedule(k, 10)) for k in kinds})


def test_bad_T_raises(candidate):
    values = [0, -1, 10.0, True, "10", None]
    cases = {
        f"T={v!r}, {kind}": (lambda v=v, kind=kind: candidate.beta_schedule(kind, v))
        for v in values
        for kind in ("linear", "cosine")
    }
    raises_for_each(cases)


def test_bad_betas_raise(candidate):
    cases = {
        "2-D": torch.full((2, 3), 0.1, dtype=F64),
        "0-d": torch.tensor(0.1, dtype=F64),
        "T == 0": torch.zeros(0, dtype=F64),
        "int": torch.ones(3, dtype=torch.int64),
        "a beta of 0": schedule([0.1, 0.0, 0.2]),
        "a beta of 1": schedule([0.1, 1.0]),
        "a negative beta": schedule([-0.1, 0.2]),
        "a beta above 1": schedule([0.5, 1.5]),
        "NaN": schedule([0.1, math.nan]),
        "a list": [0.1, 0.2],
    }
    raises_for_each({f"betas {k}": (lambda b=b: candidate.GaussianDiffusion(b)) for k, b in cases.items()})


def test_bad_x_raises(candidate):
    d = new(candidate, SMALL)
    cases = {
        "int64 beside float64 companions": torch.ones(2, 3, dtype=torch.int64),
        "int64": torch.ones(2, 3, dtype=torch.int64),
        "bool": torch.ones(2, 3, dtype=torch.bool),
        "0-d": torch.tensor(1.0, dtype=F64),
        "B == 0": torch.zeros(0, 3, dtype=F64),
        "a list": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]],
    }
    calls = {}
    for k, x in cases.items():
        t = steps([]) if k in ("0-d", "B == 0") else steps([1, 2])
        # int64 and bool: the companions (noise, eps, z, eps_uncond) have the same dtype and shape, so only
        # the floating check can reject them
        like = (
            x
            if k in ("int64", "bool") or (isinstance(x, torch.Tensor) and x.is_floating_point())
            else randn(63, (2, 3))
        )
        calls[f"q_sample x0 {k}"] = lambda x=x, t=t, like=like: d.q_sample(x, t, like)
        calls[f"p_sample_step x_t {k}"] = lambda x=x, t=t, like=like: d.p_sample_step(like, x, t, like)
        calls[f"ddim_step x_t {k}"] = lambda x=x, t=t, like=like: d.ddim_step(like, x, t, t - 1, 0.0, like)
        calls[f"cfg eps_cond {k}"] = lambda x=x, like=like: candidate.cfg(x, like, 2.0)
    raises_for_each(calls)


def test_mismatched_companions_raise(candidate):
    d = new(candidate, SMALL)
    x = randn(64, (2, 3))
    t, t_prev = steps([1, 2]), steps([0, 1])
    cases = {
        "another shape": randn(65, (2, 4)),
        "a broadcastable shape": randn(66, (1, 3)),
        "another dtype": randn(67, (2, 3), torch.float32),
        "a list": x.tolist(),
    }
    calls = {}
    for k, bad in cases.items():
        calls[f"q_sample noise {k}"] = lambda bad=bad: d.q_sample(x, t, bad)
        calls[f"p_sample_step eps {k}"] = lambda bad=bad: d.p_sample_step(bad, x, t, x)
        calls[f"p_sample_step z {k}"] = lambda bad=bad: d.p_sample_step(x, x, t, bad)
        calls[f"ddim_step eps {k}"] = lambda bad=bad: d.ddim_step(bad, x, t, t_prev, 0.0, x)
        calls[f"ddim_step z {k}"] = lambda bad=bad: d.ddim_step(x, x, t, t_prev, 0.0, bad)
        calls[f"cfg eps_uncond {k}"] = lambda bad=bad: candidate.cfg(x, bad, 2.0)
    # z is validated at t = 0 and at eta = 0 too, where its values do not matter
    calls["p_sample_step z of another shape at t = 0"] = lambda: d.p_sample_step(x, x, steps([0, 0]), randn(68, (2, 4)))
    calls["ddim_step z of another dtype at eta = 0"] = lambda: d.ddim_step(x, x, t, t_prev, 0, x.float())
    raises_for_each(calls)


def test_bad_step_tensors_raise(candidate):
    d = new(candidate, SMALL)
    x = randn(69, (2, 3))
    cases = {
        "a Python int": 1,
        "a list": [1, 2],
        "float": torch.tensor([1.0, 2.0]),
        "bool": torch.tensor([True, True]),
        "int16": torch.tensor([1, 2], dtype=torch.int16),
        "uint8": torch.tensor([1, 2], dtype=torch.uint8),
        "0-d": torch.tensor(1),
        "shape (1,) for B = 2": steps([1]),
        "shape (B, 1)": steps([[1], [2]]),
        "shape (B + 1,)": steps([1, 2, 2]),
    }
    calls = {}
    for k, bad in cases.items():
        calls[f"q_sample t {k}"] = lambda bad=bad: d.q_sample(x, bad, x)
        calls[f"p_sample_step t {k}"] = lambda bad=bad: d.p_sample_step(x, x, bad, x)
        calls[f"ddim_step t {k}"] = lambda bad=bad: d.ddim_step(x, x, bad, steps([-1, -1]), 0.0, x)
        calls[f"ddim_step t_prev {k}"] = lambda bad=bad: d.ddim_step(x, x, steps([2, 2]), bad, 0.0, x)
    raises_for_each(calls)


def test_t_out_of_range_raises(candidate):
    d = new(candidate, SMALL)
    x = randn(70, (2, 3))
    calls = {}
    for values in ([3, 1], [1, 3], [-1, 1], [100, 2]):
        t = steps(values)
        calls[f"q_sample t={values} (T = 3)"] = lambda t=t: d.q_sample(x, t, x)
        calls[f"p_sample_step t={values} (T = 3)"] = lambda t=t: d.p_sample_step(x, x, t, x)
        calls[f"ddim_step t={values} (T = 3)"] = lambda t=t: d.ddim_step(x, x, t, steps([-1, -1]), 0.0, x)
    raises_for_each(calls)


def test_bad_t_prev_raises(candidate):
    d = new(candidate, SMALL)
    x = randn(71, (2, 3))
    cases = {
        "t_prev == t": ([2, 1], [2, 0]),
        "t_prev > t": ([1, 1], [2, 0]),
        "t_prev == t in the second sample": ([2, 1], [0, 1]),
        "t_prev = -2": ([2, 1], [-2, 0]),
        "t = 0, t_prev = 0": ([0, 0], [0, -1]),
    }
    calls = {}
    for k, (t, t_prev) in cases.items():
        for eta in (0.0, 1.0):
            calls[f"{k}, eta={eta}"] = lambda t=t, t_prev=t_prev, eta=eta: d.ddim_step(
                x, x, steps(t), steps(t_prev), eta, x
            )
    raises_for_each(calls)


def test_bad_eta_raises(candidate):
    d = new(candidate, SMALL)
    x = randn(72, (2, 3))
    values = [-0.1, 1.01, 2, math.nan, math.inf, True, False, "0.5", None, torch.tensor(0.5)]
    call = lambda eta: d.ddim_step(x, x, steps([2, 1]), steps([0, -1]), eta, x)  # noqa: E731
    raises_for_each({f"eta={v!r}": (lambda v=v: call(v)) for v in values})


def test_bad_w_raises(candidate):
    x = randn(73, (2, 3))
    values = [math.inf, -math.inf, math.nan, True, False, "7.5", None, torch.tensor(7.5)]
    raises_for_each({f"w={v!r}": (lambda v=v: candidate.cfg(x, x, v)) for v in values})


# -- property-based against the oracle --------------------------------------------------------------


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["linear", "cosine"]))
    T = draw(st.sampled_from([1, 2, 5, 40, 1000]))
    shape = draw(st.sampled_from([(1,), (3,), (2, 5), (3, 2, 3), (2, 1, 2, 2)]))
    t = draw(st.lists(st.integers(0, T - 1), min_size=shape[0], max_size=shape[0]))
    t_prev = [draw(st.integers(-1, s - 1)) for s in t]
    eta = draw(st.sampled_from([0.0, 0.25, 1.0]))
    w = draw(st.sampled_from([0.0, 1.0, 4.5, -1.0]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    return kind, T, shape, t, t_prev, eta, w, dtype, draw(st.integers(0, 2**16))


@settings(max_examples=30, report_multiple_bugs=False)
@given(case=cases())
def test_random_matches_oracle(candidate, case):
    kind, T, shape, t, t_prev, eta, w, dtype, seed = case
    betas = betas_oracle(kind, T)
    d = new(candidate, betas)
    x, eps, z = (randn(seed + i, shape, dtype) for i in range(3))
    label = f"{kind} T={T}, seed {seed}"
    check_q(candidate, d, betas, x, steps(t), z, label)
    check_p(candidate, d, betas, eps, x, steps(t), z, label)
    check_ddim(candidate, d, betas, eps, x, steps(t), steps(t_prev), eta, z, label)
    expect(candidate.cfg(eps, z, w), cfg_oracle(eps, z, w), eps, f"cfg w={w}, {label}")
