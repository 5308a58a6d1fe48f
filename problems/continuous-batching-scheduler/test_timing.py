"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): a busy server, thousands of steps
with bursty arrivals, chunked prompts, preemptions and early stops, replayed in the worker in
one call, repeated, whose worker CPU time and peak memory are compared with the reference's
(docs/practice-and-takehomes.md).
"""

import random

from scheduler_oracle import random_script


def test_workload(candidate):
    config = (512, 64, 400, 16)
    events, _ = random_script(random.Random(0), config, steps=2000)
    for _ in range(3):
        candidate.driver.run_script(list(config), events)
