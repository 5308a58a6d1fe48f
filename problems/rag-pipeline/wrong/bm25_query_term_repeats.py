"""Wrong solution for rag-pipeline (rejected by the hidden tests).

Sums over every query token instead of the distinct query terms, so a repeated word in the query counts several times.

Documents are split into overlapping word windows, indexed twice (lexically with Okapi BM25,
semantically with cosine similarity over a caller-supplied embedding function), the two
rankings are merged with reciprocal rank fusion, optionally reranked, and the top chunks are
put into one prompt whose answer must cite them.

Papers:
- RAG: Lewis et al. 2020, https://arxiv.org/abs/2005.11401
- BM25: Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond",
  https://www.staff.city.ac.uk/~sbrp622/papers/foundations_bm25_review.pdf
- RRF: Cormack, Clarke & Buettcher 2009, "Reciprocal Rank Fusion outperforms Condorcet and
  individual Rank Learning Methods", https://plg.uwaterloo.ca/~gvcormac/cormacksigir09-rrf.pdf
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

_WORD = re.compile(r"\S+")
_TERM = re.compile(r"[a-z0-9]+")
_CITATION = re.compile(r"\[([^\[\]]+)\]")

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
    """Split `text` into windows of at most `max_words` words sharing `overlap_words` words."""
    if not 0 <= overlap_words < max_words:
        raise ValueError(
            f"need 0 <= overlap_words < max_words, got overlap_words={overlap_words}, max_words={max_words}"
        )
    words = list(_WORD.finditer(text))
    stride = max_words - overlap_words
    chunks: list[Chunk] = []
    first = 0
    while first < len(words):
        last = min(first + max_words, len(words))  # one past the chunk's last word
        start, end = words[first].start(), words[last - 1].end()
        chunks.append(Chunk(doc_id, f"{doc_id}#{len(chunks)}", text[start:end], start, end))
        if last == len(words):
            break  # every word is covered; another window would only repeat the overlap
        first += stride
    return chunks


def _tokenize(text: str) -> list[str]:
    return _TERM.findall(text.lower())


def _top_k(scores: Iterable[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    """The k best (id, score) pairs: highest score first, ties by id ascending."""
    return heapq.nsmallest(k, scores, key=lambda pair: (-pair[1], pair[0]))


class BM25Index:
    """Okapi BM25 over an inverted index: term -> {chunk position: term frequency}."""

    def __init__(self, *, k1: float = 1.5, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = k1
        self.b = b
        self.chunk_ids: list[str] = []
        self.lengths: list[int] = []  # dl per chunk, in terms
        self.total_length = 0
        self.postings: dict[str, dict[int, int]] = {}

    def add(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            terms = _tokenize(chunk.text)
            position = len(self.chunk_ids)
            self.chunk_ids.append(chunk.chunk_id)
            self.lengths.append(len(terms))
            self.total_length += len(terms)
            for term, tf in Counter(terms).items():
                self.postings.setdefault(term, {})[position] = tf

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        N = len(self.chunk_ids)
        if N == 0 or k <= 0:
            return []
        avgdl = self.total_length / N
        scores: dict[int, float] = {}
        for term in _tokenize(query):
            postings = self.postings.get(term)
            if not postings:
                continue
            n = len(postings)
            idf = math.log(1 + (N - n + 0.5) / (n + 0.5))
            for position, tf in postings.items():
                # saturate tf with k1, normalise by the chunk's length relative to avgdl
                dl = self.lengths[position]
                norm = tf + self.k1 * (1 - self.b + self.b * dl / avgdl)
                scores[position] = scores.get(position, 0.0) + idf * tf * (self.k1 + 1) / norm
        positive = ((self.chunk_ids[p], s) for p, s in scores.items() if s > 0)
        return _top_k(positive, k)


class VectorIndex:
    """Cosine similarity search over unit-normalised chunk embeddings."""

    def __init__(self, embed: Embed) -> None:
        self.embed = embed
        self.chunk_ids: list[str] = []
        self.unit: Tensor | None = None  # (N, E), rows of norm 1, float32 or float64

    def _embed_unit(self, texts: list[str]) -> Tensor:
        embeddings = self.embed(texts)
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
            shape = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise ValueError(f"embed must return a (N, E) tensor with N={len(texts)}, got {shape}")
        if self.unit is not None and embeddings.shape[1] != self.unit.shape[1]:
            raise ValueError(f"embedding dim changed: index has E={self.unit.shape[1]}, got {tuple(embeddings.shape)}")
        # fp32 at least: half-precision dot products of unnormalised vectors overflow
        accumulate = torch.float64 if embeddings.dtype == torch.float64 else torch.float32
        return F.normalize(embeddings.to(accumulate), dim=-1)  # (N, E)

    def add(self, chunks: list[Chunk]) -> None:
        if not chunks:
            return
        unit = self._embed_unit([chunk.text for chunk in chunks])  # one batched call
        self.unit = unit if self.unit is None else torch.cat([self.unit, unit.to(self.unit.dtype)])
        self.chunk_ids.extend(chunk.chunk_id for chunk in chunks)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if self.unit is None or k <= 0:
            return []
        q = self._embed_unit([query]).to(self.unit.dtype)  # (1, E)
        cosine = (self.unit @ q[0]).tolist()  # (N,)
        return _top_k(zip(self.chunk_ids, cosine, strict=True), k)


def reciprocal_rank_fusion(rankings: list[list[str]], *, k: int = 60) -> list[tuple[str, float]]:
    """RRF: score(id) = sum over rankings of 1 / (k + rank), rank starting at 1."""
    if k < 0:
        raise ValueError(f"need k >= 0, got k={k}")
    terms: dict[str, list[float]] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            terms.setdefault(item, []).append(1 / (k + rank))
    # fsum is exactly rounded, so equal rank multisets give bit-equal scores in any order
    fused = [(item, math.fsum(parts)) for item, parts in terms.items()]
    return _top_k(fused, len(fused))


_PROMPT = """Answer the question using only the context chunks below.
Cite every chunk you use by its id in square brackets, for example [{example}].
If the chunks do not contain the answer, say that you do not know.

