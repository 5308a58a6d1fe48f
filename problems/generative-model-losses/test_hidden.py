"""Hidden tests for generative-model-losses.

Expected values come from the float64 oracles in generative_oracle.py (checker side). Gradients
are computed in the worker by the problem's driver, which builds the critics as nn.Modules,
makes the differentiated inputs leaves, calls the submission and backward, and returns plain
tensors and flags.
"""

import contextlib
import math

import pytest
import torch
from generative_oracle import (
    critic_loss_oracle,
    elbo_oracle,
    generator_loss_oracle,
    make_critic,
    penalty_oracle,
    reparameterize_oracle,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import assert_close, expect_raises

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
F64 = torch.float64


def name_of(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def rand(*shape, seed: int, low: float = -1.0, high: float = 1.0, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (low + (high - low) * torch.rand(shape, generator=g, dtype=F64)).to(dtype)


def randn(*shape, seed: int, scale: float = 1.0, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=g, dtype=F64)).to(dtype)


# -- checks against the oracles ------------------------------------------------------------------


def check_reparameterize(candidate, tolerances, mu, logvar, eps, label, layout=""):
    dtype = mu.dtype
    grad_z = randn(*mu.shape, seed=99, dtype=dtype)
    z, g_mu, g_lv = candidate.driver.reparameterize(mu, logvar, eps, grad_z, layout=layout)
    e_z, e_mu, e_lv = reparameterize_oracle(mu, logvar, eps, grad_z)
    where = f"{label}; shape {tuple(mu.shape)}, {name_of(dtype)}"
    assert_close(z, e_z.to(dtype), name=f"z = reparameterize(mu, logvar, eps) ({where})")
    assert g_mu is not None and g_lv is not None, f"z is not differentiable in mu and logvar ({where})"
    assert_close(g_mu, e_mu.to(dtype), name=f"d z / d mu, times grad_z ({where})")
    assert_close(g_lv, e_lv.to(dtype), name=f"d z / d logvar, times grad_z ({where})")


def check_elbo(candidate, tolerances, x, logits, mu, logvar, kwargs, label, layout=""):
    dtype = logits.dtype
    value, grads, flags = candidate.driver.vae(x, logits, mu, logvar, kwargs, layout=layout)
    expected = elbo_oracle(x, logits, mu, logvar, **kwargs)
    where = f"{label}; x {tuple(x.shape)}, mu {tuple(mu.shape)}, {name_of(dtype)}, {kwargs}"
    assert_close(value, expected.elbo.to(dtype), name=f"elbo, the ELBO itself (higher is better) ({where})")
    assert flags["has_grad_fn"], f"the ELBO has no grad_fn ({where}): it must be differentiable"
    for key, exp in (("x_logits", expected.grad_logits), ("mu", expected.grad_mu), ("logvar", expected.grad_logvar)):
        assert grads[key] is not None, f"no gradient reached {key} ({where})"
        assert_close(grads[key], exp.to(dtype), name=f"d elbo / d {key} ({where})")


def check_grads(got: dict, expected: dict, dtype, where: str) -> None:
    for key, exp in expected.items():
        if got[key] is None:
            assert not bool(exp.ne(0).any()), (
                f"no gradient reached the critic's parameter {key} ({where}): the penalty must be "
                "differentiable in the critic's parameters (create_graph=True)"
            )
        else:
            assert_close(got[key], exp.to(dtype), name=f"gradient of the critic's parameter {key} ({where})")


def check_penalty(candidate, spec, real, fake, alpha, label, **layout):
    dtype = real.dtype
    value, grads, flags = candidate.driver.penalty(spec, real, fake, alpha, **layout)
    if layout.get("alpha_layout"):
        assert not flags["alpha_contiguous"], f"test bug: the {layout['alpha_layout']} alpha is contiguous"
    e_value, e_grads = penalty_oracle(spec, real, fake, alpha)
    where = f"{label}; {spec['kind']} critic, real {tuple(real.shape)}, {name_of(dtype)}"
    assert flags["is_tensor"], f"gradient_penalty returned no tensor ({where})"
    assert_close(value, e_value.to(dtype), name=f"gradient_penalty ({where})")
    assert not flags["parameter_grad_touched"], (
        f"gradient_penalty wrote .grad into the critic's parameters ({where}): use torch.autograd.grad, not backward()"
    )
    assert flags["has_grad_fn"], (
        f"the penalty has no grad_fn ({where}): without create_graph=True it cannot train the critic"
    )
    check_grads(grads, e_grads, dtype, where)
    assert not flags["inputs_got_grad"], f"a gradient reached real or fake ({where}): they are data for the penalty"


def check_critic_loss(candidate, spec, real, fake, alpha, kwargs, label, **layout):
    dtype = real.dtype
    value, grads, flags = candidate.driver.critic_loss(spec, real, fake, alpha, kwargs, **layout)
    e_value, e_grads = critic_loss_oracle(spec, real, fake, alpha, **kwargs)
    where = f"{label}; {spec['kind']} critic, real {tuple(real.shape)}, {name_of(dtype)}, {kwargs}"
    assert_close(value, e_value.to(dtype), name=f"critic_loss ({where})")
    assert flags["has_grad_fn"], f"critic_loss has no grad_fn ({where})"
    check_grads(grads, e_grads, dtype, where)
    assert not flags["inputs_got_grad"], (
        f"a gradient reached real or fake through critic_loss ({where}): the critic step trains the critic only"
    )


def check_generator_loss(candidate, spec, fake, label):
    dtype = fake.dtype
    value, grad, flags = candidate.driver.generator_loss(spec, fake)
    e_value, e_grad = generator_loss_oracle(spec, fake)
    where = f"{label}; {spec['kind']} critic, fake {tuple(fake.shape)}, {name_of(dtype)}"
    assert_close(value, e_value.to(dtype), name=f"generator_loss ({where})")
    assert grad is not None, f"no gradient reached fake through generator_loss ({where}): fake must not be detached"
    assert_close(grad, e_grad.to(dtype), name=f"d generator_loss / d fake ({where})")


def linear_critic(v, d=0.0, dtype=torch.float32, keepdim=False) -> dict:
    return {"kind": "linear", "keepdim": keepdim, "v": torch.tensor(v, dtype=dtype), "d": torch.tensor(d, dtype=dtype)}


def vae_case(B, shape, Z, dtype, seed, logit_scale=3.0, soft=False):
    """(x, x_logits, mu, logvar): x binary (or soft in [0, 1]), logits, a posterior with logvar in [-3, 2]."""
    x = rand(B, *shape, seed=seed, low=0.0, high=1.0)
    x = (x if soft else (x > 0.5).double()).to(dtype)
    logits = randn(B, *shape, seed=seed + 1, scale=logit_scale, dtype=dtype)
    mu = randn(B, Z, seed=seed + 2, dtype=dtype)
    logvar = rand(B, Z, seed=seed + 3, low=-3.0, high=2.0, dtype=dtype)
    return x, logits, mu, logvar


def gan_case(B, shape, dtype, seed):
    """(real, fake, alpha) with alpha spread over [0, 1], its ends included."""
    real = randn(B, *shape, seed=seed, dtype=dtype)
    fake = randn(B, *shape, seed=seed + 1, scale=0.5, dtype=dtype) + 0.3
    alpha = rand(B, seed=seed + 2, low=0.0, high=1.0, dtype=dtype)
    alpha[0] = 0.0
    if B > 1:
        alpha[1] = 1.0
    return real, fake, alpha


# -- the statement's examples -----------------------------------------------------------------------


def test_statement_examples_vae(candidate, tolerances):
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, 2 * math.log(2)]])
    z = candidate.reparameterize(mu, logvar, torch.tensor([[1.0, -0.5]]))
    assert_close(z, torch.tensor([[1.5, -2.0]]), name="reparameterize, statement example")
    check_reparameterize(candidate, tolerances, mu, logvar, torch.tensor([[1.0, -0.5]]), "statement example")
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2)]])
    assert_close(candidate.elbo(x, logits, mu, logvar), torch.tensor(-2.039721), name="elbo, statement example")
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "statement example")
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": 0.0}, "statement example, beta=0.0")
    x, logits = torch.tensor([[0.0, 1.0]]), torch.tensor([[100.0, -100.0]])
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": 0}, "statement example, logits +-100")


