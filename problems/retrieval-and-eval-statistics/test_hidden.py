"""Hidden tests for retrieval-and-eval-statistics.

Set judgments are built in the worker (driver.py: sets cannot cross the boundary) from a list of
ids; dict judgments cross as they are. Every value is compared with eval_oracle.py (checker
side), which follows the statement literally. Property-based tests come last.
"""

from __future__ import annotations

import math

import eval_oracle as oracle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_harness import expect_raises

METRICS = ("recall_at_k", "mrr", "ndcg_at_k")
UNSET = object()  # mrr's k not passed: the default (no cutoff) applies
BOOTSTRAP_ARGS = ["scores_a", "scores_b", "resample_indices"]


def close(got: float, want: float, tolerances) -> bool:
    atol, rtol = tolerances["float64"]
    return abs(got - want) <= atol + rtol * abs(want)


def describe(rankings, judgments, kinds, kwargs) -> str:
    shown = [
        f"{ranked!r} judged {kind} {judged!r}" for ranked, judged, kind in zip(rankings, judgments, kinds, strict=True)
    ]
    text = "; ".join(shown)
    return f"{kwargs}, queries: {text[:600]}{' ...' if len(text) > 600 else ''}"


def kinds_of(judgments, set_kind: str = "set") -> list[str]:
    return ["dict" if isinstance(judged, dict) else set_kind for judged in judgments]


def metric(candidate, tolerances, name, rankings, judgments, *, k=UNSET, kinds=None, direct=False, given=False):
    """Call `name` and compare with the oracle; returns the value.

    By default through driver.call (set judgments built in the worker); `given`: through
    driver.checked with the judgments as they are (dicts); either way the driver reports changed
    arguments. `direct`: a plain call (dict judgments), which the input guard watches.
    """
    kinds = kinds or kinds_of(judgments)
    kwargs = {} if k is UNSET else {"k": k}
    where = f"{name}: {describe(rankings, judgments, kinds, kwargs)}"
    if direct:
        got, changes = getattr(candidate, name)(rankings, judgments, **kwargs), []
    elif given:
        got, changes = candidate.driver.checked(name, [rankings, judgments], kwargs, ["rankings", "relevance"])
    else:
        got, changes = candidate.driver.call(name, rankings, judgments, kinds, kwargs)
    assert not changes, f"{name} changed the caller's arguments: {changes} ({where})"
    assert type(got) is float, f"{name} must return a float, got {got!r} ({where})"
    want = getattr(oracle, name)(rankings, judgments, **kwargs)
    assert close(got, want, tolerances), f"{where}: expected {want!r}, got {got!r}"
    return got


def all_metrics(candidate, tolerances, rankings, judgments, k, **options) -> None:
    for name in METRICS:
        metric(candidate, tolerances, name, rankings, judgments, k=k, **options)
    metric(candidate, tolerances, "mrr", rankings, judgments, **options)


def check_pass_at_k(candidate, tolerances, n: int, c: int, k: int) -> float:
    got = candidate.pass_at_k(n, c, k)
    assert type(got) is float, f"pass_at_k({n}, {c}, {k}) must return a float, got {got!r}"
    want = oracle.pass_at_k(n, c, k)
    assert close(got, want, tolerances), f"pass_at_k(n={n}, c={c}, k={k}): expected {want!r}, got {got!r}"
    return got


