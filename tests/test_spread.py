"""One run spread over several boxes (runner.spread): the same tests, in the same order, with the
same verdicts as one box, on both backends; shards with nothing to judge; the CLI's choice of n."""

from __future__ import annotations

import pytest

from judge import runner
from judge.cli.common import WORKERS_ENV, UserError, spread_workers
from judge_harness.schema import Verdict
from tests.conftest import toy_wrong_source
from tests.sandbox_support import docker_backend, probe_problem  # noqa: F401 - fixtures


def _same(single, spread) -> None:
    assert spread.verdict is single.verdict
    assert [t.id for t in spread.tests] == [t.id for t in single.tests], "collection order is restored"
    assert [t.verdict for t in spread.tests] == [t.verdict for t in single.tests]
    assert [t.message for t in spread.tests] == [t.message for t in single.tests]


@pytest.mark.parametrize("workers", [2, 3])
def test_a_spread_run_matches_one_box_on_the_local_backend(toy_problem, local_backend, workers: int) -> None:
    single = runner.run(toy_problem, toy_problem.reference, "hidden", local_backend)
    spread = runner.run(toy_problem, toy_problem.reference, "hidden", local_backend, workers=workers)
    assert single.verdict is Verdict.ACCEPTED
    _same(single, spread)


def test_a_spread_wrong_solution_gets_the_same_verdict(toy_problem, local_backend, tmp_path) -> None:
    wrong = tmp_path / "toy_add.py"
    wrong.write_text(toy_wrong_source())
    single = runner.run(toy_problem, wrong, "hidden", local_backend)
    spread = runner.run(toy_problem, wrong, "hidden", local_backend, workers=2)
    assert single.verdict is not Verdict.ACCEPTED
    _same(single, spread)


def test_more_shards_than_tests(probe_problem, local_backend) -> None:  # noqa: F811
    result = runner.run(probe_problem, probe_problem.reference, "hidden", local_backend, workers=4)
    assert result.verdict is Verdict.ACCEPTED and len(result.tests) == 2, result.message


def test_a_compilation_error_is_reported_once(toy_problem, local_backend, tmp_path) -> None:
    broken = tmp_path / "toy_add.py"
    broken.write_text("def add(a, b):\n    return a + b\nimport no_such_module_anywhere\n")
    result = runner.run(toy_problem, broken, "hidden", local_backend, workers=2)
    assert result.verdict in (Verdict.COMPILATION_ERROR, Verdict.RUNTIME_ERROR) and result.message


@pytest.mark.docker
def test_a_spread_run_matches_one_box_on_docker(toy_problem, docker_backend) -> None:  # noqa: F811
    single = runner.run(toy_problem, toy_problem.reference, "hidden", docker_backend)
    spread = runner.run(toy_problem, toy_problem.reference, "hidden", docker_backend, workers=2)
    _same(single, spread)


def test_the_cli_spreads_over_the_cores_up_to_the_problems_cap(toy_problem, local_backend, monkeypatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert spread_workers(toy_problem, local_backend) == 4, "at most MAX_SPREAD"
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert spread_workers(toy_problem, local_backend) == 2
    capped = type(toy_problem)(**{**toy_problem.__dict__, "max_workers": 1})
    assert spread_workers(capped, local_backend) == 1
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert spread_workers(toy_problem, local_backend) == 3
    monkeypatch.setenv(WORKERS_ENV, "0")
    with pytest.raises(UserError, match=WORKERS_ENV):
        spread_workers(toy_problem, local_backend)


def test_docker_spreads_over_the_engines_cores_not_one_boxs_quota(toy_problem, monkeypatch) -> None:
    from judge.backends.docker import DockerBackend

    monkeypatch.delenv(WORKERS_ENV, raising=False)

    def machine(cores: float) -> DockerBackend:  # no engine needed: nothing runs
        return DockerBackend("judge-sandbox:any", cpus=2.0, warm_boxes=False, engine_cpus=cores)

    assert spread_workers(toy_problem, machine(8.0)) == 4, "8 cores: 4 boxes of 2 CPUs each, at most MAX_SPREAD"
    assert spread_workers(toy_problem, machine(2.0)) == 2
