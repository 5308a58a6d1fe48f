"""Hidden tests for beam-search.

Toy language models (beam_oracle.py, checker side) are handed to the submission as step_fn;
they record every batch of prefixes they are called with. Each test compares those calls and
the returned n-best list with the pure-Python oracle, which follows the statement literally.
"""

from __future__ import annotations

import math

import pytest
from beam_oracle import RecordingLM, oracle_beam_search, quantized_lm, random_lm, table_lm
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import expect_raises

LOG = math.log
INF = math.inf
DEFAULT = object()  # length_penalty not passed: the default 0.6 applies


def describe(bos_id, eos_id, beam_width, max_len, length_penalty) -> str:
    alpha = "default" if length_penalty is DEFAULT else repr(length_penalty)
    return f"bos_id={bos_id}, eos_id={eos_id}, beam_width={beam_width}, max_len={max_len}, length_penalty={alpha}"


def check_calls(got: list, want: list, where: str) -> None:
    for step, (got_call, want_call) in enumerate(zip(got, want, strict=False), start=1):
        assert got_call == want_call, (
            f"step_fn call {step} ({where}): expected the live prefixes {want_call}, got {got_call} "
            "(one call per step with every live prefix, BOS first, in beam order)"
        )
    assert len(got) == len(want), (
        f"number of step_fn calls ({where}): expected {len(want)}, got {len(got)}; expected calls {want}, got {got}"
    )


def check_nbest(got, want: list, tolerances, where: str) -> None:
    atol, rtol = tolerances["float64"]
    assert isinstance(got, list), f"the result ({where}) must be a list, got {type(got).__name__}"
    for rank, entry in enumerate(got):
        assert isinstance(entry, tuple | list) and len(entry) == 2, (
            f"result[{rank}] ({where}) must be a (tokens, score) pair, got {entry!r}"
        )
        tokens, score = entry
        assert isinstance(tokens, list) and all(type(t) is int for t in tokens), (
            f"result[{rank}] tokens ({where}) must be a list of int, got {tokens!r}"
        )
        assert type(score) is float, f"result[{rank}] score ({where}) must be a float, got {score!r}"
    got_tokens = [list(tokens) for tokens, _ in got]
    want_tokens = [tokens for tokens, _ in want]
    assert got_tokens == want_tokens, (
        f"n-best tokens ({where}): expected {want_tokens}, got {got_tokens}\n"
        f"expected scores {[s for _, s in want]}, got {[s for _, s in got]}"
    )
    for rank, ((_, score), (tokens, expected)) in enumerate(zip(got, want, strict=True)):
        assert score == expected or abs(score - expected) <= atol + rtol * abs(expected), (
            f"result[{rank}] score of {tokens} ({where}): expected {expected!r}, got {score!r} "
            f"(atol={atol:g}, rtol={rtol:g})"
        )


def check(candidate, tolerances, lm: RecordingLM, bos_id, eos_id, *, beam_width, max_len, length_penalty=DEFAULT):
    """Run the submission on lm and compare its calls and n-best list with the oracle; return the result."""
    kwargs = {"beam_width": beam_width, "max_len": max_len}
    if length_penalty is not DEFAULT:
        kwargs["length_penalty"] = length_penalty
    where = describe(bos_id, eos_id, beam_width, max_len, length_penalty)
    start = len(lm.calls)
    got = candidate.beam_search(lm, bos_id, eos_id, **kwargs)
    alpha = 0.6 if length_penalty is DEFAULT else length_penalty
    want, calls = oracle_beam_search(lm.row_for, bos_id, eos_id, beam_width, max_len, alpha)
    check_calls(lm.calls[start:], calls, where)
    check_nbest(got, want, tolerances, where)
    return got


def example_lm() -> RecordingLM:
    """The statement's example 1: 0 = EOS, 1 = a, 2 = b, 3 = BOS."""
    table = {
        (3,): [LOG(0.1), LOG(0.6), LOG(0.3), -INF],
        (3, 1): [LOG(0.5), LOG(0.1), LOG(0.4), -INF],
        (3, 2): [LOG(0.9), LOG(0.05), LOG(0.05), -INF],
    }
    return table_lm(table, [LOG(0.9), LOG(0.05), LOG(0.05), -INF])


def constant_lm(row: list[float]) -> RecordingLM:
    return table_lm({}, row)


def scores_of(result) -> list[tuple[list[int], float]]:
    return [(list(tokens), score) for tokens, score in result]


# -- the statement's examples ------------------------------------------------------------------