def check_bootstrap(candidate, tolerances, scores_a, scores_b, resamples, *, direct=False) -> tuple[float, float]:
    """paired_bootstrap through driver.checked (or a plain call, which the input guard watches) against the oracle."""
    if direct:
        got, changes = candidate.paired_bootstrap(scores_a, scores_b, resamples), []
    else:
        args = [scores_a, scores_b, resamples]
        got, changes = candidate.driver.checked("paired_bootstrap", args, {}, BOOTSTRAP_ARGS)
    where = f"scores_a={scores_a!r}, scores_b={scores_b!r}, resample_indices={resamples!r}"[:700]
    assert not changes, f"paired_bootstrap changed the caller's arguments: {changes} ({where})"
    assert isinstance(got, tuple) and len(got) == 2, f"paired_bootstrap must return (delta, p_value), got {got!r}"
    assert all(type(value) is float for value in got), f"delta and p_value must be floats, got {got!r}"
    delta, p_value = oracle.paired_bootstrap(scores_a, scores_b, resamples)
    assert close(got[0], delta, tolerances), f"delta ({where}): expected {delta!r}, got {got[0]!r}"
    assert close(got[1], p_value, tolerances), f"p_value ({where}): expected {p_value!r}, got {got[1]!r}"
    return got


# -- the statement's examples ------------------------------------------------------------------

EXAMPLE_RANKED = ["d3", "d1", "d3", "d7", "d2"]
EXAMPLE_GRADES = {"d1": 3, "d2": 1, "d9": 2, "d5": 0}


def test_statement_example_one_graded_query(candidate, tolerances):
    rankings, judgments = [EXAMPLE_RANKED], [EXAMPLE_GRADES]
    expected = {
        ("recall_at_k", 3): 1 / 3,
        ("recall_at_k", 5): 2 / 3,
        ("mrr", None): 0.5,
        ("mrr", 1): 0.0,
        ("ndcg_at_k", 5): 0.5113881456198478,
        ("ndcg_at_k", 3): 0.47020199776783905,
        ("ndcg_at_k", 10): 0.5113881456198478,
    }
    for (name, k), want in expected.items():
        got = metric(candidate, tolerances, name, rankings, judgments, k=UNSET if k is None else k, direct=True)
        assert close(got, want, tolerances), f"{name}(k={k}) of the statement's example: expected {want}, got {got}"


def test_statement_example_two_queries(candidate, tolerances):
    rankings, judgments = [EXAMPLE_RANKED, ["x", "y"]], [EXAMPLE_GRADES, ["y"]]
    assert metric(candidate, tolerances, "recall_at_k", rankings, judgments, k=1) == 0.0
    assert close(metric(candidate, tolerances, "mrr", rankings, judgments), 0.5, tolerances)
    got = metric(candidate, tolerances, "ndcg_at_k", rankings, judgments, k=2)
    assert close(got, 0.5637845066295949, tolerances), f"nDCG@2 of the statement's example: {got}"


def test_statement_example_pass_at_k(candidate, tolerances):
    assert close(check_pass_at_k(candidate, tolerances, 10, 3, 2), 24 / 45, tolerances)
    assert check_pass_at_k(candidate, tolerances, 5, 3, 3) == 1.0
    assert check_pass_at_k(candidate, tolerances, 200, 0, 10) == 0.0


def test_statement_example_paired_bootstrap(candidate, tolerances):
    resamples = [[0, 1, 2, 3], [0, 0, 2, 3], [1, 1, 1, 1], [3, 2, 3, 0]]
    assert check_bootstrap(candidate, tolerances, [1, 0, 1, 0], [1, 1, 1, 0], resamples, direct=True) == (0.25, 0.5)


# -- recall@k -------------------------------------------------------------------------------------


def test_recall_denominator_is_every_relevant_id(candidate, tolerances):
    # |R| = 4 > k = 2: neither k nor min(k, |R|) is the denominator
    got = metric(candidate, tolerances, "recall_at_k", [["a", "b", "c"]], [["a", "b", "c", "d"]], k=2)
    assert close(got, 0.5, tolerances), f"2 of 4 relevant ids in the top 2: expected 0.5, got {got}"
    # a list shorter than k: hits / |R|, not hits / k
    got = metric(candidate, tolerances, "recall_at_k", [["a", "x"]], [["a"]], k=10)
    assert got == 1.0, f"the only relevant id retrieved (k=10, 2 entries): expected 1.0, got {got}"
    metric(candidate, tolerances, "recall_at_k", [["q", "a"], []], [{"a": 1, "b": 2}, ["z"]], k=1)


