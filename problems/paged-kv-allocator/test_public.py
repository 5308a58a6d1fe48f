"""Public examples for paged-kv-allocator (`judge test`): the statement's examples, call by call.

Your BlockManager runs in the judge's worker; each method call below is one call into it.
"""

from judge_harness import expect_raises


def test_allocate_takes_the_ceiling_of_blocks_lowest_first(candidate):
    m = candidate.BlockManager(6, 4)
    assert m.allocate(0, 6) == [0, 1]  # ceil(6 / 4) = 2
    assert m.allocate(1, 8) == [2, 3]  # exactly two full blocks
    assert m.num_free_blocks() == 2
    assert m.can_allocate(8) is True and m.can_allocate(9) is False


def test_fork_then_copy_on_write(candidate):
    m = candidate.BlockManager(6, 4)
    m.allocate(0, 6)
    m.fork(0, 1)
    assert [m.ref_count(b) for b in range(3)] == [2, 2, 0]
    assert m.append_token(1) == (1, 2)  # block 1 is shared and has room: copy it into block 2
    assert m.block_table(1) == [0, 2]
    assert m.append_token(0) is None  # block 1 is sequence 0's alone now: written in place
    assert m.num_tokens(0) == 7 and m.num_tokens(1) == 7


def test_a_full_shared_block_is_not_copied(candidate):
    m = candidate.BlockManager(3, 2)
    m.allocate(7, 4)
    m.fork(7, 8)
    assert m.append_token(8) is None  # block 1 is full: a new block, nothing to copy
    assert m.block_table(8) == [0, 1, 2]


def test_out_of_blocks_changes_nothing(candidate):
    m = candidate.BlockManager(4, 16)
    m.allocate(0, 16)
    m.allocate(1, 40)
    m.free(0)
    with expect_raises("OutOfBlocksError"):
        m.allocate(2, 17)
    assert m.num_free_blocks() == 1
    assert m.allocate(2, 16) == [0]


def test_free_returns_blocks_and_double_free_raises(candidate):
    m = candidate.BlockManager(3, 2)
    m.allocate(0, 3)
    m.fork(0, 1)
    m.free(0)
    assert m.num_free_blocks() == 1  # sequence 1 still holds blocks 0 and 1
    with expect_raises("ValueError"):
        m.free(0)
    m.free(1)
    assert m.num_free_blocks() == 3