def test_statement_example_refill_and_length_penalty(candidate, tolerances):
    lm = example_lm()
    got = check(candidate, tolerances, lm, 3, 0, beam_width=2, max_len=3, length_penalty=0.0)
    assert [(t, round(s, 4)) for t, s in scores_of(got)] == [([1, 0], -1.204), ([2, 0], -1.3093)]
    assert lm.calls == [[[3]], [[3, 1], [3, 2]], [[3, 1, 2], [3, 1, 1]]], f"step_fn calls: {lm.calls}"
    got = check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=2.0)
    assert [(t, round(s, 4)) for t, s in scores_of(got)] == [([1, 2, 0], -0.862), ([1, 0], -0.8846)]
    for alpha in (1.0, 0.6, DEFAULT):
        check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=alpha)


def test_statement_example_ties(candidate, tolerances):
    lm = constant_lm([-1.0, -1.0, -1.0])
    got = check(candidate, tolerances, lm, 0, 0, beam_width=3, max_len=2, length_penalty=0.0)
    assert scores_of(got) == [([0], -1.0), ([1, 0], -2.0), ([1, 1], -2.0)]


def test_statement_example_impossible_tokens(candidate, tolerances):
    lm = table_lm({(3,): [-INF, -0.5, -INF]}, [-1.0, -1.0, -1.0])
    check(candidate, tolerances, lm, 3, 0, beam_width=3, max_len=2, length_penalty=0.0)
    assert lm.calls == [[[3]], [[3, 1]]], f"one candidate at step 1 means one live beam at step 2: {lm.calls}"


# -- the search rules ---------------------------------------------------------------------------


def test_greedy_search_is_beam_width_one(candidate, tolerances):
    for seed in range(3):
        check(candidate, tolerances, random_lm(seed, 5, 0), 5, 0, beam_width=1, max_len=6, length_penalty=0.0)


def test_eos_does_not_take_a_place_in_the_beam(candidate, tolerances):
    # step 1: EOS is the best candidate; two non-EOS ones must still be taken
    lm = table_lm({(9,): [-0.1, -1.0, -2.0, -3.0]}, [-0.5, -1.0, -1.5, -2.5])
    check(candidate, tolerances, lm, 9, 0, beam_width=2, max_len=3, length_penalty=0.0)
    assert lm.calls[1] == [[9, 1], [9, 2]], f"the beam must be refilled after an EOS: step 2 got {lm.calls[1]}"


def test_eos_below_the_stopping_point_is_not_taken(candidate, tolerances):
    # step 1 ranks a, b, EOS: with beam_width=2 the walk stops before the EOS
    lm = table_lm({(5,): [-3.0, -0.5, -1.0]}, [-9.0, -0.25, -0.5])
    got = check(candidate, tolerances, lm, 5, 0, beam_width=2, max_len=2, length_penalty=0.0)
    assert [0] not in [list(t) for t, _ in got], f"the EOS below the stopping point finished: {got}"


def test_unterminated_hypotheses_finish_at_max_len(candidate, tolerances):
    lm = constant_lm([-INF, -0.3, -0.7, -1.1])  # EOS impossible
    got = check(candidate, tolerances, lm, 0, 0, beam_width=3, max_len=3, length_penalty=0.6)
    assert len(got) == 3 and all(len(tokens) == 3 for tokens, _ in got), f"expected 3 hypotheses of 3 tokens: {got}"
    lm = constant_lm([-INF, -1.0, -2.0])  # EOS impossible
    check(candidate, tolerances, lm, 0, 0, beam_width=2, max_len=3, length_penalty=1.0)


def test_max_len_one(candidate, tolerances):
    lm = constant_lm([-0.5, -2.0, -0.25, -1.0, -3.0])
    got = check(candidate, tolerances, lm, 0, 3, beam_width=2, max_len=1, length_penalty=0.6)
    assert len(lm.calls) == 1, f"max_len=1 means exactly one call, got {lm.calls}"
    assert [list(t) for t, _ in got] == [[2], [0]], got
    check(candidate, tolerances, constant_lm([-0.5, -2.0, -0.25, -1.0, -3.0]), 0, 0, beam_width=4, max_len=1)


