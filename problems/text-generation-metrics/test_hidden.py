"""Hidden tests for text-generation-metrics.

Every expected value comes from metrics_oracle.py (checker side): exact counts and fractions,
BLEU's logarithms in float64. Explicit cases first, property-based ones last.
"""

from __future__ import annotations

import math
import random
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from metrics_oracle import bleu_statistics, oracle_bleu, oracle_rouge

from judge_harness import expect_raises

RTOL = 1e-9
SMOOTHING = ("none", "floor", "add-one", "exp")
UNSET = object()  # an argument left to its default


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + f"... ({len(text)} characters)"


def check_float(got, want: float, what: str) -> None:
    assert isinstance(got, float) and not isinstance(got, bool), f"{what}: expected a float, got {got!r}"
    assert abs(got - want) <= RTOL * abs(want), (
        f"{what}: expected {want!r}, got {got!r} (relative tolerance {RTOL:g}, absolute 0)"
    )


def bleu(candidate, hypotheses, references, max_n=UNSET, smoothing=UNSET) -> float:
    """Call the submission's corpus_bleu and compare with the oracle; return its value."""
    kwargs = {}
    if max_n is not UNSET:
        kwargs["max_n"] = max_n
    if smoothing is not UNSET:
        kwargs["smoothing"] = smoothing
    got = candidate.corpus_bleu(hypotheses, references, **kwargs)
    order = 4 if max_n is UNSET else max_n
    method = "none" if smoothing is UNSET else smoothing
    want = oracle_bleu(list(hypotheses), [list(refs) for refs in references], order, method)
    matches, totals, c, r = bleu_statistics(list(hypotheses), [list(refs) for refs in references], order)
    where = (
        f"corpus_bleu({short(hypotheses)}, {short(references)}, {kwargs or 'defaults'}); "
        f"oracle statistics m_n={matches}, d_n={totals}, c={c}, r={r}"
    )
    check_float(got, want, f"BLEU of {where}")
    return got


def rouge(candidate, kind, hypothesis, references, n=UNSET, beta=UNSET) -> tuple:
    """Call rouge_n (kind "n") or rouge_l (kind "l") and compare the triple with the oracle."""
    kwargs = {}
    if beta is not UNSET:
        kwargs["beta"] = beta
    if kind == "n":
        args = (hypothesis, references) if n is UNSET else (hypothesis, references, n)
        got = candidate.rouge_n(*args, **kwargs)
        call = f"rouge_n({short(hypothesis)}, {short(references)}, n={'default' if n is UNSET else n}, {kwargs})"
    else:
        got = candidate.rouge_l(hypothesis, references, **kwargs)
        call = f"rouge_l({short(hypothesis)}, {short(references)}, {kwargs})"
    want, exact = oracle_rouge(
        kind, hypothesis, list(references), 2 if n is UNSET else n, 1.0 if beta is UNSET else beta
    )
    per_reference = [tuple(float(x) for x in score) for score in exact]
    assert isinstance(got, tuple) and len(got) == 3, f"{call}: expected a tuple (precision, recall, F), got {got!r}"
    for name, got_value, want_value in zip(("precision", "recall", "F"), got, want, strict=True):
        check_float(got_value, want_value, f"{name} of {call} (expected {want}; per reference {per_reference})")
    return got


# -- the statement's examples ------------------------------------------------------------------

PAPINENI = (["the the the the the the the"], [["The cat is on the mat.", "There is a cat on the mat."]])
CORPUS = (["the cat sat on the mat", "a dog"], [["the cat sat on the mat"], ["the dog barked"]])


def test_statement_examples_bleu(candidate):
    hypotheses, references = PAPINENI
    assert abs(bleu(candidate, hypotheses, references, max_n=1) - 2 / 7) < 1e-12
    expected = {"none": 0.0, "floor": 0.069007, "add-one": 0.202031, "exp": 0.154303}
    for smoothing, value in expected.items():
        got = bleu(candidate, hypotheses, references, max_n=2, smoothing=smoothing)
        assert round(got, 6) == value, f"example 1, max_n=2, smoothing={smoothing!r}: {got}"
    got = bleu(candidate, *CORPUS, max_n=2)
    assert round(got, 6) == 0.753575, f"example 2: {got}"