def test_duplicates_count_once_and_keep_their_position(candidate, tolerances):
    rankings, judgments = [["a", "a", "b", "c"]], [["a", "b", "c"]]
    got = metric(candidate, tolerances, "recall_at_k", rankings, judgments, k=2)
    assert close(got, 1 / 3, tolerances), f"top 2 = a, a (a duplicate takes its position): expected 1/3, got {got}"
    got = metric(candidate, tolerances, "recall_at_k", rankings, judgments, k=4)
    assert got == 1.0, f"a relevant id retrieved twice is one hit: expected 1.0, got {got}"
    got = metric(candidate, tolerances, "ndcg_at_k", [["a", "a", "b"]], [{"a": 1, "b": 1}], k=3)
    want = (1 + 1 / 2) / (1 + 1 / math.log2(3))
    assert close(got, want, tolerances), f"nDCG@3 of [a, a, b]: the duplicate has gain 0, b rank 3: {want}, got {got}"
    all_metrics(candidate, tolerances, [["x", "x", "x", "a", "a"], ["b", "c", "b", "c"]], [{"a": 2}, ["c", "d"]], 4)
    all_metrics(candidate, tolerances, [[7, 7, 3, 7, 3, 1]], [{3: 1, 1: 2, 7: 0}], 5)


def test_grade_zero_is_not_relevant(candidate, tolerances):
    judged = {"z": 0, "a": 1, "w": 0.0, "b": 2}
    got = metric(candidate, tolerances, "recall_at_k", [["z", "a", "w"]], [judged], k=3)
    assert close(got, 0.5, tolerances), f"grade-0 ids are not in the denominator: expected 0.5, got {got}"
    got = metric(candidate, tolerances, "mrr", [["z", "w", "a"]], [judged])
    assert close(got, 1 / 3, tolerances), f"a grade-0 id is not MRR's first hit: expected 1/3, got {got}"
    all_metrics(candidate, tolerances, [["z", "w", "b", "a"]], [judged], 2, direct=True)


def test_ids_are_ints_or_strings_and_unjudged_ids_score_nothing(candidate, tolerances):
    all_metrics(candidate, tolerances, [[1, "1", 2, 0]], [{"1": 2, 0: 1}], 3)
    all_metrics(candidate, tolerances, [[0, 5, 9, 4, 8]], [[4, 8, 0]], 5)
    all_metrics(candidate, tolerances, [["u1", "u2", "u3"], ["r"]], [["r"], {"r": 1}], 3)


def test_empty_and_short_rankings(candidate, tolerances):
    for name in METRICS:
        got = metric(candidate, tolerances, name, [[]], [["a"]], k=3)
        assert got == 0.0, f"{name} of an empty ranking: expected 0.0, got {got}"
    all_metrics(candidate, tolerances, [[], ["a"], ["b", "a"]], [["a"], ["a", "b"], {"a": 2, "b": 1}], 5)
    all_metrics(candidate, tolerances, [["a", "b", "c", "d", "e", "f"]], [{"f": 1, "a": 1}], 1)


# -- MRR --------------------------------------------------------------------------------------------


def test_mrr_is_the_mean_over_every_query(candidate, tolerances):
    rankings, judgments = [["a", "b"], ["x", "y", "z"], ["q"]], [["b"], ["w"], ["q"]]
    got = metric(candidate, tolerances, "mrr", rankings, judgments)
    assert close(got, (1 / 2 + 0 + 1) / 3, tolerances), f"a query without a hit counts as 0: got {got}"
    got = metric(candidate, tolerances, "mrr", rankings, judgments, k=1)
    assert close(got, 1 / 3, tolerances), f"mrr with k=1: expected 1/3, got {got}"


