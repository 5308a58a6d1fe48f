"""Checker-side helpers for rag-pipeline's hidden tests: building inputs, calling the candidate, checking results.

Expected values come from rag_oracle (the statement's formulas in float64) and rag_corpus
(a concept embedding function and a help-desk corpus).
"""

from __future__ import annotations

import math
import re
import zlib

import rag_oracle as oracle
import torch
from rag_corpus import concept_embed
from rag_oracle import CallLog

from judge_harness import Record


def chunk(chunk_id: str, text: str) -> Record:
    doc_id = chunk_id.split("#")[0]
    return Record("Chunk", doc_id=doc_id, chunk_id=chunk_id, text=text, start=0, end=len(text))


def chunks_of(texts: dict[str, str]) -> list[Record]:
    return [chunk(chunk_id, text) for chunk_id, text in texts.items()]


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def check_chunks(actual: object, doc_id: str, text: str, max_words: int, overlap_words: int) -> None:
    call = f"chunk_document({doc_id!r}, text, max_words={max_words}, overlap_words={overlap_words}) on {text!r:.200}"
    expected = oracle.expected_chunks(doc_id, text, max_words, overlap_words)
    assert isinstance(actual, list), f"{call}: expected a list of Chunk, got {type(actual).__name__}"
    for i, got in enumerate(actual):
        assert isinstance(got, Record) and got.type_name == "Chunk", f"{call}: item {i} is {got!r}, not a Chunk"
        start, end = got.start, got.end
        assert isinstance(start, int) and isinstance(end, int), f"{call}: chunk {i} has start={start!r}, end={end!r}"
        assert got.text == text[start:end], (
            f"{call}: chunk {i}: text must equal document[start:end] = {text[start:end]!r} "
            f"(start={start}, end={end}), got {got.text!r}"
        )
    got_sizes = [word_count(c.text) for c in actual]
    want_sizes = [word_count(c["text"]) for c in expected]
    assert len(actual) == len(expected), (
        f"{call}: {len(actual)} chunks with word counts {got_sizes}, expected {len(expected)} with {want_sizes} "
        f"({word_count(text)} words; consecutive chunks share exactly overlap_words words, "
        "and no chunk may consist only of words the previous chunk already covers)"
    )
    for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
        wrong = {name: (getattr(got, name), want[name]) for name in want if getattr(got, name) != want[name]}
        assert not wrong, f"{call}: chunk {i}: " + "; ".join(
            f"{k} is {g!r}, expected {w!r}" for k, (g, w) in wrong.items()
        )


def table_embed(table: dict[str, list[float]], dtype: torch.dtype = torch.float32):
    """An embed function that looks texts up in `table`."""

    def embed(texts: list[str]) -> torch.Tensor:
        return torch.tensor([table[text] for text in texts], dtype=dtype)

    return embed


def oracle_retrieve(
    docs: dict[str, str],
    query: str,
    *,
    top_k: int = 4,
    candidates: int = 20,
    max_words: int = 40,
    overlap_words: int = 8,
    reranker=None,
) -> list[dict]:
    chunks = [
        c for doc_id, text in docs.items() for c in oracle.expected_chunks(doc_id, text, max_words, overlap_words)
    ]
    by_id = {c["chunk_id"]: c for c in chunks}
    ids = list(by_id)
    lexical = oracle.ranked(oracle.bm25_scores([(c, by_id[c]["text"]) for c in ids], query, 1.5, 0.75), candidates)
    embeddings = concept_embed([by_id[c]["text"] for c in ids])
    semantic = oracle.ranked(oracle.cosine_scores(ids, embeddings, concept_embed([query])), candidates)
    fused = [i for i, _ in oracle.ranked(oracle.rrf_scores([[i for i, _ in lexical], [i for i, _ in semantic]]))]
    if reranker is not None:
        scores = reranker(query, [by_id[i]["text"] for i in fused])
        fused = [fused[j] for j in sorted(range(len(fused)), key=lambda j: -scores[j])]
    return [by_id[i] for i in fused[:top_k]]


def retrieved_ids(chunks: object, call: str) -> list[str]:
    assert isinstance(chunks, list), f"{call}: expected a list of Chunk, got {type(chunks).__name__}"
    for c in chunks:
        assert isinstance(c, Record) and c.type_name == "Chunk", f"{call}: expected Chunk items, got {c!r:.100}"
    return [c.chunk_id for c in chunks]


def crc_reranker(query: str, texts: list[str]) -> list[float]:
    """A reranker unrelated to both retrievers: a fixed pseudo-random score per text."""
    return [float(zlib.crc32(text.encode()) % 10007) for text in texts]


def bm25_search(candidate, texts: dict[str, str], query: str, k: int, *, k1: float = 1.5, b: float = 0.75, batches=1):
    index = candidate.BM25Index(k1=k1, b=b)
    records = chunks_of(texts)
    step = max(1, math.ceil(len(records) / batches))
    for i in range(0, len(records), step):
        index.add(records[i : i + step])
    return index.search(query, k)


def random_table(texts: list[str], seed: int, dim: int = 16, scale: float = 1.0) -> dict[str, list[float]]:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randn(len(texts), dim, generator=generator, dtype=torch.float64) * scale
    return {text: row.tolist() for text, row in zip(texts, rows, strict=True)}


def vector_case(candidate, table, ids_to_text, query, k, dtype=torch.float32, batches=1):
    embed = CallLog(table_embed(table, dtype))
    index = candidate.VectorIndex(embed)
    records = chunks_of(ids_to_text)
    step = max(1, math.ceil(len(records) / batches))
    for i in range(0, len(records), step):
        index.add(records[i : i + step])
    actual = index.search(query, k)
    ids = list(ids_to_text)
    embeddings = table_embed(table, dtype)([ids_to_text[i] for i in ids])
    expected = oracle.cosine_scores(ids, embeddings, table_embed(table, dtype)([query]))
    return actual, expected, embed


def pipeline(candidate, embed=concept_embed, llm=None, **options):
    options.setdefault("max_words", 40)
    options.setdefault("overlap_words", 8)
    llm = llm if llm is not None else CallLog(lambda prompt: "I do not know.")
    rag = candidate.RAGPipeline(embed, llm, **options)
    return rag


def check_retrieve(rag, docs: dict[str, str], query: str, call: str, **options) -> list[str]:
    """rag.retrieve(query) must be exactly the oracle's chunks for `docs` under `options`; returns the ids."""
    got = rag.retrieve(query)
    ids = retrieved_ids(got, call)
    want = oracle_retrieve(docs, query, **options)
    assert ids == [c["chunk_id"] for c in want], f"{call} returned {ids}, expected {[c['chunk_id'] for c in want]}"
    for record, fields in zip(got, want, strict=True):
        assert record == Record("Chunk", **fields), f"{call}: got {record!r}, expected Chunk({fields})"
    return ids
