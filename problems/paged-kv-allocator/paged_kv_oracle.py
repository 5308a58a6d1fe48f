"""Checker-side model of the block manager, and the seeded generator of operation sequences.

The model is written differently from an allocator on purpose: it keeps only each sequence's
block table and token count, and derives everything else from them on every query. A block's
reference count is the number of table entries naming it (rule 2), the free blocks are those with
count 0, and the block handed out is the smallest of them (rule 3). That is slow (a scan per
operation) and obviously right, which is what a model is for.

An operation is a tuple `(name, *args)` with the method's name and its arguments; its outcome
is `("ok", value)` or `("raises", exception type name)`.
"""

from __future__ import annotations

import random
from typing import Any

Op = tuple
Outcome = tuple[str, Any]


class PoolModel:
    """The statement's rules, applied to plain tables; every query is recomputed from scratch."""

    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.tables: dict[int, list[int]] = {}
        self.tokens: dict[int, int] = {}

    def ref_counts(self) -> list[int]:
        counts = [0] * self.num_blocks
        for table in self.tables.values():
            for block in table:
                counts[block] += 1
        return counts

    def free_blocks(self) -> list[int]:
        return [block for block, count in enumerate(self.ref_counts()) if count == 0]

    def blocks_needed(self, n_tokens: int) -> int:
        return -(-n_tokens // self.block_size)  # exact: n_tokens / block_size in floats rounds past 2**53

    def apply(self, op: Op) -> Outcome:
        name, *args = op
        try:
            return ("ok", getattr(self, "_" + name)(*args))
        except ValueError:
            return ("raises", "ValueError")
        except OutOfBlocks:
            return ("raises", "OutOfBlocksError")

    # -- one method per operation; each checks everything before it changes anything ---------

    def _live(self, seq_id: int) -> None:
        if seq_id not in self.tables:
            raise ValueError

    def _can_allocate(self, n_tokens: int) -> bool:
        valid_count(n_tokens, 1)
        return self.blocks_needed(n_tokens) <= len(self.free_blocks())

    def _allocate(self, seq_id: int, n_tokens: int) -> list[int]:
        valid_count(n_tokens, 1)
        if seq_id in self.tables:
            raise ValueError
        free = self.free_blocks()
        needed = self.blocks_needed(n_tokens)
        if needed > len(free):
            raise OutOfBlocks
        self.tables[seq_id] = free[:needed]  # one at a time, lowest first: the lowest `needed`
        self.tokens[seq_id] = n_tokens
        return list(free[:needed])

    def _append_token(self, seq_id: int) -> tuple[int, int] | None:
        self._live(seq_id)
        table, n_tokens = self.tables[seq_id], self.tokens[seq_id]
        full = n_tokens == len(table) * self.block_size
        shared = self.ref_counts()[table[-1]] > 1
        if not full and not shared:
            self.tokens[seq_id] += 1
            return None
        free = self.free_blocks()
        if not free:
            raise OutOfBlocks
        self.tokens[seq_id] += 1
        if full:
            table.append(free[0])
            return None
        source, table[-1] = table[-1], free[0]
        return (source, free[0])

    def _fork(self, parent_id: int, child_id: int) -> None:
        self._live(parent_id)
        if child_id in self.tables:
            raise ValueError
        self.tables[child_id] = list(self.tables[parent_id])
        self.tokens[child_id] = self.tokens[parent_id]

    def _free(self, seq_id: int) -> None:
        self._live(seq_id)
        del self.tables[seq_id], self.tokens[seq_id]

    def _block_table(self, seq_id: int) -> list[int]:
        self._live(seq_id)
        return list(self.tables[seq_id])

    def _num_tokens(self, seq_id: int) -> int:
        self._live(seq_id)
        return self.tokens[seq_id]

    def _num_free_blocks(self) -> int:
        return len(self.free_blocks())

    def _ref_count(self, block: int) -> int:
        valid_count(block, 0)
        if block >= self.num_blocks:
            raise ValueError
        return self.ref_counts()[block]

    def snapshot(self, seq_ids: list[int]) -> dict[str, Any]:
        """What the driver reads back after each operation, as the model expects it."""
        return {
            "tables": {s: self.tables.get(s, "ValueError") for s in seq_ids},
            "tokens": {s: self.tokens.get(s, "ValueError") for s in seq_ids},
            "refs": self.ref_counts(),
            "free": len(self.free_blocks()),
        }


class OutOfBlocks(Exception):
    """The model's out-of-blocks signal (the submission's is OutOfBlocksError)."""


def valid_count(value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError


def random_ops(seed: int, num_blocks: int, block_size: int, n_ops: int, n_ids: int) -> list[Op]:
    """A seeded sequence of operations that keeps the pool busy: mostly legal, some misuses.

    Ids come from 0 .. n_ids - 1; token counts straddle multiples of block_size; the pool is
    small enough that allocations and appends run out of blocks now and then.
    """
    r = random.Random(seed)
    model = PoolModel(num_blocks, block_size)
    ops: list[Op] = []
    for _ in range(n_ops):
        live = sorted(model.tables)
        dead = [s for s in range(n_ids) if s not in model.tables]
        kind = r.choices(
            ["allocate", "append_token", "fork", "free", "can_allocate", "misuse"], [18, 40, 14, 14, 5, 9]
        )[0]
        if kind == "allocate" and dead:
            op = ("allocate", r.choice(dead), r.randint(1, 3 * block_size + 1))
        elif kind == "append_token" and live:
            op = ("append_token", r.choice(live))
        elif kind == "fork" and live and dead:
            op = ("fork", r.choice(live), r.choice(dead))
        elif kind == "free" and live:
            op = ("free", r.choice(live))
        elif kind == "can_allocate":
            op = ("can_allocate", r.randint(1, (num_blocks + 1) * block_size))
        else:
            op = r.choice(misuses(model, n_ids))
        model.apply(op)
        ops.append(op)
    return ops


def misuses(model: PoolModel, n_ids: int) -> list[Op]:
    """Operations the statement answers with ValueError in this state."""
    live = sorted(model.tables)
    dead = [s for s in range(n_ids) if s not in model.tables]
    found: list[Op] = [("allocate", n_ids, 0), ("can_allocate", 0), ("ref_count", model.num_blocks), ("ref_count", -1)]
    for seq in live[:2]:
        found += [("allocate", seq, 1), ("fork", seq, seq)]
    for seq in dead[:2]:
        found += [("append_token", seq), ("free", seq), ("fork", seq, n_ids), ("block_table", seq)]
    if len(live) >= 2:
        found.append(("fork", live[0], live[1]))
    return found
