"""Public tests for rag-pipeline: the statement's examples, runnable with `judge test`."""

from __future__ import annotations

import math
import re

import torch

from judge_harness import Record, expect_raises


def chunk(chunk_id: str, text: str) -> Record:
    return Record("Chunk", doc_id=chunk_id.split("#")[0], chunk_id=chunk_id, text=text, start=0, end=len(text))


def test_chunk_document_example(candidate):
    got = candidate.chunk_document("d", "a b  c\nd e f g", max_words=4, overlap_words=1)
    assert got == [
        Record("Chunk", doc_id="d", chunk_id="d#0", text="a b  c\nd", start=0, end=8),
        Record("Chunk", doc_id="d", chunk_id="d#1", text="d e f g", start=7, end=14),
    ], f"got {got}"


def test_chunk_document_rejects_bad_overlap(candidate):
    with expect_raises("ValueError"):
        candidate.chunk_document("d", "a b c", max_words=3, overlap_words=3)


def test_bm25_example(candidate):
    index = candidate.BM25Index()
    index.add([chunk("x#0", "the cat sat"), chunk("x#1", "the dog")])
    got = index.search("cat", 5)
    # N = 2, n = 1, tf = 1, dl = 3, avgdl = 2.5, k1 = 1.5, b = 0.75
    expected = math.log(1 + 1.5 / 1.5) * 2.5 / (1 + 1.5 * (1 - 0.75 + 0.75 * 3 / 2.5))
    assert [chunk_id for chunk_id, _ in got] == ["x#0"], f"expected only x#0, got {got}"
    assert math.isclose(got[0][1], expected, rel_tol=1e-7), f"score {got[0][1]!r}, expected {expected!r}"


def test_rrf_example(candidate):
    got = candidate.reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    expected = [("b", math.fsum([1 / 62, 1 / 61])), ("a", 1 / 61), ("c", 1 / 62)]
    assert [i for i, _ in got] == ["b", "a", "c"], f"order {got}"
    for (_, score), (item, want) in zip(got, expected, strict=True):
        assert math.isclose(score, want, rel_tol=1e-9), f"score of {item}: {score!r}, expected {want!r}"


def table_embed(texts: list[str]) -> torch.Tensor:
    """A toy embedding: counts of a few keywords, one axis each."""
    axes = ["refund", "money", "leave", "holiday", "days"]
    rows = [[float(len(re.findall(axis, text.lower()))) + 0.01 for axis in axes] for text in texts]
    return torch.tensor(rows)


def test_vector_index_calls_embed_once_per_add(candidate):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return table_embed(texts)

    index = candidate.VectorIndex(embed)
    index.add([chunk("a#0", "refund money"), chunk("b#0", "leave holiday"), chunk("c#0", "refund days")])
    assert len(calls) == 1, f"add() must embed all chunks in one call, embed was called {len(calls)} times"
    got = index.search("money refund", 2)
    assert [i for i, _ in got] == ["a#0", "c#0"], f"got {got}"


def test_answer_example(candidate):
    prompts = []

    def llm(prompt):
        prompts.append(prompt)
        return "Five days [faq#0] [faq#9]"

    rag = candidate.RAGPipeline(table_embed, llm, top_k=2)
    rag.add_documents({"faq": "Refunds take five days.", "hr": "Leave needs approval."})
    answer = rag.answer("how long do refunds take")
    assert answer == Record("Answer", text="Five days [faq#0] [faq#9]", citations=["faq#0"]), f"got {answer}"
    assert len(prompts) == 1, f"the llm must be called once, it was called {len(prompts)} times"
    for label, text in (("[faq#0]", "Refunds take five days."), ("[hr#0]", "Leave needs approval.")):
        assert label in prompts[0] and text in prompts[0], f"the prompt lacks {label} {text}"


def test_answer_without_documents(candidate):
    rag = candidate.RAGPipeline(table_embed, lambda prompt: "never called")
    with expect_raises("ValueError"):
        rag.answer("anything?")