def test_length_counts_eos_and_not_bos(candidate, tolerances):
    got = check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=1.0)
    expected = (LOG(0.6) + LOG(0.5)) / (7 / 6)  # [a, EOS]: L = 2, BOS not counted, EOS counted
    assert scores_of(got)[0][0] == [1, 0] and abs(got[0][1] - expected) < 1e-12, (
        f"[1, 0] has L = 2: expected score {expected!r}, got {scores_of(got)}"
    )
    got = check(
        candidate, tolerances, constant_lm([-INF, -1.0, -2.0]), 3, 0, beam_width=1, max_len=2, length_penalty=1.0
    )
    assert abs(got[0][1] - (-2.0 / (7 / 6))) < 1e-12, f"unterminated [1, 1] has L = 2, got {scores_of(got)}"


def test_scores_are_sums_of_log_probabilities(candidate, tolerances):
    # a sure first token then a split beats a split first token: only sums of logs rank them so
    row_bos = [-INF, LOG(0.5), LOG(0.5)]
    lm = table_lm(
        {(3,): row_bos, (3, 1): [LOG(0.9), LOG(0.05), LOG(0.05)], (3, 2): [LOG(0.3), LOG(0.4), LOG(0.3)]},
        [LOG(0.5), LOG(0.25), LOG(0.25)],
    )
    check(candidate, tolerances, lm, 3, 0, beam_width=2, max_len=3, length_penalty=0.0)
    check(candidate, tolerances, random_lm(11, 6, 2), 1, 2, beam_width=3, max_len=5, length_penalty=0.0)


def test_length_penalty_zero_is_not_the_default(candidate, tolerances):
    zero = check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=0)
    default = check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3)
    assert scores_of(zero) != scores_of(default), "length_penalty=0 must turn the penalty off"
    check(candidate, tolerances, random_lm(3, 4, 0), 4, 0, beam_width=3, max_len=5)


@pytest.mark.parametrize("alpha", [-0.5, 1, 3.0], ids=["negative", "int one", "three"])
def test_length_penalty_values(candidate, tolerances, alpha):
    check(candidate, tolerances, random_lm(7, 4, 1), 0, 1, beam_width=3, max_len=5, length_penalty=alpha)
    check(candidate, tolerances, example_lm(), 3, 0, beam_width=2, max_len=3, length_penalty=alpha)


def test_rows_are_used_as_given(candidate, tolerances):
    # rows that do not sum to probability 1: renormalizing them changes every score
    check(candidate, tolerances, constant_lm([-1.0, -2.0, -3.0]), 5, 0, beam_width=2, max_len=3, length_penalty=0.5)
    check(candidate, tolerances, quantized_lm(2, 4, levels=4, quantum=0.75), 4, 0, beam_width=2, max_len=4)
    # positive values are not probabilities either, but they are finite: use them as given
    lm = table_lm({(5,): [0.5, -1.0, 0.25]}, [-0.5, 0.75, -2.0])
    check(candidate, tolerances, lm, 5, 0, beam_width=2, max_len=3, length_penalty=1.0)


def test_candidate_ties_go_to_lower_beam_then_lower_token(candidate, tolerances):
    # step 1: beams [2] (raw -0.5) and [1] (raw -1.0); step 2: ties across beams and tokens
    lm = table_lm(
        {(0,): [-5.0, -1.0, -0.5, -9.0], (0, 2): [-9.0, -1.0, -0.5, -1.0], (0, 1): [-9.0, -0.5, -0.25, -0.5]},
        [-1.0, -1.0, -1.0, -1.0],
    )
    check(candidate, tolerances, lm, 0, 3, beam_width=3, max_len=3, length_penalty=0.0)
    assert lm.calls[2] == [[0, 2, 2], [0, 1, 2], [0, 2, 1]], f"step 3 beam order: {lm.calls[2]}"
    # [2, 2] (beam 0, token 2) ties [1, 1] (beam 1, token 1): the beam index decides first
    lm = table_lm(
        {(0,): [-5.0, -1.0, -0.5, -9.0], (0, 2): [-9.0, -9.0, -1.0, -9.0], (0, 1): [-9.0, -0.5, -9.0, -9.0]}, [-1.0] * 4
    )
    check(candidate, tolerances, lm, 0, 3, beam_width=2, max_len=3, length_penalty=0.0)
    assert lm.calls[2] == [[0, 2, 2], [0, 1, 1]], f"step 3 beam order (beam index before token id): {lm.calls[2]}"