def test_statement_examples_rouge(candidate):
    refs = ["police killed the gunman"]
    assert rouge(candidate, "l", "police kill the gunman", refs) == (0.75, 0.75, 0.75)
    assert rouge(candidate, "l", "the gunman kill police", refs) == (0.5, 0.5, 0.5)
    for hypothesis in ("police kill the gunman", "the gunman kill police"):
        rouge(candidate, "n", hypothesis, refs)
    refs = ["police killed the gunman today"]
    rouge(candidate, "l", "police kill the gunman", refs, beta=2)
    rouge(candidate, "l", "police kill the gunman", refs, beta=0)


# -- BLEU ---------------------------------------------------------------------------------------


def test_clipping_by_the_best_single_reference(candidate):
    # "the" x4 against references holding it 2 and 1 times: clipped at 2 (not 3, not 4)
    bleu(candidate, ["the the the the"], [["the cat the mat", "on the rug"]], max_n=1)
    bleu(candidate, ["the the the the"], [["on the rug", "the cat the mat"]], max_n=1)
    # each reference on its own: "a" is best in one reference, "b" in the other
    bleu(candidate, ["a a b b c"], [["a a x y", "b b z w"]], max_n=2, smoothing="floor")
    # repeated bigrams in hypothesis and references
    bleu(candidate, ["a b a b a b a b"], [["a b a b c", "x a b"]], max_n=3, smoothing="exp")


def test_corpus_statistics_are_summed_before_dividing(candidate):
    bleu(candidate, *CORPUS, max_n=2)
    hypotheses = ["a b c d e f g h", "a b", "x y z", "p q r s t"]
    references = [["a b c d e f g h"], ["a b c"], ["x y q"], ["p q r s t u v"]]
    for max_n in (1, 2, 3):
        bleu(candidate, hypotheses, references, max_n=max_n, smoothing="floor")


def test_ngrams_do_not_cross_segments(candidate):
    # joined into one stream, "b c" and "a b c" would match the first reference
    bleu(candidate, ["a b", "c d"], [["a b c d"], ["c d"]], max_n=2, smoothing="floor")
    bleu(candidate, ["x a", "b y"], [["q a b r"], ["b y"]], max_n=2)
    # each segment is clipped against its own references only, not those of other segments
    bleu(candidate, ["a b", "c d"], [["c d"], ["a b"]], max_n=2, smoothing="floor")
    bleu(candidate, ["a b c", "a b c"], [["a b c"], ["x y z"]], max_n=2)


def test_ngrams_are_tuples_of_tokens(candidate):
    # ("ab", "c") and ("a", "bc") are different bigrams although "ab" + "c" == "a" + "bc"
    assert rouge(candidate, "n", "ab c", ["a bc"], n=2) == (0.0, 0.0, 0.0)
    rouge(candidate, "n", "x ab c y", ["x a bc y"], n=2)
    rouge(candidate, "n", "ab c d", ["a bc d", "abc d"], n=3)
    bleu(candidate, ["ab c d"], [["a bc d"]], max_n=2, smoothing="floor")  # m_2 = 0, not 1
    bleu(candidate, ["a b c d", "ab cd"], [["ab c d"], ["a bcd"]], max_n=2, smoothing="exp")
    bleu(candidate, ["ab c d e"], [["a bc d e", "a b cd e"]], max_n=3, smoothing="add-one")


def test_closest_reference_length(candidate):
    # hypothesis of 4 tokens, references of 2 and 6: equally near, the shorter (2) wins, either order
    assert bleu(candidate, ["a b c d"], [["a b", "a b c d e f"]], max_n=1) == 1.0
    assert bleu(candidate, ["a b c d"], [["a b c d e f", "a b"]], max_n=1) == 1.0
    # "shorter" counts tokens: the 2-token reference has more characters than the 6-token one
    assert bleu(candidate, ["a b c d"], [["a b c d e f", "aaaaaaaaaa bbbbbbbbbb"]], max_n=1) == 1.0
    # the closest, not the shortest nor the longest: 5 tokens against 1, 6 and 9
    bleu(candidate, ["a b c d e"], [["a", "a b c d e f", "a b c d e f g h i"]], max_n=1)
    bleu(candidate, ["a b c d e"], [["a b c d e f g h i", "a b c d e f", "a"]], max_n=1)
    # 3 tokens against 5 and 2: distance 2 and 1, so 2 (shorter, BP = 1) even though 5 comes first
    bleu(candidate, ["a b c"], [["a b c d e", "a b"]], max_n=1)
    # per segment, not one reference index for the whole corpus: r = 2 + 6 = 8 = c (index 1 everywhere: r = 11)
    assert bleu(candidate, ["a b c", "a b c d e"], [["a b", "a b c d e"], ["a b", "a b c d e f"]], max_n=1) == 1.0
    # per segment: each segment picks its own reference
    bleu(candidate, ["a b c", "a b c d e f g"], [["a b", "a b c d e f g h"], ["a b", "a b c d e f g h"]], max_n=2)


