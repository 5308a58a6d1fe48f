"""Hidden tests for paged-kv-allocator.

Most tests send a list of operations to the worker (driver.run_ops), which applies them to the
submission's BlockManager and reads back every accessor after each one; the checker replays the
same operations on the pure-Python model of paged_kv_oracle.py and compares, operation by
operation: the result or exception, every id's block table and token count, every block's
reference count and the free count. Results are compared exactly, types included.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paged_kv_oracle import PoolModel, random_ops

from judge_harness import expect_raises


def same(actual, expected) -> bool:
    """Equal and of the same types all the way down (True is not 1, a tuple is not a list)."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in expected)
    return actual == expected


def describe(op: tuple) -> str:
    name, *args = op
    return f"{name}({', '.join(map(repr, args))})"


def check_ops(candidate, configs, ops, seq_ids=range(6)) -> None:
    """Run ops `(manager, name, *args)` on managers built from configs; compare after every one."""
    seq_ids = list(seq_ids)
    models = [PoolModel(*config) for config in configs]
    trace = candidate.driver.run_ops(configs, ops, seq_ids)
    for step, (op, (outcome, snapshot)) in enumerate(zip(ops, trace, strict=True)):
        model = models[op[0]]
        expected = model.apply(op[1:])
        expected_snapshot = model.snapshot(seq_ids)
        history = "\n".join(f"  {i}: m{o[0]}.{describe(o[1:])}" for i, o in list(enumerate(ops[: step + 1]))[-12:])
        where = (
            f"after operation {step}, m{op[0]}.{describe(op[1:])}, on m{op[0]} = "
            f"BlockManager(num_blocks={configs[op[0]][0]}, block_size={configs[op[0]][1]})"
            f"\nthe operations so far (the last 12):\n{history}"
        )
        assert same(outcome, expected), f"result: expected {expected!r}, got {outcome!r} ({where})"
        for key, label in [
            ("tables", "block_table(id)"),
            ("tokens", "num_tokens(id)"),
            ("refs", "ref_count(block)"),
            ("free", "num_free_blocks()"),
        ]:
            got, want = snapshot[key], expected_snapshot[key]
            if same(got, want):
                continue
            if isinstance(want, dict):
                diff = {k: (want[k], got.get(k)) for k in want if not same(got.get(k), want[k])}
                detail = ", ".join(f"id {k}: expected {w!r}, got {g!r}" for k, (w, g) in diff.items())
            elif isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
                detail = ", ".join(
                    f"block {b}: expected {w!r}, got {g!r}"
                    for b, (w, g) in enumerate(zip(want, got, strict=True))
                    if not same(g, w)
                )
            else:
                detail = f"expected {want!r}, got {got!r}"
            raise AssertionError(f"{label}: {detail} ({where})")


def run_one(candidate, config, ops, seq_ids=range(6)) -> None:
    check_ops(candidate, [config], [(0, *op) for op in ops], seq_ids)


# -- the statement's examples ------------------------------------------------------------------


def test_example_fork_and_copy_on_write(candidate):
    m = candidate.BlockManager(6, 4)
    assert m.allocate(0, 6) == [0, 1]
    assert m.fork(0, 1) is None
    assert (m.ref_count(0), m.ref_count(1), m.num_free_blocks()) == (2, 2, 4)
    assert m.append_token(1) == (1, 2), "token 6 of sequence 1 goes into shared block 1: copy 1 -> 2"
    assert m.block_table(1) == [0, 2] and m.ref_count(1) == 1
    assert [m.append_token(0) for _ in range(3)] == [None, None, None]
    assert m.block_table(0) == [0, 1, 3] and m.num_tokens(0) == 9 and m.num_tokens(1) == 7


