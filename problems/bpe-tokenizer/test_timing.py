"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): training on a generated corpus,
then encoding a second document with the trained tokenizer.
"""

from corpus import document

EOT = "<|endoftext|>"


def test_workload(candidate):
    vocab, merges = candidate.train_bpe(document(200_000, 3, special=EOT), 256 + 1 + 500, [EOT])
    tok = candidate.Tokenizer(vocab, merges, [EOT])
    tok.encode(document(100_000, 4, special=EOT))
