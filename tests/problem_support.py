"""What the per-problem project tests share: loading a module from a path, the verdict names."""

from __future__ import annotations

from judge_harness.schema import Verdict
from judge_harness.worker import load_module as load

VERDICTS = {verdict.value for verdict in Verdict}

__all__ = ["VERDICTS", "load"]
