"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): beam searches of a realistic
width over a mid-sized toy vocabulary, repeated, whose worker CPU time and peak memory are
compared with the reference's (docs/practice-and-takehomes.md). The model runs in the checker.
"""

from beam_oracle import random_lm


def test_workload(candidate):
    for seed in range(3):
        lm = random_lm(seed, 200, 0, eos_bias=0.1)
        candidate.beam_search(lm, 1, 0, beam_width=8, max_len=24, length_penalty=0.6)