Context:
{context}

Question: {query}
Answer:"""


def _build_prompt(query: str, chunks: list[Chunk]) -> str:
    context = "\n\n".join(f"[{chunk.chunk_id}] {chunk.text}" for chunk in chunks)
    return _PROMPT.format(example=chunks[0].chunk_id, context=context, query=query)


def _extract_citations(reply: str, allowed: set[str]) -> list[str]:
    """Bracketed ids in `reply` that are in `allowed`, deduplicated in order of first appearance."""
    cited = (match.group(1) for match in _CITATION.finditer(reply))
    return list(dict.fromkeys(chunk_id for chunk_id in cited if chunk_id in allowed))


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
        if top_k < 1 or candidates < 1:
            raise ValueError(f"need top_k >= 1 and candidates >= 1, got top_k={top_k}, candidates={candidates}")
        if not 0 <= overlap_words < max_words:
            raise ValueError(
                f"need 0 <= overlap_words < max_words, got overlap_words={overlap_words}, max_words={max_words}"
            )
        self.llm = llm
        self.top_k = top_k
        self.candidates = candidates
        self.reranker = reranker
        self.max_words = max_words
        self.overlap_words = overlap_words
        self.lexical = BM25Index()
        self.semantic = VectorIndex(embed)
        self.chunks: dict[str, Chunk] = {}

    def add_documents(self, docs: dict[str, str]) -> None:
        chunks = [
            chunk
            for doc_id, text in docs.items()
            for chunk in chunk_document(doc_id, text, max_words=self.max_words, overlap_words=self.overlap_words)
        ]
        self.lexical.add(chunks)
        self.semantic.add(chunks)  # one embed call for all new chunks
        self.chunks.update((chunk.chunk_id, chunk) for chunk in chunks)

    def retrieve(self, query: str) -> list[Chunk]:
        lexical = [chunk_id for chunk_id, _ in self.lexical.search(query, self.candidates)]
        semantic = [chunk_id for chunk_id, _ in self.semantic.search(query, self.candidates)]
        fused = [chunk_id for chunk_id, _ in reciprocal_rank_fusion([lexical, semantic])]
        if self.reranker is not None and fused:
            scores = self.reranker(query, [self.chunks[chunk_id].text for chunk_id in fused])
            if len(scores) != len(fused):
                raise ValueError(f"reranker returned {len(scores)} scores for {len(fused)} candidates")
            order = sorted(range(len(fused)), key=lambda i: -scores[i])  # stable: ties keep the fused order
            fused = [fused[i] for i in order]
        return [self.chunks[chunk_id] for chunk_id in fused[: self.top_k]]

    def answer(self, query: str) -> Answer:
        if not self.chunks:
            raise ValueError("no documents indexed: call add_documents before answer")
        chunks = self.retrieve(query)
        reply = self.llm(_build_prompt(query, chunks))
        return Answer(reply, _extract_citations(reply, {chunk.chunk_id for chunk in chunks}))
