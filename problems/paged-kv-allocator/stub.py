"""A paged KV-cache block allocator with reference counts and copy-on-write (vLLM's BlockManager).

Efficient Memory Management for Large Language Model Serving with PagedAttention
(Kwon et al., SOSP 2023), https://arxiv.org/abs/2309.06180

Fill in `BlockManager`. Keep the names and signatures below; add private helpers freely.
"""

from __future__ import annotations


class OutOfBlocksError(Exception):
    """Raised when an operation needs more free blocks than the pool has; nothing was changed."""


class BlockManager:
    """Physical KV blocks shared between sequences, with reference counts and copy-on-write."""

    def __init__(self, num_blocks: int, block_size: int) -> None:
        raise NotImplementedError

    def can_allocate(self, n_tokens: int) -> bool:
        """True when ceil(n_tokens / block_size) blocks are free."""
        raise NotImplementedError

    def allocate(self, seq_id: int, n_tokens: int) -> list[int]:
        """Give a new sequence ceil(n_tokens / block_size) fresh blocks; returns its block table."""
        raise NotImplementedError

    def append_token(self, seq_id: int) -> tuple[int, int] | None:
        """Make room for one more token; returns (src, dst) when block src must be copied to dst."""
        raise NotImplementedError

    def fork(self, parent_id: int, child_id: int) -> None:
        """The child shares all of the parent's blocks (and tokens)."""
        raise NotImplementedError

    def free(self, seq_id: int) -> None:
        """Drop the sequence; each of its blocks loses one reference."""
        raise NotImplementedError

    def block_table(self, seq_id: int) -> list[int]:
        """The physical block of each logical block, as a new list."""
        raise NotImplementedError

    def num_tokens(self, seq_id: int) -> int:
        raise NotImplementedError

    def num_free_blocks(self) -> int:
        raise NotImplementedError

    def ref_count(self, block: int) -> int:
        raise NotImplementedError
