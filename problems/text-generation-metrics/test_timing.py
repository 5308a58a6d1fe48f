"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): corpus BLEU over a few hundred
segments with two references each, and ROUGE-N / ROUGE-L of mid-sized texts, whose worker CPU
time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

import random


def test_workload(candidate):
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(50)]

    def text(length: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(length))

    hypotheses = [text(rng.randint(5, 30)) for _ in range(300)]
    references = [[text(rng.randint(5, 30)), text(rng.randint(5, 30))] for _ in range(300)]
    for smoothing in ("none", "exp"):
        candidate.corpus_bleu(hypotheses, references, smoothing=smoothing)
    for _ in range(5):
        hypothesis, refs = text(300), [text(300), text(250)]
        candidate.rouge_n(hypothesis, refs, 2)
        candidate.rouge_l(hypothesis, refs)
