"""Hidden tests for adamw-optimizer.

Expected values come from the float64 oracle in adamw_oracle.py (checker side). Parameters live
in the worker: the problem's driver builds the leaves, assigns each step's gradients, calls the
submission and returns snapshots (parameters, state, flags) after every step.
"""

import math

import pytest
import torch
from adamw_oracle import adamw_oracle, clip_oracle, random_tensor, warmup_cosine_oracle
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

F32, F64 = torch.float32, torch.float64
DTYPES = {"float32": F32, "float64": F64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def name_of(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe(spec: dict) -> str:
    groups = [
        "["
        + ", ".join(f"{tuple(p.shape)} {name_of(p.dtype)}" for p in g["params"])
        + "]"
        + "".join(f" {k}={v}" for k, v in g.items() if k != "params")
        for g in spec["groups"]
    ]
    return f"groups {'; '.join(groups)}, kwargs {spec.get('kwargs', {})}, {len(spec['steps'])} steps"


def spec_of(groups: list[dict], grads: list[list], kwargs: dict | None = None, sets: dict | None = None, **extra):
    """A run: groups, the flat gradients of each step, constructor kwargs, {step index: group changes}."""
    sets = sets or {}
    steps = [{"grads": g, **({"set": sets[k]} if k in sets else {})} for k, g in enumerate(grads)]
    return {"groups": groups, "kwargs": kwargs or {}, "steps": steps, **extra}


def compare(got: list[dict], spec: dict, tolerances, label: str, expected=None) -> None:
    """Parameters, step counts and moments after every step against the oracle."""
    expected = adamw_oracle(spec) if expected is None else expected
    dtypes = [p.dtype for g in spec["groups"] for p in g["params"]]
    where = f"{label}; {describe(spec)}"
    assert len(got) == len(expected)
    for k, (snap, exp) in enumerate(zip(got, expected, strict=True)):
        at = f"after step {k + 1} ({where})"
        assert snap["is_optimizer"], "AdamW must subclass torch.optim.Optimizer"
        assert snap["grads_unchanged"], f"step wrote into p.grad or replaced it, {at}"
        assert snap["params_require_grad"], f"a parameter is no longer a leaf with requires_grad=True, {at}"
        assert snap["returned"] is None, f"step() without a closure returned {snap['returned']!r}, {at}"
        for j, dtype in enumerate(dtypes):
            atol, rtol = tolerances[name_of(dtype)]
            assert_close(snap["params"][j], exp.params[j].to(dtype), name=f"parameter {j} {at}")
            assert snap["steps"][j] == exp.steps[j], (
                f'state[p]["step"] of parameter {j} is {snap["steps"][j]}, expected {exp.steps[j]} '
                f"(updates it has had), {at}"
            )
            for key, value in (("exp_avg", exp.exp_avg[j]), ("exp_avg_sq", exp.exp_avg_sq[j])):
                if value is None:
                    continue
                mine = snap[key][j]
                assert mine is not None, f'state[p]["{key}"] of parameter {j} is missing or not a tensor, {at}'
                scale = value.abs().max().item()
                assert_close(mine, value.to(dtype), name=f'state[p]["{key}"] of parameter {j} {at}', atol=atol * scale)


def run(candidate, tolerances, spec, label, reload_after=-1):
    got = candidate.driver.run_adamw(spec, reload_after)
    compare(got, spec, tolerances, label)
    return got


def randn(*shape, dtype=F64, seed=0, scale=1.0):
    return random_tensor(shape, dtype, torch.Generator().manual_seed(seed), scale)


def random_grads(params: list[torch.Tensor], n_steps: int, seed: int, scale: float = 1.0) -> list[list]:
    g = torch.Generator().manual_seed(seed)
    return [[random_tensor(tuple(p.shape), p.dtype, g, scale) for p in params] for _ in range(n_steps)]


# -- the statement's examples ----------------------------------------------------------------------


def test_statement_examples(candidate, tolerances):
    p = torch.tensor([1.0, -2.0], dtype=F64)
    grads = [[torch.tensor([0.5, -0.25], dtype=F64)], [torch.tensor([-0.5, 0.5], dtype=F64)]]
    spec = spec_of([{"params": [p]}], grads, {"lr": 0.1, "weight_decay": 0.1})
    got = run(candidate, tolerances, spec, "statement example")
    assert_close(got[0]["params"][0], torch.tensor([0.890000002, -1.880000004], dtype=F64), name="step 1", atol=1e-9)
    assert_close(got[1]["params"][0], torch.tensor([0.886363160, -1.897810356], dtype=F64), name="step 2", atol=1e-9)
    lrs = [candidate.warmup_cosine(s, 10, 110, 1e-3, 1e-4) for s in (0, 5, 10, 60, 110, 200)]
    for s, lr, want in zip((0, 5, 10, 60, 110, 200), lrs, (0.0, 5e-4, 1e-3, 5.5e-4, 1e-4, 1e-4), strict=True):
        assert isinstance(lr, float), f"warmup_cosine({s}, 10, 110, 1e-3, 1e-4) returned {type(lr).__name__}"
        assert math.isclose(lr, want, rel_tol=1e-9, abs_tol=1e-15), f"warmup_cosine({s}, 10, 110, 1e-3, 1e-4) = {lr}"
    out = candidate.driver.clip([torch.zeros(2), torch.zeros(1)], [torch.tensor([3.0, 4.0]), torch.tensor([12.0])], 6.5)
    assert_close(out["total"], torch.tensor(13.0), name="total norm of [3, 4] and [12]")
    c = 6.5 / (13 + 1e-6)
    assert_close(out["grads"][0], torch.tensor([3 * c, 4 * c]), name="clipped grad of a")
    assert_close(out["grads"][1], torch.tensor([12 * c]), name="clipped grad of b")


# -- AdamW: the update rule ----------------------------------------------------------------------------


def test_first_step_is_lr_times_sign(candidate, tolerances):
    # t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) for any gradient scale
    p = randn(4, 3, seed=1)
    g = torch.tensor([[1e-3, -2.0, 50.0], [-7.0, 0.25, 1e-2], [3.0, -3.0, 0.5], [-1e-1, 8.0, -0.01]], dtype=F64)
    spec = spec_of([{"params": [p]}], [[g]], {"lr": 0.01, "weight_decay": 0.0, "eps": 0.0})
    got = run(candidate, tolerances, spec, "first step, eps = 0, no decay")
    assert_close(got[0]["params"][0], p - 0.01 * torch.sign(g), name="p after the first step (p - lr * sign(g))")


def test_decoupled_weight_decay_not_l2(candidate, tolerances):
    # a constant gradient: Adam + L2 would fold lambda * p into m and v
    p = torch.tensor([2.0, -1.0, 0.5, 3.0], dtype=F64)
    g = torch.tensor([0.1, -0.2, 0.3, 0.05], dtype=F64)
    spec = spec_of([{"params": [p]}], [[g.clone()] for _ in range(10)], {"lr": 0.05, "weight_decay": 0.5})
    run(candidate, tolerances, spec, "lr = 0.05, weight_decay = 0.5")


def test_decay_happens_before_the_adam_step_with_the_current_lr(candidate, tolerances):
    # float64 and a tight tolerance: decaying after the Adam step differs by lr^2 * lambda * update
    p = randn(6, seed=2)
    lrs = {k: [{"lr": 0.02 * (k + 1)}] for k in range(8)}
    spec = spec_of([{"params": [p]}], random_grads([p], 8, seed=3), {"lr": 0.02, "weight_decay": 0.3}, lrs)
    run(candidate, tolerances, spec, "lr changes every step")


def test_bias_correction_counts_updates_per_parameter(candidate, tolerances):
    # the second parameter gets its first gradient at step 5: its first update has t = 1
    a, b = randn(3, seed=4), randn(2, 2, seed=5)
    grads = random_grads([a, b], 9, seed=6)
    for k in range(4):
        grads[k][1] = None
    grads[6][0] = None
    spec = spec_of([{"params": [a, b]}], grads, {"lr": 0.1, "betas": (0.8, 0.9)})
    got = run(candidate, tolerances, spec, "gradients missing on some steps")
    assert got[3]["steps"] == [4.0, 0.0] and got[8]["steps"] == [8.0, 5.0], [s["steps"] for s in got]


def test_parameter_without_grad_is_untouched(candidate, tolerances):
    # weight decay must not shrink a parameter that has no gradient this step
    a, b = randn(3, seed=7), randn(3, seed=8)
    grads = [[g, None] for g, _ in random_grads([a, b], 4, seed=9)]
    spec = spec_of([{"params": [a, b]}], grads, {"lr": 0.1, "weight_decay": 0.5})
    got = run(candidate, tolerances, spec, "the second parameter never has a gradient")
    for k, snap in enumerate(got):
        assert torch.equal(snap["params"][1], b), f"a parameter whose grad is None changed at step {k + 1}"


def test_eps_is_outside_the_square_root(candidate, tolerances):
    # |g| ~ 1e-4: sqrt(v_hat + eps) and sqrt(v_hat) + eps differ by 100x at eps = 1e-8
    for dtype in (F32, F64):
        p = randn(5, dtype=dtype, seed=10)
        spec = spec_of([{"params": [p]}], random_grads([p], 6, seed=11, scale=1e-4), {"lr": 0.01, "eps": 1e-8})
        run(candidate, tolerances, spec, "gradients ~1e-4")
    p = randn(5, seed=12)
    spec = spec_of([{"params": [p]}], random_grads([p], 6, seed=13, scale=1e-2), {"lr": 0.01, "eps": 1e-3})
    run(candidate, tolerances, spec, "eps = 1e-3 comparable to |g|")


def test_defaults(candidate, tolerances):
    p = randn(3, 2, seed=14)
    spec = spec_of([{"params": [p]}], random_grads([p], 12, seed=15, scale=1e-6))
    run(candidate, tolerances, spec, "constructor defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2)")
    spec = spec_of([{"params": [p]}], random_grads([p], 5, seed=16), {"weight_decay": 10.0, "lr": 0.05})
    run(candidate, tolerances, spec, "default betas and eps, large decay")


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": 0.0}, {"eps": 0.0}, {"weight_decay": 0.0}, {"betas": (0.0, 0.999)}, {"betas": (0.9, 0.0)}],
    ids=lambda kwargs: next(f"{k}={v}" for k, v in kwargs.items()),
)
def test_explicit_zero_is_not_the_default(candidate, tolerances, kwargs):
    p = randn(4, seed=17) * 3
    grads = random_grads([p], 5, seed=18, scale=1e-7)  # eps = 1e-8 would show against 1e-7 gradients
    spec = spec_of([{"params": [p]}], grads, {"lr": 0.05, "weight_decay": 0.2, **kwargs})
    run(candidate, tolerances, spec, f"explicit {kwargs}")
    group_spec = spec_of([{"params": [p], **kwargs}], grads, {"lr": 0.05, "weight_decay": 0.2})
    run(candidate, tolerances, group_spec, f"group override {kwargs}")


def test_lr_zero_still_advances_the_state(candidate, tolerances):
    p = randn(3, seed=19)
    sets = {0: [{"lr": 0.0}], 1: [{"lr": 0.0}], 2: [{"lr": 0.1}]}
    spec = spec_of([{"params": [p]}], random_grads([p], 5, seed=20), {"lr": 0.0, "weight_decay": 0.1}, sets)
    got = run(candidate, tolerances, spec, "lr = 0 for two steps, then 0.1")
    assert torch.equal(got[1]["params"][0], p), "lr = 0 changed the parameter"


# -- AdamW: groups, hyperparameters read at each step, the loop -------------------------------------------


def test_groups_override_defaults(candidate, tolerances):
    w, bias, gain = randn(4, 3, seed=21), randn(3, seed=22), randn(3, seed=23) + 1.0
    groups = [
        {"params": [w]},
        {"params": [bias, gain], "weight_decay": 0.0},
        {"params": [randn(2, seed=24)], "lr": 0.2, "betas": (0.5, 0.6), "eps": 1e-2},
    ]
    params = [p for g in groups for p in g["params"]]
    spec = spec_of(groups, random_grads(params, 7, seed=25), {"lr": 0.03, "weight_decay": 0.4})
    run(candidate, tolerances, spec, "per-group overrides")


def test_groups_do_not_share_state(candidate, tolerances):
    # the same shapes at the same positions in two groups, different gradients and hyperparameters
    a0, a1, b0, b1 = (randn(2, 3, seed=s) for s in (26, 27, 28, 29))
    groups = [{"params": [a0, a1]}, {"params": [b0, b1], "betas": (0.7, 0.8)}]
    grads = random_grads([a0, a1, b0, b1], 6, seed=30)
    grads[0][2] = None
    spec = spec_of(groups, grads, {"lr": 0.05})
    run(candidate, tolerances, spec, "two groups with matching shapes")


def test_hyperparameters_read_at_every_step(candidate, tolerances):
    a, b = randn(3, seed=31), randn(2, seed=32)
    sets = {
        2: [{"lr": 0.2}, {"weight_decay": 0.0}],
        4: [{"betas": (0.5, 0.9)}, {"eps": 0.1}],
        5: [{"weight_decay": 0.9, "lr": 0.01}, {"lr": 0.3}],
    }
    spec = spec_of([{"params": [a]}, {"params": [b]}], random_grads([a, b], 8, seed=33), {"lr": 0.05}, sets)
    run(candidate, tolerances, spec, "param_groups changed between steps")


def test_schedule_drives_lr_over_many_steps(candidate, tolerances):
    a, b = randn(8, 4, dtype=F32, seed=34), randn(4, dtype=F32, seed=35)
    schedule = (5, 40, 0.05, 0.005)
    lrs = {k: [{"lr": warmup_cosine_oracle(k, *schedule)}] * 2 for k in range(45)}
    groups = [{"params": [a]}, {"params": [b], "weight_decay": 0.0}]
    spec = spec_of(groups, random_grads([a, b], 45, seed=36), {"weight_decay": 0.1}, lrs)
    run(candidate, tolerances, spec, "warmup + cosine over 45 steps (float32)")


def test_training_loop_clip_schedule_step(candidate, tolerances):
    a, b = randn(5, 3, seed=37), randn(3, seed=38)
    grads = random_grads([a, b], 30, seed=39, scale=2.0)
    for k in range(0, 30, 7):
        grads[k][1] = None
    schedule, max_norm = (4, 25, 0.02, 0.002), 3.0
    clipped, norms, sets = [], [], {}
    for k, step in enumerate(grads):
        total, new = clip_oracle(step, max_norm)
        clipped.append(new)
        norms.append(total)
        sets[k] = [{"lr": warmup_cosine_oracle(k, *schedule)}] * 2
    groups = [{"params": [a]}, {"params": [b], "weight_decay": 0.0}]
    spec = spec_of(groups, grads, {"weight_decay": 0.1})
    expected = adamw_oracle(spec_of(groups, clipped, {"weight_decay": 0.1}, sets))
    got, got_norms = candidate.driver.train(spec, max_norm, schedule)
    for k, (mine, want) in enumerate(zip(got_norms, norms, strict=True)):
        assert_close(mine, want, name=f"clip_grad_norm's total norm at step {k}")
    compare(got, spec, tolerances, "clip + warmup_cosine + AdamW loop", expected)


@st.composite
def runs(draw):
    hyper = {
        "lr": st.sampled_from([0.0, 1e-3, 0.05, 0.3]),
        "weight_decay": st.sampled_from([0.0, 0.01, 0.5]),
        "betas": st.sampled_from([(0.9, 0.999), (0.0, 0.99), (0.8, 0.9), (0.5, 0.0)]),
        "eps": st.sampled_from([1e-8, 1e-3, 0.0]),
    }
    groups = [draw(st.fixed_dictionaries({}, optional=hyper)) for _ in range(draw(st.integers(1, 3)))]
    sizes = [draw(st.integers(1, 3)) for _ in groups]
    kwargs = draw(st.fixed_dictionaries({}, optional=hyper))
    dtype = draw(st.sampled_from(["float32", "float64", "mixed"]))
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    return (
        groups,
        sizes,
        kwargs,
        dtype,
        scale,
        draw(st.integers(1, 10)),
        draw(st.booleans()),
        draw(st.integers(0, 2**16)),
    )


@settings(max_examples=15, report_multiple_bugs=False)
@given(case=runs())
def test_random_runs_match_oracle(candidate, tolerances, case):
    overrides, sizes, kwargs, dtype, scale, n_steps, some_none, seed = case
    g = torch.Generator().manual_seed(seed)
    shapes = [(), (3,), (2, 3), (2, 1, 3)]
    groups, params = [], []
    for over, n in zip(overrides, sizes, strict=True):
        ps = []
        for _ in range(n):
            t = F32 if dtype == "float32" or (dtype == "mixed" and torch.rand((), generator=g) < 0.5) else F64
            ps.append(random_tensor(shapes[int(torch.randint(0, 4, (), generator=g))], t, g))
        groups.append({"params": ps, **over})
        params += ps
    grads = []
    for _ in range(n_steps):
        row = [random_tensor(tuple(p.shape), p.dtype, g, scale) for p in params]
        if some_none:
            row = [None if torch.rand((), generator=g) < 0.3 else x for x in row]
        grads.append(row)
    run(candidate, tolerances, spec_of(groups, grads, kwargs), f"seed {seed}")


# -- AdamW: extremes, dtypes, layouts -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1e-10, 1e4])
def test_gradient_magnitudes(candidate, tolerances, dtype, scale):
    # with eps = 0 the update is scale-invariant; with the default eps tiny gradients take smaller steps
    p = randn(3, 4, dtype=DTYPES[dtype], seed=40)
    grads = random_grads([p], 8, seed=41, scale=scale)
    run(candidate, tolerances, spec_of([{"params": [p]}], grads, {"lr": 0.01, "eps": 0.0}), f"|g| ~ {scale}, eps = 0")
    run(candidate, tolerances, spec_of([{"params": [p]}], grads, {"lr": 0.01}), f"|g| ~ {scale}, eps = 1e-8")


def test_float64_is_not_downcast(candidate):
    # steps of 1e-9 relative size: float32 arithmetic would lose them
    p = torch.full((3,), 1.0, dtype=F64)
    grads = [[torch.tensor([1.0, -1.0, 0.5], dtype=F64)] for _ in range(3)]
    spec = spec_of([{"params": [p]}], grads, {"lr": 1e-9, "weight_decay": 0.0})
    got = candidate.driver.run_adamw(spec, -1)
    expected = adamw_oracle(spec)
    for k, (snap, exp) in enumerate(zip(got, expected, strict=True)):
        assert_close(
            snap["params"][0], exp.params[0], name=f"float64 parameter after step {k + 1}", atol=1e-15, rtol=1e-15
        )
        assert_close(
            snap["exp_avg"][0], exp.exp_avg[0], name=f"float64 exp_avg after step {k + 1}", atol=1e-15, rtol=1e-12
        )


def test_zero_dim_and_non_contiguous_parameters(candidate, tolerances):
    w, s = randn(4, 3, seed=42), randn(seed=43)
    spec = spec_of([{"params": [w, s]}], random_grads([w, s], 6, seed=44), {"lr": 0.05}, strides="column-major")
    run(candidate, tolerances, spec, "a column-major (4, 3) parameter and a 0-d one")


@pytest.mark.parametrize("layout", ["list", "generator"])
def test_plain_iterables_of_parameters(candidate, tolerances, layout):
    a, b = randn(3, seed=45), randn(2, 2, seed=46)
    spec = spec_of([{"params": [a, b]}], random_grads([a, b], 5, seed=47), {"lr": 0.05}, layout=layout)
    run(candidate, tolerances, spec, f"params as a {layout}")


def test_state_dict_round_trip(candidate, tolerances):
    a, b = randn(3, seed=48), randn(2, seed=49)
    grads = random_grads([a, b], 8, seed=50)
    grads[1][1] = None
    sets = {2: [{"lr": 0.02}, {}]}
    spec = spec_of([{"params": [a]}, {"params": [b], "weight_decay": 0.0}], grads, {"lr": 0.1}, sets)
    run(candidate, tolerances, spec, "a fresh AdamW loaded from state_dict() after step 4", reload_after=3)


def test_two_optimizers_side_by_side(candidate, tolerances):
    a, b = randn(3, seed=51), randn(3, seed=52)
    spec_a = spec_of([{"params": [a]}], random_grads([a], 6, seed=53), {"lr": 0.1, "betas": (0.5, 0.7)})
    spec_b = spec_of([{"params": [b]}], random_grads([b], 4, seed=54), {"lr": 0.01, "weight_decay": 0.3})
    got_a, got_b = candidate.driver.run_interleaved(spec_a, spec_b)
    compare(got_a, spec_a, tolerances, "optimizer A, steps interleaved with B")
    compare(got_b, spec_b, tolerances, "optimizer B, steps interleaved with A")


def test_closure_is_called_with_grad_enabled_and_returned(candidate, tolerances):
    p, c = torch.tensor([1.0, -2.0, 3.0], dtype=F64), torch.tensor([0.5, 2.0, 1.0], dtype=F64)
    out = candidate.driver.step_with_closure(p, c, {"lr": 0.1, "weight_decay": 0.1})
    assert out["calls"] == [True], f"closure calls (grad enabled?): {out['calls']}, expected one call with grad on"
    assert_close(out["returned"], (c * p * p / 2).sum(), name="step(closure)'s return value")
    spec = spec_of([{"params": [p]}], [[c * p]], {"lr": 0.1, "weight_decay": 0.1})
    assert_close(out["param"], adamw_oracle(spec)[0].params[0], name="p after step(closure)")


# -- AdamW: errors ----------------------------------------------------------------------------------------


GOOD = {"lr": 0.1, "betas": (0.9, 0.99), "eps": 1e-6, "weight_decay": 0.0}
WHERE = ["kwargs", "group", "kwargs-overridden"]


def construct_with_bad(candidate, where: str, key: str, value) -> int:
    """The bad value as a constructor argument, as the second group's override, or as an argument
    that every group overrides with a good value (the argument must still be validated)."""
    groups = [{"params": [torch.zeros(2)]}, {"params": [torch.zeros(3)]}]
    if where == "group":
        groups[1][key] = value
        return candidate.driver.construct(groups, {})
    if where == "kwargs-overridden":
        groups = [{**group, key: GOOD[key]} for group in groups]
    return candidate.driver.construct(groups, {key: value})


def construct(candidate, kwargs=None, override=None):
    groups = [{"params": [torch.zeros(2)]}, {"params": [torch.zeros(3)], **(override or {})}]
    return candidate.driver.construct(groups, kwargs or {})


BAD = [
    ("lr", -1e-3),
    ("lr", math.nan),
    ("betas", (1.0, 0.999)),
    ("betas", (0.9, 1.0)),
    ("betas", (-0.1, 0.999)),
    ("betas", (0.9, -0.5)),
    ("betas", (math.nan, 0.9)),
    ("betas", (0.9,)),
    ("eps", -1e-8),
    ("eps", math.nan),
    ("weight_decay", -0.1),
    ("weight_decay", math.nan),
]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v}" for k, v in BAD])
def test_bad_hyperparameter_raises(candidate, where, key, value):
    with expect_raises("ValueError"):
        construct_with_bad(candidate, where, key, value)