def test_brevity_penalty_on_both_sides_of_c_equals_r(candidate):
    assert bleu(candidate, ["a b c"], [["a b c"]], max_n=3) == 1.0  # c = r: BP = 1
    bleu(candidate, ["a b c"], [["a b c d e f"]], max_n=3)  # c < r: exp(1 - 6/3)
    bleu(candidate, ["a b c d e f"], [["a b c"]], max_n=1)  # c > r: BP = 1, p_1 = 1/2
    bleu(candidate, ["a b", "c d e f g"], [["a b c d"], ["c d e"]], max_n=2, smoothing="floor")  # c = 7, r = 7
    bleu(candidate, ["a b", "c d e f g"], [["a b c d e"], ["c d e"]], max_n=2, smoothing="floor")  # c = 7, r = 8


def test_max_n_values(candidate):
    hypotheses = ["the quick brown fox jumps over the lazy dog", "a b c d e f"]
    references = [["the quick brown fox jumped over the lazy dog"], ["a b c d x f", "a b c"]]
    for max_n in (1, 2, 3, 5, 6):
        bleu(candidate, hypotheses, references, max_n=max_n, smoothing="exp")
    bleu(candidate, hypotheses, references)  # the default max_n = 4
    bleu(candidate, hypotheses, references, max_n=4, smoothing="none")


def test_smoothing_methods(candidate):
    # m_2 = 0, m_3 = 0, m_4 = 0: exp halves again at every zero order
    hypotheses, references = ["a b c d e"], [["a c e b d"]]
    for smoothing in SMOOTHING:
        bleu(candidate, hypotheses, references, smoothing=smoothing)
    # a zero order between two matching ones (m_3 = 0 only)
    hypotheses, references = ["a b c x a b c"], [["a b c y b c x a"]]
    for smoothing in SMOOTHING:
        bleu(candidate, hypotheses, references, smoothing=smoothing)
    # no zero at all: every smoothing but add-one gives the plain value
    for smoothing in SMOOTHING:
        bleu(candidate, ["a b c d e f"], [["a b c d e f g"]], smoothing=smoothing)
    for smoothing in SMOOTHING:
        bleu(candidate, ["a b c d e f", "x y z w"], [["a b c d q f"], ["x y z w"]], max_n=4, smoothing=smoothing)


def test_add_one_leaves_unigrams_alone(candidate):
    assert bleu(candidate, ["a b c d"], [["w x y z"]], smoothing="add-one") == 0.0
    bleu(candidate, ["a b c d"], [["a x y z"]], smoothing="add-one")
    bleu(candidate, ["a b c d"], [["a b c d"]], max_n=1, smoothing="add-one")


def test_zero_matches_without_smoothing_give_zero(candidate):
    assert bleu(candidate, ["a b c d"], [["d c b a"]]) == 0.0  # no bigram match: log(0) must not be taken
    assert bleu(candidate, ["a b c"], [["x y z"]], max_n=1) == 0.0
    for smoothing in ("floor", "exp"):
        bleu(candidate, ["a b c"], [["x y z"]], max_n=2, smoothing=smoothing)


def test_hypotheses_shorter_than_max_n(candidate):
    for smoothing in SMOOTHING:
        assert bleu(candidate, ["a b c"], [["a b c"]], smoothing=smoothing) == 0.0  # d_4 = 0
        assert bleu(candidate, ["a b", "c"], [["a b"], ["c"]], max_n=3, smoothing=smoothing) == 0.0
        # one hypothesis long enough: d_n > 0 for every order, the short ones still count
        bleu(candidate, ["a b", "c d e f g"], [["a b"], ["c d e f g"]], smoothing=smoothing)
        bleu(candidate, ["a", "c d e f g"], [["a b"], ["c d e f x"]], smoothing=smoothing)


