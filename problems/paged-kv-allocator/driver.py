"""Worker-side helpers for paged-kv-allocator: run many operations next to the submission.

A round trip to the worker per call would make long operation sequences slow, so the tests send
a whole sequence at once. After every operation the driver reads back everything the accessors
show (tables and token counts of the ids in play, every block's count, the free count) and
returns it as plain data; the checker compares it with its model. Nothing here decides what is
right.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def _outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        value = call(*args)
    except Exception as exc:  # the checker decides whether this exception was the right one
        return ("raises", type(exc).__name__)
    if isinstance(value, (list, tuple)):  # sent as it came, so a list where a tuple is due shows
        return ("ok", value if all(type(v) is int for v in value) else repr(value))
    return ("ok", value if value is None or type(value) in (bool, int) else repr(value))


def snapshot(manager: Any, num_blocks: int, seq_ids: list[int]) -> dict[str, Any]:
    """Each id's block table and token count, every ref count, the free count (an exception as its name)."""
    return {
        "tables": {s: _outcome(manager.block_table, s)[1] for s in seq_ids},
        "tokens": {s: _outcome(manager.num_tokens, s)[1] for s in seq_ids},
        "refs": [_outcome(manager.ref_count, b)[1] for b in range(num_blocks)],
        "free": _outcome(manager.num_free_blocks)[1],
    }


def run_ops(
    module: ModuleType, configs: list[tuple[int, int]], ops: list[tuple], seq_ids: list[int]
) -> list[tuple[tuple[str, Any], dict[str, Any]]]:
    """Build one manager per (num_blocks, block_size), apply ops `(manager, name, *args)` in order.

    Returns, per operation, its outcome and the snapshot of the manager it ran on.
    """
    managers = [module.BlockManager(num_blocks, block_size) for num_blocks, block_size in configs]
    trace = []
    for index, name, *args in ops:
        manager = managers[index]
        outcome = _outcome(getattr(manager, name), *args)
        trace.append((outcome, snapshot(manager, configs[index][0], seq_ids)))
    return trace


def returned_lists_are_the_callers(module: ModuleType) -> dict[str, Any]:
    """Change the lists allocate and block_table returned, then read the manager again."""
    manager = module.BlockManager(8, 2)
    allocated = manager.allocate(0, 3)
    allocated.append(7)
    allocated[0] = 5
    table = manager.block_table(0)
    table.append(6)
    table[1] = 4
    manager.fork(0, 1)
    child = manager.block_table(1)
    child.clear()
    return {
        "table": manager.block_table(0),
        "child": manager.block_table(1),
        "refs": [manager.ref_count(b) for b in range(8)],
        "free": manager.num_free_blocks(),
        "append": manager.append_token(0),
    }


def big_pool(module: ModuleType, num_blocks: int) -> dict[str, Any]:
    """A pool of num_blocks single-token blocks driven through a few hundred thousand operations.

    Phases: fill the pool one token per sequence (asking can_allocate and num_free_blocks before
    each); free the odd sequences; allocate two-token sequences into the holes; free the even
    sequences from the top down; grow one sequence token by token through the even blocks; fork
    it and free the parent. Returns what the checker needs to check each phase.
    """
    manager = module.BlockManager(num_blocks, 1)
    free_seen = 0
    can_seen = 0
    firsts = []
    for seq in range(num_blocks):
        free_seen += manager.num_free_blocks()
        can_seen += manager.can_allocate(1)
        firsts.append(manager.allocate(seq, 1)[0])
    full_refused = manager.can_allocate(1)
    for seq in range(1, num_blocks, 2):
        manager.free(seq)
    pairs = []
    for j in range(num_blocks // 4):
        pairs.extend(manager.allocate(num_blocks + j, 2))
    for seq in range(num_blocks - 2, -1, -2):
        manager.free(seq)
    grower = 2 * num_blocks
    manager.allocate(grower, 1)
    copies = 0
    for _ in range(num_blocks // 2 - 1):
        copies += manager.append_token(grower) is not None
    grown = manager.block_table(grower)
    manager.fork(grower, grower + 1)
    shared = manager.ref_count(grown[-1])
    manager.free(grower)
    return {
        "free_seen": free_seen,
        "can_seen": can_seen,
        "firsts": firsts,
        "full_refused": full_refused,
        "pairs": pairs,
        "grown": grown,
        "copies": copies,
        "shared": shared,
        "after": [manager.ref_count(grown[0]), manager.num_free_blocks(), manager.num_tokens(grower + 1)],
    }


def low_end_churn(module: ModuleType, num_blocks: int, pairs: int) -> dict[str, Any]:
    """Blocks taken and returned at the low end of a large free list (rule 11's cost).

    A pool of num_blocks single-token blocks; sequence 0 holds blocks 0-2 throughout. Phase 1:
    `pairs` times, allocate sequence 1 with one token (the lowest free block, 3) and free it.
    Phase 2: allocate sequence 2 with three quarters of the pool in one call and free it, so its
    blocks return lowest first while the top of the pool stays free. A free list kept as a sorted Python
    list (pop(0) and insort, in either order) shifts O(num_blocks) entries per block here.
    """
    manager = module.BlockManager(num_blocks, 1)
    manager.allocate(0, 3)
    taken = set()
    free_after = set()
    for _ in range(pairs):
        taken.update(manager.allocate(1, 1))
        manager.free(1)
        free_after.add(manager.num_free_blocks())
    bulk = manager.allocate(2, num_blocks * 3 // 4)
    summary = [bulk[0], bulk[-1], len(bulk), manager.num_free_blocks(), manager.ref_count(bulk[-1])]
    manager.free(2)
    return {
        "taken": sorted(taken),
        "free_after": sorted(free_after),
        "bulk": summary,
        "after": [manager.num_free_blocks(), manager.ref_count(bulk[-1]), manager.allocate(1, 2)],
    }
