"""What the per-problem project tests share: loading a module from a path or a wrong solution, the verdict names."""

from __future__ import annotations

import sys
import types

from judge.catalog import load_catalog
from judge_harness.schema import Verdict
from judge_harness.worker import load_module as load

VERDICTS = {verdict.value for verdict in Verdict}


def load_wrong(slug: str, name: str, module_name: str | None = None) -> types.ModuleType:
    """Import a known-wrong solution (a patch applied to today's reference, in memory) as a module."""
    problem = load_catalog().get(slug)
    wrong = problem.wrong_solution(name)
    module = types.ModuleType(module_name or f"{problem.module_name}_wrong_{wrong.path.stem}")
    module.__file__ = str(wrong.path)
    sys.modules[module.__name__] = module
    exec(compile(wrong.source(problem.reference), str(wrong.path), "exec"), module.__dict__)
    return module


__all__ = ["VERDICTS", "load", "load_wrong"]