def test_mrr_cutoff_and_default(candidate, tolerances):
    rankings = [["a", "b", "c", "d", "e"], ["e", "d"]]
    judgments = [{"e": 1, "c": 0}, ["e"]]
    for k in (UNSET, None, 1, 4, 5, 6, 100):
        metric(candidate, tolerances, "mrr", rankings, judgments, k=k)
    got = metric(candidate, tolerances, "mrr", rankings, judgments, k=None)
    assert close(got, (1 / 5 + 1) / 2, tolerances), f"k=None is the whole list: got {got}"


# -- nDCG@k -----------------------------------------------------------------------------------------


def test_ndcg_ideal_ranks_every_relevant_id(candidate, tolerances):
    # d9 (grade 3) is never retrieved: the retrieved list in ideal order would give nDCG = 1
    got = metric(candidate, tolerances, "ndcg_at_k", [["d1", "d2"]], [{"d1": 2, "d2": 1, "d9": 3}], k=2)
    want = (3 + 1 / math.log2(3)) / (7 + 3 / math.log2(3))
    assert close(got, want, tolerances), f"IDCG counts the unretrieved d9: expected {want}, got {got}"
    metric(candidate, tolerances, "ndcg_at_k", [["b", "a"]], [["a", "b", "c", "d"]], k=2)


def test_ndcg_ideal_is_cut_at_k_not_at_the_list_length(candidate, tolerances):
    got = metric(candidate, tolerances, "ndcg_at_k", [["a"]], [["a", "b", "c"]], k=3)
    want = 1 / (1 + 1 / math.log2(3) + 1 / 2)
    assert close(got, want, tolerances), f"a 1-entry list at k=3: IDCG has 3 ranks, expected {want}, got {got}"
    got = metric(candidate, tolerances, "ndcg_at_k", [["c", "a", "b"]], [["a", "b", "c"]], k=3)
    assert close(got, 1.0, tolerances), f"every relevant id in the top 3: expected 1.0, got {got}"
    metric(candidate, tolerances, "ndcg_at_k", [["a", "b", "x"]], [{"a": 1, "b": 3, "c": 2, "d": 4}], k=2)


def test_ndcg_discount_is_log2_of_rank_plus_one(candidate, tolerances):
    for position in range(4):
        ranked = [f"x{i}" for i in range(position)] + ["a", "y", "z"]
        got = metric(candidate, tolerances, "ndcg_at_k", [ranked], [["a"]], k=5)
        want = 1 / math.log2(position + 2)
        assert close(got, want, tolerances), f"the one relevant id at rank {position + 1}: {want}, got {got}"


def test_ndcg_gain_is_exponential(candidate, tolerances):
    got = metric(candidate, tolerances, "ndcg_at_k", [["b", "a"]], [{"a": 3, "b": 1}], k=2)
    want = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert close(got, want, tolerances), f"gains 2**grade - 1 = 1 and 7: expected {want}, got {got}"
    metric(candidate, tolerances, "ndcg_at_k", [["b", "c", "a"]], [{"a": 0.5, "b": 2.5, "c": 1.25}], k=3)
    metric(candidate, tolerances, "ndcg_at_k", [["b", "c", "a", "d"]], [{"a": 1, "b": 2, "c": 1, "d": 3}], k=4)


def test_extreme_grades_and_long_lists(candidate, tolerances):
    metric(candidate, tolerances, "ndcg_at_k", [["a", "b", "c"]], [{"a": 1, "b": 30, "c": 60}], k=3)
    metric(candidate, tolerances, "ndcg_at_k", [["c", "b"]], [{"a": 1000, "b": 0.25, "c": 1e-3}], k=2)
    ranked = [f"d{i % 1500}" for i in range(3000)]
    judged = {f"d{i}": (i % 4) for i in range(0, 3000, 7)}
    all_metrics(candidate, tolerances, [ranked], [judged], 2500)


