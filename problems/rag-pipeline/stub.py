"""rag-pipeline: chunking, BM25 + vector retrieval, reciprocal rank fusion, reranking, cited answers.

Fill in every body that raises NotImplementedError. Keep the names and signatures: the
judge calls them exactly as written here. See statement.md for the precise rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

Embed = Callable[[list[str]], Tensor]  # texts -> (N, E) float
Reranker = Callable[[str, list[str]], list[float]]  # (query, texts) -> one score per text


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    chunk_id: str  # f"{doc_id}#{i}", i = 0, 1, ...
    text: str  # == document[start:end]
    start: int  # character offset of the chunk's first word in the document
    end: int  # character offset one past its last word


@dataclass
class Answer:
    text: str  # the LLM's reply, unchanged
    citations: list[str]  # retrieved chunk ids cited in `text`, in order of first appearance


def chunk_document(doc_id: str, text: str, *, max_words: int = 200, overlap_words: int = 40) -> list[Chunk]:
    """Split `text` into windows of at most `max_words` words sharing `overlap_words` words.

    Words are the matches of `\\S+`. ValueError unless 0 <= overlap_words < max_words.
    Empty or whitespace-only text gives [].
    """
    raise NotImplementedError


class BM25Index:
    """Okapi BM25 over the terms re.findall(r"[a-z0-9]+", text.lower())."""

    def __init__(self, *, k1: float = 1.5, b: float = 0.75) -> None:
        raise NotImplementedError

    def add(self, chunks: list[Chunk]) -> None:
        """Index more chunks; N, n and avgdl always describe everything indexed so far."""
        raise NotImplementedError

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The best k (chunk_id, score) with a positive score, best first, ties by chunk_id."""
        raise NotImplementedError


class VectorIndex:
    """Cosine-similarity search over embed(texts) -> (N, E)."""

    def __init__(self, embed: Embed) -> None:
        raise NotImplementedError

    def add(self, chunks: list[Chunk]) -> None:
        """Embed the chunks' texts in one call and index them."""
        raise NotImplementedError

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The best k (chunk_id, cosine similarity), best first, ties by chunk_id."""
        raise NotImplementedError


def reciprocal_rank_fusion(rankings: list[list[str]], *, k: int = 60) -> list[tuple[str, float]]:
    """(id, sum over rankings of 1 / (k + rank)), rank from 1, math.fsum, best first, ties by id."""
    raise NotImplementedError


class RAGPipeline:
    """Hybrid retrieval (BM25 + vectors, fused with RRF), optional reranking, cited answers."""

    def __init__(
        self,
        embed: Embed,
        llm: Callable[[str], str],
        *,
        top_k: int = 4,  # chunks put into the prompt
        candidates: int = 20,  # chunks taken from each index before fusion
        reranker: Reranker | None = None,  # (query, texts) -> scores, higher is better
        max_words: int = 200,  # chunk window, in words
        overlap_words: int = 40,  # words shared by consecutive chunks
    ) -> None:
        raise NotImplementedError

    def add_documents(self, docs: dict[str, str]) -> None:
        """Chunk every document and index the chunks (one embed call for all of them)."""
        raise NotImplementedError

    def retrieve(self, query: str) -> list[Chunk]:
        """BM25 top `candidates` + vector top `candidates`, RRF, optional rerank, first `top_k`."""
        raise NotImplementedError

    def answer(self, query: str) -> Answer:
        """Retrieve, prompt the LLM once with the labelled chunks, keep only retrieved citations."""
        raise NotImplementedError
