"""Plain-data codec for everything that crosses the checker/worker boundary.

Never pickle: the checker must not run code chosen by the submission. A message is a JSON
header plus raw byte buffers; tensors travel as (dtype, shape, buffer index). Callables and
live objects travel as integer handles that the receiving side turns into proxies.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

MAX_MESSAGE_BYTES = 2**31  # one frame; larger results are a submission bug, not a judge limit

_TENSOR_DTYPES = (
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "complex128",
)


class CodecError(ValueError):
    """A value that cannot cross the boundary (an unsupported type, a malformed frame)."""


class Record:
    """A dataclass instance as plain data: a type name plus fields, with attribute access."""

    __slots__ = ("_type", "_fields")

    def __init__(self, type_name: str, /, **fields: Any) -> None:
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_fields", dict(fields))

    @property
    def type_name(self) -> str:
        return self._type

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{self._type} has no field {name!r} (fields: {sorted(self._fields)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Record is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self._type, self._fields) == (other._type, other._fields)

    def __hash__(self) -> int:
        return hash((self._type, tuple(sorted(self._fields))))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"{self._type}({inner})"


@dataclasses.dataclass(frozen=True)
class Handle:
    """A reference to an object that lives on the other side (kind: 'object' or 'callable')."""

    kind: str
    id: int
    type_name: str = ""


class Encoder:
    """Turns a value into (json-able tree, buffers). `register` assigns handles to live objects."""

    def __init__(self, register: Callable[[Any], Handle] | None = None) -> None:
        self.register = register
        self.buffers: list[bytes] = []

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return {"__float__": repr(value)}
            return value
        if isinstance(value, bytes):
            self.buffers.append(value)
            return {"__bytes__": len(self.buffers) - 1}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, Record):
            return {"__record__": value.type_name, "fields": {k: self.encode(v) for k, v in value._fields.items()}}
        if isinstance(value, Handle):
            return {"__handle__": value.kind, "id": value.id, "type": value.type_name}
        if _is_tensor(value):
            return self._encode_tensor(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"__record__": type(value).__name__, "fields": fields}
        if self.register is not None and (callable(value) or hasattr(value, "__dict__")):
            return self.encode(self.register(value))
        raise CodecError(f"cannot send a value of type {type(value).__name__} across the judge boundary")

    def _encode_tensor(self, tensor: Any) -> dict[str, Any]:
        import torch

        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _TENSOR_DTYPES:
            raise CodecError(f"tensors of dtype {dtype} cannot cross the judge boundary")
        t = t.contiguous()
        # bytes of any dtype (bfloat16 has no numpy twin): flatten, reinterpret as uint8
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        self.buffers.append(data)
        return {"__tensor__": len(self.buffers) - 1, "dtype": dtype, "shape": list(t.shape)}


def _is_tensor(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter")


class Decoder:
    """Turns (tree, buffers) back into values; records and handles via the given hooks."""

    def __init__(
        self,
        buffers: list[bytes],
        make_record: Callable[[str, dict[str, Any]], Any] = lambda name, fields: Record(name, **fields),
        make_handle: Callable[[Handle], Any] = lambda h: h,
    ) -> None:
        self.buffers = buffers
        self.make_record = make_record
        self.make_handle = make_handle

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise CodecError(f"malformed message node: {str(node)[:80]}")
        if "__float__" in node:
            return float(node["__float__"])
        if "__bytes__" in node:
            return self._buffer(node["__bytes__"])
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__dict__" in node:
            return {self._key(k): self.decode(v) for k, v in node["__dict__"]}
        if "__record__" in node:
            fields = {str(k): self.decode(v) for k, v in node["fields"].items()}
            return self.make_record(str(node["__record__"]), fields)
        if "__handle__" in node:
            return self.make_handle(Handle(str(node["__handle__"]), int(node["id"]), str(node.get("type", ""))))
        if "__tensor__" in node:
            return self._decode_tensor(node)
        raise CodecError(f"malformed message node: {str(node)[:80]}")

    def _key(self, node: Any) -> Any:
        key = self.decode(node)
        try:
            hash(key)
        except TypeError:
            raise CodecError("unhashable dict key in message") from None
        return key

    def _buffer(self, index: Any) -> bytes:
        if not isinstance(index, int) or not 0 <= index < len(self.buffers):
            raise CodecError("message refers to a missing buffer")
        return self.buffers[index]

    def _decode_tensor(self, node: dict[str, Any]) -> Any:
        import torch

        dtype_name = node["dtype"]
        if dtype_name not in _TENSOR_DTYPES:
            raise CodecError(f"unknown tensor dtype {dtype_name!r}")
        dtype = getattr(torch, dtype_name)
        shape = [int(s) for s in node["shape"]]
        if any(s < 0 for s in shape):
            raise CodecError("negative tensor dimension")
        data = self._buffer(node["__tensor__"])
        numel = 1
        for s in shape:
            numel *= s
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(data) != numel * itemsize:
            raise CodecError(f"tensor buffer holds {len(data)} bytes, expected {numel * itemsize}")
        if numel == 0:
            return torch.empty(shape, dtype=dtype)
        flat = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        return flat.view(dtype).reshape(shape).clone()


# -- framing -----------------------------------------------------------------------------
# frame := u32 header_len, u32 n_buffers, header (utf-8 json), then per buffer: u64 len, bytes


def write_message(stream: BinaryIO, message: dict[str, Any], buffers: list[bytes]) -> None:
    header = json.dumps(message, separators=(",", ":")).encode()
    parts = [struct.pack("<II", len(header), len(buffers)), header]
    for buf in buffers:
        parts.append(struct.pack("<Q", len(buf)))
        parts.append(buf)
    stream.write(b"".join(parts))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> tuple[dict[str, Any], list[bytes]]:
    header_len, n_buffers = struct.unpack("<II", _read_exact(stream, 8))
    if header_len > MAX_MESSAGE_BYTES or n_buffers > 1_000_000:
        raise CodecError("frame too large")
    message = json.loads(_read_exact(stream, header_len))
    if not isinstance(message, dict):
        raise CodecError("frame header is not an object")
    buffers = []
    total = header_len
    for _ in range(n_buffers):
        (size,) = struct.unpack("<Q", _read_exact(stream, 8))
        total += size
        if total > MAX_MESSAGE_BYTES:
            raise CodecError("frame too large")
        buffers.append(_read_exact(stream, size))
    return message, buffers