def test_result_ties_keep_finishing_order(candidate, tolerances):
    # [2, 0] (beam 0 at step 2) and [1, 0] (beam 1) tie, and tie with [1, 1, 0] (step 3)
    lm = table_lm(
        {(3,): [-9.0, -1.0, -0.5], (3, 2): [-1.5, -2.0, -9.0], (3, 1): [-1.0, -0.5, -9.0], (3, 1, 1): [-0.5, -9, -9]},
        [-9.0, -9.0, -9.0],
    )
    got = check(candidate, tolerances, lm, 3, 0, beam_width=3, max_len=3, length_penalty=0.0)
    assert [list(t) for t, _ in got] == [[2, 0], [1, 0], [1, 1, 0]], f"tie order: {got}"


def test_bos_equal_to_eos_and_token_zero(candidate, tolerances):
    check(candidate, tolerances, random_lm(5, 4, 0), 0, 0, beam_width=2, max_len=4, length_penalty=0.6)
    check(candidate, tolerances, random_lm(6, 4, 3), 0, 3, beam_width=2, max_len=4, length_penalty=0.0)
    check(candidate, tolerances, random_lm(8, 4, 0), 4, 0, beam_width=2, max_len=4, length_penalty=1.0)
    check(candidate, tolerances, random_lm(9, 3, 2), 2, 2, beam_width=2, max_len=3, length_penalty=0.0)


def test_finished_hypotheses_are_never_expanded(candidate, tolerances):
    lm = random_lm(12, 4, 1, eos_bias=1.0)
    got = check(candidate, tolerances, lm, 0, 1, beam_width=3, max_len=6, length_penalty=0.6)
    for call in lm.calls:
        assert all(1 not in prefix[1:] for prefix in call), f"a finished prefix was expanded: {call}"
    assert all(1 not in tokens[:-1] for tokens, _ in got), got


def test_impossible_tokens(candidate, tolerances):
    lm = constant_lm([-INF, -INF, -INF])
    assert scores_of(candidate.beam_search(lm, 0, 0, beam_width=2, max_len=3)) == [], "every token impossible: []"
    assert len(lm.calls) == 1, f"no live beam after step 1: one call, got {lm.calls}"
    lm = table_lm({(4,): [-1.0, -0.5, -INF, -2.0], (4, 1): [-INF] * 4}, [-0.5, -1.0, -INF, -INF])
    check(candidate, tolerances, lm, 4, 0, beam_width=3, max_len=4, length_penalty=0.0)
    check(candidate, tolerances, random_lm(13, 5, 0, impossible=0.5), 5, 0, beam_width=3, max_len=5)


def test_large_magnitudes_need_float64(candidate, tolerances):
    lm = table_lm({(0,): [-1e4 - 1e-6, -1e4 - 2e-6, -1e4]}, [-1e4, -1e4 - 1e-6, -1e4 + 3e-6])
    check(candidate, tolerances, lm, 0, 0, beam_width=2, max_len=3, length_penalty=0.0)
    lm = constant_lm([-1e300, -2e300, -1.5e300])
    check(candidate, tolerances, lm, 0, 0, beam_width=2, max_len=2, length_penalty=0.6)


def test_ranking_uses_the_exact_raw_scores(candidate, tolerances):
    # candidates 1e-11 apart near -1.0 are not a tie: no epsilon, no rounding in the ranking
    got = check(candidate, tolerances, constant_lm([-5.0, -1.0 - 1e-11, -1.0]), 0, 0, beam_width=1, max_len=1)
    assert [list(t) for t, _ in got] == [[2]], f"-1.0 ranks above -1.0 - 1e-11: expected [[2]], got {got}"
    # step 2: [2, 1] (-1.0, beam 1) outranks [1, 1] and [1, 2] (-1.0 - 1e-11, beam 0)
    lm = table_lm(
        {(0,): [-9.0, -0.5, -0.5], (0, 1): [-9.0, -0.5 - 1e-11, -0.5 - 1e-11], (0, 2): [-9.0, -0.5, -9.0]}, [-9.0] * 3
    )
    check(candidate, tolerances, lm, 0, 0, beam_width=2, max_len=2, length_penalty=0.0)


def test_raw_scores_accumulate_step_by_step(candidate, tolerances):
    # [1, 1, 0]: ((-0.1 + -0.2) + -0.3) = -0.6000000000000001 in float64; [2, 2, 2, 0]: -0.6 exactly.
    # An exact sum of the path (math.fsum) makes them tie at -0.6 and puts [1, 1, 0] first.
    table = {
        (9,): [-INF, -0.1, -0.6],
        (9, 1): [-INF, -0.2, -INF],
        (9, 2): [-INF, -INF, 0.0],
        (9, 1, 1): [-0.3, -INF, -INF],
        (9, 2, 2): [-INF, -INF, 0.0],
        (9, 2, 2, 2): [0.0, -INF, -INF],
    }
    got = check(candidate, tolerances, table_lm(table, [-INF] * 3), 9, 0, beam_width=2, max_len=4, length_penalty=0.0)
    assert [list(t) for t, _ in got] == [[2, 2, 2, 0], [1, 1, 0]], (
        f"raw = parent raw + log-prob, one float64 addition per step: expected [[2, 2, 2, 0], [1, 1, 0]], got {got}"
    )


