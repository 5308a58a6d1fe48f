"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
The activations are built in the worker (driver.timing_run), not sent over the wire.
"""


def test_workload(candidate):
    candidate.driver.timing_run(0, 8192, 512, 64, 2, 4)
