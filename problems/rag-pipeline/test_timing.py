"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): realistic calls, repeated, whose
worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import random


def test_workload(candidate):
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(3000)]
    docs = {f"d{n}": " ".join(rng.choice(vocabulary) for _ in range(2000)) for n in range(20)}
    chunks = [
        c
        for doc_id, text in docs.items()
        for c in candidate.chunk_document(doc_id, text, max_words=100, overlap_words=20)
    ]
    index = candidate.BM25Index()
    index.add(chunks)
    for _ in range(50):
        index.search(" ".join(rng.choice(vocabulary) for _ in range(5)), 10)