def test_statement_examples_gan(candidate):
    real, fake, alpha = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([0.3])
    spec = linear_critic([3.0, 4.0])
    value, grads, _ = candidate.driver.penalty(spec, real, fake, alpha)
    assert_close(value, torch.tensor(16.0), name="gradient_penalty, statement example (v = [3, 4])")
    check_penalty(candidate, spec, real, fake, alpha, "statement example")
    check_critic_loss(candidate, spec, real, fake, alpha, {}, "statement example")
    check_generator_loss(candidate, spec, fake, "statement example")
    check_penalty(candidate, linear_critic([0.6, 0.8]), real, fake, alpha, "statement example, ||v|| = 1")


# -- the VAE -----------------------------------------------------------------------------------------


def test_reparameterize_standard_deviation_is_exp_half_logvar(candidate, tolerances):
    mu = randn(4, 6, seed=1)
    logvar = rand(4, 6, seed=2, low=-4.0, high=3.0)
    eps = randn(4, 6, seed=3)
    check_reparameterize(candidate, tolerances, mu, logvar, eps, "logvar in [-4, 3]")


@pytest.mark.parametrize("shape", [(), (1, 1), (3, 2, 5)], ids=str)
def test_reparameterize_any_shape(candidate, tolerances, shape):
    mu, logvar, eps = randn(*shape, seed=4), rand(*shape, seed=5, low=-2.0, high=2.0), randn(*shape, seed=6)
    check_reparameterize(candidate, tolerances, mu.float(), logvar.float(), eps.float(), "an unusual shape")


