"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): a long chat transcript with
PII every few words, streamed in token-sized chunks, then one character at a time, next to
the submission (one round trip per stream).
"""

import random


def test_workload(candidate):
    rng = random.Random(0)
    words = ["the", "model", "said", "bob@example.com", "(555) 123-4567", "10.0.0.1", "4111 1111 1111 1111"]
    text = " ".join(rng.choice(words) for _ in range(6000))
    candidate.driver.stream("<default>", [text[i : i + 4] for i in range(0, len(text), 4)])
    candidate.driver.stream(["EMAIL", "PHONE"], list(text[:20000]))
