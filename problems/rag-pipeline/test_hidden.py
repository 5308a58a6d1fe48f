"""Hidden tests for rag-pipeline.

Expected values come from rag_oracle (the statement's formulas in float64) and rag_corpus
(a concept embedding function and a help-desk corpus), both checker-side; rag_checks holds
the helpers that build inputs and compare results.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import rag_oracle as oracle
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rag_checks import (
    bm25_search,
    check_chunks,
    check_retrieve,
    chunk,
    chunks_of,
    crc_reranker,
    oracle_retrieve,
    pipeline,
    random_table,
    retrieved_ids,
    table_embed,
    vector_case,
)
from rag_corpus import (
    DEFAULTS_QUESTION,
    KEY_DOCS,
    LEXICAL_ANSWER,
    LEXICAL_QUESTION,
    QUERIES,
    SEMANTIC_ANSWER,
    SEMANTIC_QUESTION,
    concept_embed,
    handbook_doc,
    help_desk_corpus,
)
from rag_oracle import CallLog, check_ranking

from judge_harness import Record, expect_raises

# ---------------------------------------------------------------- chunk_document


def test_chunk_example_offsets(candidate):
    text = "  alpha beta\tgamma\n\ndelta  epsilon zeta eta "
    check_chunks(candidate.chunk_document("doc", text, max_words=3, overlap_words=1), "doc", text, 3, 1)


def test_chunk_keeps_original_whitespace(candidate):
    text = "Line one\n\n  indented\tline two;   three  spaces\nend"
    check_chunks(candidate.chunk_document("notes", text, max_words=4, overlap_words=2), "notes", text, 4, 2)


def test_chunk_single_window(candidate):
    for n in (1, 5, 6):
        text = " ".join(f"w{i}" for i in range(n))
        check_chunks(candidate.chunk_document("d", text, max_words=6, overlap_words=2), "d", text, 6, 2)


def test_chunk_no_redundant_tail(candidate):
    # 8 words, windows of 5 sharing 2: words 0-4 and 3-7; a third window 6-7 would add nothing new
    for n, max_words, overlap in ((8, 5, 2), (9, 5, 2), (10, 4, 3), (7, 4, 3), (12, 3, 0)):
        text = " ".join(f"w{i}" for i in range(n))
        actual = candidate.chunk_document("d", text, max_words=max_words, overlap_words=overlap)
        check_chunks(actual, "d", text, max_words, overlap)


def test_chunk_zero_overlap_and_max_overlap(candidate):
    text = " ".join(f"t{i}" for i in range(11))
    check_chunks(candidate.chunk_document("z", text, max_words=3, overlap_words=0), "z", text, 3, 0)
    check_chunks(candidate.chunk_document("z", text, max_words=3, overlap_words=2), "z", text, 3, 2)


def test_chunk_defaults(candidate):
    text = " ".join(f"word{i}" for i in range(450))
    check_chunks(candidate.chunk_document("long", text), "long", text, 200, 40)


def test_chunk_empty_text(candidate):
    for text in ("", "   ", "\n\t \n", "\u00a0\u3000 \u2003"):
        got = candidate.chunk_document("empty", text, max_words=5, overlap_words=1)
        assert got == [], f"chunk_document('empty', {text!r}) must return [], got {got!r}"


def test_chunk_rejects_bad_overlap(candidate):
    for max_words, overlap in ((5, 5), (5, 7), (5, -1), (0, 0), (1, 1)):
        with expect_raises("ValueError"):
            candidate.chunk_document("d", "a b c d e f g", max_words=max_words, overlap_words=overlap)
    # the arguments are checked whatever the text: an empty document is no excuse
    for text in ("", "  \n\t "):
        for max_words, overlap in ((3, 3), (3, -1)):
            call = f"chunk_document('d', {text!r}, max_words={max_words}, overlap_words={overlap})"
            try:
                with expect_raises("ValueError"):
                    candidate.chunk_document("d", text, max_words=max_words, overlap_words=overlap)
            except AssertionError as error:
                raise AssertionError(f"{call}: {error} (bad overlap_words must raise even for empty text)") from None


WORDS = st.sampled_from(["alpha", "b", "42", "naïve", "e-mail", "(x)", "日本", "Zeta.", "a,b"])
SPACES = st.sampled_from([" ", "  ", "\n", "\t", " \n\n ", "\u00a0", "\u3000"])


@st.composite
def documents(draw) -> str:
    words = draw(st.lists(WORDS, min_size=0, max_size=40))
    parts = [draw(SPACES) if draw(st.booleans()) else ""]
    for word in words:
        parts += [word, draw(SPACES)]
    if parts and words and not draw(st.booleans()):
        parts.pop()
    return "".join(parts)


@settings(max_examples=30, report_multiple_bugs=False)
@given(text=documents(), max_words=st.integers(1, 9), data=st.data())
def test_chunk_properties(candidate, text, max_words, data):
    overlap = data.draw(st.integers(0, max_words - 1), label="overlap_words")
    check_chunks(
        candidate.chunk_document("doc-7", text, max_words=max_words, overlap_words=overlap),
        "doc-7",
        text,
        max_words,
        overlap,
    )


# ---------------------------------------------------------------- BM25Index

SMALL = {
    "a#0": "The cat sat on the mat.",
    "a#1": "The dog chased the cat; the cat ran.",
    "b#0": "Dogs and cats are pets.",
    "b#1": "A bird sang.",
    "c#0": "cat",
}


def test_bm25_scores_small_corpus(candidate):
    for query in ("cat", "the cat", "dog cat mat", "bird", "pets and mat"):
        actual = bm25_search(candidate, SMALL, query, 10)
        expected = oracle.bm25_scores(list(SMALL.items()), query, 1.5, 0.75)
        check_ranking(actual, expected, 10, name=f"BM25Index().search({query!r}, 10)")


def test_bm25_k1_and_b(candidate):
    for k1, b in ((0.0, 0.75), (1.2, 0.0), (2.0, 1.0), (0.5, 0.3)):
        actual = bm25_search(candidate, SMALL, "the cat dog", 10, k1=k1, b=b)
        expected = oracle.bm25_scores(list(SMALL.items()), "the cat dog", k1, b)
        check_ranking(actual, expected, 10, name=f"BM25Index(k1={k1}, b={b}).search('the cat dog', 10)")


def test_bm25_repeated_query_terms_count_once(candidate):
    actual = bm25_search(candidate, SMALL, "cat CAT cat, dog dog", 10)
    expected = oracle.bm25_scores(list(SMALL.items()), "cat dog", 1.5, 0.75)
    check_ranking(actual, expected, 10, name="BM25Index().search('cat CAT cat, dog dog', 10) (distinct query terms)")


def test_bm25_term_in_every_chunk_still_scores(candidate):
    texts = {"x#0": "report one", "x#1": "report two", "x#2": "report three report"}
    actual = bm25_search(candidate, texts, "report", 5)
    expected = oracle.bm25_scores(list(texts.items()), "report", 1.5, 0.75)
    check_ranking(actual, expected, 5, name="BM25Index().search('report', 5) where every chunk has the term")


def test_bm25_tokenization(candidate):
    texts = {
        "t#0": "E-mail: Alice@Example.com, 2FA-code=42!",
        "t#1": "café CAFÉ caf",
        "t#2": "email example 42",
        "t#3": "Straße STRASSE \ufb01le file",  # str.lower, not casefold: "ß" and the "fi" ligature stay
    }
    # the query side too: "Straße" is the terms stra, e (not strasse), "\ufb01le" is le (not file)
    for query in ("e mail", "EXAMPLE.COM", "42", "caf", "2fa", "strasse", "file", "Straße", "\ufb01le"):
        actual = bm25_search(candidate, texts, query, 5)
        expected = oracle.bm25_scores(list(texts.items()), query, 1.5, 0.75)
        check_ranking(actual, expected, 5, name=f"BM25Index().search({query!r}, 5) on {texts}")


def test_bm25_only_positive_scores_and_k(candidate):
    actual = bm25_search(candidate, SMALL, "bird", 10)
    check_ranking(actual, oracle.bm25_scores(list(SMALL.items()), "bird", 1.5, 0.75), 10, name="search('bird', 10)")
    actual = bm25_search(candidate, SMALL, "cat", 2)
    check_ranking(actual, oracle.bm25_scores(list(SMALL.items()), "cat", 1.5, 0.75), 2, name="search('cat', 2)")
    actual = bm25_search(candidate, SMALL, "unicorn", 10)
    assert actual == [], f"search('unicorn', 10) matches no chunk and must return [], got {actual!r}"
    actual = bm25_search(candidate, SMALL, "cat", 0)
    assert actual == [], f"search('cat', 0) asks for no results and must return [], got {actual!r}"


def test_bm25_ties_by_chunk_id(candidate):
    texts = {"d#3": "same words here", "d#1": "same words here", "d#10": "same words here", "d#2": "other words"}
    actual = bm25_search(candidate, texts, "same", 10)
    check_ranking(actual, oracle.bm25_scores(list(texts.items()), "same", 1.5, 0.75), 10, name="search('same', 10)")
    ids = [chunk_id for chunk_id, _ in actual]
    assert ids == ["d#1", "d#10", "d#3"], f"equal scores must be ordered by chunk_id ascending: got {ids}"
    # the tie straddles the cut: of three equal scores, k=2 keeps the two smallest ids (not the first added)
    actual = bm25_search(candidate, texts, "same", 2)
    ids = [chunk_id for chunk_id, _ in actual]
    assert ids == ["d#1", "d#10"], (
        f"search('same', 2) where d#3, d#1, d#10 (added in that order) tie: expected ['d#1', 'd#10'], got {ids}"
    )


def test_bm25_statistics_cover_every_add(candidate):
    # the last add() holds no terms at all: avgdl is still the mean over every chunk
    index = candidate.BM25Index()
    index.add(chunks_of(SMALL))
    termless = {"z#0": "!!!", "z#1": "-- ..."}
    index.add(chunks_of(termless))
    expected = oracle.bm25_scores([*SMALL.items(), *termless.items()], "cat mat", 1.5, 0.75)
    check_ranking(index.search("cat mat", 10), expected, 10, name="search after a last add() of chunks without terms")
    texts = {f"s#{i}": text for i, text in enumerate(list(SMALL.values()) * 2 + ["cat cat cat dog", "mat"])}
    for batches in (2, 3, len(texts)):
        actual = bm25_search(candidate, texts, "cat mat dog", 20, batches=batches)
        expected = oracle.bm25_scores(list(texts.items()), "cat mat dog", 1.5, 0.75)
        check_ranking(actual, expected, 20, name=f"search after {batches} add() calls (N, n and avgdl over all chunks)")


def test_bm25_chunks_without_terms_count(candidate):
    texts = {"p#0": "!!! ---", "p#1": "cat", "p#2": "...", "p#3": "cat dog bird"}
    actual = bm25_search(candidate, texts, "cat", 5)
    expected = oracle.bm25_scores(list(texts.items()), "cat", 1.5, 0.75)
    check_ranking(actual, expected, 5, name="search('cat', 5) with chunks that have no terms (they count in N, avgdl)")


def test_bm25_empty_index_and_empty_query(candidate):
    index = candidate.BM25Index()
    got = index.search("cat", 5)
    assert got == [], f"search on an empty index must return [], got {got!r}"
    index.add(chunks_of(SMALL))
    got = index.search("?! ...", 5)
    assert got == [], f"a query without terms must return [], got {got!r}"


def test_bm25_rejects_bad_parameters(candidate):
    for k1, b in ((-0.1, 0.75), (1.5, -0.01), (1.5, 1.01)):
        with expect_raises("ValueError"):
            candidate.BM25Index(k1=k1, b=b)


def test_bm25_add_after_search(candidate):
    # statistics computed (or cached) by a search must follow every later add
    texts = {f"s#{i}": text for i, text in enumerate([*SMALL.values(), "cat cat cat dog", "mat", "!!"])}
    records = chunks_of(texts)
    index = candidate.BM25Index()
    index.add([])
    for start, end in ((0, 3), (3, 6), (6, len(records))):
        index.add(records[start:end])
        indexed = list(texts.items())[:end]
        for query in ("cat", "cat mat dog"):
            expected = oracle.bm25_scores(indexed, query, 1.5, 0.75)
            check_ranking(index.search(query, 20), expected, 20, name=f"search({query!r}, 20) after {end} chunks added")


def test_bm25_indexes_are_independent(candidate):
    first, second = candidate.BM25Index(), candidate.BM25Index(k1=0.9, b=0.4)
    first.add(chunks_of(SMALL))
    other = {"o#0": "cat dog", "o#1": "fish sun sun"}
    second.add(chunks_of(other))
    check_ranking(
        first.search("cat sun", 10),
        oracle.bm25_scores(list(SMALL.items()), "cat sun", 1.5, 0.75),
        10,
        name="the first of two BM25Index objects",
    )
    check_ranking(
        second.search("cat sun", 10),
        oracle.bm25_scores(list(other.items()), "cat sun", 0.9, 0.4),
        10,
        name="the second of two BM25Index objects (its own chunks, k1 and b)",
    )


VOCAB = ["cat", "dog", "mat", "sat", "the", "bird", "Fish", "7", "sun"]


@settings(max_examples=30, report_multiple_bugs=False)
@given(
    texts=st.lists(st.lists(st.sampled_from(VOCAB + ["!", "--"]), max_size=12).map(" ".join), min_size=1, max_size=12),
    query=st.lists(st.sampled_from(VOCAB + ["moon"]), min_size=1, max_size=4).map(" ".join),
    k1=st.floats(0, 3),
    b=st.floats(0, 1),
    k=st.integers(1, 14),
    batches=st.integers(1, 3),
)
def test_bm25_matches_formula(candidate, texts, query, k1, b, k, batches):
    corpus = {f"c#{i}": text for i, text in enumerate(texts)}
    actual = bm25_search(candidate, corpus, query, k, k1=k1, b=b, batches=batches)
    expected = oracle.bm25_scores(list(corpus.items()), query, k1, b)
    check_ranking(actual, expected, k, name=f"BM25Index(k1={k1!r}, b={b!r}).search({query!r}, {k}) on {corpus}")


def test_bm25_search_does_not_rescan_corpus(candidate):
    # 10,000 chunks, 400 searches: compute the statistics in add(), never per search
    rng = random.Random(3)
    vocab = [f"term{i}" for i in range(5000)]
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(vocab))))  # Zipf-like term frequencies
    terms = rng.choices(vocab, cum_weights=cumulative, k=20 * 10000)
    records = [chunk(f"big#{i}", " ".join(terms[20 * i : 20 * i + 20])) for i in range(10000)]
    index = candidate.BM25Index()
    index.add(records)
    queries = [" ".join(rng.sample(vocab[100:], 3)) for _ in range(400)]
    seconds = 0.0
    for query in queries:
        index.search(query, 10)
        seconds += candidate.last_call.cpu_s  # CPU time: a busy machine must not turn this into a failure
    assert seconds < 5, (
        f"400 searches over 10,000 chunks took {seconds:.1f} s of CPU; precompute term statistics in add()"
    )
    probe = index.search(queries[0], 10)
    assert len(probe) > 0, "search found nothing for a query whose terms occur in the corpus"


# ---------------------------------------------------------------- VectorIndex


def test_vector_cosine_scores(candidate):
    texts = {f"v#{i}": f"text {i}" for i in range(12)}
    table = random_table([*texts.values(), "query"], seed=11, scale=3.0)
    for k in (1, 5, 12, 30):
        actual, expected, _ = vector_case(candidate, table, texts, "query", k)
        check_ranking(actual, expected, k, name=f"VectorIndex.search('query', {k})", dtype="float32")


def test_vector_multiple_adds(candidate):
    texts = {f"m#{i}": f"text {i}" for i in range(9)}
    table = random_table([*texts.values(), "q"], seed=5)
    actual, expected, embed = vector_case(candidate, table, texts, "q", 9, batches=3)
    check_ranking(actual, expected, 9, name="VectorIndex.search('q', 9) after 3 add() calls", dtype="float32")
    assert embed.count == 4, f"3 add() calls and 1 search should call embed 4 times, it was called {embed.count} times"


def test_vector_embeds_in_batches(candidate):
    texts = {f"e#{i}": f"passage number {i}" for i in range(25)}
    table = random_table([*texts.values(), "find me"], seed=2)
    embed = CallLog(table_embed(table))
    index = candidate.VectorIndex(embed)
    index.add(chunks_of(texts))
    assert embed.count == 1, (
        f"add() of 25 chunks must call embed once with all 25 texts, it called embed {embed.count} times"
    )
    (batch,) = embed.calls[0]
    assert list(batch) == list(texts.values()), f"embed got {list(batch)[:5]}..., expected the chunks' texts in order"
    index.search("find me", 3)
    assert embed.count == 2, f"one search must call embed once (with [query]); total calls {embed.count}, expected 2"
    assert list(embed.calls[1][0]) == ["find me"], f"search must embed [query], embed got {embed.calls[1][0]!r}"


def test_vector_ties_by_chunk_id(candidate):
    table = {"same": [1.0, 2.0, 0.5], "other": [-1.0, 0.0, 0.0], "q": [1.0, 1.0, 1.0]}
    texts = {"t#2": "same", "t#10": "same", "t#0": "other", "t#1": "same"}
    actual, expected, _ = vector_case(candidate, table, texts, "q", 4)
    check_ranking(actual, expected, 4, name="VectorIndex.search('q', 4) with identical embeddings", dtype="float32")
    ids = [chunk_id for chunk_id, _ in actual]
    assert ids == ["t#1", "t#10", "t#2", "t#0"], f"equal cosines must be ordered by chunk_id ascending: got {ids}"
    # the tie straddles the cut: k=2 keeps the two smallest ids of the three equal cosines
    actual, _, _ = vector_case(candidate, table, texts, "q", 2)
    ids = [chunk_id for chunk_id, _ in actual]
    assert ids == ["t#1", "t#10"], (
        f"VectorIndex.search('q', 2) where t#2, t#10, t#1 (added in that order) tie: expected ['t#1', 't#10'], got {ids}"
    )


def test_vector_scale_invariant(candidate):
    texts = {f"s#{i}": f"text {i}" for i in range(6)}
    table = random_table([*texts.values(), "query"], seed=8)
    table["text 0"] = [1e-4 * x for x in table["text 0"]]
    table["text 1"] = [1e4 * x for x in table["text 1"]]
    actual, expected, _ = vector_case(candidate, table, texts, "query", 6)
    check_ranking(actual, expected, 6, name="VectorIndex.search with embeddings of norm 1e-4 and 1e4", dtype="float32")


def test_vector_half_precision_large_values(candidate):
    # float16 embeddings of norm ~1600: a dot product before normalising overflows float16 (max 65504)
    texts = {f"h#{i}": f"text {i}" for i in range(8)}
    table = random_table([*texts.values(), "query"], seed=4, dim=64, scale=200.0)
    actual, expected, _ = vector_case(candidate, table, texts, "query", 8, dtype=torch.float16)
    for chunk_id, score in actual:
        assert math.isfinite(score), (
            f"cosine of {chunk_id!r} is {score} for float16 embeddings of norm ~1600 (overflow?)"
        )
    check_ranking(actual, expected, 8, name="VectorIndex.search on float16 embeddings of norm ~1600", dtype="float16")
    # entries up to ~60,000, rows of norm ~1e5: the norm itself overflows float16 (normalising in float16 gives 0)
    table = {
        text: [max(-60000.0, min(60000.0, x)) for x in row]
        for text, row in random_table([*texts.values(), "query"], seed=6, dim=16, scale=25000.0).items()
    }
    actual, expected, _ = vector_case(candidate, table, texts, "query", 8, dtype=torch.float16)
    check_ranking(
        actual, expected, 8, name="VectorIndex.search on float16 embeddings (query too) of norm ~1e5", dtype="float16"
    )


def test_vector_empty_index(candidate):
    embed = CallLog(table_embed({"q": [1.0, 0.0]}))
    got = candidate.VectorIndex(embed).search("q", 3)
    assert got == [], f"search on an empty VectorIndex must return [], got {got!r}"


def test_vector_add_after_search(candidate):
    texts = {f"a#{i}": f"text {i}" for i in range(8)}
    table = random_table([*texts.values(), "q"], seed=9)
    index = candidate.VectorIndex(table_embed(table))
    records = chunks_of(texts)
    ids = list(texts)
    for start, end in ((0, 3), (3, 8)):
        index.add(records[start:end])
        expected = oracle.cosine_scores(
            ids[:end], table_embed(table)([texts[i] for i in ids[:end]]), table_embed(table)(["q"])
        )
        check_ranking(
            index.search("q", 8),
            expected,
            8,
            name=f"VectorIndex.search('q', 8) after {end} chunks added",
            dtype="float32",
        )
    got = index.search("q", 0)
    assert got == [], f"search('q', 0) asks for no results and must return [], got {got!r}"


def test_vector_add_of_nothing_calls_no_embed(candidate):
    def embed(texts):
        assert texts, "embed called with no texts"
        return table_embed({"one": [1.0, 0.0], "q": [1.0, 1.0]})(texts)

    log = CallLog(embed)
    index = candidate.VectorIndex(log)
    index.add([])
    assert log.count == 0, f"add([]) must not call embed, it called it {log.count} times"
    got = index.search("q", 3)
    assert got == [], f"search after add([]) must return [] (nothing indexed), got {got!r}"
    index.add([chunk("o#0", "one")])
    index.add([])
    check_ranking(
        index.search("q", 3), {"o#0": math.sqrt(0.5)}, 3, name="search after add([one]), add([])", dtype="float32"
    )


def test_vector_float64_embeddings(candidate):
    texts = {f"f#{i}": f"text {i}" for i in range(6)}
    table = random_table([*texts.values(), "query"], seed=13)
    actual, expected, _ = vector_case(candidate, table, texts, "query", 6, dtype=torch.float64, batches=2)
    check_ranking(actual, expected, 6, name="VectorIndex.search on float64 embeddings (two add calls)", dtype="float32")


def test_vector_indexes_are_independent(candidate):
    table = random_table(["x", "y", "z", "q"], seed=21)
    first, second = candidate.VectorIndex(table_embed(table)), candidate.VectorIndex(table_embed(table))
    first.add(chunks_of({"p#0": "x", "p#1": "y"}))
    second.add(chunks_of({"r#0": "z"}))
    for index, texts, name in ((first, {"p#0": "x", "p#1": "y"}, "first"), (second, {"r#0": "z"}, "second")):
        ids = list(texts)
        expected = oracle.cosine_scores(ids, table_embed(table)(list(texts.values())), table_embed(table)(["q"]))
        check_ranking(index.search("q", 5), expected, 5, name=f"the {name} of two VectorIndex objects", dtype="float32")


def test_indexes_leave_caller_data_alone(candidate):
    # runs in the worker (driver.caller_data): lists and tensors cross the process boundary as copies
    texts = [f"text {i} cat" for i in range(7)] + ["query cat"]
    rows = random_table(texts, seed=17, dim=8, scale=5.0)
    ids = [f"k#{i}" for i in range(7)]
    batches = [dict(zip(ids[a:b], texts[a:b], strict=True)) for a, b in ((0, 3), (3, 5), (5, 7))]
    table = [rows[text] for text in texts]
    seen = candidate.driver.caller_data(batches, "query cat", table, texts)
    sent = [list(batch) for batch in batches]
    for index, name in (("bm25", "BM25Index"), ("vector", "VectorIndex")):
        held = seen[f"{index}_lists"]
        assert held == sent, (
            f"{name}.add(list) three times, with searches between: the caller's lists hold {held} afterwards, "
            f"they were {sent} (the index must not keep and extend the caller's list)"
        )
    expected = torch.tensor(table, dtype=torch.float32)
    changed = (seen["table"] != expected).any(dim=1).nonzero().flatten().tolist()
    if changed:
        row = changed[0]
        raise AssertionError(
            "VectorIndex.add/search wrote into the tensors embed returned (views of the caller's embedding table): "
            f"rows {changed} changed, row {row} holds {seen['table'][row].tolist()[:3]}... instead of "
            f"{table[row][:3]}... (normalise a copy, not in place)"
        )


# ---------------------------------------------------------------- reciprocal_rank_fusion


def test_rrf_example(candidate):
    rankings = [["a", "b", "c"], ["b", "c", "d"], ["d"]]
    for k in (60, 0, 5):
        actual = candidate.reciprocal_rank_fusion(rankings, k=k)
        expected = oracle.rrf_scores(rankings, k)
        check_ranking(actual, expected, len(expected), name=f"reciprocal_rank_fusion({rankings}, k={k})")


def test_rrf_default_k_and_rank_from_one(candidate):
    actual = candidate.reciprocal_rank_fusion([["only"]])
    assert actual == [("only", 1 / 61)], f"one id at rank 1 with the default k=60 scores 1/61, got {actual!r}"


def test_rrf_equal_rank_multisets_tie_exactly(candidate):
    # "doc-b" has ranks (1, 2, 7), "doc-a" has ranks (7, 1, 2): the same multiset, so exactly the same score
    filler = [f"f{i}" for i in range(5)]
    rankings = [
        ["doc-b", *filler, "doc-a"],
        ["doc-a", "doc-b", *filler],
        ["f0", "doc-a", *filler[1:], "doc-b"],
    ]
    actual = candidate.reciprocal_rank_fusion(rankings)
    scores = dict(actual)
    assert scores["doc-a"] == scores["doc-b"], (
        f"doc-a (ranks 7, 1, 2) and doc-b (ranks 1, 2, 7) must score exactly the same, got {scores['doc-a']!r} "
        f"and {scores['doc-b']!r}: sum the terms with math.fsum"
    )
    check_ranking(
        actual, oracle.rrf_scores(rankings), len(scores), name="reciprocal_rank_fusion with equal rank multisets"
    )


def test_rrf_rejects_negative_k(candidate):
    with expect_raises("ValueError"):
        candidate.reciprocal_rank_fusion([["a"]], k=-1)


@settings(max_examples=30, report_multiple_bugs=False)
@given(
    rankings=st.lists(
        st.lists(st.sampled_from([f"id{i}" for i in range(10)]), unique=True, max_size=10), min_size=0, max_size=5
    ),
    k=st.integers(0, 100),
)
def test_rrf_matches_formula(candidate, rankings, k):
    actual = candidate.reciprocal_rank_fusion(rankings, k=k)
    expected = oracle.rrf_scores(rankings, k)
    check_ranking(actual, expected, len(expected), name=f"reciprocal_rank_fusion({rankings}, k={k})")
    ranks: dict[str, list[int]] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            ranks.setdefault(item, []).append(rank)
    by_multiset: dict[tuple[int, ...], set[float]] = {}
    got = dict(actual)
    for item, item_ranks in ranks.items():
        by_multiset.setdefault(tuple(sorted(item_ranks)), set()).add(got[item])
    for multiset, values in by_multiset.items():
        assert len(values) == 1, (
            f"ids with the same ranks {multiset} got different scores {sorted(values)}: use math.fsum"
        )


# ---------------------------------------------------------------- RAGPipeline: retrieval


def test_pipeline_rejects_bad_options(candidate):
    for options in ({"top_k": 0}, {"candidates": 0}, {"max_words": 5, "overlap_words": 5}, {"overlap_words": -1}):
        with expect_raises("ValueError"):
            candidate.RAGPipeline(concept_embed, lambda prompt: "", **options)
    # the smallest legal settings
    options = {"top_k": 1, "candidates": 1, "max_words": 1, "overlap_words": 0}
    rag = candidate.RAGPipeline(concept_embed, lambda prompt: "", **options)
    docs = {"net": "vpn router", "print": "printer toner"}
    rag.add_documents(docs)
    check_retrieve(rag, docs, "router", f"RAGPipeline(**{options}).retrieve('router')", **options)


def test_retrieve_with_nothing_indexed_or_no_lexical_match(candidate):
    rag = pipeline(candidate)
    got = rag.retrieve(LEXICAL_QUESTION)
    assert got == [], f"retrieve on an empty pipeline must return [], got {got!r}"
    docs = help_desk_corpus()
    rag.add_documents(docs)
    # no indexed chunk holds a query term: BM25 returns nothing, the fused list is the vector ranking alone
    query = "automobile journey reimbursement"
    check_retrieve(rag, docs, query, f"retrieve({query!r}) (no chunk has a query term)")


def test_hybrid_finds_rare_identifier(candidate):
    rag = pipeline(candidate)
    rag.add_documents(help_desk_corpus())
    call = f"retrieve({LEXICAL_QUESTION!r})"
    ids = retrieved_ids(rag.retrieve(LEXICAL_QUESTION), call)
    assert LEXICAL_ANSWER in ids, (
        f"{call} returned {ids}: the only chunk that mentions the identifier ({LEXICAL_ANSWER}) is missing; "
        "the embedding does not know the identifier, so BM25 has to find it"
    )
    expected = [c["chunk_id"] for c in oracle_retrieve(help_desk_corpus(), LEXICAL_QUESTION)]
    assert ids == expected, f"{call} returned {ids}, expected {expected}"


def test_hybrid_finds_paraphrase(candidate):
    rag = pipeline(candidate)
    rag.add_documents(help_desk_corpus())
    call = f"retrieve({SEMANTIC_QUESTION!r})"
    ids = retrieved_ids(rag.retrieve(SEMANTIC_QUESTION), call)
    assert SEMANTIC_ANSWER in ids, (
        f"{call} returned {ids}: the answering chunk ({SEMANTIC_ANSWER}) shares no word with the question, "
        "only the vector index can find it"
    )
    expected = [c["chunk_id"] for c in oracle_retrieve(help_desk_corpus(), SEMANTIC_QUESTION)]
    assert ids == expected, f"{call} returned {ids}, expected {expected}"


def test_retrieve_matches_fusion_of_both_indexes(candidate):
    docs = help_desk_corpus()
    for options in ({}, {"top_k": 6, "candidates": 5}, {"top_k": 2, "candidates": 1}):
        rag = pipeline(candidate, **options)
        rag.add_documents(docs)
        for query in QUERIES:
            check_retrieve(rag, docs, query, f"RAGPipeline(**{options}).retrieve({query!r})", **options)


def test_retrieve_multi_chunk_documents(candidate):
    docs = {
        "guide": "Set up the vpn client first. Then open the router page and check the network. "
        "If the wifi drops, restart the router. Report any failure to the desk.",
        "faq": "Holiday requests go through the calendar. Leave is approved by your manager.",
        "misc": "The printer on floor two needs toner. Paper is in the cupboard.",
    }
    options = {"max_words": 8, "overlap_words": 3, "top_k": 5, "candidates": 4}
    rag = pipeline(candidate, **options)
    rag.add_documents(docs)
    for query in ("restart the router when wifi drops", "vacation approval"):
        check_retrieve(rag, docs, query, f"retrieve({query!r}) with max_words=8, overlap_words=3", **options)
    options = {"max_words": 6, "overlap_words": 0, "top_k": 4, "candidates": 6}
    rag = pipeline(candidate, **options)
    rag.add_documents(docs)
    check_retrieve(rag, docs, "router wifi", "retrieve('router wifi') with max_words=6, overlap_words=0", **options)


def test_add_documents_embeds_once_per_call(candidate):
    embed = CallLog(concept_embed)
    rag = pipeline(candidate, embed=embed)
    docs = help_desk_corpus()
    names = list(docs)
    rag.add_documents({name: docs[name] for name in names[:20]})
    assert embed.count == 1, f"add_documents with 20 documents must call embed once, it called it {embed.count} times"
    rag.add_documents({name: docs[name] for name in names[20:]})
    assert embed.count == 2, f"a second add_documents must call embed once more; total calls {embed.count}, expected 2"
    ids = retrieved_ids(rag.retrieve(LEXICAL_QUESTION), "retrieve after two add_documents")
    assert embed.count == 3, (
        f"retrieve must call embed exactly once (for the query); total calls {embed.count}, expected 3"
    )
    expected = [c["chunk_id"] for c in oracle_retrieve(docs, LEXICAL_QUESTION)]
    assert ids == expected, f"after adding the corpus in two calls, retrieve returned {ids}, expected {expected}"


def test_pipeline_defaults(candidate):
    # RAGPipeline(embed, llm): top_k=4, candidates=20, max_words=200, overlap_words=40; a reranker
    # that prefers long texts puts the handbook's three chunks first and shows every fused candidate
    docs = {**help_desk_corpus(), "handbook": handbook_doc()}
    reranker = CallLog(lambda query, texts: [float(len(text)) for text in texts])
    rag = candidate.RAGPipeline(concept_embed, lambda prompt: "", reranker=reranker)
    rag.add_documents(docs)
    options = {"max_words": 200, "overlap_words": 40, "reranker": reranker.function}
    call = f"RAGPipeline(embed, llm, reranker=...).retrieve({DEFAULTS_QUESTION!r}) (default settings)"
    check_retrieve(rag, docs, DEFAULTS_QUESTION, call, **options)
    fused = oracle_retrieve(docs, DEFAULTS_QUESTION, top_k=10**6, max_words=200, overlap_words=40)
    (_, texts) = reranker.calls[-1]
    assert Counter(texts) == Counter(c["text"] for c in fused), (
        f"{call}: the reranker got {len(texts)} texts, expected the {len(fused)} fused candidates of the BM25 top 20 "
        "and the vector top 20 (default candidates=20)"
    )


def test_add_documents_after_answer(candidate):
    # nothing computed for one query (caches, statistics, a stacked matrix) may go stale after a later add
    docs = help_desk_corpus()
    later = ["runbook-backup", "policy-mileage", *list(docs)[30:36]]  # the two answers arrive second
    first = {name: text for name, text in docs.items() if name not in later}
    rag = pipeline(candidate)
    rag.add_documents(first)
    for query in (LEXICAL_QUESTION, SEMANTIC_QUESTION):
        check_retrieve(rag, first, query, f"retrieve({query!r}) before the second add_documents")
    rag.answer(LEXICAL_QUESTION)
    rag.add_documents({name: docs[name] for name in later})
    for query in (LEXICAL_QUESTION, SEMANTIC_QUESTION):
        check_retrieve(rag, docs, query, f"retrieve({query!r}) after a second add_documents")


def test_pipelines_are_independent(candidate):
    docs = help_desk_corpus()
    names = list(docs)
    one, two = {name: docs[name] for name in names[:30]}, {name: docs[name] for name in names[30:]}
    first, second = pipeline(candidate), pipeline(candidate, top_k=3)
    first.add_documents(one)
    second.add_documents(two)
    check_retrieve(first, one, QUERIES[2], "the first of two pipelines")
    check_retrieve(second, two, QUERIES[2], "the second of two pipelines (its own documents)", top_k=3)


def test_reranker_reorders_all_fused_candidates(candidate):
    docs = help_desk_corpus()
    reranker = CallLog(crc_reranker)
    rag = pipeline(candidate, reranker=reranker, top_k=5, candidates=8)
    rag.add_documents(docs)
    for query in (LEXICAL_QUESTION, SEMANTIC_QUESTION, QUERIES[0]):
        before = reranker.count
        call = f"retrieve({query!r}) with a reranker, top_k=5, candidates=8"
        ids = retrieved_ids(rag.retrieve(query), call)
        assert reranker.count == before + 1, (
            f"{call}: the reranker must be called once, it was called {reranker.count - before} times"
        )
        got_query, texts = reranker.calls[-1]
        fused = oracle_retrieve(docs, query, top_k=10**6, candidates=8)
        assert got_query == query, f"{call}: the reranker got query {got_query!r}"
        assert Counter(texts) == Counter(c["text"] for c in fused), (
            f"{call}: the reranker must score every fused candidate ({len(fused)} texts), it got {len(texts)}"
        )
        expected = [c["chunk_id"] for c in oracle_retrieve(docs, query, top_k=5, candidates=8, reranker=crc_reranker)]
        assert ids == expected, (
            f"{call} returned {ids}, expected {expected} (fused candidates sorted by reranker score)"
        )


def test_reranker_with_duplicate_texts(candidate):
    # two documents with the same text are two chunks, and the reranker scores both
    docs = {**help_desk_corpus(), "runbook-copy": KEY_DOCS["runbook-backup"]}
    options = {"top_k": 6, "candidates": 6, "reranker": crc_reranker}
    rag = pipeline(candidate, **options)
    rag.add_documents(docs)
    call = "retrieve with a reranker and two documents with the same text"
    ids = retrieved_ids(rag.retrieve(LEXICAL_QUESTION), call)
    expected = [c["chunk_id"] for c in oracle_retrieve(docs, LEXICAL_QUESTION, **options)]
    copies = {"runbook-backup#0", "runbook-copy#0"}
    assert copies <= set(ids), f"{call}: both copies must be retrieved, got {ids}"
    # the copies score the same everywhere, so either may come first
    same = [("copy" if i in copies else i) for i in ids] == [("copy" if i in copies else i) for i in expected]
    assert same, f"{call} returned {ids}, expected {expected}"


def test_reranker_ties_keep_fused_order(candidate):
    docs = help_desk_corpus()
    rag = pipeline(candidate, reranker=lambda query, texts: [1.0] * len(texts))
    rag.add_documents(docs)
    ids = retrieved_ids(rag.retrieve(QUERIES[1]), "retrieve with a constant reranker")
    expected = [c["chunk_id"] for c in oracle_retrieve(docs, QUERIES[1])]
    assert ids == expected, f"a reranker that scores everything equally must keep the fused order {expected}, got {ids}"


# ---------------------------------------------------------------- RAGPipeline: answers


def test_prompt_contains_labelled_chunks(candidate):
    docs = help_desk_corpus()
    llm = CallLog(lambda prompt: "The answer [runbook-backup#0].")
    rag = pipeline(candidate, llm=llm)
    rag.add_documents(docs)
    rag.answer(LEXICAL_QUESTION)
    assert llm.count == 1, f"answer() must call the llm exactly once, it called it {llm.count} times"
    (prompt,) = llm.calls[0]
    assert isinstance(prompt, str), f"the llm must get one str prompt, got {type(prompt).__name__}"
    assert LEXICAL_QUESTION in prompt, "the prompt does not contain the question"
    assert "cite" in prompt.lower(), "the prompt must tell the model to cite chunk ids in square brackets (no 'cite')"
    retrieved = oracle_retrieve(docs, LEXICAL_QUESTION)
    positions = []
    for c in retrieved:
        label = f"[{c['chunk_id']}]"
        assert label in prompt, f"the prompt lacks the label {label} of a retrieved chunk"
        assert c["text"] in prompt, f"the prompt lacks the text of retrieved chunk {c['chunk_id']}: {c['text']!r}"
        label_at = prompt.index(label)
        assert prompt.find(c["text"], label_at) > label_at, f"the text of {c['chunk_id']} must follow its label {label}"
        positions.append(label_at)
    assert positions == sorted(positions), "the chunks must appear in the prompt in retrieval order"
    others = {f"{doc_id}#0" for doc_id in docs} - {c["chunk_id"] for c in retrieved}
    leaked = sorted(o for o in others if f"[{o}]" in prompt)
    assert not leaked, f"the prompt contains chunks that were not retrieved: {leaked[:5]}"


def test_answer_retrieves_once(candidate):
    # answer = one retrieval: one query embedding, one reranker call, one llm call
    docs = help_desk_corpus()
    embed, reranker = CallLog(concept_embed), CallLog(crc_reranker)
    llm = CallLog(lambda prompt: "I do not know.")
    rag = pipeline(candidate, embed=embed, llm=llm, reranker=reranker)
    rag.add_documents(docs)
    for query in (LEXICAL_QUESTION, SEMANTIC_QUESTION):
        embeds, reranks, llms = embed.count, reranker.count, llm.count
        rag.answer(query)
        counts = (embed.count - embeds, reranker.count - reranks, llm.count - llms)
        assert counts == (1, 1, 1), (
            f"answer({query!r}) with a reranker called embed {counts[0]}, the reranker {counts[1]} and the llm "
            f"{counts[2]} times; one retrieval per answer: each exactly once"
        )


def test_citations_only_retrieved_ids(candidate):
    docs = help_desk_corpus()
    retrieved = [c["chunk_id"] for c in oracle_retrieve(docs, SEMANTIC_QUESTION)]
    first, second, third, fourth = retrieved[1], retrieved[0], retrieved[3], retrieved[2]
    reply = (
        f" Mileage is repaid [{first}]. See also [made-up#3] and [memo-40#0]\n"
        f"and [{second}], again [{first}] [ {second} ] [{first}, {second}] [{fourth.upper()}] [see [{third}]].\n"
        f"Maybe [ {fourth} ] or [{fourth} ].\n"
    )
    llm = CallLog(lambda prompt: reply)
    rag = pipeline(candidate, llm=llm)
    rag.add_documents(docs)
    answer = rag.answer(SEMANTIC_QUESTION)
    assert isinstance(answer, Record) and answer.type_name == "Answer", (
        f"answer() must return an Answer, got {answer!r}"
    )
    assert answer.text == reply, f"Answer.text must be the llm reply unchanged, got {answer.text!r}"
    assert answer.citations == [first, second, third], (
        f"the reply cites {first}, made-up#3 (invented), memo-40#0 (indexed but not retrieved), {second}, "
        f"{fourth.upper()} and [ {fourth} ] (not ids: ids match exactly, case and spaces included) and [{third}] "
        "inside other brackets; citations must be "
        f"{[first, second, third]} (retrieved ids, first appearance order), got {answer.citations!r}"
    )


def test_citations_are_per_answer(candidate):
    # an id retrieved for an earlier question is not in this answer's context
    docs = help_desk_corpus()
    earlier = [c["chunk_id"] for c in oracle_retrieve(docs, LEXICAL_QUESTION)]
    now = [c["chunk_id"] for c in oracle_retrieve(docs, SEMANTIC_QUESTION)]
    stale = [chunk_id for chunk_id in earlier if chunk_id not in now]
    reply = " ".join(f"[{chunk_id}]" for chunk_id in [*earlier, *now])
    rag = pipeline(candidate, llm=lambda prompt: reply)
    rag.add_documents(docs)
    rag.answer(LEXICAL_QUESTION)
    answer = rag.answer(SEMANTIC_QUESTION)
    expected = [chunk_id for chunk_id in dict.fromkeys([*earlier, *now]) if chunk_id in now]
    assert answer.citations == expected, (
        f"the second answer's context is {now}; {stale} were retrieved only for the first question and must be "
        f"dropped: citations must be {expected}, got {answer.citations!r}"
    )


def test_citations_none(candidate):
    reply = "\n  Nothing in the context answers this. [not a citation\t\n"
    rag = pipeline(candidate, llm=lambda prompt: reply)
    rag.add_documents(help_desk_corpus())
    answer = rag.answer("what is the wifi password for guests")
    assert answer.text == reply and answer.citations == [], f"expected Answer({reply!r}, []), got {answer!r}"


def test_answer_without_documents_raises(candidate):
    llm = CallLog(lambda prompt: "made up")
    embed = CallLog(concept_embed)
    rag = pipeline(candidate, embed=embed, llm=llm)
    with expect_raises("ValueError"):
        rag.answer("anything?")
    rag.add_documents({})
    rag.add_documents({"blank": "  \n "})
    assert embed.calls == [], f"add_documents that yields no chunks must not call embed, it got {embed.calls}"
    with expect_raises("ValueError"):
        rag.answer("anything?")
    assert llm.count == 0, f"answer() with nothing indexed must not call the llm, it called it {llm.count} times"
