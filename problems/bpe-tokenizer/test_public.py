"""Public tests for bpe-tokenizer: the statement's examples, runnable with `judge test`."""

from judge_harness import expect_raises

EOT = "<|endoftext|>"
BYTES = {i: bytes([i]) for i in range(256)}
EXAMPLE = "low low low lower lowest newest newest widest"
EXAMPLE_MERGES = [(b"o", b"w"), (b"l", b"ow"), (b"s", b"t"), (b"e", b"st"), (b" ", b"low"), (b"w", b"est")]


def test_example_training(candidate):
    vocab, merges = candidate.train_bpe(EXAMPLE, 263, [EOT])
    assert merges == EXAMPLE_MERGES, merges
    assert vocab[256] == EOT.encode() and vocab[257] == b"ow" and vocab[262] == b"west", vocab
    assert len(vocab) == 263


def test_example_encoding(candidate):
    vocab, merges = candidate.train_bpe(EXAMPLE, 263, [EOT])
    tok = candidate.Tokenizer(vocab, merges, [EOT])
    assert tok.encode("lowest<|endoftext|> newer") == [258, 260, 256, 32, 110, 101, 119, 101, 114]
    assert tok.encode(" low") == [261]
    tok = candidate.Tokenizer({**BYTES, 256: b"bc", 257: b"ab"}, [(b"b", b"c"), (b"a", b"b")])
    assert tok.encode("abc") == [97, 256]


def test_example_decoding(candidate):
    tok = candidate.Tokenizer(BYTES, [])
    assert tok.decode([230, 151, 165]) == "日"
    assert tok.decode([230, 151]) == "\ufffd"
    assert tok.decode([0x61, 0xFF, 0x62]) == "a\ufffdb"


def test_round_trip(candidate):
    text = "I'll  say 3.14\tnaïve_x!!  \n\n  end  "
    vocab, merges = candidate.train_bpe(text * 3, 300)
    tok = candidate.Tokenizer(vocab, merges)
    assert tok.decode(tok.encode(text)) == text


def test_vocab_size_too_small(candidate):
    with expect_raises("ValueError"):
        candidate.train_bpe("ab", 256, [EOT])