def test_empty_parameter_list_raises(candidate):
    with expect_raises("ValueError"):
        candidate.driver.construct([], {})


def test_boundary_hyperparameters_are_legal(candidate):
    assert construct(candidate, {"lr": 0.0, "eps": 0.0, "weight_decay": 0.0, "betas": (0.0, 0.0)}) == 2
    assert construct(candidate, {"betas": (0.999999, 0.999999)}, {"lr": 0.0, "betas": [0.0, 0.5]}) == 2


# -- warmup_cosine ------------------------------------------------------------------------------------------


def check_lr(candidate, step, warmup, total, peak, floor=None):
    args = (step, warmup, total, peak) if floor is None else (step, warmup, total, peak, floor)
    lr = candidate.warmup_cosine(*args)
    want = warmup_cosine_oracle(*args)
    assert isinstance(lr, float), f"warmup_cosine{args} returned a {type(lr).__name__}, expected a float"
    assert math.isclose(lr, want, rel_tol=1e-7, abs_tol=1e-9 * max(peak, 1e-300)), (
        f"warmup_cosine{args} = {lr!r}, expected {want!r}"
    )


def test_warmup_cosine_endpoints(candidate):
    for step in (0, 1, 9, 10, 11, 59, 60, 109, 110, 111, 1000):
        check_lr(candidate, step, 10, 110, 3e-4, 3e-5)
    assert candidate.warmup_cosine(0, 10, 110, 3e-4, 3e-5) == 0.0, "the rate at step 0 is 0"
    assert candidate.warmup_cosine(10, 10, 110, 3e-4, 3e-5) == pytest.approx(3e-4, rel=1e-12, abs=0), "step == warmup"
    assert candidate.warmup_cosine(110, 10, 110, 3e-4, 3e-5) == pytest.approx(3e-5, rel=1e-12, abs=0), "step == total"
    assert candidate.warmup_cosine(500, 10, 110, 3e-4, 3e-5) == pytest.approx(3e-5, rel=1e-12, abs=0), "after total"