def test_empty_hypotheses_and_references(candidate):
    for smoothing in SMOOTHING:
        assert bleu(candidate, [""], [["a b c"]], smoothing=smoothing) == 0.0
        assert bleu(candidate, ["", "  \t"], [["a"], [""]], max_n=1, smoothing=smoothing) == 0.0
        # an empty hypothesis still adds its closest reference length to r
        bleu(candidate, ["a b c d", ""], [["a b c d"], ["x y z"]], max_n=2, smoothing=smoothing)
    # an empty reference has length 0 and no n-grams
    bleu(candidate, ["a b c"], [["", "a b c d e f"]], max_n=1)
    bleu(candidate, ["a b c"], [[""]], max_n=1, smoothing="floor")
    bleu(candidate, ["a"], [["", "a b"]], max_n=1)


def test_tokenisation_variants(candidate):
    bleu(candidate, ["The CAT sat"], [["the cat SAT"]], max_n=3)
    bleu(candidate, ["a\tb\nc  d   e"], [["a b c d e"]], max_n=5)
    bleu(candidate, ["  a b c d \n"], [["a b c d"]], max_n=4)
    bleu(candidate, ["a\u00a0b c\u2003d"], [["a b c d"]], max_n=4)
    bleu(candidate, ["the mat. is red"], [["the mat is red"]], max_n=1)
    bleu(candidate, ["Straße ist lang"], [["STRASSE ist lang"]], max_n=1)
    bleu(candidate, ["ÉCOLE Über"], [["école über"]], max_n=2)
    rouge(candidate, "n", "The\tCAT  sat\non the MAT", ["the cat sat on the mat"], n=2)
    rouge(candidate, "l", "  Straße\u00a0IST lang ", ["STRASSE ist lang"])
    rouge(candidate, "n", "a. b, c", ["a b c"], n=1)


def test_lists_and_tuples(candidate):
    hypotheses = ("a b c d e", "x y z")
    references = (("a b c d f", "a b"), ["x y z w"])
    for smoothing in SMOOTHING:
        bleu(candidate, hypotheses, references, max_n=3, smoothing=smoothing)
    rouge(candidate, "n", "a b c d", ("a b x d", "b c d"), n=1)
    rouge(candidate, "l", "a b c d", ("a b x d", "b c d"))


def test_geometric_mean_in_log_space(candidate):
    # 150 orders, most without a match: the product of the precisions underflows, the score does not
    rng = random.Random(5)
    words = [rng.choice("abcdefghij") for _ in range(200)]
    hypothesis = " ".join(words)
    reference = " ".join(words[:30] + [rng.choice("abcdefghij") for _ in range(170)])
    for smoothing in ("floor", "exp"):
        got = bleu(candidate, [hypothesis], [[reference]], max_n=150, smoothing=smoothing)
        assert got > 0.0, f"max_n=150, smoothing={smoothing!r}: the score must not underflow to 0, got {got}"


def test_many_segments(candidate):
    rng = random.Random(7)
    hypotheses, references = [], []
    for _ in range(300):
        words = [rng.choice("abcdef") for _ in range(rng.randint(0, 12))]
        hypotheses.append(" ".join(words))
        references.append([" ".join(w if rng.random() < 0.7 else "z" for w in words[: rng.randint(0, 14)])])
    for smoothing in SMOOTHING:
        bleu(candidate, hypotheses, references, smoothing=smoothing)


# -- ROUGE --------------------------------------------------------------------------------------


def test_rouge_n_overlap_is_clipped(candidate):
    rouge(candidate, "n", "the the the cat", ["the cat the mat"], n=1)
    rouge(candidate, "n", "the cat", ["the the the cat"], n=1)
    rouge(candidate, "n", "a b a b a b", ["a b a b"], n=2)
    rouge(candidate, "n", "a b a b", ["a b a b a b c"], n=2)