def test_reparameterize_large_logvar_is_finite(candidate, tolerances):
    # exp(0.5 * 150) = e^75 ~ 3.7e32 fits float32; exp(150) does not
    mu = torch.tensor([[0.0, 1.0, -1.0]])
    logvar = torch.tensor([[100.0, 150.0, -150.0]])
    eps = torch.tensor([[1e-3, -1e-6, 2.0]])
    check_reparameterize(candidate, tolerances, mu, logvar, eps, "logvar up to 150 in float32")


def test_kl_sign_and_sum_over_latent_dims(candidate, tolerances):
    # the likelihood is ~0 (confident, correct logits), so the ELBO is -KL: negative
    x = torch.tensor([[1.0, 0.0, 1.0]] * 3, dtype=F64)
    logits = (2 * x - 1) * 40.0
    mu, logvar = randn(3, 5, seed=7, scale=1.5), rand(3, 5, seed=8, low=-2.0, high=2.0)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "KL term only, Z = 5")
    value = candidate.elbo(x, logits, mu, logvar)
    assert float(value) < 0, f"elbo = {float(value)} with a perfect reconstruction: -KL must be negative"


@pytest.mark.parametrize("soft", [False, True], ids=["binary", "soft"])
def test_likelihood_sums_over_every_pixel(candidate, tolerances, soft):
    x, logits, mu, logvar = vae_case(3, (1, 4, 4), 2, F64, seed=10, soft=soft)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "image-shaped x (B, 1, 4, 4)")


def test_batch_mean_not_sum(candidate, tolerances):
    x, logits, mu, logvar = vae_case(1, (6,), 3, F64, seed=12)
    one = candidate.elbo(x, logits, mu, logvar)
    three = candidate.elbo(*(t.repeat(3, 1) for t in (x, logits, mu, logvar)))
    assert_close(three, one, name="elbo of one sample repeated 3 times vs of the sample once (a batch mean)")
    x, logits, mu, logvar = vae_case(5, (4,), 3, F64, seed=13)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "B = 5")


@pytest.mark.parametrize("beta", [0.0, 0, 0.25, 4.0, 2], ids=repr)
def test_beta_weights_the_kl_term_only(candidate, tolerances, beta):
    x, logits, mu, logvar = vae_case(2, (5,), 3, F64, seed=14)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": beta}, f"beta={beta!r}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("magnitude", [100.0, 1e4], ids=["100", "1e4"])
def test_extreme_logits_are_stable(candidate, tolerances, dtype, magnitude):
    t = DTYPES[dtype]
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.5, 0.25]], dtype=t).repeat(2, 1)
    signs = torch.tensor([[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]], dtype=t)
    logits = torch.cat([signs * magnitude, signs * 30.0])
    mu, logvar = torch.zeros(2, 2, dtype=t), torch.zeros(2, 2, dtype=t)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, f"logits of magnitude {magnitude:g} and 30")