def test_example_a_full_shared_block_is_not_copied(candidate):
    m = candidate.BlockManager(3, 2)
    m.allocate(7, 4)
    m.fork(7, 8)
    assert m.append_token(8) is None
    assert m.block_table(8) == [0, 1, 2]
    with expect_raises("OutOfBlocksError"):
        m.append_token(7)
    assert m.block_table(7) == [0, 1] and m.num_tokens(7) == 4
    m.free(7)
    assert (m.ref_count(0), m.ref_count(1), m.num_free_blocks()) == (1, 1, 0)
    m.free(8)
    assert m.num_free_blocks() == 3
    assert m.allocate(9, 1) == [0]


def test_example_a_failed_allocate_changes_nothing(candidate):
    m = candidate.BlockManager(4, 16)
    assert m.allocate(0, 16) == [0] and m.allocate(1, 40) == [1, 2, 3]
    m.free(0)
    assert m.can_allocate(17) is False and m.can_allocate(16) is True
    with expect_raises("OutOfBlocksError"):
        m.allocate(2, 17)
    with expect_raises("ValueError"):
        m.block_table(2)
    assert m.num_free_blocks() == 1 and m.ref_count(0) == 0
    assert m.allocate(2, 16) == [0]


# -- each rule on small cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block_size", "n_tokens"),
    [(4, 1), (4, 3), (4, 4), (4, 5), (4, 8), (4, 9), (1, 1), (1, 5), (3, 6), (3, 7), (16, 16), (16, 17)],
)
def test_blocks_needed_is_the_ceiling(candidate, block_size, n_tokens):
    ops = [
        ("can_allocate", n_tokens),
        ("allocate", 0, n_tokens),
        ("append_token", 0),
        ("free", 0),
        ("allocate", 1, n_tokens),
    ]
    run_one(candidate, (12, block_size), ops)


def test_the_last_free_blocks_can_be_taken(candidate):
    ops = [
        ("can_allocate", 12),
        ("allocate", 0, 12),  # exactly the whole pool
        ("can_allocate", 1),
        ("allocate", 1, 1),
        ("free", 0),
        ("allocate", 1, 9),
        ("can_allocate", 3),
        ("allocate", 2, 4),
        ("append_token", 1),
        ("append_token", 1),
        ("append_token", 1),
    ]
    run_one(candidate, (4, 3), ops)


def test_the_lowest_free_block_is_handed_out_and_freed_blocks_are_reused(candidate):
    ops = [("allocate", s, 2) for s in range(5)]  # blocks 0..9, two per sequence
    ops += [("free", 3), ("free", 1), ("allocate", 5, 1), ("allocate", 6, 5), ("free", 0), ("append_token", 4)]
    ops += [("append_token", 4), ("append_token", 4), ("free", 2), ("allocate", 7, 4)]
    run_one(candidate, (10, 1), ops, range(8))


def test_append_opens_a_block_only_when_the_last_is_full(candidate):
    ops = [("allocate", 0, 1)] + [("append_token", 0)] * 9 + [("allocate", 1, 1)] + [("append_token", 1)] * 4
    run_one(candidate, (8, 3), ops)


def test_copy_on_write_only_for_a_shared_block_with_room(candidate):
    ops = [
        ("allocate", 0, 5),  # blocks 0, 1; block 1 has room
        ("fork", 0, 1),
        ("fork", 1, 2),  # block 1 has count 3
        ("append_token", 2),  # copy 1 -> 2, block 1 keeps count 2
        ("append_token", 0),  # still shared with 1: copy 1 -> 3
        ("append_token", 1),  # now 1 is the only holder: in place
        ("append_token", 1),  # block 1 full now
        ("append_token", 1),  # full: a new block, no copy
        ("fork", 1, 3),
        ("append_token", 3),  # the last block has room and is shared: copy
        ("append_token", 3),
        ("append_token", 1),
    ]
    run_one(candidate, (10, 3), ops)