def test_rouge_precision_and_recall_on_texts_of_different_lengths(candidate):
    got = rouge(candidate, "n", "a b c", ["a b c d e f g h"], n=1)
    assert got[0] == 1.0 and got[1] == 3 / 8, f"precision divides by the hypothesis: {got}"
    rouge(candidate, "n", "a b c d e f g h", ["a b c"], n=2)
    rouge(candidate, "l", "a x b y c", ["a b c d e f"])
    rouge(candidate, "l", "a b c d e f", ["a x b"])


def test_rouge_n_default_and_other_orders(candidate):
    hypothesis, references = "the cat sat on the mat today", ["the cat sat on a mat", "a cat sat on the mat"]
    for n in (UNSET, 1, 2, 3, 4, 7, 8):
        rouge(candidate, "n", hypothesis, references, n=n)


def test_rouge_beta(candidate):
    hypothesis, references = "police kill the gunman in town", ["police killed the gunman today"]
    for beta in (UNSET, 0, 0.0, 0.5, 1, 2.0, 10.0, 1e6):
        rouge(candidate, "l", hypothesis, references, beta=beta)
        rouge(candidate, "n", hypothesis, references, n=1, beta=beta)
    rouge(candidate, "n", "a b c d", ["a b c d e f g h"], n=2, beta=3.0)


def test_rouge_beta_at_the_ends_of_float64(candidate):
    # beta^2 overflows float64 above ~1.34e154 (F is then the recall) and underflows to 0 below ~1e-162
    huge = (1e154, 1.5e154, 1e155, 1e200, sys.float_info.max)
    tiny = (1e-160, 1e-200, sys.float_info.min, 5e-324)
    for beta in huge + tiny:
        rouge(candidate, "l", "a b", ["a b c"], beta=beta)
        rouge(candidate, "l", "police kill the gunman", ["police killed the gunman today"], beta=beta)
        rouge(candidate, "n", "a b c d", ["a b c x y"], n=1, beta=beta)
        rouge(candidate, "n", "a b c d e", ["a b c", "b c d e f g h"], n=2, beta=beta)


def test_rouge_beta_zero_is_not_the_default(candidate):
    zero = rouge(candidate, "l", "a b c", ["a b c d e f"], beta=0)
    default = rouge(candidate, "l", "a b c", ["a b c d e f"])
    assert zero[2] == 1.0 and default[2] != zero[2], f"beta=0 gives the precision: {zero}, default {default}"
    rouge(candidate, "n", "a b c", ["a b c d e f"], n=1, beta=0.0)


def test_rouge_best_reference_by_f(candidate):
    # reference 0 has the best precision, reference 1 the best recall, reference 2 the best F
    hypothesis = "a b c d e f"
    references = ["a b", "a b c d e f g h i j k l", "a b c d x y"]
    for kind in ("n", "l"):
        got = rouge(candidate, kind, hypothesis, references, n=1)
        assert got[2] == max(rouge(candidate, kind, hypothesis, [ref], n=1)[2] for ref in references)
    rouge(candidate, "n", "a b c d", ["a b c d e f g h", "x y", "a b"], n=1, beta=2.0)
    rouge(candidate, "l", "a b c d", ["a b", "d c b a", "a b c d e f g h"], beta=0.5)
    # pooled counts over the references differ from the best single reference
    rouge(candidate, "n", "a b c d", ["a b", "c d"], n=1)


def test_rouge_ties_go_to_the_first_reference(candidate):
    # "a b q r" against "a x" and an 8-token reference: (1/4, 1/2) and (1/2, 1/4), both F = 1/3
    hypothesis = "a b q r"
    first = rouge(candidate, "n", hypothesis, ["a x", "a b x y z w v u"], n=1)
    assert first == (0.25, 0.5, first[2]), f"tie: the first reference's (P, R) wins, got {first}"
    rouge(candidate, "n", hypothesis, ["a b x y z w v u", "a x"], n=1)
    rouge(candidate, "l", "a b q r", ["a b c d e f g h", "a x"])
    rouge(candidate, "l", "a b q r", ["b x", "a b c d e f g h"])
    rouge(candidate, "l", "a b c", ["x y", "q r s"])  # all zero: ties too


