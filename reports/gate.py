"""The regression gate: a run's summary against a pinned reference run's (docs/GATE.md).

A variant of the run is matched to the reference's by identity (its variant id, a hash of
its settings); failing that, by name, and the verdict then says its settings changed. Each
matched variant is held to the reference on:

* **quality**, per metric, at the CI bound: a regression when even the optimistic end of
  the run's 95% CI is worse than the reference's mean by more than the metric's budget
  (``max_drop``, in the metric's units; 0 by default). A rerun of the same code scores the
  same images and passes; a regression must be established beyond the run's own CI;
* **speedup**, at the CI bound: a regression when even the optimistic end of the speedup's
  CI is below the reference's estimate by more than ``speedup_tolerance`` (relative);
* **skip rate**, within ``skip_tolerance`` (absolute) either way: a cache that suddenly
  skips nothing (an inert default) or much more is a changed cache.

Besides: a variant that failed where the reference's ran, a reference variant missing from
the run, and (``outliers``) an implementation outlier in the run's equal-work section
(reports/equal_work.py) are regressions. Pure functions; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from reports.metric_info import MetricInfo
from reports.summary_records import MetricEntry, Summary, VariantResult


@dataclass(frozen=True)
class GateBudgets:
    """What the gate tolerates (the suite's ``[gate]`` table, or flags)."""

    max_drop: Mapping[str, float] = field(default_factory=dict)  # metric -> loss in its units
    speedup_tolerance: float = 0.25  # relative loss of speedup below the reference's estimate
    skip_tolerance: float = 0.05  # absolute change of the measured skip rate
    outliers: bool = True  # an implementation outlier in the run fails the gate


@dataclass(frozen=True)
class GateCheck:
    """One check of one variant."""

    variant: str
    check: str  # a metric name, "speedup", "skip rate", "status", "present", "equal work"
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict over every matched variant."""

    suite: str
    checks: tuple[GateCheck, ...]
    notes: tuple[str, ...] = ()  # what is not gated and why (new variants, changed settings)

    @property
    def passed(self) -> bool:
        """No check failed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[GateCheck, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.passed)


def _g(x: float) -> str:
    return f"{x:.4g}"


def quality_check(name: str, metric: str, info: MetricInfo, run: MetricEntry, ref: MetricEntry,
                  budget: float) -> GateCheck | None:
    """The run's metric against the reference's mean, at the run's optimistic CI bound."""
    if run.reference or ref.reference:
        return None  # the baseline's own paired metric: its ideal by definition
    if run.mean is None or ref.mean is None or not (math.isfinite(run.mean) and math.isfinite(ref.mean)):
        return None  # nothing valid to compare
    lo, hi = run.ci if run.ci else (run.mean, run.mean)
    best = hi if info.higher_is_better else lo
    loss = (ref.mean - best) if info.higher_is_better else (best - ref.mean)
    ci = f" [{_g(lo)}, {_g(hi)}]" if run.ci else ""
    detail = f"{metric} {_g(run.mean)}{ci} vs reference {_g(ref.mean)}"
    if loss > budget:
        return GateCheck(name, metric, False, f"{detail}: worse beyond its CI by {_g(loss)} "
                         f"(budget {_g(budget)})")
    return GateCheck(name, metric, True, detail)


def speedup_check(name: str, run: VariantResult, ref: VariantResult, tolerance: float) -> GateCheck | None:
    """The run's speedup against the reference's estimate, at the run's optimistic CI bound."""
    r, f = run.speedup, ref.speedup
    if run.is_baseline or r is None or f is None or r.estimate is None or f.estimate is None:
        return None
    best = r.ci[1] if r.ci else r.estimate
    floor = f.estimate * (1 - tolerance)
    ci = f" [{_g(r.ci[0])}, {_g(r.ci[1])}]" if r.ci else ""
    detail = f"speedup {_g(r.estimate)}x{ci} vs reference {_g(f.estimate)}x"
    if best < floor:
        return GateCheck(name, "speedup", False, f"{detail}: below {_g(floor)}x even at its CI bound "
                         f"(tolerance {tolerance:.0%})")
    return GateCheck(name, "speedup", True, detail)


def skip_check(name: str, run: VariantResult, ref: VariantResult, tolerance: float) -> GateCheck | None:
    """The measured skip rate within ``tolerance`` of the reference's (cache variants)."""
    if run.cache is None or run.steps.skip_rate is None or ref.steps.skip_rate is None:
        return None
    change = run.steps.skip_rate - ref.steps.skip_rate
    detail = f"skip rate {run.steps.skip_rate:.3f} vs reference {ref.steps.skip_rate:.3f}"
    if abs(change) > tolerance:
        return GateCheck(name, "skip rate", False, f"{detail}: changed by {change:+.3f} "
                         f"(tolerance {tolerance:g})")
    return GateCheck(name, "skip rate", True, detail)


def match(run: Summary, ref: Summary) -> tuple[list[tuple[VariantResult | None, VariantResult]], list[str]]:
    """Pairs (run variant or None if missing, reference variant) by id, else by name; and
    notes on the rest."""
    run_ok = [v for v in run.variants if v.role is None]
    by_id, by_name = {v.id: v for v in run_ok}, {v.name: v for v in run_ok}
    pairs: list[tuple[VariantResult | None, VariantResult]] = []
    notes, used = [], set()
    for f in (v for v in ref.variants if v.role is None):
        r = by_id.get(f.id) or by_name.get(f.name)
        pairs.append((r, f))
        if r is None:
            continue
        if r.id != f.id:
            notes.append(f"{r.name}: matched by name; its settings differ from the reference's "
                         f"(id {f.id} -> {r.id})")
        used.add(r.id)
    notes += [f"{v.name}: not in the reference, not gated" for v in run_ok if v.id not in used]
    return pairs, notes


def gate(run: Summary, ref: Summary, budgets: GateBudgets) -> GateResult:
    """Every check of ``run`` against ``ref``; the caller has checked they share a protocol."""
    pairs, notes = match(run, ref)
    checks: list[GateCheck] = []
    for r, f in pairs:
        if r is None:
            checks.append(GateCheck(f.name, "present", False, "in the reference, missing from the run"))
            continue
        if r.status != "ok":
            ok = f.status != "ok"
            checks.append(GateCheck(r.name, "status", ok, f"status {r.status} (reference {f.status})"
                                    + (f": {r.error}" if r.error else "")))
            continue
        for m, info in run.metrics.items():
            if m in r.metrics and m in f.metrics:
                c = quality_check(r.name, m, info, r.metrics[m], f.metrics[m], budgets.max_drop.get(m, 0.0))
                checks += [c] if c else []
        checks += [c for c in (speedup_check(r.name, r, f, budgets.speedup_tolerance),
                               skip_check(r.name, r, f, budgets.skip_tolerance)) if c]
    if budgets.outliers and run.equal_work is not None:
        checks += [GateCheck(c.variant, "equal work", False, c.note or "implementation outlier")
                   for c in run.equal_work.outliers]
    return GateResult(run.suite, tuple(checks), tuple(notes))


def protocol_differences(run: Summary, ref: Summary) -> list[str]:
    """Why two summaries are not runs of one protocol (suite, baseline, metrics and their
    identities); [] when they are. The suite's model and prompts are compared by the caller."""
    out = []
    if run.suite != ref.suite:
        out.append(f"suite {run.suite!r} vs reference {ref.suite!r}")
    if run.baseline != ref.baseline:
        out.append(f"baseline {run.baseline!r} vs reference {ref.baseline!r}")
    if set(run.metrics) != set(ref.metrics):
        out.append(f"metrics {sorted(run.metrics)} vs reference {sorted(ref.metrics)}")
    shared = sorted(set(run.metrics) & set(ref.metrics))
    out += [f"metric {m}'s identity differs from the reference's" for m in shared
            if run.metrics[m].identity != ref.metrics[m].identity]
    return out


def verdict_lines(result: GateResult, reference: str, limit: int = 12) -> list[str]:
    """The one-screen text verdict: PASS/FAIL, the failures (at most ``limit``), the notes."""
    fails = result.failures
    n_vars = len({c.variant for c in result.checks})
    head = (f"gate {'PASS' if result.passed else 'FAIL'}: {result.suite} vs {reference}: "
            f"{len(result.checks)} checks over {n_vars} variants, {len(fails)} failed")
    lines = [head, *(f"  FAIL {c.variant}: {c.detail}" for c in fails[:limit])]
    if len(fails) > limit:
        lines.append(f"  ... and {len(fails) - limit} more (--json lists every check)")
    lines += [f"  note: {n}" for n in result.notes[:limit]]
    return lines


def junit_xml(result: GateResult, reference: str) -> str:
    """JUnit XML: one test suite, one test case per check (class = variant), failures with
    their detail, which CI systems (GitHub, GitLab, Jenkins) display."""
    from xml.sax.saxutils import quoteattr

    cases = []
    for c in result.checks:
        attrs = f"classname={quoteattr(c.variant)} name={quoteattr(c.check)}"
        if c.passed:
            cases.append(f"    <testcase {attrs}/>")
        else:
            cases.append(f"    <testcase {attrs}>\n      <failure message={quoteattr(c.detail)}/>\n"
                         "    </testcase>")
    body = "\n".join(cases)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<testsuites>\n  <testsuite name={quoteattr('evalsuite gate: ' + result.suite)} "
            f"tests=\"{len(result.checks)}\" failures=\"{len(result.failures)}\" errors=\"0\">\n"
            f"    <properties><property name=\"reference\" value={quoteattr(reference)}/></properties>\n"
            f"{body}\n  </testsuite>\n</testsuites>\n")