def test_fork_counts_and_free_returns_only_unshared_blocks(candidate):
    ops = [
        ("allocate", 0, 4),
        ("fork", 0, 1),
        ("fork", 0, 2),
        ("fork", 2, 3),
        ("free", 0),
        ("free", 2),
        ("append_token", 1),  # block 1 full: new block
        ("free", 3),
        ("append_token", 1),
        ("free", 1),
        ("allocate", 4, 8),
    ]
    run_one(candidate, (6, 2), ops)


def test_forked_tables_change_independently(candidate):
    ops = [("allocate", 0, 2), ("fork", 0, 1)] + [("append_token", 1)] * 3 + [("append_token", 0)] * 2
    ops += [("fork", 1, 2), ("free", 1), ("append_token", 2), ("append_token", 0)]
    run_one(candidate, (8, 2), ops)


@pytest.mark.parametrize(
    "ops",
    [
        [("allocate", 0, 6), ("allocate", 1, 3)],  # allocate: 2 blocks needed, 1 free
        [("allocate", 0, 8), ("append_token", 0)],  # append needs a new block
        [("allocate", 0, 5), ("fork", 0, 1), ("allocate", 2, 3), ("append_token", 1)],  # needs a copy
        [("allocate", 0, 6), ("fork", 0, 1), ("append_token", 1), ("append_token", 0)],  # full and shared
    ],
    ids=["allocate", "append-new-block", "append-copy-on-write", "append-full-shared"],
)
def test_out_of_blocks_changes_nothing(candidate, ops):
    run_one(candidate, (3, 3), ops + [("can_allocate", 1), ("free", 0), ("allocate", 5, 2)])


def test_value_errors_come_before_out_of_blocks(candidate):
    ops = [
        ("allocate", 0, 4),
        ("allocate", 0, 100),  # an id with blocks, on a full pool
        ("allocate", 1, 0),
        ("can_allocate", 0),
        ("append_token", 1),
        ("fork", 0, 0),
        ("fork", 1, 2),
        ("free", 1),
    ]
    run_one(candidate, (2, 2), ops)


def test_an_empty_pool_and_zero_ids_are_legal(candidate):
    m = candidate.BlockManager(0, 4)
    assert m.num_free_blocks() == 0 and m.can_allocate(1) is False
    with expect_raises("OutOfBlocksError"):
        m.allocate(0, 1)
    with expect_raises("ValueError"):
        m.ref_count(0)
    # id 0 and block 0: a copy-on-write instruction out of block 0 is (0, 1), not None
    run_one(candidate, (2, 4), [("allocate", 0, 1), ("fork", 0, 1), ("append_token", 0), ("append_token", 1)])
    run_one(candidate, (0, 1), [("can_allocate", 1), ("allocate", 0, 1), ("num_free_blocks",)])


def test_negative_and_huge_ids_are_ordinary_ids(candidate):
    # any int is an id: -1, -7 and 2**64 are sequences like any other, never a ValueError
    big = 2**64
    ops = [("allocate", -1, 3), ("fork", -1, big), ("append_token", big), ("fork", big, -7)]
    ops += [("append_token", -7), ("block_table", -7), ("num_tokens", big), ("free", -1), ("free", big)]
    ops += [("allocate", -1, 1), ("free", -7), ("fork", -1, 0)]
    run_one(candidate, (6, 2), ops, [-7, -1, 0, big])


def test_freed_ids_can_be_used_again(candidate):
    ops = [("allocate", 0, 3), ("fork", 0, 1), ("free", 0), ("allocate", 0, 1), ("free", 1), ("fork", 0, 1)]
    ops += [("append_token", 1), ("free", 0), ("fork", 1, 0), ("append_token", 0)]
    run_one(candidate, (6, 2), ops)


# -- errors, each case of the statement --------------------------------------------------------


@pytest.mark.parametrize(
    ("num_blocks", "block_size"),
    [(-1, 4), (4, 0), (4, -2), (4.0, 4), (4, 2.0), (True, 4), (4, True), ("4", 4)],
)
def test_bad_constructor_arguments_raise(candidate, num_blocks, block_size):
    with expect_raises("ValueError"):
        candidate.BlockManager(num_blocks, block_size)