def test_warmup_zero_and_floor_zero(candidate):
    for step in (0, 1, 50, 99, 100, 101):
        check_lr(candidate, step, 0, 100, 1.0, 0.0)
        check_lr(candidate, step, 0, 100, 1.0)
    assert candidate.warmup_cosine(0, 0, 100, 2.0) == pytest.approx(2.0, rel=1e-12), "warmup = 0: step 0 is at peak"
    assert candidate.warmup_cosine(100, 0, 100, 2.0, 0.0) == pytest.approx(0.0, abs=1e-15), (
        "floor = 0.0 explicit, at total"
    )
    check_lr(candidate, 3, 1, 2, 5.0, 5.0)  # floor == peak: flat after warmup
    check_lr(candidate, 1, 1, 2, 5.0, 5.0)
    check_lr(candidate, 0, 1, 2, 0.0, 0.0)


@settings(max_examples=25)
@given(
    warmup=st.integers(0, 50),
    length=st.integers(1, 200),
    offset=st.integers(-60, 260),
    peak=st.sampled_from([1e-4, 6e-4, 1.0, 3]),
    floor_fraction=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_warmup_cosine_random_points(candidate, warmup, length, offset, peak, floor_fraction):
    step = max(0, warmup + offset)
    check_lr(candidate, step, warmup, warmup + length, peak, peak * floor_fraction)


@pytest.mark.parametrize(
    "args",
    [(-1, 10, 100, 1e-3, 0.0), (0, -1, 100, 1e-3, 0.0), (0, 10, 10, 1e-3, 0.0), (0, 10, 5, 1e-3, 0.0)],
    ids=["step < 0", "warmup < 0", "total == warmup", "total < warmup"],
)
def test_warmup_cosine_bad_steps_raise(candidate, args):
    with expect_raises("ValueError"):
        candidate.warmup_cosine(*args)


@pytest.mark.parametrize(
    "args",
    [
        (5, 10, 100, -1e-3, 0.0),
        (5, 10, 100, math.nan, 0.0),
        (5, 10, 100, 1e-3, -1e-5),
        (5, 10, 100, 1e-3, 2e-3),
        (5, 10, 100, 1e-3, math.nan),
    ],
    ids=["peak < 0", "peak NaN", "floor < 0", "floor > peak", "floor NaN"],
)
def test_warmup_cosine_bad_rates_raise(candidate, args):
    with expect_raises("ValueError"):
        candidate.warmup_cosine(*args)


# -- clip_grad_norm -----------------------------------------------------------------------------------------


def check_clip(candidate, tolerances, grads, max_norm, label, layout="list", accumulate=None):
    params = [torch.zeros_like(g) if g is not None else torch.zeros(2) for g in grads]
    out = candidate.driver.clip(params, grads, max_norm, layout)
    total, clipped = clip_oracle(grads, max_norm)
    present = [g.dtype for g in grads if g is not None]
    acc = accumulate or (F64 if F64 in present else F32)
    where = f"{label}; max_norm={max_norm}, grads {[None if g is None else (tuple(g.shape), name_of(g.dtype)) for g in grads]}"
    assert_close(out["total"], total.to(acc), name=f"total norm ({where})")
    assert out["same_objects"], f"p.grad was replaced by a new tensor; scale it in place ({where})"
    for j, (mine, want, g) in enumerate(zip(out["grads"], clipped, grads, strict=True)):
        if g is None:
            assert mine is None, f"parameter {j} had no gradient and now has one ({where})"
            continue
        assert_close(mine, want.to(g.dtype), name=f"gradient {j} after clipping ({where})")
    return out


def test_clip_by_the_global_norm(candidate, tolerances):
    grads = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]
    out = check_clip(candidate, tolerances, grads, 6.5, "norms 5 and 12, total 13")
    assert_close(out["grads"][0], torch.tensor([1.5, 2.0]), name="a.grad", atol=1e-6)
    check_clip(
        candidate, tolerances, [randn(4, 3, seed=60), randn(5, seed=61, scale=10.0), randn(seed=62)], 1.0, "random"
    )