# -- pass@k ------------------------------------------------------------------------------------------


def test_pass_at_k_small_grid(candidate, tolerances):
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                check_pass_at_k(candidate, tolerances, n, c, k)


def test_pass_at_k_is_not_the_biased_estimate(candidate, tolerances):
    got = check_pass_at_k(candidate, tolerances, 10, 3, 2)
    assert abs(got - 0.51) > 1e-3, f"1 - (1 - c/n)**k is biased: pass_at_k(10, 3, 2) = 24/45, got {got}"
    for n, c, k in [(20, 1, 5), (100, 10, 10), (50, 49, 1), (7, 0, 7), (7, 7, 7), (9, 1, 9)]:
        check_pass_at_k(candidate, tolerances, n, c, k)


LARGE_N = [
    (200, 13, 100),
    (200, 1, 1),
    (200, 100, 10),
    (200, 150, 50),
    (200, 199, 200),
    (1000, 3, 500),
    (100_000, 50_000, 5),
    (100_000, 30_000, 50),
    (1_000_000, 500_000, 3),
    (1_000_000, 12, 1_000),
    (1_000_000, 999_000, 100),
]


def test_pass_at_k_large_n(candidate, tolerances):
    for n, c, k in LARGE_N:
        check_pass_at_k(candidate, tolerances, n, c, k)


# -- paired bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_ties_count_against_b(candidate, tolerances):
    same = [0.5, 1.0, 0.0, 0.25]
    got = check_bootstrap(candidate, tolerances, same, list(same), [[0, 1, 2, 3], [3, 3, 1, 0]])
    assert got == (0.0, 1.0), f"identical systems: every resample ties, p_value 1.0, got {got}"
    # item 0 favours B by 1, item 1 favours A by 1: resample [0, 1, ...] ties exactly
    a, b = [0, 1, 0], [1, 0, 0]
    check_bootstrap(candidate, tolerances, a, b, [[0, 1, 2], [0, 0, 1], [1, 1, 0], [2, 2, 2], [0, 2, 2]])


def test_bootstrap_sign_and_direction(candidate, tolerances):
    a, b = [3, 4, 2, 5], [1, 4, 2, 4]  # B is worse
    delta, p_value = check_bootstrap(candidate, tolerances, a, b, [[0, 1, 2, 3], [1, 2, 2, 1], [1, 3, 3, 1]])
    assert delta < 0 and p_value == 1.0, f"B worse than A: delta < 0 and p_value 1.0, got {(delta, p_value)}"
    check_bootstrap(candidate, tolerances, b, a, [[0, 1, 2, 3], [1, 2, 2, 1], [1, 3, 3, 1]])


def test_bootstrap_is_paired(candidate, tolerances):
    # B beats A on every item by 1 while the items differ by 10: every paired resample favours B
    a = [0, 10, 20, 30, 40]
    b = [1, 11, 21, 31, 41]
    resamples = [[0, 0, 0, 0, 0], [4, 4, 4, 4, 4], [0, 1, 2, 3, 4], [2, 2, 0, 0, 1], [4, 3, 4, 3, 0]]
    got = check_bootstrap(candidate, tolerances, a, b, resamples)
    assert got[1] == 0.0, f"B better on every item: no resample may favour A, got p_value {got[1]}"


def test_bootstrap_repeated_indices_single_item_single_resample(candidate, tolerances):
    check_bootstrap(candidate, tolerances, [0.0], [1.0], [[0]])
    check_bootstrap(candidate, tolerances, [2.0], [1.0], [[0], [0]])
    check_bootstrap(candidate, tolerances, [1, 0, 0], [0, 1, 1], [[0, 0, 1]])
    check_bootstrap(candidate, tolerances, [1, 0, 0], [0, 1, 1], [(0, 0, 0), (1, 2, 0), (2, 2, 2)])
    # differences [1, -1.5, 0]: [0, 0, 1] sums to 0.5 (B wins); counting item 0 once would give -0.5
    got = check_bootstrap(candidate, tolerances, [0, 1.5, 0], [1, 0, 0], [[0, 0, 1]])
    assert got[1] == 0.0, f"an index drawn twice counts twice: [0, 0, 1] favours B, got p_value {got[1]}"