@pytest.mark.parametrize("n_tokens", [0, -3, True, 2.0])
def test_bad_token_counts_raise(candidate, n_tokens):
    m = candidate.BlockManager(4, 2)
    with expect_raises("ValueError"):
        m.allocate(0, n_tokens)
    with expect_raises("ValueError"):
        m.can_allocate(n_tokens)
    assert m.num_free_blocks() == 4
    with expect_raises("ValueError"):
        m.num_tokens(0)


def test_ids_that_already_have_blocks_raise(candidate):
    m = candidate.BlockManager(8, 2)
    m.allocate(0, 3)
    m.allocate(1, 1)
    with expect_raises("ValueError"):
        m.allocate(0, 1)
    with expect_raises("ValueError"):
        m.fork(0, 1)
    with expect_raises("ValueError"):
        m.fork(1, 1)
    assert (m.block_table(0), m.block_table(1), m.num_tokens(1)) == ([0, 1], [2], 1)
    assert [m.ref_count(b) for b in range(4)] == [1, 1, 1, 0] and m.num_free_blocks() == 5


def test_unknown_ids_raise(candidate):
    m = candidate.BlockManager(4, 2)
    m.allocate(3, 2)
    m.fork(3, 0)
    m.free(0)
    for call, args in [
        ("append_token", (0,)),
        ("free", (0,)),  # a double free
        ("block_table", (0,)),
        ("num_tokens", (0,)),
        ("fork", (0, 1)),
        ("free", (5,)),
    ]:
        with expect_raises("ValueError"):
            getattr(m, call)(*args)
    assert m.ref_count(0) == 1 and m.num_free_blocks() == 3 and m.block_table(3) == [0]


@pytest.mark.parametrize("block", [-1, 5, 6, True, False, 1.0, "1"])
def test_blocks_outside_the_pool_raise(candidate, block):
    m = candidate.BlockManager(5, 2)
    with expect_raises("ValueError"):
        m.ref_count(block)
    assert m.ref_count(4) == 0


def test_out_of_blocks_raises(candidate):
    m = candidate.BlockManager(2, 2)
    with expect_raises("OutOfBlocksError"):
        m.allocate(0, 5)
    m.allocate(0, 3)
    m.fork(0, 1)
    with expect_raises("OutOfBlocksError"):
        m.append_token(1)  # copy-on-write needs a block
    assert m.block_table(1) == [0, 1] and m.num_tokens(1) == 3 and m.ref_count(1) == 2
    m.free(1)
    assert m.append_token(0) is None  # block 1 is sequence 0's alone again: in place
    with expect_raises("OutOfBlocksError"):
        m.append_token(0)  # block 1 is full: a new block is needed
    assert m.num_tokens(0) == 4 and m.block_table(0) == [0, 1]


# -- caller data, instances, scale -------------------------------------------------------------


def test_returned_lists_are_the_callers(candidate):
    got = candidate.driver.returned_lists_are_the_callers()
    assert got["table"] == [0, 1], f"block_table(0) after the caller changed returned lists: {got['table']}"
    assert got["child"] == [0, 1], f"block_table(1) after the caller cleared a returned list: {got['child']}"
    assert got["refs"] == [2, 2, 0, 0, 0, 0, 0, 0] and got["free"] == 6, got
    assert got["append"] == (1, 2), got


def test_two_managers_side_by_side_share_nothing(candidate):
    configs = [(6, 2), (9, 3)]
    first, second = random_ops(11, 6, 2, 80, 4), random_ops(12, 9, 3, 80, 4)
    ops = [op for pair in zip(first, second, strict=True) for op in ((0, *pair[0]), (1, *pair[1]))]
    check_ops(candidate, configs, ops, range(4))


