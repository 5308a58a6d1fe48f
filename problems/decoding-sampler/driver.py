"""Worker-side helpers for decoding-sampler: lay inputs out in the worker as a caller might.

Tests call these as `candidate.driver.<name>(...)`; tensors arrive contiguous from the wire.
"""

from torch import Tensor


def sample_transposed(module, logits: Tensor, uniforms: Tensor, kwargs: dict) -> Tensor:
    """sample() on the same values stored column-major: a transposed view that .view(-1) refuses."""
    column_major = logits.T.contiguous().T
    assert not column_major.is_contiguous()
    return module.sample(column_major, uniforms, **kwargs)
