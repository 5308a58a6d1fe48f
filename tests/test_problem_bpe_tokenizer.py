"""Project tests for the bpe-tokenizer problem that need no judge runner.

The checker-side oracle's hand-written pre-tokeniser is checked against the statement's `re`
pattern, the reference against the oracle (training, encoding, streaming with tiny buffers so
every cut path runs), the statement's examples against the reference, and every constant the
hidden tests pin (the large corpus's merges, the streams' clean joins) is recomputed here.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

import pytest

from .problem_support import load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "bpe-tokenizer"

reference = load(str(REPO / "solutions_ref" / "bpe_tokenizer.py"), "bpe_tokenizer_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(str(PROBLEM / "bpe_oracle.py"), "bpe_oracle")
corpus = load(str(PROBLEM / "corpus.py"), "corpus")
hidden = load(str(PROBLEM / "test_hidden.py"), "bpe_tokenizer_hidden")
sys.path.remove(str(PROBLEM))

EOT = "<|endoftext|>"
ALPHABET = [
    *"ab \n\t'_.!1²٣½é日🙂",
    *["'s", "'ll", "'re", "  ", " \n ", "\u00a0", "\u0301", "\u2028", "\x00", "<|e|>", "<|", "|>", "ab", "A'S"],
]  # fmt: skip
SPECIALS = [[], ["<|e|>"], ["<|e|>", "<|e|><|e|>"], ["ab", "abc", "bc"], ["\n\n", "<|"], [" <|e|> "]]


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, size)))


@pytest.mark.parametrize("seed", range(200))
def test_oracle_pretokenizer_is_the_statement_pattern(seed):
    text = random_text(random.Random(seed), 120)
    assert oracle.pretokenize(text) == reference.PAT.findall(text)


def test_oracle_pretokenizer_over_many_code_points():
    rng = random.Random(0)
    chars = [chr(c) for c in range(0x2FFF) if not 0xD800 <= c < 0xE000]
    for _ in range(50):
        text = "".join(rng.choice(chars + [" "] * 200 + ["'s"] * 20) for _ in range(400))
        assert oracle.pretokenize(text) == reference.PAT.findall(text)


@pytest.mark.parametrize("seed", range(150))
def test_reference_matches_oracle(seed, monkeypatch):
    rng = random.Random(seed)
    special_tokens = SPECIALS[seed % len(SPECIALS)]
    text = random_text(rng, 150)
    vocab_size = 256 + len(special_tokens) + rng.randint(0, 60)
    vocab, merges = oracle.train(text, vocab_size, special_tokens)
    assert reference.train_bpe(text, vocab_size, special_tokens) == (vocab, merges)
    assert len(set(vocab.values())) == len(vocab)
    tokenizer = reference.Tokenizer(vocab, merges, special_tokens)
    probe = random_text(rng, 150)
    want = oracle.encode(vocab, merges, special_tokens, probe)
    assert tokenizer.encode(probe) == want
    assert tokenizer.decode(want) == probe
    cuts = sorted(rng.sample(range(len(probe) + 1), min(len(probe) + 1, rng.randint(0, 30))))
    chunks = [probe[a:b] for a, b in zip([0, *cuts], [*cuts, len(probe)], strict=True)]
    monkeypatch.setattr(reference, "BLOCK", rng.choice([1, 2, 5, 1000]))
    assert list(tokenizer.encode_iterable(iter(chunks))) == want


def test_reference_matches_oracle_on_a_corpus():
    text = corpus.document(30_000, 5, special=EOT)
    assert reference.train_bpe(text, 257 + 200, [EOT]) == oracle.train(text, 257 + 200, [EOT])


def test_large_corpus_constants():
    vocab, merges = reference.train_bpe(hidden.large_corpus(), 257 + hidden.LARGE_MERGES, [EOT])
    assert merges[: len(hidden.LARGE_FIRST)] == hidden.LARGE_FIRST
    assert {rank: merges[rank] for rank in hidden.LARGE_MARKS} == hidden.LARGE_MARKS
    assert hashlib.sha256(repr(merges).encode()).hexdigest() == hidden.LARGE_DIGEST
    assert len(set(vocab.values())) == len(vocab)


def test_streams_join_cleanly():
    vocab, merges, lines, ids = hidden.stream_setup()
    text = "".join(lines)
    assert text[0].strip() and text.endswith("\n") and not text[-2].isspace()
    assert oracle.encode(vocab, merges, [EOT], text + text) == ids + ids
    prefix = "".join(f"{n} {lines[n % len(lines)]}" for n in range(2 * len(lines)))
    assert len(oracle.encode(vocab, merges, [EOT], prefix)) > 2000
    for special_tokens in [(), (EOT,), ("<|a b|>",)]:
        vocab, merges, filler_ids = hidden.stream_vocab(special_tokens)
        rest = " x <|a b|>y"
        both = oracle.encode(vocab, merges, list(special_tokens), hidden.FILLER + rest)
        assert both == filler_ids + oracle.encode(vocab, merges, list(special_tokens), rest)


@pytest.mark.parametrize("case", list(hidden.PRETOKEN_TEXTS))
def test_exhaustive_training_gives_one_id_per_pretoken(case):
    text = hidden.PRETOKEN_TEXTS[case]
    vocab, merges = hidden.exhaustive(text)
    ids = oracle.encode(vocab, merges, [], text)
    assert [vocab[i] for i in ids] == [p.encode() for p in oracle.pretokenize(text)]


def test_statement_examples():
    vocab, merges = reference.train_bpe(hidden.EXAMPLE, 263, [EOT])
    assert merges == hidden.EXAMPLE_MERGES and vocab == hidden.example_vocab()
    tokenizer = reference.Tokenizer(vocab, merges, [EOT])
    assert tokenizer.encode("lowest<|endoftext|> newer") == [258, 260, 256, 32, 110, 101, 119, 101, 114]
    assert tokenizer.encode(" low") == [261]
    text = "I'll  say 3.14\tnaïve_x!!  \n\n  end  "
    assert reference.PAT.findall(text) == [
        *["I", "'ll", " ", " say", " 3", ".", "14", "\t", "naïve", "_", "x", "!!", "  \n\n ", " end", "  "]
    ]
    tokenizer = reference.Tokenizer({**hidden.BYTES, 256: b"bc", 257: b"ab"}, [(b"b", b"c"), (b"a", b"b")])
    assert tokenizer.encode("abc") == [97, 256]
    tokenizer = reference.Tokenizer(hidden.BYTES, [])
    assert tokenizer.decode([230, 151]) == "\ufffd" and tokenizer.decode([0x61, 0xFF, 0x62]) == "a\ufffdb"
    assert list(tokenizer.encode_iterable(["we'", "ll"])) == tokenizer.encode("we'll")


def test_naive_retrain_is_the_reference_slowly():
    naive = load_wrong("bpe-tokenizer", "naive_retrain.patch")
    text = corpus.document(20_000, 9, special=EOT)
    assert naive.train_bpe(text, 257 + 150, [EOT]) == reference.train_bpe(text, 257 + 150, [EOT])