def test_rouge_l_is_a_subsequence(candidate):
    got = rouge(candidate, "l", "a x b y c z d", ["a b c d"])
    assert got[1] == 1.0, f"a b c d is a subsequence of the hypothesis: recall 1, got {got}"
    rouge(candidate, "l", "the gunman police killed", ["police killed the gunman"])
    rouge(candidate, "l", "a b c a b c", ["c b a c b a"])
    rouge(candidate, "l", "a a a b", ["a b a a"])


def test_rouge_zero_overlap_and_empty_texts(candidate):
    for kind in ("n", "l"):
        assert rouge(candidate, kind, "", ["a b c"], n=1) == (0.0, 0.0, 0.0)
        assert rouge(candidate, kind, "a b c", [""], n=1) == (0.0, 0.0, 0.0)
        assert rouge(candidate, kind, " \t ", ["", "  "], n=1) == (0.0, 0.0, 0.0)
        assert rouge(candidate, kind, "a b c", ["d e f"], n=1) == (0.0, 0.0, 0.0)
        rouge(candidate, kind, "a b c", ["", "a"], n=1)
    assert rouge(candidate, "n", "a", ["a b c"], n=2) == (0.0, 0.0, 0.0)  # hypothesis shorter than n
    assert rouge(candidate, "n", "a b c", ["a"], n=2) == (0.0, 0.0, 0.0)
    rouge(candidate, "n", "a b c", ["a", "a b"], n=2)


def test_rouge_l_long_texts(candidate):
    rng = random.Random(3)
    a = " ".join(rng.choice("abcdefgh") for _ in range(1000))
    b = " ".join(rng.choice("abcdefgh") for _ in range(1000))
    rouge(candidate, "l", a, [b])
    rouge(candidate, "n", a, [b], n=3)


def test_calls_share_no_state(candidate):
    # the same reference first with a second one, then alone: nothing of the second may stay behind
    bleu(candidate, ["a b c"], [["a b d", "c d e"]], max_n=1)
    bleu(candidate, ["a b c"], [["a b d"]], max_n=1)
    rouge(candidate, "n", "a b c", ["a b d"], n=1)
    bleu(candidate, ["a b c d"], [["a b c d e f"]], max_n=2)
    bleu(candidate, ["a b c d"], [["a b c d e f"]], max_n=1)
    for _ in range(2):
        bleu(candidate, *CORPUS, max_n=2)
        bleu(candidate, *PAPINENI, max_n=2, smoothing="exp")
        bleu(candidate, ["x y z"], [["x y z"]], max_n=3)
        rouge(candidate, "n", "a b c", ["a b d"], n=1)
        rouge(candidate, "l", "a b c", ["c b a", "a c"])
        rouge(candidate, "n", "x y", ["x y"], n=1, beta=2.0)


def test_inputs_are_only_read(candidate):
    # the input guard fails a submission that sorts, pops or lowercases the caller's lists
    references = [["a b c d e f", "a b", "a b c d"], ["z y", "x"]]
    hypotheses = ["a b c", "x y"]
    bleu(candidate, hypotheses, references, max_n=2, smoothing="floor")
    bleu(candidate, hypotheses, references, max_n=2, smoothing="floor")
    refs = ["b a c d", "A B", "a"]
    rouge(candidate, "n", "a b c", refs, n=1)
    rouge(candidate, "l", "a b c", refs)


# -- errors ---------------------------------------------------------------------------------------


def test_empty_corpus_raises(candidate):
    with expect_raises("ValueError"):
        candidate.corpus_bleu([], [])


@pytest.mark.parametrize(
    ("hypotheses", "references"),
    [(["a"], []), (["a", "b"], [["a"]]), (["a"], [["a"], ["b"]])],
    ids=["no reference lists", "fewer", "more"],
)
def test_reference_count_mismatch_raises(candidate, hypotheses, references):
    with expect_raises("ValueError"):
        candidate.corpus_bleu(hypotheses, references)


@pytest.mark.parametrize("where", ["bleu first", "bleu second", "rouge_n", "rouge_l"])
def test_no_reference_raises(candidate, where):
    with expect_raises("ValueError"):
        if where == "bleu first":
            candidate.corpus_bleu(["a b", "c d"], [[], ["c d"]])
        elif where == "bleu second":
            candidate.corpus_bleu(["a b", "c d"], [["a b"], ()])
        elif where == "rouge_n":
            candidate.rouge_n("a b", [])
        else:
            candidate.rouge_l("a b", ())


