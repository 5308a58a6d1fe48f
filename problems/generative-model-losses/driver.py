"""Worker-side helpers for generative-model-losses: critics and autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors and flags, since modules and autograd graphs cannot cross the process
boundary. A critic arrives as a spec of plain tensors (generative_oracle.make_critic) and is
built here as a torch.nn.Module, so the submission calls a real module with real parameters.
"""

import torch
from torch import Tensor

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "softplus": torch.nn.functional.softplus}


class Critic(torch.nn.Module):
    """v . x + d ("linear") or v . act(W x + c) + d, on each sample flattened; (B,) or (B, 1) scores."""

    def __init__(self, spec: dict) -> None:
        super().__init__()
        self.kind, self.keepdim = spec["kind"], spec["keepdim"]
        self.calls = 0  # forward calls: the error cases check that none happen before validation
        for name in ("W", "c", "v", "d"):
            if name in spec:
                setattr(self, name, torch.nn.Parameter(spec[name].detach().clone()))

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        h = x.reshape(x.shape[0], -1)  # (B, D)
        if self.kind == "linear":
            out = h @ self.v + self.d
        else:
            out = ACTIVATIONS[self.kind](h @ self.W.T + self.c) @ self.v + self.d
        return out[:, None] if self.keepdim else out


def _grad(t: Tensor) -> Tensor | None:
    return None if t.grad is None else t.grad.detach().clone()


def _leaf(t: Tensor) -> Tensor:
    return t.detach().clone().requires_grad_(True)


def _layout(t: Tensor, layout: str) -> Tensor:
    """The same values in another memory layout: "channels_last" (4-D), "transposed" (a column-major
    view) or "strided" (1-D: every other element of a twice longer tensor whose gaps hold -1.0).

    Tensors arrive contiguous from the wire, so these layouts are made here, in the worker.
    """
    if layout == "strided":
        wide = torch.full((2 * t.shape[0],), -1.0, dtype=t.dtype)
        wide[::2] = t
        return wide[::2]
    if layout == "channels_last":
        return t.contiguous(memory_format=torch.channels_last)
    if layout == "transposed":
        return t.transpose(0, -1).contiguous().transpose(0, -1)
    return t


def _backward(module, spec: dict, call) -> tuple[Tensor | None, dict, dict]:
    critic = Critic(spec)
    out = call(critic)
    flags = {
        "is_tensor": isinstance(out, Tensor),
        "has_grad_fn": isinstance(out, Tensor) and out.grad_fn is not None,
        # torch.autograd.grad leaves .grad alone; a backward() inside the loss would not
        "parameter_grad_touched": any(p.grad is not None for p in critic.parameters()),
    }
    if not flags["is_tensor"]:
        return None, {}, flags
    for p in critic.parameters():
        p.grad = None
    if flags["has_grad_fn"]:
        out.backward()
    grads = {name: _grad(p) for name, p in critic.named_parameters()}
    return out.detach(), grads, flags


def penalty(
    module, spec: dict, real, fake, alpha, inputs_require_grad: bool = False, layout: str = "", alpha_layout: str = ""
):
    """gradient_penalty(critic, real, fake, alpha) and its backward: (value, parameter grads, flags).

    inputs_require_grad=True makes real and fake leaves that require grad (as a generator's
    output would): no gradient may reach them. flags also says whether the value has a grad_fn,
    whether the call itself wrote a .grad into the critic's parameters, and whether alpha (laid
    out by alpha_layout, see _layout) reached the submission contiguous.
    """
    real, fake, alpha = _layout(real, layout), _layout(fake, layout), _layout(alpha, alpha_layout)
    alpha_contiguous = alpha.is_contiguous()
    if inputs_require_grad:
        real, fake = _leaf(real), _leaf(fake)
    value, grads, flags = _backward(module, spec, lambda critic: module.gradient_penalty(critic, real, fake, alpha))
    flags["inputs_got_grad"] = any(t.grad is not None and bool(t.grad.ne(0).any()) for t in (real, fake))
    flags["alpha_contiguous"] = alpha_contiguous
    return value, grads, flags