def test_half_precision_is_computed_in_float32(candidate, tolerances):
    # float16: exp(11.5) = 98715 and exp(0.5 * 24) overflow float16; the results fit
    x = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float16)
    logits = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float16)
    mu, logvar = torch.tensor([[0.5]], dtype=torch.float16), torch.tensor([[11.5]], dtype=torch.float16)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": 1.0}, "float16, exp(logvar) overflows float16")
    mu, logvar = torch.tensor([[0.0, 1.0]], dtype=torch.float16), torch.tensor([[24.0, 1.0]], dtype=torch.float16)
    eps = torch.tensor([[0.01, -1.0]], dtype=torch.float16)
    check_reparameterize(candidate, tolerances, mu, logvar, eps, "float16, exp(12) overflows float16")
    # B = 8 samples of log p = -10000 each: the batch's sum, -80000, overflows float16; the mean does not
    x = torch.ones(8, 100, dtype=torch.float16)
    logits = torch.full((8, 100), -100.0, dtype=torch.float16)
    mu, logvar = torch.zeros(8, 2, dtype=torch.float16), torch.zeros(8, 2, dtype=torch.float16)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "float16, a batch sum past float16's range")
    # small logvar: exp(logvar) rounds to 1 in half precision, so exp(lv) - 1 - lv loses the KL term
    for dtype, top in ((torch.float16, 4.5e-4), (torch.bfloat16, 3.5e-3)):
        logvar = torch.linspace(top / 4, top, 256, dtype=F64).to(dtype)[None].repeat(2, 1)
        mu = torch.zeros(2, 256, dtype=dtype)
        x = torch.ones(2, 3, dtype=dtype)
        logits = torch.full((2, 3), 12.0, dtype=dtype)
        check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "half precision, small logvar over Z = 256")


def test_float64_is_not_downcast(candidate, tolerances):
    # KL = 0.5 * sum(exp(lv) - 1 - lv) with lv ~ 1e-4: each term ~ 2.5e-9, below float32's rounding of exp
    logvar = torch.linspace(-1e-4, 1e-4, 64, dtype=F64)[None]
    mu = torch.zeros(1, 64, dtype=F64)
    x, logits = torch.ones(1, 2, dtype=F64), torch.full((1, 2), 40.0, dtype=F64)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {}, "float64, logvar ~ 1e-4")
    z = candidate.reparameterize(
        torch.ones(2, dtype=F64), torch.zeros(2, dtype=F64), torch.tensor([3e-9, -3e-9], dtype=F64)
    )
    assert_close(z, torch.tensor([1 + 3e-9, 1 - 3e-9], dtype=F64), name="z in float64 (mu = 1, std * eps = 3e-9)")


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_vae_non_contiguous_inputs(candidate, tolerances, layout):
    x, logits, mu, logvar = vae_case(3, (2, 3, 2), 4, torch.float32, seed=16)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": 0.5}, f"{layout} x and x_logits", layout=layout)
    mu, logvar, eps = randn(3, 4, seed=17), rand(3, 4, seed=18, low=-1.0, high=1.0), randn(3, 4, seed=19)
    check_reparameterize(candidate, tolerances, mu, logvar, eps, "transposed inputs", layout="transposed")


def test_two_elbos_in_one_graph(candidate, tolerances):
    x, logits, mu, logvar = vae_case(2, (4,), 3, F64, seed=20)
    a, b, grads = candidate.driver.two_elbos_one_graph(x, logits, mu, logvar, {"beta": 0.1}, {"beta": 3.0})
    ea, eb = elbo_oracle(x, logits, mu, logvar, beta=0.1), elbo_oracle(x, logits, mu, logvar, beta=3.0)
    assert_close(a, ea.elbo, name="first elbo (beta=0.1)")
    assert_close(b, eb.elbo, name="second elbo (beta=3.0)")
    assert_close(grads["x_logits"], ea.grad_logits + eb.grad_logits, name="summed d / d x_logits")
    assert_close(grads["mu"], ea.grad_mu + eb.grad_mu, name="summed d / d mu")
    assert_close(grads["logvar"], ea.grad_logvar + eb.grad_logvar, name="summed d / d logvar")


# -- WGAN-GP -------------------------------------------------------------------------------------


def test_one_alpha_per_sample(candidate):
    # alpha = 0 is the fake sample, alpha = 1 the real one: which side alpha weights matters
    spec = make_critic("tanh", 3, seed=21, dtype=F64)
    real, fake = randn(4, 3, seed=22, scale=2.0), randn(4, 3, seed=23)
    for alpha in ([0.0, 1.0, 0.25, 0.9], [0.2, 0.2, 0.2, 0.2], [1.0, 1.0, 0.0, 0.0]):
        check_penalty(candidate, spec, real, fake, torch.tensor(alpha, dtype=F64), f"alpha = {alpha}")


