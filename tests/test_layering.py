"""The layering contract (pyproject's [tool.importlinter]), run as part of the test suite.

``evalsuite`` sits on top; ``prompts``, ``metrics`` and ``reports`` are leaves that never
import ``evalsuite`` nor each other; ``registry`` imports none of them; no package has an
import circle among its modules.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, hang_guard

PACKAGES = ("evalsuite", "prompts", "metrics", "reports", "registry")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the packages under ``root`` with the repository's contracts."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", "--no-logo", "--config", str(REPO / "pyproject.toml")],
        cwd=root, capture_output=True, text=True, timeout=hang_guard(),
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_layering_contract_holds() -> None:
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The five packages' sources in a scratch folder, to break on purpose."""
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


LEAVES = "evalsuite on top"
CYCLES = "no import cycles"
STAGES = "evalsuite's subpackages"


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("reports/pareto.py", "import evalsuite.suite.spec", {LEAVES}),
    ("reports/pareto.py", "import metrics.base", {LEAVES}),
    ("registry/__init__.py", "import prompts", {LEAVES}),
    # The bottom reaching the top: a circle between subpackages and a stage out of order.
    ("evalsuite/errors.py", "import evalsuite.cli.main", {CYCLES, STAGES}),
    # A lower stage reaching up, without a circle: the pipeline's direction is enforced too.
    ("evalsuite/hardware/prices.py", "import evalsuite.suite.spec", {STAGES}),
    ("evalsuite/score/scoring.py", "import evalsuite.models.tiny", {STAGES}),
    # A circle through a type-only or a function-local import is still a circle to a reader.
    ("reports/records.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import reports.summary_records", {CYCLES}),
    ("reports/records.py", "def _late() -> None:\n    import reports.summary_records", {CYCLES}),
])
def test_the_contract_catches_a_violation(copy: Path, module: str, line: str, broken: set[str]) -> None:
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    proc = lint_imports(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{3 - len(broken)} kept, {len(broken)} broken" in proc.stdout
    report = proc.stdout.split("Broken contracts")[1]
    for name in broken:
        assert name in report
