"""Public tests for streaming-pii-redactor: the statement's examples, runnable with `judge test`."""

from judge_harness import expect_raises


def feed_all(redactor, chunks):
    returned = [redactor.feed(chunk) for chunk in chunks]
    return returned, "".join(returned) + redactor.flush()


def test_example_split_email_and_phone(candidate):
    redactor = candidate.Redactor(["EMAIL", "PHONE"])
    chunks = ["Reach me at al", "ice@corp.io or ", "(555) 12", "3-4567, ALICE@corp.io or +1 555 123 4567"]
    returned, out = feed_all(redactor, chunks)
    assert out == "Reach me at [EMAIL_1] or [PHONE_1], [EMAIL_1] or [PHONE_1]", out
    assert returned[3].startswith("Reach me at "), f"at most H = 65 of 77 characters may be withheld: {returned}"
    assert redactor.counts() == {"EMAIL": 2, "PHONE": 2}


def test_example_overlaps_and_luhn(candidate):
    text = "call 555-123-4567-896 or 555-123-4567-890."
    _, out = feed_all(candidate.Redactor(), [text])
    assert out == "call [CARD_1] or [PHONE_1]-890.", out
    _, out = feed_all(candidate.Redactor(["PHONE"]), [text])
    assert out == "call [PHONE_1]-896 or [PHONE_1]-890.", out


def test_example_near_misses(candidate):
    redactor = candidate.Redactor()
    text = "key sk-abcdefghijklmnopqrst at 10.0.0.255, 999.1.1.1, 01.2.3.4 and [EMAIL_1]"
    _, out = feed_all(redactor, list(text))
    assert out == "key [API_KEY_1] at [IPV4_1], 999.1.1.1, 01.2.3.4 and [EMAIL_1]", out
    assert redactor.counts() == {"API_KEY": 1, "EMAIL": 0, "CARD": 0, "PHONE": 0, "IPV4": 1}


def test_unknown_kind(candidate):
    with expect_raises("ValueError"):
        candidate.Redactor(["email"])
