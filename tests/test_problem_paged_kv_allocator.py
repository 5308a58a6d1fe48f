"""Project tests for the paged-kv-allocator problem that need no judge runner.

The checker-side model (paged_kv_oracle.PoolModel, which derives counts from the tables) is
checked against an independent formulation that tracks every token's physical slot, the
reference against the model on long seeded sequences (through the problem's own driver, so the
driver is exercised too), and the statement's worked examples against the reference.
"""

import random
import sys
from pathlib import Path

import pytest

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "paged-kv-allocator"

reference = load(REPO / "solutions_ref" / "paged_kv_allocator.py", "paged_kv_allocator_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(PROBLEM / "paged_kv_oracle.py", "paged_kv_allocator_oracle")
driver = load(PROBLEM / "driver.py", "paged_kv_allocator_driver")
sys.path.remove(str(PROBLEM))


class SlotCache:
    """An independent formulation: a physical cache of token slots, written as a real engine would.

    Each sequence's token values live in physical slots; a write into a block another sequence
    can read would show as corruption. The check is semantic: after every operation, every live
    sequence reads back exactly the tokens it wrote, and no two sequences write one slot.
    """

    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.block_size = block_size
        self.slots = [[None] * block_size for _ in range(num_blocks)]
        self.written: dict[int, list[str]] = {}
        self.writes = 0  # makes every write's value unique

    def apply(self, manager, op: tuple, outcome: tuple) -> None:
        name, *args = op
        if outcome[0] == "raises":
            return
        if name == "allocate":
            seq, n = args
            self.written[seq] = [f"{seq}:{i}" for i in range(n)]
            for i, token in enumerate(self.written[seq]):
                self.write(outcome[1], i, token)
        elif name == "append_token":
            (seq,) = args
            if outcome[1] is not None:
                src, dst = outcome[1]
                self.slots[dst] = list(self.slots[src])  # the engine's copy
            self.writes += 1
            token = f"{seq}:{len(self.written[seq])}:{self.writes}"
            self.written[seq].append(token)
            self.write(manager.block_table(seq), len(self.written[seq]) - 1, token)
        elif name == "fork":
            parent, child = args
            self.written[child] = list(self.written[parent])
        elif name == "free":
            del self.written[args[0]]

    def write(self, table: list[int], i: int, token: str) -> None:
        self.slots[table[i // self.block_size]][i % self.block_size] = token

    def check(self, manager) -> None:
        for seq, tokens in self.written.items():
            table = manager.block_table(seq)
            read = [self.slots[table[i // self.block_size]][i % self.block_size] for i in range(len(tokens))]
            assert read == tokens, f"sequence {seq} reads back {read}, wrote {tokens}"


@pytest.mark.parametrize("seed", range(12))
def test_the_model_keeps_every_sequences_tokens_intact(seed):
    """Drive the model's own decisions through a slot-level cache: no sequence ever sees another's writes."""
    r = random.Random(seed)
    num_blocks, block_size = r.randint(3, 12), r.randint(1, 4)
    model = oracle.PoolModel(num_blocks, block_size)
    cache = SlotCache(num_blocks, block_size)

    class ModelView:  # the accessors SlotCache reads, answered by the model
        def block_table(self, seq):
            return model.tables[seq]

    for op in oracle.random_ops(seed, num_blocks, block_size, 400, 5):
        outcome = model.apply(op)
        cache.apply(ModelView(), op, outcome)
        cache.check(ModelView())
        counts = model.ref_counts()
        assert sum(counts) == sum(len(t) for t in model.tables.values())
        for seq, table in model.tables.items():
            assert len(table) == -(-model.tokens[seq] // block_size), "ceil(tokens / block_size) blocks"
            assert len(set(table)) == len(table), "a table names a block twice"


def test_the_model_hands_out_the_lowest_free_block():
    model = oracle.PoolModel(6, 1)
    for seq in range(6):
        assert model.apply(("allocate", seq, 1)) == ("ok", [seq])
    model.apply(("free", 4))
    model.apply(("free", 1))
    assert model.apply(("allocate", 7, 2)) == ("ok", [1, 4])
    assert model.apply(("allocate", 8, 1)) == ("raises", "OutOfBlocksError")
    assert model.apply(("free", 8)) == ("raises", "ValueError")


@pytest.mark.parametrize("seed", range(10))
def test_the_reference_matches_the_model_through_the_driver(seed):
    r = random.Random(100 + seed)
    num_blocks, block_size = r.randint(0, 16), r.randint(1, 5)
    ops = oracle.random_ops(seed, num_blocks, block_size, 400, 6)
    trace = driver.run_ops(reference, [(num_blocks, block_size)], [(0, *op) for op in ops], list(range(6)))
    model = oracle.PoolModel(num_blocks, block_size)
    cache = SlotCache(num_blocks, block_size)
    manager = reference.BlockManager(num_blocks, block_size)  # replayed directly for the slot check
    for op, (outcome, snapshot) in zip(ops, trace, strict=True):
        assert outcome == model.apply(op), op
        assert snapshot == model.snapshot(list(range(6))), op
        direct = driver._outcome(getattr(manager, op[0]), *op[1:])
        cache.apply(manager, op, direct)
        cache.check(manager)


def test_the_random_sequences_reach_every_branch():
    """The seeded sequences of the hidden tests copy, run out of blocks and misuse the interface."""
    seen = set()
    for seed, num_blocks, block_size in [(0, 6, 1), (1, 8, 2), (2, 12, 3), (3, 16, 4), (4, 5, 16)]:
        model = oracle.PoolModel(num_blocks, block_size)
        for op in oracle.random_ops(seed, num_blocks, block_size, 400, 6):
            outcome = model.apply(op)
            seen.add((op[0], outcome[0], outcome[1] if outcome[0] == "raises" else type(outcome[1]).__name__))
    assert ("append_token", "ok", "tuple") in seen
    assert ("append_token", "raises", "OutOfBlocksError") in seen
    assert ("allocate", "raises", "OutOfBlocksError") in seen
    assert ("free", "raises", "ValueError") in seen
    assert ("can_allocate", "ok", "bool") in seen


def test_statement_examples():
    m = reference.BlockManager(6, 4)
    assert m.allocate(0, 6) == [0, 1]
    m.fork(0, 1)
    assert (m.ref_count(0), m.ref_count(1), m.num_free_blocks()) == (2, 2, 4)
    assert m.append_token(1) == (1, 2)
    assert m.block_table(1) == [0, 2] and m.ref_count(1) == 1
    assert [m.append_token(0) for _ in range(3)] == [None, None, None]
    assert m.block_table(0) == [0, 1, 3]

    m = reference.BlockManager(3, 2)
    assert m.allocate(7, 4) == [0, 1]
    m.fork(7, 8)
    assert m.append_token(8) is None and m.block_table(8) == [0, 1, 2]
    with pytest.raises(reference.OutOfBlocksError):
        m.append_token(7)
    m.free(7)
    assert (m.ref_count(0), m.ref_count(1), m.num_free_blocks()) == (1, 1, 0)
    m.free(8)
    assert m.num_free_blocks() == 3 and m.allocate(9, 1) == [0]

    m = reference.BlockManager(4, 16)
    assert m.allocate(0, 16) == [0] and m.allocate(1, 40) == [1, 2, 3]
    m.free(0)
    assert m.can_allocate(17) is False
    with pytest.raises(reference.OutOfBlocksError):
        m.allocate(2, 17)
    with pytest.raises(ValueError):
        m.block_table(2)
    assert m.allocate(2, 16) == [0]


def test_big_pool_expectations_hold_for_the_reference():
    n = 2**10
    got = driver.big_pool(reference, n)
    assert got["firsts"] == list(range(n)) and got["pairs"] == list(range(1, n, 2))
    assert got["grown"] == list(range(0, n, 2)) and got["after"] == [1, 0, n // 2]


def test_low_end_churn_expectations_hold_for_the_reference():
    n = 2**10
    got = driver.low_end_churn(reference, n, 50)
    bulk = n * 3 // 4
    assert got["taken"] == [3] and got["free_after"] == [n - 3]
    assert got["bulk"] == [3, bulk + 2, bulk, n - 3 - bulk, 1] and got["after"] == [n - 3, 0, [3, 4]]


@pytest.mark.parametrize("block_size", [2**53, 2**60, 3**40])
def test_the_ceiling_is_exact_beyond_float_precision(block_size):
    """Model and reference count blocks exactly where n / block_size in floats rounds to 1.0."""
    for n_tokens, blocks in [(block_size - 1, 1), (block_size, 1), (block_size + 1, 2), (2 * block_size + 1, 3)]:
        assert oracle.PoolModel(3, block_size).blocks_needed(n_tokens) == blocks
        assert len(reference.BlockManager(3, block_size).allocate(0, n_tokens)) == blocks
    assert reference.BlockManager(1, block_size).can_allocate(block_size + 1) is False


@pytest.mark.parametrize("block", [True, False, 1.0, "1", None, -1, 4])
def test_ref_count_takes_only_ints_in_the_pool(block):
    for ref_count in (reference.BlockManager(4, 2).ref_count, oracle.PoolModel(4, 2)._ref_count):
        with pytest.raises(ValueError):
            ref_count(block)


def test_a_known_wrong_solution_corrupts_the_slot_cache():
    """The slot-level check sees the bug the counts-only model exists to catch."""
    wrong = load_wrong("paged-kv-allocator", "no_copy_on_write.patch")
    manager = wrong.BlockManager(4, 4)
    cache = SlotCache(4, 4)
    for op in [("allocate", 0, 2), ("fork", 0, 1), ("append_token", 1), ("append_token", 0)]:
        cache.apply(manager, op, driver._outcome(getattr(manager, op[0]), *op[1:]))
    with pytest.raises(AssertionError, match="sequence 1 reads back"):
        cache.check(manager)
