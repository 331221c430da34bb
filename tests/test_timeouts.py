"""No test may fail only because the machine is slow: every wait uses the hang guard.

A literal number of seconds in a test's ``timeout=``, ``wait(timeout=...)`` or a
``time.time() + N`` deadline is a limit a loaded machine can reach (defect: 8 tests errored
under load with the old 300 s). Waits go through ``tests.conftest.hang_guard()`` instead.
"""

from __future__ import annotations

import re

from tests.conftest import REPO

ABSOLUTE = re.compile(
    r"\btimeout\s*(?::\s*float\s*)?=\s*\d"  # a literal seconds argument or a float default
    r"|(?:time|monotonic|perf_counter)\(\)\s*\+\s*\d"  # a deadline of now plus a literal
    r"|\.wait\(\s*\d"  # proc.wait(60)
)

# A wait whose expiry fails nothing (a grace period before a kill) says so on its line.
EXEMPT = "# grace period, not a limit"


def test_no_test_waits_on_an_absolute_limit() -> None:
    offenders = [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
                 for path in sorted((REPO / "tests").rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if ABSOLUTE.search(line) and EXEMPT not in line and path.name != "test_timeouts.py"]
    assert not offenders, "use tests.conftest.hang_guard():\n" + "\n".join(offenders)