def test_clip_returns_the_norm_before_clipping(candidate, tolerances):
    out = check_clip(candidate, tolerances, [torch.full((4,), 5.0)], 1.0, "norm 10, max_norm 1")
    assert_close(out["total"], torch.tensor(10.0), name="returned total norm (before clipping)")


def test_clip_leaves_small_gradients_alone(candidate, tolerances):
    grads = [torch.tensor([0.3, -0.4]), torch.tensor([[1.2]])]  # total 1.3
    for max_norm in (1.31, 5.0, math.inf):
        out = check_clip(candidate, tolerances, grads, max_norm, "total 1.3")
        for mine, g in zip(out["grads"], grads, strict=True):
            assert torch.equal(mine, g), f"gradients changed at max_norm={max_norm} > total norm 1.3 + 1e-6"


def test_clip_epsilon_in_the_coefficient(candidate, tolerances):
    # float64 gradients: max_norm / total and max_norm / (total + 1e-6) differ by 1e-6 relative
    grads = [torch.tensor([0.6, 0.8], dtype=F64), torch.tensor([0.0], dtype=F64)]
    out = check_clip(candidate, tolerances, grads, 0.5, "float64, total 1")
    c = 0.5 / (1.0 + 1e-6)
    assert_close(
        out["grads"][0], torch.tensor([0.6 * c, 0.8 * c], dtype=F64), name="clipped float64 gradient", atol=1e-15
    )
    # max_norm == total norm: clip_coef = 1 / (1 + 1e-6) < 1, so the gradients are (slightly) scaled
    out = check_clip(candidate, tolerances, grads, 1.0, "float64, max_norm equal to the total norm 1")
    assert not torch.equal(out["grads"][0], grads[0]), "max_norm == total norm: clip_coef < 1 must still scale"
    tiny = [torch.tensor([3e-4, 4e-4])]  # total 5e-4: the 1e-6 is 0.2% of it
    check_clip(candidate, tolerances, tiny, 1e-4, "float32, total 5e-4")


