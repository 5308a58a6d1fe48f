"""The boundary codec: everything plain round-trips, nothing else gets through."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness.codec import CodecError, Decoder, Encoder, Handle, Record, read_message, write_message

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary()
plain = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


def roundtrip(value):
    encoder = Encoder()
    tree = encoder.encode(value)
    stream = io.BytesIO()
    write_message(stream, {"payload": tree}, encoder.buffers)
    stream.seek(0)
    message, buffers = read_message(stream)
    return Decoder(buffers).decode(message["payload"])


@settings(max_examples=200, derandomize=True)
@given(plain)
def test_plain_values_roundtrip(value) -> None:
    assert roundtrip(value) == value


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int8,
        torch.uint8,
        torch.bool,
    ],
)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_tensors_roundtrip_bit_exact(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    tensor = (torch.randn(shape) * 100).to(dtype)
    out = roundtrip(tensor)
    assert out.dtype == dtype and out.shape == tensor.shape
    assert torch.equal(out, tensor)


def test_non_contiguous_tensor_and_special_floats() -> None:
    tensor = torch.arange(12.0).reshape(3, 4).t()
    assert torch.equal(roundtrip(tensor), tensor)
    values = roundtrip([math.inf, -math.inf, math.nan])
    assert values[0] == math.inf and values[1] == -math.inf and math.isnan(values[2])


def test_records_and_dataclasses_become_records() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Step:
        thought: str
        n: int

    assert roundtrip(Step("t", 1)) == Record("Step", thought="t", n=1)
    record = roundtrip(Record("Tool", name="calc", tags=("a",)))
    assert record.name == "calc" and record.tags == ("a",) and record.type_name == "Tool"
    with pytest.raises(AttributeError, match="no field"):
        _ = record.missing


def test_unsupported_values_are_refused_without_a_register_hook() -> None:
    with pytest.raises(CodecError, match="cannot send"):
        Encoder().encode(object())
    with pytest.raises(CodecError, match="cannot send"):
        Encoder().encode(lambda: 1)


def test_live_objects_become_handles_with_a_register_hook() -> None:
    registered = []

    def register(value):
        registered.append(value)
        return Handle("object", 7, type(value).__name__)

    class Index:
        pass

    tree = Encoder(register).encode([Index()])
    assert Decoder([]).decode(tree) == [Handle("object", 7, "Index")]
    assert len(registered) == 1


@pytest.mark.parametrize(
    "node",
    [
        {"__tensor__": 0, "dtype": "float32", "shape": [4]},  # buffer too short
        {"__tensor__": 5, "dtype": "float32", "shape": [1]},  # missing buffer
        {"__tensor__": 0, "dtype": "object", "shape": [1]},  # unknown dtype
        {"__pickle__": "gASV"},  # anything unknown
        {},
    ],
)
def test_malformed_messages_are_rejected(node) -> None:
    with pytest.raises(CodecError):
        Decoder([b"\0\0\0\0"]).decode(node)


def test_truncated_frame_is_eof() -> None:
    stream = io.BytesIO()
    write_message(stream, {"op": "x"}, [b"abc"])
    with pytest.raises(EOFError):
        read_message(io.BytesIO(stream.getvalue()[:-1]))