@pytest.mark.parametrize("value", [0, -1])
@pytest.mark.parametrize("where", ["max_n", "n"])
def test_order_below_one_raises(candidate, where, value):
    with expect_raises("ValueError"):
        if where == "max_n":
            candidate.corpus_bleu(["a b"], [["a b"]], max_n=value)
        else:
            candidate.rouge_n("a b", ["a b"], value)


@pytest.mark.parametrize("smoothing", ["", "Floor", "add_one", "exp ", "smooth", "method1"])
def test_unknown_smoothing_raises(candidate, smoothing):
    with expect_raises("ValueError"):
        candidate.corpus_bleu(["a b"], [["a b"]], smoothing=smoothing)


@pytest.mark.parametrize("beta", [-1.0, -1e-9, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("kind", ["n", "l"])
def test_bad_beta_raises(candidate, kind, beta):
    with expect_raises("ValueError"):
        if kind == "n":
            candidate.rouge_n("a b", ["a b"], 1, beta=beta)
        else:
            candidate.rouge_l("a b", ["a b"], beta=beta)


NO_OVERLAP = [
    ("n", "a", ["b"]),
    ("n", "a b", ["a c", "c b"]),  # no common bigram
    ("n", "a", ["a"]),  # shorter than n = 2: overlap 0
    ("n", "", ["a b"]),
    ("l", "a", ["b"]),
    ("l", "a b", [""]),
    ("l", " ", ["a", "b"]),
]


@pytest.mark.parametrize("beta", [-1.0, math.nan, math.inf])
def test_bad_beta_raises_without_overlap(candidate, beta):
    # beta is checked before any text is scored: a score of (0, 0, 0) does not excuse it
    for kind, hypothesis, references in NO_OVERLAP:
        call = f"rouge_{kind}({hypothesis!r}, {references!r}{', 2' if kind == 'n' else ''}, beta={beta})"
        try:
            with expect_raises("ValueError"):
                if kind == "n":
                    candidate.rouge_n(hypothesis, references, 2, beta=beta)
                else:
                    candidate.rouge_l(hypothesis, references, beta=beta)
        except AssertionError as exc:
            raise AssertionError(f"{call}, where no reference overlaps the hypothesis: {exc}") from None


# -- random corpora and texts (property-based) ------------------------------------------------

WORDS = ["a", "b", "c", "A", "d"]


@st.composite
def texts(draw, max_size: int = 10) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=max_size))
    separators = draw(st.lists(st.sampled_from([" ", " ", "  ", "\t", "\n"]), min_size=len(words), max_size=len(words)))
    return "".join(sep + word for sep, word in zip(separators, words, strict=True))


@st.composite
def corpora(draw):
    size = draw(st.integers(1, 4))
    hypotheses = draw(st.lists(texts(), min_size=size, max_size=size))
    references = draw(st.lists(st.lists(texts(), min_size=1, max_size=3), min_size=size, max_size=size))
    return hypotheses, references


@settings(max_examples=60)
@given(corpora(), st.integers(1, 5), st.sampled_from(SMOOTHING))
def test_random_corpora_match_the_oracle(candidate, corpus, max_n, smoothing):
    hypotheses, references = corpus
    bleu(candidate, hypotheses, references, max_n=max_n, smoothing=smoothing)


@settings(max_examples=60)
@given(
    st.sampled_from("nl"),
    texts(),
    st.lists(texts(), min_size=1, max_size=3),
    st.integers(1, 3),
    st.sampled_from([UNSET, 0.0, 0.5, 1.0, 2.0]),
)
def test_random_rouge_matches_the_oracle(candidate, kind, hypothesis, references, n, beta):
    _, exact = oracle_rouge(kind, hypothesis, references, n, 1.0 if beta is UNSET else beta)
    for i, (p_i, r_i, f_i) in enumerate(exact):  # the statement's promise: exact ties, or 1e-9 apart
        for p_j, r_j, f_j in exact[:i]:
            if f_i != f_j:
                assume(abs(f_i - f_j) > 1e-9 * max(f_i, f_j))
            else:
                assume((p_i, r_i) == (p_j, r_j))  # equal F from different (P, R): explicit tests only
    rouge(candidate, kind, hypothesis, references, n=n, beta=beta)
