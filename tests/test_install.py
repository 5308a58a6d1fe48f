"""What a new user meets when installing: supported Pythons, the torch build, a checkout-only install."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.specifiers import SpecifierSet

from judge import paths
from judge.cli import cli

REPO = Path(__file__).resolve().parents[1]


def test_requires_python_admits_311_and_newer() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    supported = SpecifierSet(project["requires-python"])
    for version in ("3.11.0", "3.12.1", "3.13.0", "3.14.0"):
        assert version in supported, f"requires-python {supported} refuses Python {version}"
    assert "3.10.13" not in supported
    assert f"{sys.version_info.major}.{sys.version_info.minor}.0" in supported


def test_readme_tells_the_truth_about_torch_the_image_and_the_suite() -> None:
    readme = (REPO / "README.md").read_text()
    opening = readme.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert opening == [
        "pip install -e . && judge submit sliding-window-attention solutions_ref/sliding_window_attention.py",
        "python -m pytest -q",
    ]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_pin = next(d for d in project["dependencies"] if d.startswith("torch"))
    assert "pins the CPU build" not in readme, "pyproject pins plain torch, not the CPU build"
    assert f"pip install {torch_pin} --index-url https://download.pytorch.org/whl/cpu" in readme
    assert "CUDA build" in readme
    assert "judge sandbox build --no-registry" in readme
    assert "about 14 minutes" in readme


@pytest.mark.parametrize("missing", ["PROBLEMS_DIR", "SANDBOX_DIR"])
def test_an_install_without_the_checkout_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, missing: str
) -> None:
    monkeypatch.setattr(paths, missing, tmp_path / "site-packages" / "gone")
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 2, result.output
    assert "pip install -e ." in result.output and "checkout" in result.output
    assert "JUDGE_PROBLEMS_PATH" not in result.output
    assert "Traceback" not in result.output
