"""Worker-side helpers for speculative-decoding: lay the inputs out with unusual strides.

Tests call these as `candidate.driver.<name>(...)`; tensors arrive contiguous from the wire, so
a non-contiguous layout has to be made here, next to the submission.
"""

from torch import Tensor


def _reversed_strides(t: Tensor) -> Tensor:
    """The same values as t, stored with the dimension order reversed (a permuted view)."""
    order = tuple(reversed(range(t.dim())))
    return t.permute(order).contiguous().permute(order)


def verify_strided(module, draft_tokens: Tensor, q_draft: Tensor, p_target: Tensor, uniforms: Tensor):
    """verify on column-major copies of all four inputs; returns (tokens, num_tokens, all_non_contiguous)."""
    args = [_reversed_strides(t) for t in (draft_tokens, q_draft, p_target, uniforms)]
    non_contiguous = all(not t.is_contiguous() for t in args)
    tokens, num_tokens = module.verify(*args)
    return tokens, num_tokens, non_contiguous


def verify_in_sequence(module, calls):
    """verify on each (draft_tokens, q_draft, p_target, uniforms) in turn; every result is read after the last call.

    The checker gets copies of what verify returned, so a result the submission overwrites in a
    later call is only visible here, where the returned tensors themselves are kept.
    """
    results = [module.verify(*args) for args in calls]
    return [(tokens.clone(), num_tokens.clone()) for tokens, num_tokens in results]
