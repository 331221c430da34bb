"""Glue for ``evalsuite gate``: read two run folders, check they are one protocol, compare.

A folder qualifies as a reference when it holds the run's ``suite.toml`` and ``summary.json``
(images and results.sqlite are not needed: docs/GATE.md pins just those two files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from evalsuite.errors import UserError
from evalsuite.store.paths import SUITE, SUMMARY
from evalsuite.suite.spec import Suite, load_suite
from reports.gate import GateBudgets, GateResult, gate, protocol_differences
from reports.jsonio import SchemaError
from reports.summary import load_summary
from reports.summary_records import Summary

# What makes two runs one protocol besides the summary's suite, baseline and metrics: the
# same model at the same settings, the same prompts and seeds (the variants may differ).
PROTOCOL_TABLES = ("model", "prompts", "metrics")


def read_run(folder: Path, what: str) -> tuple[Suite, Summary]:
    """The suite and summary of a run folder (or a pinned reference); one line if either is missing."""
    if not (folder / SUITE).is_file():
        raise UserError(f"{what} {folder}: no {SUITE} (not a run folder or a pinned reference; "
                        "docs/GATE.md)")
    if not (folder / SUMMARY).is_file():
        raise UserError(f"{what} {folder}: no {SUMMARY} yet (`evalsuite report {folder}` writes it)")
    suite = load_suite(str(folder / SUITE))
    try:
        return suite, load_summary(folder / SUMMARY)
    except (SchemaError, ValueError) as exc:
        raise UserError(f"{what} {folder}: unreadable {SUMMARY}: {exc}") from None


def protocol_check(run: tuple[Suite, Summary], ref: tuple[Suite, Summary], ref_dir: Path) -> None:
    """Refuse (exit 2) a reference from another protocol, naming the first differences."""
    diffs = protocol_differences(run[1], ref[1])
    a, b = run[0].to_dict(), ref[0].to_dict()
    diffs += [f"[{t}] differs" for t in PROTOCOL_TABLES if a.get(t) != b.get(t)]
    if diffs:
        raise UserError(f"gate: reference {ref_dir} is from another protocol: {'; '.join(diffs[:3])}")


def budgets_for(suite: Suite, max_drop: Mapping[str, float] | None = None,
                speedup_tolerance: float | None = None, skip_tolerance: float | None = None,
                outliers: bool | None = None) -> GateBudgets:
    """The suite's ``[gate]`` table (defaults without one), each given flag overriding it."""
    b = suite.gate or GateBudgets()
    unknown = sorted(set(max_drop or {}) - {m.name for m in suite.metrics})
    if unknown:
        raise UserError(f"gate: --max-drop {unknown[0]}: not a metric of suite {suite.name} "
                        f"(used: {', '.join(m.name for m in suite.metrics)})")
    return replace(
        b, max_drop={**b.max_drop, **(max_drop or {})},
        speedup_tolerance=b.speedup_tolerance if speedup_tolerance is None else speedup_tolerance,
        skip_tolerance=b.skip_tolerance if skip_tolerance is None else skip_tolerance,
        outliers=b.outliers if outliers is None else outliers)


def gate_runs(run_dir: Path, ref_dir: Path, **flags: object) -> GateResult:
    """Gate ``run_dir`` against ``ref_dir`` (``flags``: :func:`budgets_for`'s overrides)."""
    run = read_run(run_dir, "run")
    ref = read_run(ref_dir, "reference")
    protocol_check(run, ref, ref_dir)
    return gate(run[1], ref[1], budgets_for(run[0], **flags))  # type: ignore[arg-type]