def critic_loss(module, spec: dict, real, fake, alpha, kwargs: dict, inputs_require_grad: bool = False):
    """critic_loss(critic, real, fake, alpha, **kwargs) and its backward: (value, parameter grads, flags)."""
    if inputs_require_grad:
        real, fake = _leaf(real), _leaf(fake)
    value, grads, flags = _backward(
        module, spec, lambda critic: module.critic_loss(critic, real, fake, alpha, **kwargs)
    )
    flags["inputs_got_grad"] = any(t.grad is not None and bool(t.grad.ne(0).any()) for t in (real, fake))
    return value, grads, flags


def generator_loss(module, spec: dict, fake):
    """generator_loss(critic, fake) with fake a leaf (the generator's output): (value, d value / d fake, flags)."""
    fake = _leaf(fake)
    value, _, flags = _backward(module, spec, lambda critic: module.generator_loss(critic, fake))
    return value, _grad(fake), flags


def two_penalties_one_graph(module, spec_a: dict, spec_b: dict, real, fake, alpha_a, alpha_b):
    """Two critics' penalties with different alphas, summed, one backward: (value_a, value_b, grads_a, grads_b)."""
    critic_a, critic_b = Critic(spec_a), Critic(spec_b)
    value_a = module.gradient_penalty(critic_a, real, fake, alpha_a)
    value_b = module.gradient_penalty(critic_b, real, fake, alpha_b)
    (value_a + value_b).backward()
    grads = [{n: _grad(p) for n, p in c.named_parameters()} for c in (critic_a, critic_b)]
    return value_a.detach(), value_b.detach(), grads[0], grads[1]


class CriticCalledBeforeValidation(Exception):
    """An error case called the critic before raising: its inputs are checked first."""


def call_gan(module, name: str, spec: dict, *args, **kwargs):
    """module.<name>(critic, *args, **kwargs) for the error cases; the value, detached.

    An error raised after the critic was called comes back as CriticCalledBeforeValidation,
    naming the submission's own error and the number of critic calls before it.
    """
    critic = Critic(spec)
    try:
        out = getattr(module, name)(critic, *args, **kwargs)
    except Exception as exc:
        if critic.calls:
            raise CriticCalledBeforeValidation(
                f"{type(exc).__name__} ({str(exc)[:200]}) came after {critic.calls} call(s) of the critic: "
                "the inputs are checked before the critic is called (before scoring real and fake)"
            ) from None
        raise
    return out.detach() if isinstance(out, Tensor) else out


def vae(module, x, x_logits, mu, logvar, kwargs: dict, layout: str = ""):
    """elbo(x, x_logits, mu, logvar, **kwargs) with x_logits, mu, logvar as leaves: (value, grads, flags)."""
    x, x_logits = _layout(x, layout), _layout(x_logits, layout)
    x_logits, mu, logvar = _leaf(x_logits), _leaf(mu), _leaf(logvar)
    out = module.elbo(x, x_logits, mu, logvar, **kwargs)
    flags = {"has_grad_fn": out.grad_fn is not None}
    if out.grad_fn is not None:
        out.backward()
    return out.detach(), {"x_logits": _grad(x_logits), "mu": _grad(mu), "logvar": _grad(logvar)}, flags


def reparameterize(module, mu, logvar, eps, grad_z, layout: str = ""):
    """z = reparameterize(mu, logvar, eps), then z.backward(grad_z): (z, grad_mu, grad_logvar)."""
    mu, logvar, eps = (_layout(t, layout) for t in (mu, logvar, eps))
    mu, logvar = _leaf(mu), _leaf(logvar)
    z = module.reparameterize(mu, logvar, eps)
    if z.grad_fn is not None:
        z.backward(grad_z)
    return z.detach(), _grad(mu), _grad(logvar)


def two_elbos_one_graph(module, x, x_logits, mu, logvar, kwargs_a: dict, kwargs_b: dict):
    """Both ELBOs from the same leaves, summed, one backward: (elbo_a, elbo_b, grads)."""
    x_logits, mu, logvar = _leaf(x_logits), _leaf(mu), _leaf(logvar)
    a = module.elbo(x, x_logits, mu, logvar, **kwargs_a)
    b = module.elbo(x, x_logits, mu, logvar, **kwargs_b)
    (a + b).backward()
    return a.detach(), b.detach(), {"x_logits": _grad(x_logits), "mu": _grad(mu), "logvar": _grad(logvar)}