def test_raw_scores_that_overflow_stay_candidates(candidate, tolerances):
    # [1] has raw -1e308; [1, 0] and [1, 1] add -1e308: raw -inf by overflow, but their
    # log-probabilities are finite, so both are candidates: [1, 0] finishes, [1, 1] lives on
    table = {(3,): [-2.0, -1e308, -INF], (3, 1): [-1e308, -1e308, -INF], (3, 1, 1): [-1.0, -INF, -INF]}
    lm = table_lm(table, [-INF] * 3)
    got = check(candidate, tolerances, lm, 3, 0, beam_width=3, max_len=3, length_penalty=0.6)
    assert lm.calls == [[[3]], [[3, 1]], [[3, 1, 1]]], (
        f"a candidate whose raw score overflows to -inf is still a candidate: step_fn calls {lm.calls}"
    )
    assert [list(t) for t, _ in got] == [[0], [1, 0], [1, 1, 0]], f"n-best with raw scores -inf: {got}"
    # positive rows: 1e308 + 1e308 overflows to +inf, which is a raw score, not a +inf log-probability
    lm = table_lm({(3,): [-1.0, 1e308, -INF], (3, 1): [1e308, -1.0, -INF]}, [-INF] * 3)
    got = check(candidate, tolerances, lm, 3, 0, beam_width=2, max_len=2, length_penalty=0.0)
    assert [list(t) for t, _ in got] == [[1, 0], [1, 1]], f"raw scores +inf and 1e308 - 1.0: {got}"


def test_scores_use_the_statements_formula(candidate, tolerances):
    # default alpha 0.6: [0] (L = 1, lp = 1.0) scores ra; [1, 1, 1, 1, 0] (L = 5) scores -1.01 / lp(5),
    # which is exactly ra with lp(5) = ((5 + 5) / 6) ** 0.6: a tie, so finishing order puts [0] first.
    # (5 + L) ** a / 6 ** a and exp(a * log((5 + L) / 6)) are one ulp larger at L = 5, and
    # raw * (1 / lp) rounds up too: each of them ranks [1, 1, 1, 1, 0] first.
    ra = -1.01 / ((5 + 5) / 6) ** 0.6
    table = {(2,): [ra, 0.0, -INF], (2, 1, 1, 1, 1): [-1.01, -INF, -INF]}
    lm = table_lm(table, [-INF, 0.0, -INF])
    got = check(candidate, tolerances, lm, 2, 0, beam_width=2, max_len=5)
    assert [list(t) for t, _ in got] == [[0], [1, 1, 1, 1, 0]], (
        f"scores computed as raw / ((5 + L) / 6) ** length_penalty tie here (finishing order decides): {got}"
    )


def test_beam_wider_than_the_vocabulary(candidate, tolerances):
    check(candidate, tolerances, random_lm(14, 3, 0), 3, 0, beam_width=10, max_len=3, length_penalty=0.6)


def test_fewer_finished_hypotheses_than_beam_width(candidate, tolerances):
    lm = constant_lm([-1.0, -0.5])
    got = check(candidate, tolerances, lm, 2, 0, beam_width=5, max_len=1, length_penalty=0.6)
    assert len(got) == 2, f"two candidates at max_len=1: two hypotheses, got {got}"


def test_searches_share_no_state(candidate, tolerances):
    first, second = random_lm(20, 4, 0), random_lm(21, 4, 0)
    for lm in (first, second, first):
        check(candidate, tolerances, lm, 4, 0, beam_width=2, max_len=4, length_penalty=0.6)
    for width in (3, 1, 2):
        check(candidate, tolerances, second, 4, 0, beam_width=width, max_len=3, length_penalty=1.0)


# -- errors ---------------------------------------------------------------------------------------

OK = {"beam_width": 2, "max_len": 3, "length_penalty": 0.6}


