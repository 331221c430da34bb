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
    assert "2 kept, 0 broken" in proc.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The five packages' sources in a scratch folder, to break on purpose."""
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("reports/pareto.py", "import evalsuite.spec", "layers"),
    ("reports/pareto.py", "import metrics.base", "layers"),
    ("registry/__init__.py", "import prompts", "layers"),
    ("evalsuite/errors.py", "import evalsuite.cli", "cycles"),
    # A circle through a type-only or a function-local import is still a circle to a reader.
    ("reports/records.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import reports.summary_records", "cycles"),
    ("reports/records.py", "def _late() -> None:\n    import reports.summary_records", "cycles"),
])
def test_the_contract_catches_a_violation(copy: Path, module: str, line: str, broken: str) -> None:
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    proc = lint_imports(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 kept, 1 broken" in proc.stdout
    name = "no import cycles" if broken == "cycles" else "evalsuite on top"
    assert f"{name}" in proc.stdout.split("Broken contracts")[1]