def test_a_big_pool_within_the_time_limit(candidate):
    n = 2**17
    got = candidate.driver.big_pool(n)
    assert got["firsts"] == list(range(n)), "filling the pool one block at a time must take 0, 1, 2, ..."
    assert got["free_seen"] == n * (n + 1) // 2 and got["can_seen"] == n, "num_free_blocks / can_allocate while filling"
    assert got["full_refused"] is False
    assert got["pairs"] == list(range(1, n, 2)), "two-block sequences must fill the odd holes in order"
    assert got["grown"] == list(range(0, n, 2)) and got["copies"] == 0
    assert got["shared"] == 2 and got["after"] == [1, 0, n // 2], got["after"]


def test_blocks_at_the_low_end_of_a_large_free_list_cost_log_n(candidate):
    # rule 11: 2**17 takes and returns of block 3 with about 2**20 blocks free, then three quarters
    # of the pool taken in one allocate and returned lowest first; O(log n) each: about a second
    n = 2**20
    got = candidate.driver.low_end_churn(n, 2**16)
    assert got["taken"] == [3], f"allocate(1, 1) with blocks 0-2 held must take block 3 every time: {got['taken']}"
    assert got["free_after"] == [n - 3], f"num_free_blocks() after each free: {got['free_after']}"
    bulk = n * 3 // 4
    assert got["bulk"] == [3, bulk + 2, bulk, n - 3 - bulk, 1], f"allocate(2, {bulk}): {got['bulk']}"
    assert got["after"] == [n - 3, 0, [3, 4]], f"after free(2): {got['after']}"


def test_the_ceiling_is_exact_for_huge_block_sizes(candidate):
    # n_tokens / block_size in floating point rounds (2**53 + 1) / 2**53 to 1.0: one block too few
    big = 2**53
    ops = [("can_allocate", big + 1), ("allocate", 0, big + 1), ("append_token", 0), ("can_allocate", 1)]
    run_one(candidate, (2, big), ops)
    huge = 2**60
    ops = [("can_allocate", huge + 1), ("allocate", 0, huge + 1), ("can_allocate", huge), ("allocate", 0, huge)]
    run_one(candidate, (1, huge), ops + [("append_token", 0)])
    # the other way: (2 * 2**60 - 1) / 2**60 rounds up to 2.0, so a float floor plus "is there a
    # remainder" says 3 blocks where 2 are needed (and math.ceil happens to be right here)
    ops = [("can_allocate", 2 * huge - 1), ("allocate", 0, 2 * huge - 1), ("append_token", 0), ("can_allocate", 1)]
    run_one(candidate, (2, huge), ops)
    ops = [("can_allocate", 3 * huge - 1), ("allocate", 0, 3 * huge - 1), ("free", 0), ("can_allocate", 2 * huge + 1)]
    run_one(candidate, (3, huge), ops)


# -- long random sequences against the model ------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "num_blocks", "block_size"),
    [(0, 6, 1), (1, 8, 2), (2, 12, 3), (3, 16, 4), (4, 5, 16), (5, 10, 2), (6, 3, 1), (7, 20, 5)],
)
def test_random_sequences_match_the_model(candidate, seed, num_blocks, block_size):
    ops = random_ops(seed, num_blocks, block_size, 400, 6)
    run_one(candidate, (num_blocks, block_size), ops)


ids = st.integers(0, 3)
operation = st.one_of(
    st.tuples(st.just("allocate"), ids, st.integers(0, 9)),
    st.tuples(st.just("append_token"), ids),
    st.tuples(st.just("append_token"), ids),
    st.tuples(st.just("fork"), ids, ids),
    st.tuples(st.just("free"), ids),
    st.tuples(st.just("can_allocate"), st.integers(0, 12)),
    st.tuples(st.just("ref_count"), st.integers(-1, 7)),
)


@settings(max_examples=100)
@given(num_blocks=st.integers(0, 6), block_size=st.integers(1, 4), ops=st.lists(operation, max_size=40))
def test_any_sequence_matches_the_model(candidate, num_blocks, block_size, ops):
    run_one(candidate, (num_blocks, block_size), ops, range(4))
