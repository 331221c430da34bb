"""The gate's checks on hand-made summaries: what passes, what regresses, and its outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from reports.gate import GateBudgets, gate, junit_xml, protocol_differences, verdict_lines
from reports.metric_info import MetricInfo
from reports.records import CacheUse, Pricing
from reports.summary_records import (
    MetricEntry,
    SampleCounts,
    SpeedupEntry,
    Steps,
    Summary,
    VariantResult,
)

METRICS = {"psnr": MetricInfo(True, "paired", None, perfect=100.0), "ssim": MetricInfo(True, "paired", 1.0)}


def variant(name: str, psnr: float, skip: float, speedup: float, vid: str | None = None) -> VariantResult:
    base = name == "baseline"
    return VariantResult(
        name=name, id=vid or name, status="ok", error=None, accelerators={}, is_baseline=base,
        samples=SampleCounts(4, 4, 0, 0), latency_s=None, gpus_per_image=1, cost_per_image_usd=None,
        images_per_usd=None, steps=Steps(100, 0, 0.0) if base else Steps(50, 50, skip),
        cache=None if base else CacheUse("fbcache", {"threshold": 0.1}),
        speedup=SpeedupEntry(speedup, (speedup * 0.9, speedup * 1.1)),
        metrics={"psnr": MetricEntry(psnr, (psnr - 0.5, psnr + 0.5)),
                 "ssim": MetricEntry(1.0, (1.0, 1.0), reference=base)})


def summary(*variants: VariantResult, suite: str = "gate-smoke") -> Summary:
    return Summary(3, suite, "baseline", Pricing("cpu", 1.0, 1, "test"), METRICS, tuple(variants))


REF = summary(variant("baseline", 100.0, 0.0, 1.0), variant("fbc", 55.0, 0.5, 2.0))


def test_the_same_summary_passes() -> None:
    result = gate(REF, REF, GateBudgets())
    assert result.passed and result.checks
    assert verdict_lines(result, "ref")[0].startswith("gate PASS")


def test_quality_regresses_only_beyond_the_runs_ci_and_the_budget() -> None:
    slightly = summary(REF.variants[0], variant("fbc", 54.6, 0.5, 2.0))  # CI reaches 55.1
    assert gate(slightly, REF, GateBudgets()).passed
    worse = summary(REF.variants[0], variant("fbc", 52.0, 0.5, 2.0))  # CI reaches 52.5
    result = gate(worse, REF, GateBudgets())
    assert [(c.variant, c.check) for c in result.failures] == [("fbc", "psnr")]
    assert gate(worse, REF, GateBudgets(max_drop={"psnr": 3.0})).passed


def test_speedup_and_skip_rate_regressions() -> None:
    slow = summary(REF.variants[0], variant("fbc", 55.0, 0.5, 1.2))  # CI reaches 1.32 < 1.5
    assert [c.check for c in gate(slow, REF, GateBudgets()).failures] == ["speedup"]
    inert = summary(REF.variants[0], variant("fbc", 55.0, 0.0, 2.0))
    assert [c.check for c in gate(inert, REF, GateBudgets()).failures] == ["skip rate"]
    assert gate(inert, REF, GateBudgets(skip_tolerance=0.6)).passed


def test_matching_by_id_then_name_missing_and_new_variants() -> None:
    renamed_settings = summary(REF.variants[0], variant("fbc", 55.0, 0.5, 2.0, vid="other-id"),
                               variant("new", 50.0, 0.6, 2.5))
    result = gate(renamed_settings, REF, GateBudgets())
    assert result.passed
    assert any("matched by name" in n for n in result.notes)
    assert any(n.startswith("new: not in the reference") for n in result.notes)
    missing = summary(REF.variants[0])
    assert [(c.variant, c.check) for c in gate(missing, REF, GateBudgets()).failures] == [("fbc", "present")]
    failed = summary(REF.variants[0], replace(variant("fbc", 55.0, 0.5, 2.0), status="failed", error="boom"))
    assert [c.check for c in gate(failed, REF, GateBudgets()).failures] == ["status"]


def test_protocol_differences_name_the_suite_and_metrics() -> None:
    assert protocol_differences(REF, REF) == []
    other = replace(summary(*REF.variants, suite="smoke"), metrics={"psnr": METRICS["psnr"]})
    diffs = protocol_differences(other, REF)
    assert any("suite 'smoke'" in d for d in diffs) and any("metrics" in d for d in diffs)


def test_junit_xml_has_one_case_per_check_and_the_failures() -> None:
    worse = summary(REF.variants[0], variant("fbc", 40.0, 0.9, 1.0))
    result = gate(worse, REF, GateBudgets())
    root = ET.fromstring(junit_xml(result, "runs/<ref> & co"))
    suite = root.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) == len(result.checks) == len(suite.findall("testcase"))
    failures = suite.findall("testcase/failure")
    assert int(suite.get("failures", "0")) == len(failures) == 3  # psnr, speedup, skip rate
    assert "worse beyond its CI" in (failures[0].get("message") or "")
