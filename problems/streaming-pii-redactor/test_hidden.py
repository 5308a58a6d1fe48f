"""Hidden tests for streaming-pii-redactor.

Whole streams run next to the submission (driver.stream / driver.streams): after every feed and
after the flush the driver returns what the call returned and what counts() said. The checker
follows those returns along the redaction of the whole stream computed by pii_oracle.py (a
hand-written parser of the statement's grammar) and checks, after every call: the released text
continues that redaction and ends between pieces (no split placeholder), at most H characters of
the input are withheld, and counts() equals the matches released so far. After the flush the
released text is the whole redaction. Explicit cases first, property-based last.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pii_oracle import KINDS, StreamCheck, holdback, redact

from judge_harness import expect_raises

DEFAULT = "<default>"  # the driver calls Redactor() without an argument
ALL = list(KINDS)


def short(value, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(value)} items)"


def enabled_of(kinds) -> list[str]:
    return ALL if kinds in (DEFAULT, None) else list(kinds)


def check_trace(kinds, chunks: list[str], trace) -> str:
    """Judge one stream's trace; return everything it released."""
    enabled = enabled_of(kinds)
    text = "".join(chunks)
    follow = StreamCheck(text, enabled)
    bound = holdback(enabled)
    where = f"kinds={'default' if kinds == DEFAULT else kinds!r}, chunks={short(chunks)}"
    assert len(trace) == len(chunks) + 1, f"expected {len(chunks) + 1} calls, the driver saw {len(trace)} ({where})"
    released, received, counts = "", 0, None
    for step, (outcome, sent_counts) in enumerate(trace):
        status, value = ("ok", outcome) if isinstance(outcome, str) else outcome
        counts = counts if sent_counts is None and step else sent_counts
        last = step == len(chunks)
        call = "flush()" if last else f"feed({short(chunks[step], 60)}) (call {step + 1})"
        assert status == "ok", f"{call} raised {value} ({where})"
        assert isinstance(value, str), f"{call} must return a str, got {value} ({where})"
        received += 0 if last else len(chunks[step])
        problem = follow.advance(value)
        assert problem is None, (
            f"text released by {call}: {problem}\nreleased so far {short(released + value, 300)}\n"
            f"the redaction of the whole stream is {short(redact(text, enabled), 300)} ({where})"
        )
        released += value
        if last:
            assert follow.consumed == len(text) and follow.next == len(follow.pieces), (
                f"after flush() the released text must be the whole redaction: released {short(released, 300)}, "
                f"still missing {follow.expected_rest()!r} ({where})"
            )
        else:
            withheld = received - follow.consumed
            assert withheld <= bound, (
                f"after {call}: {withheld} of the {received} characters received are withheld, "
                f"at most H = {bound} may be (released so far {short(released, 200)}) ({where})"
            )
        assert isinstance(counts, dict), f"counts() after {call} must return a dict, got {counts} ({where})"
        assert counts == follow.counts, (
            f"counts() after {call}: expected {follow.counts} (matches released so far, one key per enabled kind), "
            f"got {counts} ({where})"
        )
    return released


def run(candidate, kinds, chunks: list[str]) -> str:
    return check_trace(kinds, chunks, candidate.driver.stream(kinds, chunks))


def run_many(candidate, jobs: list[tuple[object, list[str]]]) -> list[str]:
    traces = candidate.driver.streams(jobs)
    return [check_trace(kinds, chunks, trace) for (kinds, chunks), trace in zip(jobs, traces, strict=True)]


