"""The input guard: a submission must not write into data the caller owns.

Before each call into the submission the worker fingerprints every argument (a tensor's
dtype, shape, strides and a CRC-32 of its bytes; list, tuple, dict, set and dataclass contents
recursively; other objects are the submission's own and are not looked into) and compares
after the call. A changed argument is reported as Wrong Answer naming the parameter:
"the submission modified its input `q` in place". The same guard wraps `backward` of every
`torch.autograd.Function` subclass the submission defines, for the gradients handed to it.

A problem that allows an in-place write declares it in problem.toml:
`mutable_inputs = ["SlidingWindowKVCache.step:q", "normalise_:x"]` (`<callable>:<parameter>`,
where the callable is a module-level name, `Class.method`, or `Function.backward`).

Cost: one pass over each tensor's bytes before and after a call (CRC-32 runs at memory speed:
milliseconds for a 16 MiB tensor) and no copies, so `last_call.peak_bytes` is unaffected.
"""

from __future__ import annotations

import dataclasses
import inspect
import zlib
from collections.abc import Callable
from typing import Any

_VIOLATIONS: list[str] = []  # found inside a backward the autograd engine called; reported after the call
MAX_DEPTH = 6


class InputModified(AssertionError):
    """The submission wrote into an argument it was not allowed to change (a Wrong Answer)."""


_SCALARS = (str, int, float, bool, bytes, complex, type(None))


def fingerprint(value: Any, depth: int = 0) -> Any:
    """A comparable summary of `value`'s contents; None for what cannot change or is not looked into.

    Inside a container a scalar counts by its type and hash (a list whose item was replaced, even
    by an equal value of another type such as 3.0 for 3, changes), and a nested mutable container
    also by its identity (one replaced by an equal copy changes: the caller's object is no longer
    there); at the top level a scalar is immutable and is not watched.
    """
    kind = type(value)
    if kind in _SCALARS:
        return (kind.__name__, hash(value)) if depth else None
    if depth > MAX_DEPTH:
        return None
    same = id(value) if depth and kind in (list, dict, set, bytearray) else None
    if kind in (list, tuple):
        return (kind.__name__, same, tuple(fingerprint(v, depth + 1) for v in value))
    if kind is dict:
        return ("dict", same, tuple((fingerprint(k, 1), fingerprint(v, depth + 1)) for k, v in value.items()))
    if kind in (set, frozenset):
        return ("set", same, len(value), sum(hash((type(v).__name__, v)) for v in value))
    if kind is bytearray:
        return ("bytearray", same, zlib.crc32(value), len(value))
    if kind.__name__ in ("Tensor", "Parameter") and hasattr(value, "untyped_storage"):
        return _tensor_fingerprint(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return ("dataclass", tuple(fingerprint(getattr(value, f.name, None), depth + 1) for f in fields))
    return None


def _tensor_fingerprint(tensor: Any) -> Any:
    import torch

    t = tensor.detach()
    if t.device.type != "cpu" or t.is_sparse or t.layout != torch.strided:
        return ("tensor", str(t.dtype), tuple(t.shape), str(t.device))
    if not t.is_contiguous():
        t = t.contiguous()  # rare for arguments: they arrive contiguous from the wire
    if t.dtype.is_complex:
        t = torch.view_as_real(t)
    flat = t.reshape(-1)
    if flat.numel() and flat.stride(0) != 1:  # size-1 dims pass is_contiguous() with any stride
        flat = flat.clone(memory_format=torch.contiguous_format)
    data = flat.view(torch.uint8).numpy() if flat.numel() else b""
    return ("tensor", str(tensor.dtype), tuple(tensor.shape), tuple(tensor.stride()), zlib.crc32(data))


def parameter_names(function: Callable[..., Any], args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    """(parameter name, value) for each argument of a call; `*args` items as `args[i]`."""
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
    pairs: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            pairs += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            pairs += list(value.items())
        else:
            pairs.append((name, value))
    return pairs


class CallGuard:
    """Fingerprints before a call, compares after: `with CallGuard(label, fn, args, kwargs, mutable): fn(...)`."""

    def __init__(self, label: str, function: Callable[..., Any], args: tuple, kwargs: dict, mutable: set[str]) -> None:
        self.label = label
        allowed = {entry.rsplit(":", 1)[1] for entry in mutable if entry.rsplit(":", 1)[0] == label}
        self.watched = [
            (name, value, fingerprint(value))
            for name, value in parameter_names(function, args, kwargs)
            if name not in allowed
        ]
        self.watched = [w for w in self.watched if w[2] is not None]
        _VIOLATIONS.clear()

    def check(self) -> None:
        """Raise InputModified for the first argument that changed (or a gradient a backward changed)."""
        for name, value, before in self.watched:
            if fingerprint(value) != before:
                raise InputModified(
                    f"the submission modified its input `{name}` in place (in {self.label}); "
                    "the caller's data must be left unchanged: work on a copy"
                )
        if _VIOLATIONS:
            message = _VIOLATIONS[0]
            _VIOLATIONS.clear()
            raise InputModified(message)


def guard_autograd_functions(module: Any, mutable: set[str] | None = None) -> list[str]:
    """Wrap `backward` of each torch.autograd.Function subclass defined in `module`; returns their names."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return []
    wrapped = []
    for name, cls in list(vars(module).items()):
        if not (isinstance(cls, type) and issubclass(cls, torch.autograd.Function)):
            continue
        if cls.__module__ != module.__name__ or "backward" not in vars(cls):
            continue
        original = vars(cls)["backward"]
        function = original.__func__ if isinstance(original, staticmethod) else original
        _wrap_backward(cls, name, function, mutable or set())
        wrapped.append(name)
    return wrapped


def _wrap_backward(cls: type, name: str, function: Callable[..., Any], mutable: set[str]) -> None:
    label = f"{name}.backward"
    try:
        names = list(inspect.signature(function).parameters)[1:]
    except (TypeError, ValueError):
        names = []
    allowed = {entry.rsplit(":", 1)[1] for entry in mutable if entry.rsplit(":", 1)[0] == label}

    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        before = [fingerprint(g) for g in grad_outputs]
        result = function(ctx, *grad_outputs)
        for index, (gradient, print_before) in enumerate(zip(grad_outputs, before, strict=True)):
            parameter = names[index] if index < len(names) else f"grad_outputs[{index}]"
            if parameter in allowed or print_before is None:
                continue
            if fingerprint(gradient) != print_before and not _VIOLATIONS:
                _VIOLATIONS.append(
                    f"the submission modified the gradient `{parameter}` handed to {label} in place; "
                    "autograd may share that tensor with other parts of the graph: compute into a new tensor"
                )
        return result

    backward.__wrapped__ = function  # type: ignore[attr-defined]
    cls.backward = staticmethod(backward)