def test_clip_skips_none_gradients(candidate, tolerances):
    check_clip(candidate, tolerances, [None, torch.tensor([6.0, 8.0]), None], 5.0, "None gradients around one")
    out = check_clip(candidate, tolerances, [None, None], 1.0, "no gradients at all")
    assert out["total"].dtype == F32 and out["total"].shape == (), f"{out['total']!r}"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_clip_half_precision_accumulates_in_fp32(candidate, tolerances, dtype):
    # 300^2 = 9e4 is past float16's largest value (65504)
    t = DTYPES[dtype]
    grads = [torch.full((64,), 300.0, dtype=t), torch.full((3, 5), -250.0, dtype=t)]
    out = check_clip(candidate, tolerances, grads, 100.0, f"{dtype} gradients of magnitude 300")
    assert out["total"].dtype == F32, f"the total norm of {dtype} gradients is {out['total'].dtype}, expected float32"
    check_clip(candidate, tolerances, [randn(7, dtype=t, seed=63)], 1.0, f"small {dtype} gradients")


def test_clip_mixed_dtypes(candidate, tolerances):
    check_clip(
        candidate,
        tolerances,
        [randn(3, dtype=torch.float16, seed=64), randn(4, dtype=F32, seed=65)],
        0.5,
        "float16 + float32",
    )
    check_clip(
        candidate, tolerances, [randn(3, dtype=F32, seed=66), randn(4, dtype=F64, seed=67)], 0.5, "float32 + float64"
    )


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_clip_non_finite_norm_leaves_gradients(candidate, tolerances, bad):
    grads = [torch.tensor([1.0, bad, 2.0]), torch.tensor([3.0])]
    params = [torch.zeros(3), torch.zeros(1)]
    out = candidate.driver.clip(params, grads, 1.0)
    total = out["total"]
    assert total.shape == () and (total.isnan().item() if math.isnan(bad) else total.item() == math.inf), (
        f"total norm with a {bad} gradient entry: {total!r}, expected {abs(bad)}"
    )
    for j, (mine, g) in enumerate(zip(out["grads"], grads, strict=True)):
        assert torch.equal(mine.nan_to_num(7.0), g.nan_to_num(7.0)), (
            f"gradient {j} changed although the norm is {bad}: {mine}"
        )


