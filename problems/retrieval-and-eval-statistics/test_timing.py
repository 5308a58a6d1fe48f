"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): a batch of long rankings scored
with every retrieval metric, pass@k at large n, and a paired bootstrap of realistic size.
"""


def test_workload(candidate):
    rankings = [[f"d{(q * 7 + i * 13) % 2000}" for i in range(1000)] for q in range(20)]
    relevance = [{f"d{(q + 31 * j) % 2000}": j % 4 for j in range(60)} | {f"d{q}": 1} for q in range(20)]
    for k in (10, 100, 1000):
        candidate.recall_at_k(rankings, relevance, k)
        candidate.ndcg_at_k(rankings, relevance, k)
        candidate.mrr(rankings, relevance, k=k)
    for c in (1, 1000, 100_000):
        candidate.pass_at_k(200_000, c, 100)
    scores_a = [(i * 37 % 11) / 8 for i in range(500)]
    scores_b = [(i * 53 % 13) / 8 for i in range(500)]
    resamples = [[(r * 7919 + j * 104729) % 500 for j in range(500)] for r in range(400)]
    candidate.paired_bootstrap(scores_a, scores_b, resamples)
