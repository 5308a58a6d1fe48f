"""Worker-side helpers for ddpm-sampler: what a test can only see next to the submission.

Tests call these as `candidate.driver.<name>(...)`; tensors arrive contiguous from the wire.
"""

from torch import Tensor


def _column_major(x: Tensor) -> Tensor:
    """The same values with the axes' strides reversed: a non-contiguous view, as .T.contiguous().T."""
    dims = list(range(x.dim()))[::-1]
    view = x.permute(*dims).contiguous().permute(*dims)
    assert x.dim() < 2 or not view.is_contiguous()
    return view


def _call(module, betas: Tensor | None, name: str, args: list):
    if name == "cfg":
        return module.cfg(*args)
    return getattr(module.GaussianDiffusion(betas), name)(*args)


def call_non_contiguous(module, betas: Tensor | None, name: str, args: list):
    """`name` (a GaussianDiffusion method, or "cfg") with every floating tensor of 2+ dims made column-major."""
    laid_out = [_column_major(a) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args]
    return _call(module, betas, name, laid_out)


def shares_memory_with_an_input(module, betas: Tensor | None, name: str, args: list) -> bool:
    """Whether the result of `name` shares storage with one of its tensor arguments."""
    result = _call(module, betas, name, args)
    storage = result.untyped_storage().data_ptr()
    return any(isinstance(a, Tensor) and a.untyped_storage().data_ptr() == storage for a in args)


def betas_written_after_construction(module, betas: Tensor, x: Tensor, t: Tensor, z: Tensor) -> list:
    """Build the schedule, then overwrite the caller's betas in place: the instance must keep its own copy."""
    mine = betas.clone()
    diffusion = module.GaussianDiffusion(mine)
    mine.fill_(0.5)
    t_prev = (t - 1).clamp(min=-1)
    return [
        diffusion.q_sample(x, t, z),
        diffusion.p_sample_step(z, x, t, z),
        diffusion.ddim_step(z, x, t, t_prev, 0.5, z),
    ]


def schedule_after_a_write(module, kind: str, T: int) -> Tensor:
    """beta_schedule twice, the first result scaled in place in between: the second must not see it."""
    first = module.beta_schedule(kind, T)
    first.mul_(0.5)
    return module.beta_schedule(kind, T)
