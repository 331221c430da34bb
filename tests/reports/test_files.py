"""Atomic report files, and a report folder broken by a killed run repairs itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from reports.files import atomic_path, write_atomic
from reports.html import PLOTLY_JS, ensure_plotly
from tests.conftest import REPO, hang_guard
from tests.reports._synthetic import render_synthetic

PLOTLY_BYTES = len(get_plotlyjs().encode("utf-8"))


def test_write_atomic_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.txt"
    write_atomic(path, "old")
    write_atomic(path, b"new bytes")
    assert path.read_bytes() == b"new bytes"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]  # no temporary left


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    write_atomic(path, "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


WRITER = """
import sys, time
from pathlib import Path
from reports.files import atomic_path
path = Path(sys.argv[1])
with atomic_path(path) as tmp:
    tmp.write_text("half of the new")
    Path(sys.argv[2]).touch()  # tell the test we are mid-write
    time.sleep(600)
"""


def test_kill_9_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    path, ready = tmp_path / "a.txt", tmp_path / "ready"
    write_atomic(path, "old")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(ready)], env=env)
    try:
        deadline = time.monotonic() + hang_guard()
        while not ready.exists():
            assert proc.poll() is None, "the writer exited before writing"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert path.read_text() == "old"


@pytest.mark.parametrize("broken", [b"", b"/* half of plotly", None])
def test_render_repairs_a_broken_plotly_js(tmp_path: Path, broken: bytes | None) -> None:
    """Defect: a kill -9 while plotly.min.js was written left it empty, and no later report
    rewrote it, so no chart ever drew again ("Plotly is not defined")."""
    html, _, _ = render_synthetic(tmp_path, n_prompts=3)
    js = html.parent / PLOTLY_JS
    assert js.stat().st_size == PLOTLY_BYTES
    if broken is None:
        js.unlink()
    else:
        js.write_bytes(broken)
    render_synthetic(tmp_path, n_prompts=3)
    assert js.stat().st_size == PLOTLY_BYTES
    assert js.read_text(encoding="utf-8") == get_plotlyjs()


def test_a_whole_plotly_js_is_left_alone(tmp_path: Path) -> None:
    assert ensure_plotly(tmp_path) is True
    mtime = (tmp_path / PLOTLY_JS).stat().st_mtime_ns
    assert ensure_plotly(tmp_path) is False
    assert (tmp_path / PLOTLY_JS).stat().st_mtime_ns == mtime


def test_cli_report_repairs_a_broken_report_folder(smoke_run: Path) -> None:
    from evalsuite.cli.main import main  # in-process: a subprocess would import torch again

    report = smoke_run / "report"
    (report / PLOTLY_JS).write_bytes(b"")
    (report / "index.html").write_bytes(b"<html><body>trunc")
    assert main(["report", str(smoke_run)]) == 0
    assert (report / PLOTLY_JS).stat().st_size == PLOTLY_BYTES
    assert (report / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert not [p.name for p in report.iterdir() if p.name.endswith(".tmp")]
