"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): a serving-like workload on a large
pool, run in the worker by the driver, whose CPU time and peak memory are compared with the
reference's (docs/practice-and-takehomes.md).
"""


def test_workload(candidate):
    for _ in range(2):
        candidate.driver.big_pool(2**17)
