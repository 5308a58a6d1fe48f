"""Project tests for the streaming-pii-redactor problem that need no judge runner.

The checker-side oracle (a hand-written parser of the statement's grammar) is checked against
the statement's examples and known card numbers, the reference (regular expressions and a
streaming scan) against the oracle on random texts under random chunkings, with the holdback
bound after every feed, and the hidden tests' case tables against the oracle.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from .problem_support import load

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "streaming-pii-redactor"

reference = load(str(REPO / "solutions_ref" / "streaming_pii_redactor.py"), "streaming_pii_redactor_reference")
sys.path.insert(0, str(PROBLEM))
oracle = load(str(PROBLEM / "pii_oracle.py"), "streaming_pii_redactor_oracle")
sys.path.remove(str(PROBLEM))

FRAGMENTS = [
    "bob@example.com", "Bob@Example.COM", "a.b+c@mail.co.uk", "x@y.z", "555-123-4567", "(555) 123-4567",
    "+1 555 123 4567", "555.123.4567", "4111 1111 1111 1111", "4111-1111-1111-1112", "378282246310005",
    "192.168.0.1", "999.1.1.1", "255.255.255.255", "01.2.3.4", "sk-" + "a" * 20, "sk-" + "B1_-" * 6,
    "ghp_" + "x" * 36, "[EMAIL_1]", " ", " ", "-", ".", "@", "1", "12", "a", "é", "٣", "\n", ". ", "task-", "_",
    "(", "+", "+1 ", "4", "9", "0.", "..", "@x", ".io", "sk-", "ghp_",
]  # fmt: skip


def stream(text: str, kinds, cuts: list[int]) -> str:
    """Feed text cut at `cuts` through the reference, checking each return against the oracle."""
    redactor = reference.Redactor(kinds)
    follow = oracle.StreamCheck(text, kinds)
    bound = oracle.holdback(kinds)
    out, previous = [], 0
    for cut in [*cuts, len(text)]:
        returned = redactor.feed(text[previous:cut])
        previous = cut
        assert follow.advance(returned) is None, (text, kinds, cuts, out, returned)
        assert cut - follow.consumed <= bound, (text, kinds, cut, follow.consumed)
        assert redactor.counts() == follow.counts
        out.append(returned)
    returned = redactor.flush()
    assert follow.advance(returned) is None
    assert follow.consumed == len(text) and redactor.counts() == follow.counts
    return "".join([*out, returned])


@pytest.mark.parametrize("seed", range(6))
def test_reference_matches_oracle_on_random_streams(seed):
    rng = random.Random(seed)
    for _ in range(300):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 16)))
        kinds = rng.sample(oracle.KINDS, rng.randint(0, 5))
        cuts = sorted(rng.randint(0, len(text)) for _ in range(rng.randint(0, 6)))
        assert stream(text, kinds, cuts) == oracle.redact(text, kinds)


def test_reference_one_character_at_a_time():
    rng = random.Random(11)
    text = "".join(rng.choice(FRAGMENTS) for _ in range(300))
    assert stream(text, oracle.KINDS, list(range(len(text)))) == oracle.redact(text)


def test_luhn_on_known_numbers():
    for number in ("4111111111111111", "5555555555554444", "378282246310005", "4222222222222", "6011111111111117"):
        assert oracle.luhn(number) and reference._luhn_valid(number), number
    for number in ("4111111111111112", "378282246310006", "1234567812345678"):
        assert not oracle.luhn(number) and not reference._luhn_valid(number), number


def test_statement_examples():
    chunks = ["Reach me at al", "ice@corp.io or ", "(555) 12", "3-4567, ALICE@corp.io or +1 555 123 4567"]
    redactor = reference.Redactor(["EMAIL", "PHONE"])
    returned = [redactor.feed(chunk) for chunk in chunks]
    assert returned == ["", "", "", "Reach me at "]
    assert "".join(returned) + redactor.flush() == "Reach me at [EMAIL_1] or [PHONE_1], [EMAIL_1] or [PHONE_1]"
    assert redactor.counts() == {"EMAIL": 2, "PHONE": 2}
    assert oracle.redact("call 555-123-4567-896 or 555-123-4567-890.") == "call [CARD_1] or [PHONE_1]-890."
    assert oracle.redact("call 555-123-4567-896 or 555-123-4567-890.", ["PHONE"]) == (
        "call [PHONE_1]-896 or [PHONE_1]-890."
    )
    text = "key sk-abcdefghijklmnopqrst at 10.0.0.255, 999.1.1.1, 01.2.3.4 and [EMAIL_1]"
    assert oracle.redact(text) == "key [API_KEY_1] at [IPV4_1], 999.1.1.1, 01.2.3.4 and [EMAIL_1]"
    assert oracle.holdback(oracle.KINDS) == 65 and oracle.holdback(["PHONE", "IPV4"]) == 16
    assert oracle.holdback([]) == 0


def test_the_longest_column_is_the_longest_match():
    longest = {
        "API_KEY": "sk-" + "a" * 48,
        "EMAIL": "b" * 52 + "@example.com",
        "CARD": "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 0",
        "PHONE": "+1 555 123 4567",
        "IPV4": "255.255.255.255",
    }
    for kind, text in longest.items():
        assert len(text) == oracle.MAX_LEN[kind] == reference.MAX_LEN[kind]
        assert oracle.redact(text, [kind]) == f"[{kind}_1]", kind


def test_hidden_case_tables_agree_with_the_oracle():
    sys.path.insert(0, str(PROBLEM))
    try:
        hidden = load(str(PROBLEM / "test_hidden.py"), "streaming_pii_redactor_hidden_tests")
    finally:
        sys.path.remove(str(PROBLEM))
    tables = {
        ("EMAIL",): hidden.EMAIL_CASES,
        ("API_KEY",): hidden.API_KEY_CASES,
        ("CARD",): hidden.CARD_CASES,
        ("PHONE",): hidden.PHONE_CASES,
        ("IPV4",): hidden.IPV4_CASES,
        oracle.KINDS: hidden.OVERLAP_CASES,
    }
    for kinds, cases in tables.items():
        for text, want in cases:
            assert oracle.redact(text, kinds) == want, (kinds, text)
            assert stream(text, list(kinds), list(range(len(text)))) == want, (kinds, text)


def test_reference_raises():
    for kinds in (["email"], ["SSN"], [""]):
        with pytest.raises(ValueError):
            reference.Redactor(kinds)
    redactor = reference.Redactor()
    with pytest.raises(TypeError):
        redactor.feed(b"x")
    redactor.flush()
    with pytest.raises(ValueError):
        redactor.feed("x")
