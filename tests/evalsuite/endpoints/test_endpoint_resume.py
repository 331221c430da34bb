"""kill -9 during an endpoint variant loses at most the requests in flight; a rerun resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, hang_guard, run_cli_here
from tests.evalsuite.endpoints.faultserver import FaultServer, Reply, json_reply
from tests.evalsuite.endpoints.helpers import b64_answer, png_bytes

SUITE = """
name = "ep-resume"
baseline = "ep"
[model]
id = "tiny"
device = "cpu"
[prompts]
sets = ["smoke"]
seeds = [0, 1]
[run]
warmup = {warmup}
[metrics]
use = ["sharpness"]
[[variant]]
name = "ep"
[variant.endpoint]
protocol = "openai-images"
url = "{url}/v1"
concurrency = 2
"""

WARMUP = 1  # untimed requests before the timed ones


def _ok_samples(db) -> int:
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(db, timeout=hang_guard()) as con:
            return con.execute("SELECT COUNT(*) FROM samples WHERE status='ok'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.slow
def test_kill_9_then_rerun(tmp_path):
    with FaultServer() as srv:
        # the suite's own size (64x64): an image of another size would be flagged, not ok
        answer = json_reply(b64_answer(png_bytes(64, 64)))
        # The warm-up request and 3 images are answered, then every request hangs, so the kill
        # lands mid-variant with exactly 3 stored and 2 in flight, however fast the machine.
        srv.script("POST", "/v1/images/generations", *[answer] * (WARMUP + 3), Reply(hang=True))
        suite = tmp_path / "suite.toml"
        suite.write_text(SUITE.format(url=srv.url, warmup=WARMUP))
        out = tmp_path / "run"
        cmd = [sys.executable, "-m", "evalsuite", "run", str(suite), "--out", str(out)]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + hang_guard()  # the kill comes after 3 stored images
        while _ok_samples(out / "results.sqlite") < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before holding"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(hang_guard())
        before = _ok_samples(out / "results.sqlite")
        assert 3 <= before < 16, "the kill should land mid-variant"
        assert before == 3
        srv.script("POST", "/v1/images/generations", answer)  # the rerun is answered throughout
        rerun = run_cli_here("run", str(suite), "--out", str(out))
        assert rerun.returncode == 0, rerun.stderr
        sent = len(srv.received)
    with sqlite3.connect(out / "results.sqlite") as con:
        rows = con.execute("SELECT status, image FROM samples").fetchall()
        recorded = con.execute("SELECT COUNT(*) FROM endpoint_requests").fetchone()[0]
    with sqlite3.connect(out / "drift.sqlite") as con:  # the drift check's own requests
        recorded += con.execute("SELECT COUNT(*) FROM endpoint_requests").fetchone()[0]
    assert len(rows) == 16 and all(s == "ok" for s, _ in rows)  # 8 prompts x 2 seeds
    expected = np.asarray(Image.open(__import__("io").BytesIO(png_bytes(64, 64))))
    for _, rel in rows:
        assert np.array_equal(np.asarray(Image.open(out / rel)), expected)
    # every request sent was recorded, except those in flight at the kill (concurrency = 2)
    assert 0 <= sent - recorded <= 2
    assert not list((out / "images").glob("*/.*.tmp*"))  # no stray partial files