@pytest.mark.parametrize("keepdim", [False, True], ids=["scores (B,)", "scores (B, 1)"])
def test_norm_per_sample_over_image_inputs(candidate, keepdim):
    spec = make_critic("tanh", 2 * 3 * 3, seed=24, dtype=F64, keepdim=keepdim)
    real, fake, alpha = gan_case(3, (2, 3, 3), F64, seed=25)
    check_penalty(candidate, spec, real, fake, alpha, "(B, C, H, W) inputs")
    check_critic_loss(candidate, spec, real, fake, alpha, {}, "(B, C, H, W) inputs")


@pytest.mark.parametrize("kind", ["tanh", "softplus", "relu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_second_order_gradient_for_each_critic(candidate, kind, dtype):
    t = DTYPES[dtype]
    spec = make_critic(kind, 5, H=6, seed=26, dtype=t)
    real, fake, alpha = gan_case(4, (5,), t, seed=27)
    check_penalty(candidate, spec, real, fake, alpha, "second-order gradient")


def test_penalty_is_the_square_of_norm_minus_one(candidate):
    # norms 0.5, 1 and 2: (||g|| - 1)^2 = 0.25, 0, 1, while ||g||^2 = 0.25, 1, 4
    real = torch.zeros(3, 2, dtype=F64)
    for v in ([0.3, 0.4], [0.6, -0.8], [0.0, 2.0]):
        check_penalty(
            candidate, linear_critic(v, dtype=F64), real, real + 1.0, torch.full((3,), 0.5, dtype=F64), f"v = {v}"
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_flat_critic_sample_is_exact_and_finite(candidate, dtype):
    # a ReLU critic dead at sample 0 (x_hat = 0): g_0 = 0 contributes exactly 1 and no NaN
    t = DTYPES[dtype]
    spec = {
        "kind": "relu",
        "keepdim": False,
        "W": torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=t),
        "c": torch.tensor([-1.0, -1.0], dtype=t),
        "v": torch.tensor([2.0, 0.5], dtype=t),
        "d": torch.tensor(0.0, dtype=t),
    }
    real = torch.tensor([[0.0, 0.0], [3.0, 3.0], [3.0, -3.0]], dtype=t)
    fake = torch.tensor([[0.0, 0.0], [2.0, 4.0], [3.0, -3.0]], dtype=t)
    alpha = torch.tensor([0.5, 0.5, 0.7], dtype=t)
    check_penalty(candidate, spec, real, fake, alpha, "one sample where the critic is flat")
    check_critic_loss(candidate, spec, real, fake, alpha, {}, "one sample where the critic is flat")


def test_no_gradient_reaches_real_or_fake(candidate):
    spec = make_critic("tanh", 4, seed=28, dtype=F64)
    real, fake, alpha = gan_case(3, (4,), F64, seed=29)
    check_penalty(candidate, spec, real, fake, alpha, "real and fake require grad", inputs_require_grad=True)
    kwargs = {"lambda_gp": 10.0}
    check_critic_loss(
        candidate, spec, real, fake, alpha, kwargs, "real and fake require grad", inputs_require_grad=True
    )


@pytest.mark.parametrize("lambda_gp", [0.0, 0, 1, 2.5, 10.0], ids=repr)
def test_lambda_gp_weights_the_penalty(candidate, lambda_gp):
    spec = make_critic("softplus", 3, seed=30, dtype=F64)
    real, fake, alpha = gan_case(4, (3,), F64, seed=31)
    check_critic_loss(candidate, spec, real, fake, alpha, {"lambda_gp": lambda_gp}, f"lambda_gp={lambda_gp!r}")


def test_critic_loss_default_lambda_is_ten(candidate):
    spec = make_critic("tanh", 3, seed=32, dtype=F64, keepdim=True)
    real, fake, alpha = gan_case(2, (3,), F64, seed=33)
    check_critic_loss(candidate, spec, real, fake, alpha, {}, "default lambda_gp")


@pytest.mark.parametrize("keepdim", [False, True], ids=["scores (B,)", "scores (B, 1)"])
def test_generator_loss_reaches_fake(candidate, keepdim):
    spec = make_critic("tanh", 6, seed=34, dtype=torch.float32, keepdim=keepdim)
    check_generator_loss(candidate, spec, randn(3, 2, 3, seed=35, dtype=torch.float32), "fake (B, 2, 3)")
    check_generator_loss(candidate, linear_critic([3.0, 4.0], d=1.5), torch.tensor([[0.0, 1.0]]), "linear critic")


def test_gan_float64_is_not_downcast(candidate):
    # real = fake + 1e-8: float32 rounds the offset away
    spec = linear_critic([0.6, 0.8], d=0.25, dtype=F64)
    fake = torch.ones(2, 2, dtype=F64)
    real, alpha = fake + 1e-8, torch.tensor([0.5, 0.5], dtype=F64)
    check_critic_loss(candidate, spec, real, fake, alpha, {"lambda_gp": 0.0}, "float64, real = fake + 1e-8")
    check_penalty(candidate, make_critic("tanh", 2, seed=36, dtype=F64), real, fake, alpha, "float64")


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_gan_non_contiguous_inputs(candidate, layout):
    spec = make_critic("tanh", 3 * 2 * 2, seed=37, dtype=torch.float32)
    real, fake, alpha = gan_case(3, (3, 2, 2), torch.float32, seed=38)
    check_penalty(candidate, spec, real, fake, alpha, f"{layout} real and fake", layout=layout)
    # tensors cross to the worker contiguous: the driver makes alpha every other element of
    # [0.1, -1.0, 0.6, -1.0, 0.95, -1.0] there, a non-contiguous (B,) view
    alpha = torch.tensor([0.1, 0.6, 0.95])
    label = f"{layout} real and fake, a strided alpha"
    check_penalty(candidate, spec, real, fake, alpha, label, layout=layout, alpha_layout="strided")


def test_two_penalties_in_one_graph(candidate):
    spec_a, spec_b = make_critic("tanh", 3, seed=39, dtype=F64), make_critic("softplus", 3, seed=40, dtype=F64)
    real, fake, alpha_a = gan_case(3, (3,), F64, seed=41)
    alpha_b = torch.tensor([0.9, 0.1, 0.5], dtype=F64)
    a, b, grads_a, grads_b = candidate.driver.two_penalties_one_graph(spec_a, spec_b, real, fake, alpha_a, alpha_b)
    ea, eb = penalty_oracle(spec_a, real, fake, alpha_a), penalty_oracle(spec_b, real, fake, alpha_b)
    assert_close(a, ea[0], name="first penalty (tanh critic)")
    assert_close(b, eb[0], name="second penalty (softplus critic, other alphas)")
    check_grads(grads_a, ea[1], F64, "first critic, two penalties in one graph")
    check_grads(grads_b, eb[1], F64, "second critic, two penalties in one graph")


def test_inputs_unchanged_and_calls_independent(candidate, tolerances):
    x, logits, mu, logvar = vae_case(2, (5,), 3, torch.float32, seed=42, soft=True)
    spec = make_critic("tanh", 4, seed=43, dtype=torch.float32)
    real, fake, alpha = gan_case(3, (4,), torch.float32, seed=44)
    before = [t.clone() for t in (x, logits, mu, logvar, real, fake, alpha)]
    for beta in (1.0, 0.0, 2.5):
        check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": beta}, "calls in sequence")
        check_reparameterize(candidate, tolerances, mu, logvar, logits[:, :3].contiguous(), "calls in sequence")
        check_penalty(candidate, spec, real, fake, alpha, "calls in sequence")
        check_critic_loss(candidate, spec, real, fake, alpha, {"lambda_gp": beta}, "calls in sequence")
    for t, b in zip((x, logits, mu, logvar, real, fake, alpha), before, strict=True):
        assert torch.equal(t, b), "an input changed"


# -- errors ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def expect_value_error(where: str):
    """expect_raises("ValueError"), its failure message prefixed with the call and its inputs."""
    try:
        with expect_raises("ValueError"):
            yield
    except AssertionError as exc:
        raise AssertionError(f"{where}: {exc}") from None


def check_raises_before_critic(candidate, name, spec, *args, where, **kwargs):
    """name(critic, *args, **kwargs) raises ValueError, and before the critic is called at all (the driver counts)."""
    try:
        with expect_raises("ValueError"):
            candidate.driver.call_gan(name, spec, *args, **kwargs)
    except AssertionError as exc:
        raise AssertionError(f"{name} ({where}): {exc}") from None


def example_vae():
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    return x, logits, torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.5]])