@pytest.mark.parametrize("layout", ["tensor", "generator"])
def test_clip_accepts_a_tensor_or_a_generator(candidate, tolerances, layout):
    grads = (
        [torch.tensor([[3.0, -4.0], [0.0, 12.0]])]
        if layout == "tensor"
        else [randn(3, dtype=F32, seed=68), randn(2, dtype=F32, seed=69)]
    )
    check_clip(candidate, tolerances, grads, 1.0, f"params as a {layout}", layout)


@settings(max_examples=12, report_multiple_bugs=False)
@given(
    n=st.integers(1, 4),
    dtype=st.sampled_from(["float32", "float64", "float16"]),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
    max_norm=st.sampled_from([1e-2, 0.5, 1.0, 10.0, 1e3]),
    seed=st.integers(0, 2**16),
)
def test_clip_random_matches_oracle(candidate, tolerances, n, dtype, scale, max_norm, seed):
    g = torch.Generator().manual_seed(seed)
    grads = [random_tensor((int(torch.randint(1, 6, (), generator=g)),), DTYPES[dtype], g, scale) for _ in range(n)]
    check_clip(candidate, tolerances, grads, max_norm, f"seed {seed}")


@pytest.mark.parametrize("max_norm", [0.0, 0, -1.0, math.nan])
def test_clip_bad_max_norm_raises(candidate, max_norm):
    with expect_raises("ValueError"):
        candidate.driver.clip([torch.zeros(2)], [torch.ones(2)], max_norm)
