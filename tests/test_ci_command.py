"""CI runs exactly the README's test command, and that command prints the slowest tests."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_test_command() -> str:
    """The one-line command in the README's code block after "Install what the tests need"."""
    text = (REPO / "README.md").read_text()
    after = text[text.index("Install what the tests need"):]
    return re.search(r"```bash\n(.+?)\n```", after, re.S).group(1).strip()  # type: ignore[union-attr]


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    command = readme_test_command()
    assert "\n" not in command and "python -m pytest" in command
    assert command in (REPO / ".ci" / "run").read_text().splitlines()


def test_the_test_command_prints_the_15_slowest_tests() -> None:
    assert readme_test_command().endswith("python -m pytest -q --durations=15")