@pytest.mark.parametrize(
    "case",
    ["logvar shape", "eps shape", "eps broadcast", "logvar float64", "eps float16", "int mu", "all int64", "all bool"],
)
def test_bad_reparameterize_inputs_raise(candidate, case):
    mu, logvar, eps = torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3)
    if case == "logvar shape":
        logvar = torch.zeros(3, 2)
    elif case == "eps shape":
        eps = torch.ones(2, 3, 1)
    elif case == "eps broadcast":
        eps = torch.ones(1, 3)
    elif case == "logvar float64":
        logvar = logvar.double()
    elif case == "eps float16":
        eps = eps.half()
    elif case == "int mu":
        mu = mu.long()
    else:  # one shared dtype that is not floating point
        dtype = torch.int64 if case == "all int64" else torch.bool
        mu, logvar, eps = mu.to(dtype), logvar.to(dtype), eps.to(dtype)
    where = f"reparameterize, {case}: mu {mu.dtype} {tuple(mu.shape)}, logvar {logvar.dtype} {tuple(logvar.shape)}, eps {eps.dtype} {tuple(eps.shape)}"
    with expect_value_error(where):
        candidate.reparameterize(mu, logvar, eps)


ELBO_SHAPES = {
    "x 1-D": lambda x, lg, m, v: (x[0], lg[0], m, v),
    "x (B,)": lambda x, lg, m, v: (
        x[:, 0].clone(memory_format=torch.contiguous_format),
        lg[:, 0].clone(memory_format=torch.contiguous_format),
        m,
        v,
    ),
    "logits broadcast": lambda x, lg, m, v: (x, lg[:, :1], m, v),
    "logits longer": lambda x, lg, m, v: (x, torch.cat([lg, lg], 1), m, v),
    "B == 0": lambda x, lg, m, v: (x[:0], lg[:0], m[:0], v[:0]),
    "mu batch": lambda x, lg, m, v: (x, lg, m.repeat(2, 1), v.repeat(2, 1)),
    "mu 1-D": lambda x, lg, m, v: (x, lg, m[0], v[0]),
    "mu 3-D": lambda x, lg, m, v: (x, lg, m[None], v[None]),
    "logvar shape": lambda x, lg, m, v: (x, lg, m, v[:, :1]),
    "Z == 0": lambda x, lg, m, v: (x, lg, m[:, :0], v[:, :0]),
}


