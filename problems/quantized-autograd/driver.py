"""Worker-side helpers for quantized-autograd: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors / numbers, since autograd graphs cannot cross the process boundary.
"""

import math

import torch
from torch import Tensor


def _leaves(x: Tensor, scale: Tensor, requires: tuple[bool, bool] = (True, True)) -> tuple[Tensor, Tensor]:
    return x.detach().clone().requires_grad_(requires[0]), scale.detach().clone().requires_grad_(requires[1])


def _call(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
    y = module.lsq_fake_quantize(x, scale, bits=bits, signed=signed, axis=axis)
    if not isinstance(y, Tensor):
        raise TypeError(f"lsq_fake_quantize returned {type(y).__name__}, expected a Tensor")
    if y.grad_fn is None:
        raise TypeError("lsq_fake_quantize returned a tensor with no grad_fn although x or scale requires grad")
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
    requires: tuple[bool, bool] = (True, True),
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(y, grad_x, grad_s) of lsq_fake_quantize with x and scale as fresh leaves.

    `requires` says which of x and scale require grad (a frozen scale: (True, False)).
    """
    x, scale = _leaves(x, scale, requires)
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


def apply_forward(module, x: Tensor, scale: Tensor, bits: int, signed: bool, axis: int | None) -> Tensor:
    """y of LSQFakeQuantize.apply(x, scale, bits, signed, axis), bypassing lsq_fake_quantize."""
    return module.LSQFakeQuantize.apply(x, scale, bits, signed, axis).detach()


def two_quantizers(
    module,
    x1: Tensor,
    scale1: Tensor,
    args1: tuple[int, bool, int | None],
    x2: Tensor,
    scale2: Tensor,
    args2: tuple[int, bool, int | None],
    grad_out: Tensor,
) -> dict[str, Tensor | None]:
    """Two quantizers in one graph: (lsq(x1, scale1, *args1) + lsq(x2, scale2, *args2)).backward(grad_out).

    The sum's backward hands the same incoming-gradient tensor to both quantizers. Returns the
    four gradients and what grad_out holds afterwards.
    """
    x1, scale1 = _leaves(x1, scale1)
    x2, scale2 = _leaves(x2, scale2)
    grad_out = grad_out.clone()
    y = _call(module, x1, scale1, *args1) + _call(module, x2, scale2, *args2)
    y.backward(grad_out)
    grads = [_grad_or_none(t) for t in (x1, scale1, x2, scale2)]
    return dict(zip(["grad_x1", "grad_s1", "grad_x2", "grad_s2"], grads, strict=True), grad_out=grad_out)


def _shares_memory(t: Tensor, others: list[Tensor]) -> bool:
    return t.untyped_storage().data_ptr() in {o.untyped_storage().data_ptr() for o in others}


def inputs_after_use(
    module,
    x: Tensor,
    scale: Tensor,
    grad_out: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
    grad: bool,
) -> dict[str, Tensor | bool]:
    """What x, scale and grad_out hold after forward (and backward(grad_out) if `grad`, else
    under torch.no_grad), and whether y shares memory with x or scale."""
    if grad:
        x, scale = _leaves(x, scale)
        grad_out = grad_out.clone()
        y = _call(module, x, scale, bits, signed, axis)
        shares = _shares_memory(y, [x, scale])
        y.backward(grad_out)
    else:
        x, scale = x.clone(), scale.clone()
        with torch.no_grad():
            y = module.lsq_fake_quantize(x, scale, bits=bits, signed=signed, axis=axis)
        shares = _shares_memory(y, [x, scale])
    return {"x": x.detach().clone(), "scale": scale.detach().clone(), "grad_out": grad_out, "y_shares_memory": shares}


def forward_backward_strided(
    module,
    x: Tensor,
    scale: Tensor,
    grad_out: Tensor,
    bits: int,
    signed: bool,
    axis: int | None,
    grad_layout: str,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """forward_backward with a non-contiguous 2-D x (a transposed copy holding the same values), a
    strided per-channel scale, and grad_out either transposed the same way or `expanded` from its
    first row (stride 0, what y.sum() sends back)."""
    x = x.t().contiguous().t().detach().requires_grad_(True)
    if scale.dim() == 1:
        scale = torch.stack([scale, torch.zeros_like(scale)], dim=1)[:, 0]
    scale = scale.detach().requires_grad_(True)
    if grad_layout == "expanded":
        grad_out = grad_out[:1].expand(grad_out.shape)
    else:
        grad_out = grad_out.t().contiguous().t()
    y = _call(module, x, scale, bits, signed, axis)
    y.backward(grad_out.to(y.dtype))
    return y.detach().clone(), _grad_or_none(x), _grad_or_none(scale)


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


def big_forward_backward(
    module, shape: tuple[int, ...], bits: int, axis: int | None, seed: int, steps: int = 1
) -> dict[str, float]:
    """`steps` forward + backward passes (training steps) on a large random tensor built in the
    worker, each on fresh leaves; returns summaries of the last one only."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator)
    channels = 1 if axis is None else shape[axis]
    scale = torch.full((channels,) if axis is not None else (), 3.0 / 2 ** (bits - 1))
    grad_out = torch.randn(shape, generator=generator)
    for step in range(steps):
        x_leaf, scale_leaf = _leaves(x, scale)
        y = _call(module, x_leaf, scale_leaf, bits, True, axis)
        y.backward(grad_out)
        if step < steps - 1:
            del x_leaf, scale_leaf, y  # one step's tensors alive at a time
    return {
        "y_sum": y.detach().double().sum().item(),
        "grad_x_sum": x_leaf.grad.double().sum().item() if x_leaf.grad is not None else math.nan,
        "grad_s_sum": scale_leaf.grad.double().sum().item() if scale_leaf.grad is not None else math.nan,
    }