def test_bootstrap_float_scores(candidate, tolerances):
    a = [31.25, 27.9, 40.1, 12.6, 33.3, 25.0]
    b = [33.5, 27.1, 41.7, 12.6, 30.0, 28.2]
    resamples = [[(3 * r + 5 * j) % 6 for j in range(6)] for r in range(12)] + [[4, 4, 4, 1, 1, 0]]
    assert all(abs(s) > 1e-6 for s in oracle.resample_sums(a, b, resamples) if s != 0)
    check_bootstrap(candidate, tolerances, a, b, resamples)
    check_bootstrap(candidate, tolerances, [-1e6, 2.5e-3], [-1e6 + 0.5, 0.0], [[0, 1], [1, 1], [0, 0]])


# -- calls in a row, caller data, input variants ------------------------------------------------------


def test_calls_in_a_row_share_nothing(candidate, tolerances):
    first = ([["a", "b", "c"], ["c"]], [{"a": 1, "c": 2}, ["c", "d"]])
    second = ([["b", "a"]], [{"b": 3, "a": 0, "e": 1}])
    for rankings, judgments in (first, second, first, second):
        for k in (1, 3):
            all_metrics(candidate, tolerances, rankings, judgments, k)
    for n, c, k in [(10, 3, 2), (10, 3, 5), (200, 10, 2), (10, 3, 2)]:
        check_pass_at_k(candidate, tolerances, n, c, k)
    for a, b in [([1, 0], [0, 1]), ([1, 1], [0, 0]), ([1, 0], [0, 1])]:
        check_bootstrap(candidate, tolerances, a, b, [[0, 1], [0, 0], [1, 1]])


def test_arguments_unchanged_and_variants_accepted(candidate, tolerances):
    # the driver snapshots every argument (sets built in the worker too) and reports what changed
    rankings = [("a", "b", "a", "c"), ["c", "d"]]
    judgments = [["a", "c", "e"], ["d"]]
    for set_kind in ("set", "frozenset"):
        kinds = kinds_of(judgments, set_kind)
        for k in (1, 2, 4):
            for name in METRICS:
                metric(candidate, tolerances, name, rankings, judgments, k=k, kinds=kinds)
        metric(candidate, tolerances, "mrr", rankings, judgments, kinds=kinds)
    graded = [{"a": 2, "c": 0, "e": 1}, {"d": 1.5}]
    all_metrics(candidate, tolerances, rankings, graded, 3, direct=True)
    check_bootstrap(candidate, tolerances, (1.0, 0.0, 0.5), (0.5, 0.5, 0.5), ([2, 1, 0], (0, 0, 1)))
    # tuples all the way: a tuple of rankings and a tuple of dict judgments
    all_metrics(candidate, tolerances, (("a", "b"), ("c",)), ({"b": 1}, {"c": 2, "a": 1}), 2, direct=True)


def test_equal_values_and_equal_copies_are_changes_too(candidate, tolerances):
    # writes that == cannot see: an int grade or score replaced by the equal float (3 -> 3.0), a
    # judgment of the caller's list replaced by an equal copy; the driver compares types and objects
    graded = [{"d1": 3, "d2": 0, "d3": 1}, {"x": 2, "y": 0.5}]
    for name in METRICS:
        metric(candidate, tolerances, name, [["d1", "d3"], ["y", "x"]], graded, k=2, given=True)
        metric(candidate, tolerances, name, [["d1", "d3"], ["y", "x"]], graded, k=2)  # dicts built in the worker
        metric(candidate, tolerances, name, [["a"], [1, 2]], [{"a": 1}, [2, 1]], k=1, given=True)
        metric(candidate, tolerances, name, [["a"], [1, 2]], [{"a": 1}, [2, 1]], k=1, kinds=["dict", "frozenset"])
    metric(candidate, tolerances, "mrr", [[3, "b"]], [{3: 1, "b": 2}], given=True)
    check_bootstrap(candidate, tolerances, [1, 0], [1, 1], [[0, 1]])
    check_bootstrap(candidate, tolerances, [2, 0, 1], [1, 1, 1], [[0, 1, 2], [2, 2, 1]])
    check_bootstrap(candidate, tolerances, (1, 0), (0, 1), ((0, 1), [1, 1]))


