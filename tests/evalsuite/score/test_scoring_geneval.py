"""GenEval and missing weights in a real run: prompt metadata reaches the scorer, skips and
missing weights are NaN with their reason (the latter scored again on the next run)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATASETS, run_cli_here
from tests.metrics._tiny_clip import save_tiny_clip
from tests.metrics._tiny_mask2former import save_tiny_mask2former

GENEVAL = SHARED_DATASETS / "geneval" / "evaluation_metadata.jsonl"

SUITE = """
name = "geneval-mini"
[model]
id = "tiny"
steps = 4
device = "cpu"
height = 64
width = 64
max_sequence_length = 128
[prompts]
sets = ["geneval", "smoke"]
paths = {{ geneval = "{geneval}" }}
limits = {{ geneval = 6 }}  # one prompt per GenEval task, all 8 smoke prompts
seeds = [0]
[hardware]
gpu = "cpu-2vcpu"
[run]
warmup = 0
[metrics]
use = ["geneval", "pickscore"]
[metrics.geneval]
detector = "{det}"
clip = "{clip}"
detector_size = 64
[metrics.pickscore]
model = "{absent}"
processor = "{clip}"
[[variant]]
name = "baseline"
"""


@pytest.mark.skipif(not GENEVAL.is_file(), reason="GenEval metadata not in the shared datasets")
def test_geneval_scores_its_prompts_and_skips_others(tmp_path: Path) -> None:
    det, clip = save_tiny_mask2former(tmp_path / "det"), save_tiny_clip(tmp_path / "clip")
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(geneval=GENEVAL, det=det, clip=clip, absent=tmp_path / "absent"))
    out = tmp_path / "run"
    proc = run_cli_here("run", str(suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT p.set_name, s.metric, s.value, s.reason FROM scores s "
                          "JOIN prompts p ON p.id = s.prompt_id").fetchall()
    geneval = [(st, v, why) for st, m, v, why in rows if m == "geneval"]
    assert {st for st, _, _ in geneval} == {"geneval", "smoke"}
    for st, v, why in geneval:
        if st == "geneval":
            assert v in (0.0, 1.0) and why is None
        else:
            assert v is None or math.isnan(v)
            assert why == "not a GenEval prompt (no object metadata)"
    missing = [why for _, m, _, why in rows if m == "pickscore"]
    assert missing and all(w.startswith("missing weights: pickscore: cannot load weights") for w in missing)
    summary = json.loads((out / "summary.json").read_text())
    assert "pickscore" in json.dumps(summary)
    page = (out / "report" / "index.html").read_text()
    assert 'id="geneval"' in page and "single_object" in page  # task scores and the overall
    # The missing weights are tried again on the next run (and still missing).
    proc = run_cli_here("score", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "pickscore: cannot load weights" in proc.stdout + proc.stderr