def chunkings(text: str, seed: int = 0) -> list[list[str]]:
    """Whole, one character at a time, and a seeded random cut."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, 4))) if len(text) > 1 else []
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return [[text], list(text), pieces]


def expect(candidate, kinds, cases: list[tuple[str, str]]) -> None:
    """Each (text, expected output) under three chunkings; the expectation is checked against the oracle too."""
    jobs = []
    for text, want in cases:
        assert redact(text, enabled_of(kinds)) == want, f"test bug: the oracle disagrees on {text!r}"
        jobs += [(kinds, chunks) for chunks in chunkings(text)]
    run_many(candidate, jobs)


K20 = "abcdefghijklmnopqrst"
KEY36 = "0123456789abcdefghijABCDEFGHIJklmnop"


# -- the statement's examples -------------------------------------------------------------------


def test_statement_examples(candidate):
    chunks = ["Reach me at al", "ice@corp.io or ", "(555) 12", "3-4567, ALICE@corp.io or +1 555 123 4567"]
    out = run(candidate, ["EMAIL", "PHONE"], chunks)
    assert out == "Reach me at [EMAIL_1] or [PHONE_1], [EMAIL_1] or [PHONE_1]", out
    text = "call 555-123-4567-896 or 555-123-4567-890."
    assert run(candidate, DEFAULT, [text]) == "call [CARD_1] or [PHONE_1]-890."
    assert run(candidate, ["PHONE"], [text]) == "call [PHONE_1]-896 or [PHONE_1]-890."
    text = "key sk-abcdefghijklmnopqrst at 10.0.0.255, 999.1.1.1, 01.2.3.4 and [EMAIL_1]"
    assert run(candidate, DEFAULT, [text]) == "key [API_KEY_1] at [IPV4_1], 999.1.1.1, 01.2.3.4 and [EMAIL_1]"


def test_long_stream_one_character_at_a_time_is_linear(candidate):
    # PHONE and IPV4 only (H = 16): a solution that re-scans its withheld tail on every feed is
    # still fast here; one that re-scans the whole stream received so far is not
    rng = random.Random(9)
    words = ["hello", "bob@x.io", "555-123-4567", "10.0.0.1", "(555) 123-4567", "1.2", "255.1.2.3.4", "x@y"]
    text = " ".join(rng.choice(words) for _ in range(1800))[:12000]
    check_trace(["PHONE", "IPV4"], list(text), candidate.driver.stream(["PHONE", "IPV4"], list(text)))


# -- the grammar of each kind ---------------------------------------------------------------------

EMAIL_CASES = [
    ("bob@example.com", "[EMAIL_1]"),
    ("mail bob@example.com. Thanks", "mail [EMAIL_1]. Thanks"),
    ("a.b_c%d+e-f@sub-1.mail.example.org", "[EMAIL_1]"),
    ("-x@a-b.io and (y@b.io)", "[EMAIL_1] and ([EMAIL_2])"),
    ("x@y.z", "x@y.z"),
    ("x@y.c0m", "x@y.c0m"),
    ("x@localhost", "x@localhost"),
    ("x@.com", "x@.com"),
    ("x@a..com", "x@a..com"),
    ("@example.com", "@example.com"),
    ("bob@example.com_x", "bob@example.com_x"),
    ("bob@example.com-x", "bob@example.com-x"),
    ("bob@example.com.x1", "bob@example.com.x1"),
    ("bob@example.com.-", "bob@example.com.-"),
    ("bob@example.com@x", "bob@example.com@x"),
    ("a@b@example.com", "a@b@example.com"),
    ("bob@exa_mple.com", "bob@exa_mple.com"),
    ("bob@example.com..", "[EMAIL_1].."),
    ("bob@example.com.", "[EMAIL_1]."),
    ("bob@example.co.uk!", "[EMAIL_1]!"),
    ("ébob@example.comé", "é[EMAIL_1]é"),
    ("x\tbob@example.com\nnext", "x\t[EMAIL_1]\nnext"),
    ("bob@example.com٣", "[EMAIL_1]٣"),
    ("b" * 52 + "@example.com", "[EMAIL_1]"),  # 64 characters
    ("b" * 53 + "@example.com", "b" * 53 + "@example.com"),  # 65
    ("x@" + "a" * 58 + ".io", "[EMAIL_1]"),  # 63
    ("x@" + "a.b." * 15 + "cd", "[EMAIL_1]"),  # 64, 31 labels
    ("x@" + "a.b." * 15 + "cde", "x@" + "a.b." * 15 + "cde"),  # 65
    ("bob@mail.Sub-2.example.com x@a.123.io y@A.B.IO", "[EMAIL_1] [EMAIL_2] [EMAIL_3]"),
    ("bob@example.com.X bob@example.com.7", "bob@example.com.X bob@example.com.7"),
    # 65 characters from the first one: no email, and none from the second character either
    *[(c + "b" * 52 + "@example.com", c + "b" * 52 + "@example.com") for c in "A7._%+-"],
]


def test_email_grammar(candidate):
    expect(candidate, ["EMAIL"], EMAIL_CASES)


API_KEY_CASES = [
    ("sk-" + K20, "[API_KEY_1]"),
    ("sk-" + K20[:19], "sk-" + K20[:19]),
    ("sk-" + K20 * 2 + K20[:8], "[API_KEY_1]"),  # 48
    ("sk-" + K20 * 2 + K20[:9], "sk-" + K20 * 2 + K20[:9]),  # 49
    ("sk-proj_AB-12_cd-34_ef-56", "[API_KEY_1]"),
    ("SK-" + K20, "SK-" + K20),
    ("task-" + K20, "task-" + K20),
    ("-sk-" + K20 + " _sk-" + K20 + " 1sk-" + K20, "-sk-" + K20 + " _sk-" + K20 + " 1sk-" + K20),
    ("(sk-" + K20 + ")!", "([API_KEY_1])!"),
    ("ésk-" + K20 + "é", "é[API_KEY_1]é"),
    ("sk-" + K20 + ".x", "[API_KEY_1].x"),
    ("ghp_" + KEY36, "[API_KEY_1]"),
    ("ghp_" + KEY36[:35], "ghp_" + KEY36[:35]),
    ("ghp_" + KEY36 + "q", "ghp_" + KEY36 + "q"),
    ("ghp_" + KEY36[:35] + "_", "ghp_" + KEY36[:35] + "_"),
    ("ghp_" + KEY36 + "-", "ghp_" + KEY36 + "-"),
    *[("sk-" + K20 * 2 + K20[:8] + c, "sk-" + K20 * 2 + K20[:8] + c) for c in "Z7_-"],  # 49 key characters
    *[("ghp_" + KEY36 + c, "ghp_" + KEY36 + c) for c in "Z7_"],
    ("GHP_" + KEY36, "GHP_" + KEY36),
    ("xghp_" + KEY36, "xghp_" + KEY36),
    ("ghp-" + KEY36, "ghp-" + KEY36),
]


def test_api_key_grammar(candidate):
    expect(candidate, ["API_KEY"], API_KEY_CASES)


CARD_CASES = [
    ("4111111111111111", "[CARD_1]"),
    ("pay 4111 1111 1111 1111 now", "pay [CARD_1] now"),
    ("4111-1111-1111-1111.", "[CARD_1]."),
    ("4111 1111-1111 1111", "[CARD_1]"),
    ("4111111111111112", "4111111111111112"),
    ("378282246310005 and 3782 822463 10005", "[CARD_1] and [CARD_1]"),  # 15 digits: Luhn from the right
    ("5555555555554444", "[CARD_1]"),  # doubled digits above 9
    ("4222222222222", "[CARD_1]"),  # 13 digits
    ("411111111117", "411111111117"),  # 12 digits, Luhn-valid
    ("4111111111111111110", "[CARD_1]"),  # 19 digits
    ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 0", "[CARD_1]"),  # 19 digits, 37 characters
    ("41111111111111111115", "41111111111111111115"),  # 20 digits, Luhn-valid
    ("41111111111111111105, 4111111111111111110-5", "41111111111111111105, 4111111111111111110-5"),  # 19 valid + 1
    ("4111111111111111110 5", "4111111111111111110 5"),  # the run has 20 digits
    ("5 4111 1111 1111 1111", "5 4111 1111 1111 1111"),  # the run starts at the 5
    ("5 4111 1111 1111 1111" + " x" * 25, "5 4111 1111 1111 1111" + " x" * 25),  # ... also once the 5 is released
    ("4111-1111-1111-1111, 5-4111-1111-1111-1111" + "." * 50, "[CARD_1], 5-4111-1111-1111-1111" + "." * 50),
    ("4111 1111 1111 1111-5", "4111 1111 1111 1111-5"),
    ("4111  1111 1111 1111", "4111  1111 1111 1111"),  # two spaces end the run
    ("4111 -1111 1111 1111", "4111 -1111 1111 1111"),
    ("4111111111111111-a 4111111111111111 -", "[CARD_1]-a [CARD_1] -"),
    ("٣4111111111111111٣", "٣[CARD_1]٣"),
    ("x4111111111111111y", "x[CARD_1]y"),
    ("４１１１１１１１１１１１１１１１", "４１１１１１１１１１１１１１１１"),
    ("4111\t1111 1111 1111", "4111\t1111 1111 1111"),
    ("4111_1111_1111_1111", "4111_1111_1111_1111"),
    ("4111.1111.1111.1111 4111/1111/1111/1111", "4111.1111.1111.1111 4111/1111/1111/1111"),
]


def test_card_grammar_and_luhn(candidate):
    expect(candidate, ["CARD"], CARD_CASES)


PHONE_CASES = [
    ("555-123-4567 555.123.4567 (555) 123-4567 +1 555 123 4567", "[PHONE_1] [PHONE_1] [PHONE_1] [PHONE_1]"),
    ("555-123-4567 555-123-4568", "[PHONE_1] [PHONE_2]"),
    ("555-123-4567 655-123-4567 +1 655 123 4567 (455) 123-4567", "[PHONE_1] [PHONE_2] [PHONE_2] [PHONE_3]"),
    ("5551234567 555-1234 (555)123-4567 555 123 4567", "5551234567 555-1234 (555)123-4567 555 123 4567"),
    ("+1-555-123-4567 +1 555-123-4567 +1.555.123.4567", "+1-[PHONE_1] +1 [PHONE_1] +1.[PHONE_1]"),
    ("+1 (555) 123-4567", "+1 [PHONE_1]"),
    ("+44 555 123 4567 +1 555 123 456", "+44 555 123 4567 +1 555 123 456"),
    ("call +2 555 123 4567 now", "call +2 555 123 4567 now"),  # the 1 of "+1" is literal
    (
        " ".join(f"+{d} 555 123 4567" for d in "0123456789"),
        " ".join(["+0 555 123 4567", "[PHONE_1]"] + [f"+{d} 555 123 4567" for d in "23456789"]),
    ),
    (
        "1555-123-4567 a555-123-4567 555-123-45678 555-123-4567a",
        "1555-123-4567 a555-123-4567 555-123-45678 555-123-4567a",
    ),
    ("x(555) 123-4567 a+1 555 123 4567 1+1 555 123 4567", "x(555) 123-4567 a+1 555 123 4567 1+1 555 123 4567"),
    ("A555-123-4567 555-123-4567Z 7(555) 123-4567", "A555-123-4567 555-123-4567Z 7(555) 123-4567"),
    ("555-123-4567-890 555.123.4567.", "[PHONE_1]-890 [PHONE_1]."),
    ("é555-123-4567é (555) 123-4567_", "é[PHONE_1]é [PHONE_1]_"),
    ("555-123-٣567 555-123-4567٣", "555-123-٣567 [PHONE_1]٣"),
    ("555-123.4567 555.123-4567 (555)-123-4567", "555-123.4567 555.123-4567 (555)-123-4567"),
    ("call\n(555) 123-4567\tnow", "call\n[PHONE_1]\tnow"),
]


def test_phone_formats(candidate):
    expect(candidate, ["PHONE"], PHONE_CASES)
    redactor = candidate.Redactor()
    out = redactor.feed("call +2 555 123 4567 now") + redactor.flush()
    assert (out, redactor.counts()["PHONE"]) == ("call +2 555 123 4567 now", 0), (
        "Redactor() fed 'call +2 555 123 4567 now' then flushed: the output must be unchanged and counts()['PHONE'] 0 "
        f"(only +1 is a country code a phone may start with), got {out!r} and counts() {redactor.counts()}"
    )


IPV4_CASES = [
    ("10.0.0.1 0.0.0.0 255.255.255.255", "[IPV4_1] [IPV4_2] [IPV4_3]"),
    ("249.250.199.100 99.10.9.200", "[IPV4_1] [IPV4_2]"),
    ("256.1.1.1 999.1.1.1 1.2.3.256 1.260.3.4 1.2.300.4", "256.1.1.1 999.1.1.1 1.2.3.256 1.260.3.4 1.2.300.4"),
    ("1.2.3.4.5 1.2.3 1..2.3.4 1.2.3.1000", "1.2.3.4.5 1.2.3 1..2.3.4 1.2.3.1000"),
    ("01.2.3.4 1.2.3.04 1.2.3.00 1.007.3.4", "01.2.3.4 1.2.3.04 1.2.3.00 1.007.3.4"),
    ("1.2.3.4. 1.2.3.4.x 1.2.3.4:80", "[IPV4_1]. [IPV4_1].x [IPV4_1]:80"),
    ("a1.2.3.4 1.2.3.4a .1.2.3.4 x.1.2.3.4", "a1.2.3.4 1.2.3.4a .1.2.3.4 x.1.2.3.4"),
    ("A1.2.3.4 1.2.3.4Z 1.2.3.4.5", "A1.2.3.4 1.2.3.4Z 1.2.3.4.5"),
    ("-1.2.3.4- (1.2.3.4) é1.2.3.4é ٣1.2.3.4٣", "-[IPV4_1]- ([IPV4_1]) é[IPV4_1]é ٣[IPV4_1]٣"),
    ("1.2.3.4_ _1.2.3.4", "[IPV4_1]_ _[IPV4_1]"),
    ("255.255.255.255.5 255.255.255.255.x", "255.255.255.255.5 [IPV4_1].x"),
]


def test_ipv4_octets_and_boundaries(candidate):
    expect(candidate, ["IPV4"], IPV4_CASES)


# -- how the kinds interact ---------------------------------------------------------------------

OVERLAP_CASES = [
    ("555-123-4567@example.com", "[EMAIL_1]"),  # email and phone start together: the longer wins
    ("1.2.3.4@example.com", "[EMAIL_1]"),
    ("sk-" + K20 + "@example.com", "[EMAIL_1]"),
    ("sk-aaaaaaaaaaaaaaaaaaaa-555-123-4567", "[API_KEY_1]"),  # a phone inside a key
    ("bob.sk-" + K20 + "@ex.io", "[EMAIL_1]"),  # the key starts later: the email is leftmost
    ("(555) 123-4567 1111 1111 15", "[PHONE_1] 1111 1111 15"),  # a longer card starts inside the phone
    ("sk-" + K20 + "(555) 123-4567", "[API_KEY_1](555) 123-4567"),  # no phone: 't' is before it
    ("bob@example.io(555) 123-4567", "[EMAIL_1](555) 123-4567"),
    ("10.0.0.1(555) 123-4567", "[IPV4_1](555) 123-4567"),
    ("4111111111111111(555) 123-4567", "[CARD_1](555) 123-4567"),
    ("bob@example.com555-123-4567", "bob@example.com555-123-4567"),
    ("555-123-4567-896, 555-123-4567-890", "[CARD_1], [PHONE_1]-890"),
    ("[EMAIL_1] bob@x.io [EMAIL_2] [PHONE_1] [CARD_9]", "[EMAIL_1] [EMAIL_1] [EMAIL_2] [PHONE_1] [CARD_9]"),
]


def test_leftmost_longest_between_kinds(candidate):
    expect(candidate, DEFAULT, OVERLAP_CASES)


def test_placeholders_are_not_rescanned(candidate):
    # after "[API_KEY_1]" a "(555) ..." would have a non-alnum before it: the scan reads the input only
    out = run(candidate, ALL, ["sk-" + K20 + "(555) 123-4567 and bob@x.io555-123-4567"])
    assert out == "[API_KEY_1](555) 123-4567 and bob@x.io555-123-4567", out


def test_disabled_kinds_change_the_resolution(candidate):
    expect(candidate, ["PHONE"], [("555-123-4567@example.com 555-123-4567-896", "[PHONE_1]@example.com [PHONE_1]-896")])
    expect(candidate, ["CARD", "IPV4"], [("555-123-4567-896, 1.2.3.4@example.com", "[CARD_1], [IPV4_1]@example.com")])
    expect(
        candidate, ["EMAIL", "PHONE"], [("sk-aaaaaaaaaaaaaaaaaaaa-555-123-4567", "sk-aaaaaaaaaaaaaaaaaaaa-[PHONE_1]")]
    )


# -- numbering and counts -----------------------------------------------------------------------


def test_numbering_per_kind_by_first_occurrence(candidate):
    text = (
        "bob@x.io alice@x.io BOB@X.IO 555-123-4567 bob@x.io (555) 123-4567 +1 555 123 4568, "
        "4111 1111 1111 1111, 4111-1111-1111-1111, 4111111111111111, 5555555555554444, "
        "10.0.0.1, 10.0.0.2, 10.0.0.1, sk-" + K20 + " sk-" + K20.upper() + " sk-" + K20
    )
    want = (
        "[EMAIL_1] [EMAIL_2] [EMAIL_1] [PHONE_1] [EMAIL_1] [PHONE_1] [PHONE_2], "
        "[CARD_1], [CARD_1], [CARD_1], [CARD_2], [IPV4_1], [IPV4_2], [IPV4_1], [API_KEY_1] [API_KEY_2] [API_KEY_1]"
    )
    for chunks in chunkings(text, seed=3):
        assert run(candidate, DEFAULT, chunks) == want


def test_many_distinct_values(candidate):
    text = " ".join(f"user{n}@mail.example.com 10.0.{n // 200}.{n % 200}" for n in range(150))
    text += " user7@mail.example.com user149@mail.example.com"
    out = run(candidate, ["EMAIL", "IPV4"], [text[i : i + 97] for i in range(0, len(text), 97)])
    assert out.endswith("[EMAIL_150] [IPV4_150] [EMAIL_8] [EMAIL_150]"), out[-80:]


def test_text_like_placeholders_is_not_counted(candidate):
    out = run(candidate, DEFAULT, ["[EMAIL_1] [PHONE_3] ", "bob@x.io [EMAIL_1] [API_KEY_1]"])
    assert out == "[EMAIL_1] [PHONE_3] [EMAIL_1] [EMAIL_1] [API_KEY_1]", out


def test_kinds_subsets_and_order(candidate):
    text = "bob@x.io 555-123-4567, 10.0.0.1, 4111111111111111, sk-" + K20 + " end"
    subsets = (["IPV4", "PHONE"], ("PHONE", "IPV4"), ["EMAIL", "EMAIL"], ["CARD"], ["API_KEY"], ALL[::-1])
    run_many(candidate, [(kinds, chunks) for kinds in subsets for chunks in chunkings(text)])


def test_empty_kinds_is_not_the_default(candidate):
    text = "bob@x.io 555-123-4567, 10.0.0.1, 4111111111111111, sk-" + K20
    out = run(candidate, [], list(text))  # nothing to redact: H = 0, each feed returns its chunk
    assert out == text
    assert run(candidate, None, [text]) == "[EMAIL_1] [PHONE_1], [IPV4_1], [CARD_1], [API_KEY_1]"
    assert run(candidate, DEFAULT, [text]) == "[EMAIL_1] [PHONE_1], [IPV4_1], [CARD_1], [API_KEY_1]"


def test_caller_data_is_not_kept(candidate):
    got = candidate.driver.caller_data("bob@x.io 555-123-4567")
    assert got == {"output": "[EMAIL_1] 555-123-4567", "counts": {"EMAIL": 1}}, (
        "Redactor(kinds) must copy kinds (the caller changed the list afterwards) and counts() must return a "
        f"new dict (the caller changed the one it got): got {got}"
    )


# -- the stream ---------------------------------------------------------------------------------

SPLIT_TEXTS = [
    "Mail Bob@Example.com, (555) 123-4567.",
    "ip 192.168.10.255; card 3782 822463 10005!",
    "key sk-proj_AB-12_cd-34_ef-56 +1 555 123 4567",
    "5 4111 1111 1111 1111 4111-1111-1111-1111 x",
    "ghp_" + KEY36 + " 1.2.3.4.5 01.2.3.4",
]


def test_every_split_point(candidate):
    jobs = []
    for text in SPLIT_TEXTS:
        for cut in range(len(text) + 1):
            jobs.append((DEFAULT, [text[:cut], text[cut:]]))
    run_many(candidate, jobs)


def test_three_chunks_around_each_match(candidate):
    text = "a bob@x.io b 555.123.4567 c 10.0.0.1 d"
    jobs = [
        (["EMAIL", "PHONE", "IPV4"], [text[:a], text[a:b], text[b:]])
        for a in range(0, len(text) + 1, 2)
        for b in range(a, len(text) + 1, 3)
    ]
    run_many(candidate, jobs)


def test_empty_chunks_are_not_a_flush(candidate):
    run(candidate, DEFAULT, ["", "bob@ex", "", "", "ample.com is", "", " mine", ""])
    run(candidate, DEFAULT, ["", "", ""])
    run(candidate, DEFAULT, [])
    run(candidate, [], ["", "abc", ""])


def test_holdback_bound_on_long_streams(candidate):
    rng = random.Random(5)
    words = ["lorem", "ipsum", "x.y", "a-b", "1234", "12.34", "user@", "@host", "sk-ab", "(555)", "+1", "ghp_", "-"]
    text = " ".join(rng.choice(words) for _ in range(400))
    solid = "x" * 150 + "4" * 150 + "." * 60 + "a" * 100 + "@" + "b" * 100
    jobs = []
    for kinds in (DEFAULT, ["PHONE", "IPV4"], ["CARD"], ["API_KEY"], ["EMAIL"], ["IPV4"]):
        jobs += [(kinds, list(text[:800])), (kinds, [text[i : i + 7] for i in range(0, len(text), 7)])]
        jobs += [(kinds, list(solid))]
    run_many(candidate, jobs)


def test_whole_stream_in_one_feed_releases_all_but_the_tail(candidate):
    text = ("The quick brown fox mailed bob@x.io at 10.0.0.1. " * 40).strip()
    for kinds in (DEFAULT, ["PHONE"], ["IPV4"], []):
        run(candidate, kinds, [text, " trailing words here"])


def test_two_redactors_interleaved(candidate):
    text_a = "bob@x.io 555-123-4567 alice@x.io bob@x.io"
    text_b = "555-123-4567 carol@x.io bob@x.io 10.0.0.1"
    order = []
    for i in range(0, max(len(text_a), len(text_b)), 5):
        order += [(0, text_a[i : i + 5]), (1, text_b[i : i + 5])]
    trace = candidate.driver.interleaved(["EMAIL", "PHONE"], ["PHONE", "EMAIL", "IPV4"], order)
    per = {0: [], 1: []}
    for which, outcome, counts in trace:
        per[which].append((outcome, counts))
    check_trace(["EMAIL", "PHONE"], [c for w, c in order if w == 0], per[0])
    check_trace(["PHONE", "EMAIL", "IPV4"], [c for w, c in order if w == 1], per[1])


def test_extreme_runs(candidate):
    jobs = [
        (DEFAULT, ["1 " * 3000]),
        (DEFAULT, ["a" * 5000 + "@example.com"]),
        (DEFAULT, [("4111 1111 1111 1111 " * 200)[i : i + 33] for i in range(0, 4000, 33)]),
        (DEFAULT, ["sk-" + "a" * 3000]),
        (DEFAULT, ["." * 2000 + "1.2.3.4" + "." * 50]),
    ]
    run_many(candidate, jobs)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kinds",
    [["email"], ["SSN"], ["EMAIL", "ssn"], [""], ["Phone"]],
    ids=["lower case", "SSN", "one bad name", "empty name", "Phone"],
)
def test_unknown_kind_raises(candidate, kinds):
    with expect_raises("ValueError"):
        candidate.Redactor(kinds)


@pytest.mark.parametrize("chunk", [b"bob@x.io", None, 5], ids=["bytes", "None", "int"])
def test_chunk_not_a_str_raises(candidate, chunk):
    redactor = candidate.Redactor(["EMAIL"])
    with expect_raises("TypeError"):
        redactor.feed(chunk)


def test_feed_or_flush_after_flush_raises(candidate):
    redactor = candidate.Redactor(["EMAIL"])
    assert redactor.feed("bob@x.io ") + redactor.flush() == "[EMAIL_1] "
    with expect_raises("ValueError"):
        redactor.feed("more")
    with expect_raises("ValueError"):
        redactor.flush()
    assert redactor.counts() == {"EMAIL": 1}, "counts() still works after flush"
    redactor = candidate.Redactor([])
    assert redactor.flush() == ""
    with expect_raises("ValueError"):
        redactor.feed("")
    with expect_raises("TypeError", "ValueError"):  # a non-str after flush: the statement allows either
        redactor.feed(None)


# -- random streams (property-based) ------------------------------------------------------------

FRAGMENTS = [
    "bob@example.com", "Bob@Example.COM", "a.b+c@mail.co.uk", "x@y.z", "555-123-4567", "(555) 123-4567",
    "+1 555 123 4567", "555.123.4567", "4111 1111 1111 1111", "4111-1111-1111-1112", "378282246310005",
    "192.168.0.1", "999.1.1.1", "255.255.255.255", "01.2.3.4", "sk-" + K20, "sk-" + "B1_-" * 6,
    "ghp_" + KEY36, "[EMAIL_1]", " ", " ", "-", ".", "@", "1", "12", "a", "é", "٣", "\n", ". ", "task-", "_", "(",
]  # fmt: skip


KIND_SETS = st.one_of(st.just(DEFAULT), st.lists(st.sampled_from(ALL), max_size=5))


def random_stream(seed: int, fragments: int, kinds) -> tuple[object, list[str]]:
    rng = random.Random(seed)
    text = "".join(rng.choice(FRAGMENTS) for _ in range(fragments))
    cuts = sorted(rng.randint(0, len(text)) for _ in range(rng.randint(0, 8)))
    bounds = [0, *cuts, len(text)]
    return kinds, [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 14), KIND_SETS), min_size=6, max_size=6))
def test_random_streams_match_the_redaction_of_the_whole_text(candidate, specs):
    run_many(candidate, [random_stream(*spec) for spec in specs])