# -- errors --------------------------------------------------------------------------------------------

GOOD_RANKINGS = [["a", "b"], ["c"]]
GOOD_JUDGMENTS = [{"a": 1}, {"c": 2}]


def must_raise(what: str, function, *args) -> None:
    """function(*args) must raise ValueError in the submission; a failure names the case."""
    try:
        with expect_raises("ValueError"):
            function(*args)
    except AssertionError as error:
        raise AssertionError(f"{what}: {error}") from None


def metric_case(candidate, name, rankings, judgments, **kwargs) -> tuple:
    """must_raise's (what, function, *args) for one metric call through the driver."""
    what = f"{name}(rankings={rankings!r}, relevance={judgments!r} (lists are sets), {kwargs})"
    return (what, candidate.driver.call, name, rankings, judgments, kinds_of(judgments), kwargs)


@pytest.mark.parametrize("name", METRICS)
def test_k_below_one_raises(candidate, name):
    for k in (0, -1):
        must_raise(*metric_case(candidate, name, GOOD_RANKINGS, GOOD_JUDGMENTS, k=k))


@pytest.mark.parametrize("name", METRICS)
def test_mismatched_or_no_queries_raise(candidate, name):
    cases = [([["a"]], []), ([], [["a"]]), ([["a"], ["b"]], [["a"]]), ([["a"]], [["a"], ["b"]]), ([], [])]
    for rankings, judgments in cases:
        must_raise(*metric_case(candidate, name, rankings, judgments, k=2))


@pytest.mark.parametrize("name", METRICS)
def test_query_without_relevant_ids_raises(candidate, name):
    for judged in ([], {}, {"a": 0, "b": 0.0}):  # an empty set, an empty dict, every grade 0
        must_raise(*metric_case(candidate, name, [["x", "y"], ["a", "b"]], [["x"], judged], k=2))
        must_raise(*metric_case(candidate, name, [["a", "b"]], [judged], **({} if name == "mrr" else {"k": 5})))


@pytest.mark.parametrize("name", METRICS)
def test_bad_grade_raises(candidate, name):
    for grade in (-1, -0.5, math.nan, math.inf, -math.inf):
        must_raise(*metric_case(candidate, name, [["a", "b"]], [{"a": 1, "b": grade}], k=1))
        must_raise(*metric_case(candidate, name, [["a"], ["a", "b"]], [["a"], {"z": grade, "a": 1}], k=2))


def test_pass_at_k_bad_k_raises(candidate):
    cases = [(10, 3, 0), (10, 3, -2), (10, 3, 11), (5, 5, 6), (3, 0, 4), (0, 0, 1)]
    cases += [(5000, 3, -1), (5000, 3, 0), (1_000_000, 12, -3), (1_000_000, 999_990, -1), (5000, 4000, 5001)]
    for n, c, k in cases:
        must_raise(f"pass_at_k(n={n}, c={c}, k={k})", candidate.pass_at_k, n, c, k)


def test_pass_at_k_bad_c_raises(candidate):
    for n, c, k in [(10, -1, 2), (10, 11, 2), (10, 11, 10), (3, -5, 1)]:
        must_raise(f"pass_at_k(n={n}, c={c}, k={k})", candidate.pass_at_k, n, c, k)