@pytest.mark.parametrize(
    ("bos_id", "eos_id", "changes"),
    [
        (0, 1, {"beam_width": 0}),
        (0, 1, {"beam_width": -1}),
        (0, 1, {"max_len": 0}),
        (0, 1, {"max_len": -3}),
        (0, 1, {"length_penalty": math.nan}),
        (0, 1, {"length_penalty": math.inf}),
        (0, 1, {"length_penalty": -math.inf}),
        (-1, 1, {}),
        (0, -1, {}),
    ],
    ids=[
        "beam_width=0",
        "beam_width<0",
        "max_len=0",
        "max_len<0",
        "alpha=nan",
        "alpha=inf",
        "alpha=-inf",
        "bos<0",
        "eos<0",
    ],
)
def test_bad_settings_raise(candidate, bos_id, eos_id, changes):
    lm = random_lm(0, 3, 1)
    with expect_raises("ValueError"):
        candidate.beam_search(lm, bos_id, eos_id, **{**OK, **changes})
    assert lm.calls == [], f"the settings are checked before step_fn is called, got calls {lm.calls}"


class BadReply:
    """A step function whose reply at step `at` is broken in one way."""

    def __init__(self, how: str, at: int) -> None:
        self.how, self.at, self.calls = how, at, 0

    def __call__(self, prefixes):
        self.calls += 1
        rows = [[-1.0, -0.5, -2.0] for _ in prefixes]
        if self.calls < self.at:
            return rows
        if self.how == "too few rows":
            return rows[:-1]
        if self.how == "too many rows":
            return rows + [[-1.0, -0.5, -2.0]]
        if self.how == "short row":
            rows[-1] = rows[-1][:2]
        if self.how == "long row":
            rows[-1] = rows[-1] + [-1.0]
        if self.how == "every row short":
            rows = [row[:2] for row in rows]
        if self.how == "every row long":
            rows = [row + [-1.0] for row in rows]
        if self.how == "nan":
            rows[-1][1] = math.nan
        if self.how == "+inf":
            rows[-1][2] = math.inf
        return rows


@pytest.mark.parametrize(
    ("how", "at"),
    [
        ("too few rows", 1),
        ("too few rows", 2),
        ("too many rows", 1),
        ("too many rows", 2),
        ("short row", 2),
        ("long row", 2),
        ("every row short", 2),
        ("every row long", 3),
    ],
    ids=lambda value: str(value),
)
def test_bad_reply_shape_raises(candidate, how, at):
    with expect_raises("ValueError"):
        candidate.beam_search(BadReply(how, at), 3, 0, beam_width=2, max_len=3)


@pytest.mark.parametrize("at", [1, 2], ids=["step 1", "step 2"])
@pytest.mark.parametrize("how", ["nan", "+inf"])
def test_nan_or_plus_inf_log_probability_raises(candidate, how, at):
    with expect_raises("ValueError"):
        candidate.beam_search(BadReply(how, at), 3, 0, beam_width=2, max_len=3)


@pytest.mark.parametrize("eos_id", [3, 7])
def test_eos_outside_the_vocabulary_raises(candidate, eos_id):
    with expect_raises("ValueError"):
        candidate.beam_search(BadReply("none", 1), 0, eos_id, beam_width=2, max_len=3)


# -- random models (property-based) -----------------------------------------------------------

ALPHAS = st.sampled_from([0.0, 0.6, 1.0, 2.0, -0.5, DEFAULT])


@st.composite
def searches(draw, *, many_ties: bool):
    vocab = draw(st.integers(1, 5))
    eos_id = draw(st.integers(0, vocab - 1))
    bos_id = draw(st.integers(0, vocab))
    seed = draw(st.integers(0, 10**6))
    if many_ties:
        lm = quantized_lm(seed, vocab, levels=draw(st.integers(1, 3)))
    else:
        lm = random_lm(seed, vocab, eos_id, impossible=draw(st.sampled_from([0.0, 0.0, 0.3])))
    return lm, bos_id, eos_id, draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(ALPHAS)


@settings(max_examples=60)
@given(searches(many_ties=False))
def test_random_models_match_the_oracle(candidate, tolerances, search):
    lm, bos_id, eos_id, beam_width, max_len, alpha = search
    check(candidate, tolerances, lm, bos_id, eos_id, beam_width=beam_width, max_len=max_len, length_penalty=alpha)


@settings(max_examples=60)
@given(searches(many_ties=True))
def test_random_models_with_many_ties_match_the_oracle(candidate, tolerances, search):
    lm, bos_id, eos_id, beam_width, max_len, alpha = search
    check(candidate, tolerances, lm, bos_id, eos_id, beam_width=beam_width, max_len=max_len, length_penalty=alpha)
