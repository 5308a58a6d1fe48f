"""The in-box harness: checker (pytest + plugin), worker, codec and test helpers.

Tests import their helpers from here::

    from judge_harness import CandidateError, Record, assert_close, expect_raises
"""

from judge_harness.checks import assert_close, expect_raises, tolerance_for
from judge_harness.codec import Record
from judge_harness.remote import CandidateError

__all__ = ["CandidateError", "Record", "assert_close", "expect_raises", "tolerance_for"]
