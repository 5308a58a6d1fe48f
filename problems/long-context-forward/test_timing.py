"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): one realistic call, repeated,
whose worker CPU time and peak memory are compared with the reference's (docs/practice-and-takehomes.md).
"""

from lcf_oracle import make_inputs


def test_workload(candidate):
    x, weights = make_inputs(2048, 256, 512, 8, 2, seed=0)
    for _ in range(3):
        candidate.block_forward(x, weights, n_heads=8, n_kv_heads=2, chunk_size=256)
