"""``metric-card`` on the smoke run: blur lowers sharpness, every degradation lowers PSNR
against the baseline, and a response inside the seed-noise floor is flagged."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from evalsuite.score.metric_card import CARD_FILE, build_card
from evalsuite.store.db import Store
from evalsuite.suite.spec import load_suite
from metrics.degrade import DEGRADATIONS, Degradation
from reports.metric_card import card_findings, chart_metric
from tests.conftest import run_cli_here


@pytest.fixture(scope="module")
def run_copy(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("card") / "run"
    shutil.copytree(smoke_run, out)  # the card writes into the run folder
    return out


def cells(card: dict, metric: str) -> dict[str, dict]:
    row = next(m for m in card["metrics"] if m["metric"] == metric)
    return {c["degradation"]: c for c in row["cells"]}


def test_card_on_the_smoke_run(run_copy: Path) -> None:
    proc = run_cli_here("metric-card", str(run_copy), "--limit", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    card = json.loads(proc.stdout)
    assert card == json.loads((run_copy / CARD_FILE).read_text())
    assert card["images"] == 4 and list(card["degradations"]) == [d.name for d in DEGRADATIONS]
    assert "not cache artifacts" in card["caveat"]
    sharp = cells(card, "sharpness")
    for name in ("blur-0.5", "blur-1", "blur-2"):
        assert sharp[name]["response"] < 0, name  # blur removes high frequencies
        assert sharp[name]["floor_units"] is not None
    assert sharp["blur-2"]["response"] < sharp["blur-0.5"]["response"]
    for name, c in cells(card, "psnr").items():  # identical images: infinite PSNR; any damage: finite
        assert c["value"] is not None and math.isfinite(c["value"]) and c["inside_floor"] is False, name
    for name, c in cells(card, "ssim").items():
        assert c["response"] < 0 and c["inside_floor"] is False, name
    html = (run_copy / "report" / "index.html").read_text()
    assert 'id="metric-card"' in html
    # The re-rendered report's chart selector carries the card's findings and opens on a
    # metric the card trusts (PSNR and SSIM move under every degradation).
    metrics = ["sharpness", "psnr", "ssim"]
    found = card_findings(metrics, card)
    for m, f in found.items():
        label = m + (f" – {'; '.join(f.notes)}" if f.notes else "")
        assert re.search(f'<option value="{m}"( selected)?>{re.escape(label)}</option>', html), label
    default = chart_metric(metrics, found)
    assert default in ("psnr", "ssim") and f'<option value="{default}" selected>' in html


def test_a_response_inside_the_noise_floor_is_flagged(run_copy: Path) -> None:
    # A degradation that changes nothing stays inside every metric's floor.
    untouched = Degradation("none", "no change", lambda im: im.copy())
    suite = load_suite(str(run_copy / "suite.toml"))
    store = Store(run_copy / "results.sqlite")
    try:
        card = build_card(suite, run_copy, store, "cpu", limit=3,
                          degradations=(DEGRADATIONS[2], untouched), progress=lambda m: None)
    finally:
        store.close()
    by_metric = {m["metric"]: m for m in card["metrics"]}
    assert by_metric["sharpness"]["floor"] > 0  # the smoke suite measures the noise floor
    for metric in ("sharpness", "psnr", "ssim"):
        assert by_metric[metric]["blind_to"] == ["none"], metric
    assert cells(card, "sharpness")["none"]["response"] == 0.0