def bootstrap_case(candidate, scores_a, scores_b, resamples) -> tuple:
    """must_raise's (what, function, *args) for one paired_bootstrap call."""
    what = f"paired_bootstrap({scores_a!r}, {scores_b!r}, {resamples!r})"
    return (what, candidate.paired_bootstrap, scores_a, scores_b, resamples)


def test_bootstrap_bad_lengths_raise(candidate):
    for scores_a, scores_b in [([1, 0], [1]), ([1], [1, 0]), ([], [])]:
        must_raise(*bootstrap_case(candidate, scores_a, scores_b, [[0]]))
    # empty scores with resamples valid for N = 0 (each of exactly 0 indices): only the empty-scores rule applies
    for resamples in ([[]], [[], []], [()]):
        must_raise(*bootstrap_case(candidate, [], [], resamples))


def test_bootstrap_non_finite_score_raises(candidate):
    good = [1.0, 0.0, 1.0]
    for bad in (math.nan, math.inf, -math.inf):
        broken = [1.0, bad, 1.0]
        must_raise(*bootstrap_case(candidate, broken, good, [[0, 1, 2]]))
        must_raise(*bootstrap_case(candidate, good, broken, [[0, 1, 2]]))


def test_bootstrap_bad_resamples_raise(candidate):
    for resamples in [[], [[0, 1]], [[0, 1, 2], [0, 1]], [[0, 1, 2, 0]], [[0, 1, 3]], [[0, 0, 0], [2, 1, -1]]]:
        must_raise(*bootstrap_case(candidate, [1, 0, 1], [0, 0, 1], resamples))


# -- property-based ----------------------------------------------------------------------------------

IDS = st.sampled_from(["a", "b", "c", "d", "e", 0, 1, 2])


@st.composite
def queries(draw):
    count = draw(st.integers(1, 4))
    rankings, judgments, kinds = [], [], []
    for _ in range(count):
        rankings.append(draw(st.lists(IDS, max_size=8)))
        if draw(st.booleans()):
            relevant = draw(st.lists(IDS, min_size=1, max_size=5, unique=True))
            judgments.append(relevant)
            kinds.append(draw(st.sampled_from(["set", "frozenset"])))
        else:
            grades = st.one_of(st.integers(0, 4), st.sampled_from([0.0, 0.5, 1.5, 3.25]))
            judged = draw(st.dictionaries(IDS, grades, min_size=1, max_size=6))
            if not any(grade > 0 for grade in judged.values()):
                judged[draw(IDS)] = 1
            judgments.append(judged)
            kinds.append("dict")
    return rankings, judgments, kinds, draw(st.integers(1, 10))


@settings(max_examples=50)
@given(queries())
def test_random_queries_match_the_oracle(candidate, tolerances, case):
    rankings, judgments, kinds, k = case
    for name in METRICS:
        metric(candidate, tolerances, name, rankings, judgments, k=k, kinds=kinds)
    metric(candidate, tolerances, "mrr", rankings, judgments, kinds=kinds)


@settings(max_examples=50)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_random_pass_at_k_matches_the_exact_estimator(candidate, tolerances, nck):
    check_pass_at_k(candidate, tolerances, *nck)


@st.composite
def bootstraps(draw):
    n = draw(st.integers(1, 12))
    score = st.integers(-8, 8).map(lambda eighths: eighths / 8)
    scores_a = draw(st.lists(score, min_size=n, max_size=n))
    scores_b = draw(st.lists(score, min_size=n, max_size=n))
    resample = st.lists(st.integers(0, n - 1), min_size=n, max_size=n)
    return scores_a, scores_b, draw(st.lists(resample, min_size=1, max_size=20))


@settings(max_examples=40)
@given(bootstraps())
def test_random_bootstraps_match_the_oracle(candidate, tolerances, case):
    check_bootstrap(candidate, tolerances, *case)
