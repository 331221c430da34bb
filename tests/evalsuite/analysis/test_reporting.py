"""evalsuite/analysis/reporting.py on a real store filled by hand: no model, no worker, no subprocess.

The store holds what a run would have written (prompts, variant rows, samples, scores),
plus rows the suite no longer asks for, so these tests see exactly what ``collect`` keeps,
how it types it, and what ``write_reports`` and ``export_run`` write from it.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

import prompts as prompt_sets
from evalsuite.analysis.reporting import (
    cache_of,
    collect,
    export_run,
    resolve_pricing,
    summarize,
    write_reports,
)
from evalsuite.errors import UserError
from evalsuite.store.db import SampleRow, Store
from evalsuite.store.paths import image_dir, telemetry_path
from evalsuite.suite.spec import Suite, parse_suite
from reports.recommend import budgets_recommendation
from reports.records import Budget, CacheUse, Pricing, SampleRecord, Score, SweepAxis
from reports.summary import SCHEMA_VERSION, load_summary

SUITE = """
name = "unit"
[model]
id = "tiny"
device = "cpu"
[prompts]
sets = ["smoke"]
limit = 3
seeds = [0, 1]
[hardware]
gpu = "cpu-2vcpu"
gpus = {gpus}
[metrics]
use = ["sharpness", "ssim"]
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = {{ threshold = [0.05, 0.2] }}
[[variant]]
name = "late"
fbcache = {{ threshold = 0.3 }}
[[report.budget]]
metric = "ssim"
max_drop = 0.5
"""
SKIPPED = {"baseline": 0, "fbc-0.05": 0, "fbc-0.2": 4, "late": 6}  # fbc-0.05 never skips
SHARPNESS_IDENTITY = json.dumps({"name": "sharpness", "preprocessing": "RGB uint8 -> float [0,1]"},
                                sort_keys=True)
LATENCY = {"baseline": 2.0, "fbc-0.05": 1.9, "fbc-0.2": 1.0, "late": 0.8}


def make_suite(gpus: int = 1) -> Suite:
    return parse_suite(tomllib.loads(SUITE.format(gpus=gpus)), "unit.toml", Path("."))


def fill(run_dir: Path, suite: Suite, *, leave_out: str = "late") -> Store:
    """What a run of ``suite`` would have stored, except variant ``leave_out`` (never run)."""
    store = Store(run_dir / "results.sqlite")
    chosen = prompt_sets.resolve_prompts(suite.prompts)
    store.put_prompts((p.id, p.text, p.set, p.index, p.category, {}) for p in chosen)
    for v in suite.variants:
        store.put_variant(v.id, v.name, v.describe())
        if v.name == leave_out:
            continue
        store.set_variant_status(v.id, "ok", None, load_s=1.0, cold_s=3.0, checks="[]")
        for i, p in enumerate(chosen):
            for seed in (0, 1, 7):  # seed 7: an older run's, not in the suite any more
                image = f"{image_dir(v.name, v.id)}/{p.id}-{seed}.png"
                (run_dir / image).parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (16, 16), (i * 40, seed * 30, 90)).save(run_dir / image)
                store.put_sample(SampleRow(v.id, p.id, seed, "ok", LATENCY[v.name] + 0.01 * i, 2**20,
                                           12 - SKIPPED[v.name], SKIPPED[v.name], image))
                sharp = 10.0 - LATENCY[v.name] + i
                store.put_scores("sharpness", SHARPNESS_IDENTITY, [(v.id, p.id, seed, sharp, None)])
                ssim = 1.0 - 0.1 * SKIPPED[v.name] / 4 - 0.001 * i
                store.put_scores("ssim", "{}", [(v.id, p.id, seed, ssim, None)])
    # An old variant of the same run folder (other settings, so another id): never reported.
    store.put_variant("old-id", "fbc-0.9", {"fbcache": {"threshold": 0.9}})
    store.set_variant_status("old-id", "ok")
    store.put_sample(SampleRow("old-id", chosen[0].id, 0, "ok", 0.1, 1, 1, 11, None))
    return store


@pytest.fixture
def run(tmp_path: Path) -> tuple[Suite, Path, Store]:
    suite = make_suite()
    store = fill(tmp_path, suite)
    yield suite, tmp_path, store
    store.close()


def test_collect_types_the_suites_rows_and_leaves_others_out(run: tuple[Suite, Path, Store]) -> None:
    suite, run_dir, store = run
    t = collect(suite, run_dir, store)
    assert [v.name for v in t.variants] == ["baseline", "fbc-0.05", "fbc-0.2", "late"]
    assert t.expected == 3 * 2
    assert all(isinstance(s, SampleRecord) for s in t.samples) and all(isinstance(s, Score) for s in t.scores)
    assert {s.seed for s in t.samples} == {0, 1} and {s.variant_id for s in t.samples} == {
        v.id for v in t.variants if v.name != "late"}
    assert len(t.samples) == 3 * 6 and len(t.scores) == 3 * 6 * 2
    assert t.samples[0].text and t.samples[0].set_name == "smoke"  # joined with the prompt
    base, fbc, _, late = t.variants
    assert base.cache is None and fbc.cache == CacheUse("fbcache", {"threshold": 0.05})
    assert fbc.group == "fbc" and fbc.sweep == (SweepAxis("fbcache", "threshold", (0.05, 0.2)),)
    assert late.group == "late" and late.sweep == () and late.status == "pending"
    assert (fbc.load_s, fbc.cold_s, fbc.checks, fbc.compile_s) == (1.0, 3.0, (), None)
    assert set(t.metrics) == {"sharpness", "ssim"} and t.metrics["ssim"].kind == "paired"
    # The identity is the one the stored values were computed with, read back from the store.
    assert t.metrics["ssim"].ideal == 1.0
    assert t.metrics["sharpness"].identity == json.loads(SHARPNESS_IDENTITY)
    assert t.pricing.gpu == "cpu-2vcpu" and t.pricing.usd_per_hour > 0


def test_compile_time_comes_from_the_workers_telemetry(run: tuple[Suite, Path, Store]) -> None:
    suite, run_dir, store = run
    fbc = suite.variants[1]
    path = telemetry_path(run_dir, fbc.name, fbc.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"accelerators": {"compile": {"compile_s": 12.5}}}))
    assert collect(suite, run_dir, store).variants[1].compile_s == 12.5


def test_gpus_per_image_bills_the_hardwares_gpus(tmp_path: Path) -> None:
    suite = make_suite(gpus=2)
    with fill(tmp_path, suite) as store:
        s = summarize(suite, tmp_path, store)
    base = s.variant("baseline")
    assert base.gpus_per_image == 2 and base.latency_s
    assert base.cost_per_image_usd == pytest.approx(base.latency_s.mean * s.pricing.usd_per_hour / 3600 * 2)


def test_pricing_from_the_suite_the_table_or_a_clear_error() -> None:
    suite = make_suite()
    table = resolve_pricing(suite, None)
    assert isinstance(table, Pricing) and (table.gpu, table.gpus) == ("cpu-2vcpu", 1) and table.source
    own = replace(suite, hardware=replace(suite.hardware, price_per_hour=9.0))
    assert resolve_pricing(own, "NVIDIA H100").usd_per_hour == 9.0
    auto = replace(suite, hardware=replace(suite.hardware, gpu="auto"))
    assert resolve_pricing(auto, "NVIDIA H100 80GB HBM3").gpu == "H100"
    with pytest.raises(UserError, match="hardware.gpu: no default price"):
        resolve_pricing(auto, "Some Unknown Accelerator")


def test_summarize_applies_the_suites_budgets(run: tuple[Suite, Path, Store]) -> None:
    suite, run_dir, store = run
    s = summarize(suite, run_dir, store)
    assert s.schema_version == SCHEMA_VERSION
    assert s.variant("fbc-0.05").inert and not s.variant("fbc-0.2").inert
    assert s.variant("late").status == "pending" and s.variant("late").latency_s is None
    rec = s.recommendation
    assert rec and rec.variant == "fbc-0.2" and rec.budgets == ("ssim drop <= 0.5",)
    (sweep,) = [sw for sw in s.telemetry.sweeps if sw.group == "fbc"]
    assert sweep.param == "threshold" and [p.variant for p in sweep.points] == ["fbc-0.05", "fbc-0.2"]


def test_failed_scores_reject_every_variant_and_a_bad_budget_is_the_reason(
        run: tuple[Suite, Path, Store]) -> None:
    suite, run_dir, store = run
    store.db.execute("UPDATE scores SET value = NULL, reason = 'broken' WHERE metric = 'ssim'")
    store.db.commit()
    s = summarize(suite, run_dir, store)
    rec = s.recommendation
    assert rec and rec.variant == "baseline"  # the reference of a paired metric needs no score
    assert all("no valid ssim values" in r.reason for r in rec.rejected) and len(rec.rejected) == 2
    # A budget the summary cannot apply (its metric is not in the run) is not a crash either.
    odd = replace(suite, report=replace(suite.report, budgets=(Budget("lpips", "max_rise", 0.1),)))
    bad = budgets_recommendation(s, odd.report.budgets, odd.report.objective)
    assert bad and bad.variant is None and "not in this run" in bad.reason
    assert bad.budgets == ("lpips rise <= 0.1",)


def test_write_reports_round_trips_through_summary_json(run: tuple[Suite, Path, Store]) -> None:
    suite, run_dir, store = run
    summary = write_reports(suite, run_dir, store)
    assert load_summary(run_dir / "summary.json") == summary
    report = run_dir / "report"
    assert (report / "index.html").is_file() and (report / "plotly.min.js").stat().st_size > 1_000_000
    assert len(list((report / "thumbs").rglob("*.jpg"))) == 3 * 3 * 2  # three variants ran
    assert not [p for p in run_dir.rglob("*.tmp")]


def test_export_run_writes_both_tables(run: tuple[Suite, Path, Store], tmp_path: Path) -> None:
    suite, run_dir, store = run
    out = tmp_path / "export"
    paths = export_run(suite, run_dir, store, "json", out)
    assert [p.name for p in paths] == ["samples.json", "variants.json"]
    samples = json.loads(paths[0].read_text())
    assert len(samples) == 3 * 6 and {r["seed"] for r in samples} == {0, 1}
    variants = json.loads(paths[1].read_text())
    assert [r["variant"] for r in variants] == ["baseline", "fbc-0.05", "fbc-0.2", "late"]


def test_a_calibration_run_is_no_cache_so_never_inert() -> None:
    text = SUITE.format(gpus=1) + '[[variant]]\nname = "cal"\nmagcache = { calibrate = true }\n' \
        '[[variant]]\nname = "mag"\nmagcache = { threshold = 0.1 }\n'
    suite = parse_suite(tomllib.loads(text), "unit.toml", Path("."))
    by_name = {v.name: v for v in suite.variants}
    assert cache_of(by_name["cal"]) is None
    assert cache_of(by_name["mag"]) == CacheUse("magcache", dict(by_name["mag"].accelerators[0].params))
    assert cache_of(by_name["baseline"]) is None
