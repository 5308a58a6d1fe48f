"""A paged KV-cache block allocator with reference counts and copy-on-write (vLLM's BlockManager).

Efficient Memory Management for Large Language Model Serving with PagedAttention
(Kwon et al., SOSP 2023), https://arxiv.org/abs/2309.06180

The KV cache is a pool of `num_blocks` physical blocks of `block_size` token slots each. A
sequence owns a block table: logical block i (tokens i * block_size ... (i + 1) * block_size - 1)
lives in physical block table[i]. `fork` shares every block of the parent with the child (beam
search, parallel sampling) by bumping reference counts; the first write into a shared block
copies it (copy-on-write). A block returns to the pool when its reference count drops to 0.
The pool hands out the lowest-numbered free block, kept in a min-heap: O(log num_blocks) each.
"""

from __future__ import annotations

import heapq


class OutOfBlocksError(Exception):
    """Raised when an operation needs more free blocks than the pool has; nothing was changed."""


def _is_count(value: object, low: int) -> bool:
    """An int >= low; a bool is not a count."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


class BlockManager:
    """Physical KV blocks shared between sequences, with reference counts and copy-on-write."""

    def __init__(self, num_blocks: int, block_size: int) -> None:
        if not _is_count(num_blocks, 0) or not _is_count(block_size, 1):
            raise ValueError(f"expected num_blocks >= 0 and block_size >= 1 (ints), got {num_blocks!r}, {block_size!r}")
        self.num_blocks = num_blocks
        self.block_size = block_size
        self._free = list(range(num_blocks))  # a sorted list is already a valid min-heap
        self._ref_counts = [0] * num_blocks
        self._tables: dict[int, list[int]] = {}  # seq_id -> physical block per logical block
        self._num_tokens: dict[int, int] = {}

    # -- the pool --------------------------------------------------------------------------

    def _take(self) -> int:
        block = heapq.heappop(self._free)  # the lowest-numbered free block
        self._ref_counts[block] = 1
        return block

    def _release(self, block: int) -> None:
        self._ref_counts[block] -= 1
        if self._ref_counts[block] == 0:
            heapq.heappush(self._free, block)

    def _blocks_for(self, n_tokens: int) -> int:
        return -(-n_tokens // self.block_size)  # ceil(n_tokens / block_size)

    def _table(self, seq_id: int) -> list[int]:
        if seq_id not in self._tables:
            raise ValueError(f"unknown sequence {seq_id!r}")
        return self._tables[seq_id]

    def num_free_blocks(self) -> int:
        return len(self._free)

    def ref_count(self, block: int) -> int:
        if not _is_count(block, 0) or block >= self.num_blocks:
            raise ValueError(f"block must be an int in [0, {self.num_blocks}), got {block!r}")
        return self._ref_counts[block]

    def can_allocate(self, n_tokens: int) -> bool:
        if not _is_count(n_tokens, 1):
            raise ValueError(f"n_tokens must be an int >= 1, got {n_tokens!r}")
        return self._blocks_for(n_tokens) <= len(self._free)

    # -- sequences -------------------------------------------------------------------------

    def allocate(self, seq_id: int, n_tokens: int) -> list[int]:
        """Give a new sequence ceil(n_tokens / block_size) fresh blocks; returns its block table."""
        if not _is_count(n_tokens, 1):
            raise ValueError(f"n_tokens must be an int >= 1, got {n_tokens!r}")
        if seq_id in self._tables:
            raise ValueError(f"sequence {seq_id!r} already has blocks")
        needed = self._blocks_for(n_tokens)
        if needed > len(self._free):
            raise OutOfBlocksError(f"sequence {seq_id!r} needs {needed} blocks, {len(self._free)} are free")
        self._tables[seq_id] = [self._take() for _ in range(needed)]
        self._num_tokens[seq_id] = n_tokens
        return list(self._tables[seq_id])

    def append_token(self, seq_id: int) -> tuple[int, int] | None:
        """Make room for one more token; returns (src, dst) when block src must be copied to dst."""
        table = self._table(seq_id)
        n_tokens = self._num_tokens[seq_id]
        if n_tokens % self.block_size == 0:  # the last block is full: the token opens a new one
            if not self._free:
                raise OutOfBlocksError(f"sequence {seq_id!r} needs a new block, none is free")
            table.append(self._take())
            self._num_tokens[seq_id] = n_tokens + 1
            return None
        last = table[-1]
        if self._ref_counts[last] == 1:  # ours alone: write in place
            self._num_tokens[seq_id] = n_tokens + 1
            return None
        # shared and not full: copy-on-write into a private block, then write there
        if not self._free:
            raise OutOfBlocksError(f"sequence {seq_id!r} must copy shared block {last}, none is free")
        copy = self._take()
        self._ref_counts[last] -= 1  # still >= 1: another sequence holds it
        table[-1] = copy
        self._num_tokens[seq_id] = n_tokens + 1
        return (last, copy)

    def fork(self, parent_id: int, child_id: int) -> None:
        """The child shares all of the parent's blocks (and tokens); every block's count goes up by 1."""
        table = self._table(parent_id)
        if child_id in self._tables:
            raise ValueError(f"sequence {child_id!r} already has blocks")
        for block in table:
            self._ref_counts[block] += 1
        self._tables[child_id] = list(table)
        self._num_tokens[child_id] = self._num_tokens[parent_id]

    def free(self, seq_id: int) -> None:
        """Drop the sequence; each of its blocks loses one reference and returns to the pool at 0."""
        table = self._table(seq_id)
        for block in table:
            self._release(block)
        del self._tables[seq_id]
        del self._num_tokens[seq_id]

    def block_table(self, seq_id: int) -> list[int]:
        return list(self._table(seq_id))

    def num_tokens(self, seq_id: int) -> int:
        self._table(seq_id)
        return self._num_tokens[seq_id]