@pytest.mark.parametrize("case", list(ELBO_SHAPES))
def test_bad_elbo_shapes_raise(candidate, case):
    args = ELBO_SHAPES[case](*example_vae())
    with expect_raises("ValueError"):
        candidate.elbo(*args)


@pytest.mark.parametrize("case", ["x float64", "mu float16", "int logits", "bool x"])
def test_bad_elbo_dtypes_raise(candidate, case):
    x, logits, mu, logvar = example_vae()
    if case == "x float64":
        x = x.double()
    elif case == "mu float16":
        mu = mu.half()
    elif case == "int logits":
        x, logits, mu, logvar = (t.long() for t in (x, logits, mu, logvar))
    else:
        x = x.bool()
    with expect_raises("ValueError"):
        candidate.elbo(x, logits, mu, logvar)


@pytest.mark.parametrize("bad", [1.5, -0.25, math.nan, math.inf])
def test_targets_outside_zero_one_raise(candidate, bad):
    x, logits, mu, logvar = example_vae()
    x = torch.tensor([[1.0, 0.0, bad]])
    with expect_raises("ValueError"):
        candidate.elbo(x, torch.zeros(1, 3), mu, logvar)


@pytest.mark.parametrize("weight", [-0.5, -1, math.inf, math.nan, "1.0", True, False, None], ids=repr)
def test_bad_weights_raise(candidate, weight):
    with expect_raises("ValueError"):
        candidate.elbo(*example_vae(), beta=weight)
    real, fake, alpha = gan_case(2, (2,), torch.float32, seed=45)
    spec = linear_critic([0.6, 0.8])
    check_raises_before_critic(
        candidate, "critic_loss", spec, real, fake, alpha, lambda_gp=weight, where=f"lambda_gp={weight!r}"
    )


def gan_shape_case(case):
    real, fake, alpha = gan_case(3, (2,), torch.float32, seed=46)
    if case == "real 1-D":
        real, fake = real[:, 0], fake[:, 0]
    elif case == "fake longer":
        fake = torch.cat([fake, fake], 1)
    elif case == "B == 0":
        real, fake, alpha = real[:0], fake[:0], alpha[:0]
    elif case == "alpha 0-d":
        alpha = torch.tensor(0.5)
    elif case == "alpha (1,)":
        alpha = alpha[:1]
    elif case == "alpha (B, 1)":
        alpha = alpha[:, None]
    return real, fake, alpha


