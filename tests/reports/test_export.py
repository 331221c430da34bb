"""Export tables: pure builders, the three writers, and ``evalsuite export`` on a real run."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from reports.export import sample_table, variant_table, write_table
from reports.summary import build_summary
from tests.conftest import run_cli
from tests.reports._synthetic import synthetic_kwargs


@pytest.fixture(scope="module")
def kw() -> dict:
    kw = synthetic_kwargs(n_prompts=4, seeds=(0,))
    # Sample rows 5 and 6 (variant order, then prompt): one failed, one infinite value.
    changes = {("v-0", "p001"): {"value": None, "reason": "scorer returned NaN"},
               ("v-0", "p002"): {"value": math.inf}}
    kw["scores"] = [replace(r, **changes.get((r.variant_id, r.prompt_id), {})) if r.metric == "quality"
                    else r for r in kw["scores"]]
    return kw


def test_sample_table_has_a_row_per_image_and_a_column_per_metric(kw: dict) -> None:
    t = sample_table(kw["samples"], kw["scores"], kw["variants"], ["quality", "ssim", "psnr"])
    assert len(t.rows) == 5 * 4
    assert t.columns[-6:] == ["quality", "quality_reason", "ssim", "ssim_reason", "psnr", "psnr_reason"]
    assert {r["role"] for r in t.rows} == {"", "noise_floor"}
    assert sum(r["quality_reason"] == "scorer returned NaN" for r in t.rows) == 1


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_writers_round_trip(tmp_path: Path, kw: dict, fmt: str) -> None:
    table = variant_table(build_summary(**kw))
    samples = sample_table(kw["samples"], kw["scores"], kw["variants"], ["quality"])
    path = write_table(table, tmp_path / "variants", fmt)
    spath = write_table(samples, tmp_path / "samples", fmt)
    assert path.suffix == f".{fmt}" and not list(tmp_path.glob(".*tmp"))
    if fmt == "csv":
        rows = list(csv.DictReader(path.open()))
        srows = list(csv.DictReader(spath.open()))
        assert srows[5]["quality"] == "" and srows[6]["quality"] == "inf"  # failed: empty, not 0
    elif fmt == "json":
        rows = json.loads(path.read_text())
        srows = json.loads(spath.read_text())
        assert srows[5]["quality"] is None and srows[6]["quality"] == "inf"
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        rows = pq.read_table(path).to_pylist()
        srows = pq.read_table(spath).to_pylist()
        assert srows[5]["quality"] is None and srows[6]["quality"] == math.inf
    assert [r["variant"] for r in rows] == ["baseline", "fbc-0.05", "fbc-0.1", "fbc-0.2"]
    assert set(table.columns) <= set(rows[0])
    assert len(srows) == 20


def test_cli_export_of_a_smoke_run(smoke_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from evalsuite.cli.main import main  # in-process: three subprocesses would import torch three times

    for fmt in ("csv", "json", "parquet"):
        assert main(["export", str(smoke_run), "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
        assert sorted(p.name for p in (tmp_path / fmt).iterdir()) == [f"samples.{fmt}", f"variants.{fmt}"]
    summary = json.loads((smoke_run / "summary.json").read_text())
    variants = json.loads((tmp_path / "json" / "variants.json").read_text())
    assert [v["variant"] for v in variants] == [v["name"] for v in summary["variants"]]
    samples = json.loads((tmp_path / "json" / "samples.json").read_text())
    n_variants = len(summary["variants"]) + (1 if summary["noise_floor"] else 0)
    assert len(samples) == n_variants * summary["variants"][0]["samples"]["expected"]
    assert all(s["sharpness"] is not None for s in samples)
    assert main(["export", str(tmp_path), "--format", "csv"]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_cli_recommend_several_metrics(smoke_run: Path) -> None:
    proc = run_cli("recommend", str(smoke_run), "--metric", "ssim", "--max-drop", "0.001",
                   "--metric", "psnr", "--min", "60", "--metric", "sharpness", "--max-drop", "1000",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["bound"] == "ci" and len(rec["budgets"]) == 3 and rec["variant"]
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert summary["recommendation"]["variant"] == rec["variant"]  # the suite's own budgets agree
    p50 = {v["name"]: v["latency_s"]["p50"] for v in summary["variants"]}
    assert all(p50[r["variant"]] <= p50[rec["variant"]] for r in rec["rejected"])
    mean = run_cli("recommend", str(smoke_run), "--metric", "psnr", "--min", "60", "--bound", "mean",
                   "--objective", "cost", "--json")
    assert mean.returncode == 0 and json.loads(mean.stdout)["objective"] == "cost"
