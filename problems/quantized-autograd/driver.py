"""Worker-side helpers for quantized-autograd: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors / numbers, since autograd graphs cannot cross the process boundary.
"""

import math

import torch
from torch import Tensor


def _leaves(x: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    return x.detach().clone().requires_grad_(True), scale.detach().clone().requires_grad_(True)


def _call(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
    y = module.lsq_fake_quantize(x, scale, bits=bits, signed=signed, axis=axis)
    if not isinstance(y, Tensor):
        raise TypeError(f"lsq_fake_quantize returned {type(y).__name__}, expected a Tensor")
    if y.grad_fn is None:
        raise TypeError("lsq_fake_quantize returned a tensor with no grad_fn although x and scale require grad")
    return y


def _grad_or_none(t: Tensor) -> Tensor | None:
    return None if t.grad is None else t.grad.detach().clone()


def forward_backward(
    module,
    x: Tensor,
    scale: Tensor,
    grad_out: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(y, grad_x, grad_s) of lsq_fake_quantize with x and scale as fresh leaves."""
    x, scale = _leaves(x, scale)
    y = _call(module, x, scale, bits, signed, axis)
    if y.shape != grad_out.shape:
        raise ValueError(f"output shape {tuple(y.shape)} != x shape {tuple(grad_out.shape)}")
    y.backward(grad_out.to(y.dtype))
    return y.detach().clone(), _grad_or_none(x), _grad_or_none(scale)


def apply_backward(
    module,
    x: Tensor,
    scale: Tensor,
    grad_out: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
) -> tuple[Tensor, Tensor | None, Tensor | None, str]:
    """Like forward_backward but through LSQFakeQuantize.apply(x, scale, bits, signed, axis).

    Also returns the class name of the output's grad_fn.
    """
    function = module.LSQFakeQuantize
    if not (isinstance(function, type) and issubclass(function, torch.autograd.Function)):
        raise TypeError("LSQFakeQuantize must be a subclass of torch.autograd.Function")
    x, scale = _leaves(x, scale)
    y = function.apply(x, scale, bits, signed, axis)
    if not isinstance(y, Tensor) or y.grad_fn is None:
        raise TypeError("LSQFakeQuantize.apply must return a Tensor with a grad_fn")
    name = type(y.grad_fn).__name__
    y.backward(grad_out.to(y.dtype))
    return y.detach().clone(), _grad_or_none(x), _grad_or_none(scale), name


def forward_no_grad(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
    """y under torch.no_grad(): the forward must not need autograd."""
    with torch.no_grad():
        return module.lsq_fake_quantize(x, scale, bits=bits, signed=signed, axis=axis)


def _graph_nodes(y: Tensor) -> list:
    nodes, stack, visited = [], [y.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        nodes.append(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return nodes


def graph_node_names(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> list[str]:
    """Class names of the autograd nodes behind lsq_fake_quantize's output."""
    x, scale = _leaves(x, scale)
    y = _call(module, x, scale, bits, signed, axis)
    return [type(node).__name__ for node in _graph_nodes(y)]


def _storage_key(t: Tensor) -> tuple[int, int]:
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def _ctx_tensors(value, found: list[Tensor]) -> None:
    if isinstance(value, Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _ctx_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _ctx_tensors(item, found)


def saved_bytes(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> dict[str, int]:
    """Bytes kept alive for backward by one lsq_fake_quantize call on leaves x, scale.

    Counts every tensor the graph saves (saved_tensors_hooks sees ctx.save_for_backward and the
    saves of any differentiable op around the Function) plus tensors stored as attributes on a
    ctx; tensors sharing a storage are counted once, at the storage's size.
    """
    x, scale = _leaves(x, scale)
    packed: list[Tensor] = []

    def pack(t: Tensor) -> Tensor:
        packed.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = _call(module, x, scale, bits, signed, axis)

    on_ctx: list[Tensor] = []
    for node in _graph_nodes(y):
        for value in getattr(node, "__dict__", {}).values():
            _ctx_tensors(value, on_ctx)

    storages: dict[tuple[int, int], int] = {}
    for t in packed + on_ctx:
        key = _storage_key(t)
        storages[key] = key[1]
    return {
        "saved_bytes": sum(storages.values()),
        "saved_tensors": len(packed),
        "ctx_attribute_tensors": len(on_ctx),
    }


def train_scale(
    module,
    x: Tensor,
    scale: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
    steps: int,
    lr: float,
) -> list[float]:
    """SGD on the scale alone for the quantization error mean((y - x)^2); the loss per step."""
    x = x.detach().clone()
    scale = scale.detach().clone().requires_grad_(True)
    losses: list[float] = []
    for _ in range(steps + 1):
        y = module.lsq_fake_quantize(x, scale, bits=bits, signed=signed, axis=axis)
        loss = (y - x).pow(2).sum()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        (grad_s,) = torch.autograd.grad(loss, scale)
        with torch.no_grad():
            scale -= lr * grad_s
            scale.clamp_(min=1e-8)
    return losses


def big_forward_backward(module, shape: tuple[int, ...], bits: int, axis: int | None, seed: int) -> dict[str, float]:
    """forward + backward on a large random tensor built in the worker; returns summaries only."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator)
    channels = 1 if axis is None else shape[axis]
    scale = torch.full((channels,) if axis is not None else (), 3.0 / 2 ** (bits - 1))
    grad_out = torch.randn(shape, generator=generator)
    x, scale = _leaves(x, scale)
    y = _call(module, x, scale, bits, True, axis)
    y.backward(grad_out)
    return {
        "y_sum": y.detach().double().sum().item(),
        "grad_x_sum": x.grad.double().sum().item() if x.grad is not None else math.nan,
        "grad_s_sum": scale.grad.double().sum().item() if scale.grad is not None else math.nan,
    }