@pytest.mark.parametrize("case", ["real 1-D", "fake longer", "B == 0", "alpha 0-d", "alpha (1,)", "alpha (B, 1)"])
def test_bad_gan_shapes_raise(candidate, case):
    real, fake, alpha = gan_shape_case(case)
    spec = linear_critic([0.6, 0.8])
    for name in ("gradient_penalty", "critic_loss"):
        check_raises_before_critic(candidate, name, spec, real, fake, alpha, where=case)
    if case in ("real 1-D", "B == 0"):
        check_raises_before_critic(candidate, "generator_loss", spec, fake, where=case)


@pytest.mark.parametrize("case", ["fake float64", "alpha float64", "float16", "bfloat16", "int"])
def test_bad_gan_dtypes_raise(candidate, case):
    real, fake, alpha = gan_case(2, (2,), torch.float32, seed=47)
    if case == "fake float64":
        fake = fake.double()
    elif case == "alpha float64":
        alpha = alpha.double()
    else:
        dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "int": torch.int64}[case]
        real, fake, alpha = real.to(dtype), fake.to(dtype), alpha.to(dtype)
    spec = linear_critic([0.6, 0.8], dtype=real.dtype if real.is_floating_point() else torch.float32)
    for name in ("gradient_penalty", "critic_loss"):
        check_raises_before_critic(candidate, name, spec, real, fake, alpha, where=case)
    if case in ("float16", "bfloat16", "int"):
        check_raises_before_critic(candidate, "generator_loss", spec, fake, where=f"fake {case}")


@pytest.mark.parametrize("bad", [-0.1, 1.01, 1.5, math.nan, math.inf])
def test_alpha_outside_zero_one_raises(candidate, bad):
    real, fake, _ = gan_case(2, (2,), torch.float32, seed=48)
    alpha = torch.tensor([0.5, bad])
    for name in ("gradient_penalty", "critic_loss"):
        check_raises_before_critic(
            candidate, name, linear_critic([0.6, 0.8]), real, fake, alpha, where=f"alpha = [0.5, {bad}]"
        )


# -- property-based against the oracles --------------------------------------------------------------


@st.composite
def vae_cases(draw):
    B, Z = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    shape = draw(st.sampled_from([(3,), (7,), (1, 2, 3), (2, 2)]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    beta = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    return B, shape, Z, dtype, beta, draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=15, report_multiple_bugs=False)
@given(case=vae_cases())
def test_random_vae_matches_oracle(candidate, tolerances, case):
    B, shape, Z, dtype, beta, soft, seed = case
    x, logits, mu, logvar = vae_case(B, shape, Z, DTYPES[dtype], seed, soft=soft)
    check_elbo(candidate, tolerances, x, logits, mu, logvar, {"beta": beta}, f"seed {seed}")
    check_reparameterize(
        candidate, tolerances, mu, logvar, randn(B, Z, seed=seed + 9, dtype=DTYPES[dtype]), f"seed {seed}"
    )


@st.composite
def gan_cases(draw):
    B = draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(2,), (5,), (2, 2, 2)]))
    kind = draw(st.sampled_from(["tanh", "softplus", "relu", "linear"]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    lambda_gp = draw(st.sampled_from([0.0, 1.0, 10.0]))
    return B, shape, kind, dtype, draw(st.booleans()), lambda_gp, draw(st.integers(0, 2**16))


@settings(max_examples=15, report_multiple_bugs=False)
@given(case=gan_cases())
def test_random_gan_matches_oracle(candidate, case):
    B, shape, kind, dtype, keepdim, lambda_gp, seed = case
    t = DTYPES[dtype]
    spec = make_critic(kind, math.prod(shape), H=5, seed=seed, dtype=t, keepdim=keepdim)
    real, fake, alpha = gan_case(B, shape, t, seed)
    check_penalty(candidate, spec, real, fake, alpha, f"seed {seed}")
    check_critic_loss(candidate, spec, real, fake, alpha, {"lambda_gp": lambda_gp}, f"seed {seed}")
    check_generator_loss(candidate, spec, fake, f"seed {seed}")
