"""bench/gpu_acceptance.sh --tiny: the GPU acceptance script end to end on the CPU, so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard


def acceptance(tmp: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """The script at toy sizes, writing its table into ``tmp`` (a job started ahead)."""
    env = {**env, "OUT": str(tmp), "PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu_acceptance.sh"), "--tiny", "--images", "2",
                           "--steps", "2"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=hang_guard())
    return proc, tmp / "gpu_acceptance.md"


@pytest.mark.slow
@runs_ahead(acceptance)
def test_tiny_acceptance_prints_and_writes_one_table(ahead: Ahead) -> None:
    proc, written = ahead(acceptance)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = written.read_text()
    assert table.strip() in proc.stdout
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    parts = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        parts.setdefault(cells[0], {})[cells[1]] = cells
    assert set(parts) == {"a shapes", "b sweep", "c scoring"}
    assert "ms/step" in parts["a shapes"]["eager"][2] and "x FLOP floor" in parts["a shapes"]["cache50"][3]
    assert "8.9" in parts["a shapes"]["fp8"][8]  # FP8 dynamic has no CPU kernel: said, not hidden
    sweep = parts["b sweep"]
    assert {"baseline", "fbcache-0.1", "fbcache-0.3", "fp8", "fp8-compile", "harness overhead"} <= set(sweep)
    assert all("s/image p50" in sweep[v][2] for v in ("baseline", "fp8", "fp8-compile"))
    assert sweep["fp8-compile"][4] not in ("", "–")  # compile time measured apart from latency
    assert "/" in sweep["fbcache-0.3"][7]  # steps skipped / total
    assert "< 5%" in sweep["harness overhead"][3]
    assert "end/start" in sweep["drift check"][3]  # the sweep re-timed its baseline at the end
