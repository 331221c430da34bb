"""What ``evalsuite tune`` found: frozen records, the ``--json`` object and a suite snippet."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tomli_w

from evalsuite.run.speed_trial import SpeedTrial
from evalsuite.suite.tune_spec import TuneSpec
from reports.sequential import BudgetLook
from reports.summary_records import SpeedupEntry


@dataclass(frozen=True)
class Look:
    """One look at a probe: how many prompts, at which CI level, with what verdict."""

    n_prompts: int
    level: float
    verdict: str
    budgets: tuple[BudgetLook, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"n_prompts": self.n_prompts, "level": self.level, "verdict": self.verdict,
                "budgets": [_budget_dict(b) for b in self.budgets]}


def _num(x: float | None) -> float | str | None:
    """Strict JSON has no infinities: write them as strings, like summary.json."""
    if x is None or math.isfinite(x):
        return x
    return "inf" if x > 0 else "-inf"


def _metric_key(b: BudgetLook, all_: tuple[BudgetLook, ...]) -> str:
    """The metric's name, or ``name kind`` when one metric carries two budgets."""
    return b.metric if sum(x.metric == b.metric for x in all_) == 1 else f"{b.metric} {b.kind}"


def _budget_dict(b: BudgetLook) -> dict[str, Any]:
    return {"metric": b.metric, "kind": b.kind, "limit": b.limit, "mean": _num(b.estimate),
            "bound": _num(b.pessimistic), "optimistic": _num(b.optimistic), "margin": _num(b.margin),
            "n_prompts": b.n_prompts, "verdict": b.verdict}


@dataclass(frozen=True)
class Timing:
    """A variant's measured speed on the prompts it was judged on."""

    latency_s: float | None  # mean warm latency (what the cost is charged on)
    speed: SpeedupEntry | None  # against the baseline on the same prompts and seeds, with its CI
    skip_rate: float | None  # skipped / all denoising steps
    cost_per_1000_usd: float | None

    @property
    def speedup(self) -> float | None:
        """The baseline's p50 latency / this one's (``reports.speedup``)."""
        return self.speed.estimate if self.speed else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        speed = self.speed
        return {"latency_s": self.latency_s, "speedup": self.speedup,
                "speedup_ci": list(speed.ci) if speed and speed.ci else None,
                "speedup_verdict": speed.verdict if speed else None, "skip_rate": self.skip_rate,
                "cost_per_1000_images_usd": self.cost_per_1000_usd}


@dataclass(frozen=True)
class SpeedCheck:
    """The winner against the baseline in the speed trial: the only timings a speed verdict reads.

    The search's own timings (each probe's ``speedup``) were taken minutes apart, perhaps
    across a ``kill -9`` and a resume; they orient, they never certify.
    """

    trial: SpeedTrial | None  # None: the trial could not run (``reason`` says why)
    speed: SpeedupEntry | None  # baseline p50 / winner p50 over the trial's pairs, with its CI
    cost_per_1000_usd: float | None  # from the winner's mean latency in the trial
    reason: str | None  # why the speedup is no credible gain (``no_credible_gain``); None: it is one

    @property
    def latency_s(self) -> float | None:
        """The winner's p50 in the trial."""
        return self.trial.p50s[0] if self.trial else None

    @property
    def baseline_latency_s(self) -> float | None:
        """The baseline's p50 in the trial: over ``latency_s`` it is the speedup."""
        return self.trial.p50s[1] if self.trial else None

    def describe(self) -> str:
        """E.g. ``8 pairs in turns (AB BA ...), load average 2.10 -> 2.31``."""
        t = self.trial
        if t is None:
            return self.reason or "no trial"
        order = " ".join(p.order for p in t.pairs[:4]) + (" ..." if len(t.pairs) > 4 else "")
        return (f"{len(t.pairs)} pairs in turns ({order}) over {t.ended - t.started:.0f} s, "
                f"load average {t.load_before[0]:.2f} -> {t.load_after[0]:.2f}")

    def to_dict(self) -> dict[str, Any]:
        """tune.json's ``speed_trial``."""
        return {**(self.trial.to_dict() if self.trial else {}), "summary": self.describe(),
                "latency_s": self.latency_s, "baseline_latency_s": self.baseline_latency_s}


@dataclass(frozen=True)
class Probe:
    """One probed grid point: an ordinary variant, judged on a growing prompt subset."""

    order: int  # 1 = first probe
    index: int  # grid index
    value: float | int
    variant: str
    variant_id: str
    looks: tuple[Look, ...]
    passed: bool
    timing: Timing
    predicted_skip_rate: float | None = None  # from a baseline trace, when one was recorded
    error: str | None = None  # the worker failed: the probe counts as failing

    @property
    def final(self) -> Look | None:
        """The last look (the one that decided)."""
        return self.looks[-1] if self.looks else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"order": self.order, "index": self.index, "value": self.value, "variant": self.variant,
                "variant_id": self.variant_id, "passed": self.passed,
                "looks": [lk.to_dict() for lk in self.looks], **self.timing.to_dict(),
                "predicted_skip_rate": self.predicted_skip_rate, "error": self.error}


@dataclass(frozen=True)
class Holdout:
    """The winner judged again on prompts the search never saw."""

    n_prompts: int
    look: Look
    certified: bool
    timing: Timing
    setting: dict[str, Any]  # {} for the suite's own settings; e.g. {"steps": 20} for a confirm

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"n_prompts": self.n_prompts, "certified": self.certified, "setting": self.setting,
                **self.look.to_dict(), **self.timing.to_dict()}


@dataclass(frozen=True, kw_only=True)
class TuneResult:
    """Everything ``tune`` reports."""

    spec: TuneSpec
    probes: tuple[Probe, ...]
    winner: Probe | None
    holdouts: tuple[Holdout, ...]
    images_generated: int  # images this tune needed (baseline, probes, holdout, references)
    grid_images: int  # a full grid at the tune's resolution over the same search prompts
    search_prompts: int
    vs_fewer_steps: dict[str, Any] | None
    warm_start: str  # how the first probes were placed
    speed: SpeedCheck | None = None  # the speed trial's verdict (None: nothing was found)
    traced_images: int = 0  # untimed generations of the warm start's trace (not in images_generated)

    @property
    def speed_check(self) -> str | None:
        """Why the winner's speedup must not be sold, or None."""
        return self.speed.reason if self.speed else None

    @property
    def certified(self) -> bool:
        """Found, every holdout check still meets every budget at its CI bound, and the
        speedup is credible: a setting no faster than the baseline is not worth shipping."""
        return (self.winner is not None and bool(self.holdouts) and all(h.certified for h in self.holdouts)
                and self.speed is not None and self.speed.reason is None)

    def why_not_certified(self) -> str | None:
        """One line on why a found setting is not certified (None when it is, or none was found)."""
        if self.winner is None or self.certified:
            return None
        failed = [h for h in self.holdouts if not h.certified]
        if failed:
            at = f" at {failed[0].setting}" if failed[0].setting else ""
            return f"the holdout{at} failed"
        return self.speed_check or "no holdout was judged"

    def closest(self) -> tuple[Probe, BudgetLook] | None:
        """The probe whose worst budget came closest to passing (for an infeasible search)."""
        from reports.sequential import worst_margin

        judged = [(p, worst_margin(p.final.budgets)) for p in self.probes if p.final and p.final.budgets]
        if not judged:
            return None
        return max(judged, key=lambda pb: pb[1].margin / max(abs(pb[1].limit), 1e-12))

    def snippet(self) -> str:
        """A ``[[variant]]`` table with the chosen setting, to paste into a suite."""
        if self.winner is None:
            return ""
        s = self.spec
        tables = {s.accelerator: {s.parameter: self.winner.value}, **s.companions()}
        lines = ["[[variant]]", f'name = "{s.accelerator}-tuned"']
        for name, params in tables.items():
            inline = ", ".join(f"{k} = {tomli_w.dumps({'v': v})[4:].strip()}" for k, v in params.items())
            lines.append(f"{name} = {{ {inline} }}" if params else f"{name} = true")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object."""
        s, w, sp = self.spec, self.winner, self.speed
        final = w.final if w else None
        entry = sp.speed if sp else None
        closest = self.closest()
        return {
            "setting": ({"accelerator": s.accelerator, "parameter": s.parameter, "value": w.value,
                         "variant": w.variant, "fixed": s.companions()} if w else None),
            "certified": self.certified,
            "accelerator": s.accelerator, "parameter": s.parameter,
            "speedup": entry.estimate if entry else None,
            "speedup_ci": list(entry.ci) if entry and entry.ci else None,
            "speed_check": self.speed_check, "not_certified_because": self.why_not_certified(),
            "latency_s": sp.latency_s if sp else None,
            "baseline_latency_s": sp.baseline_latency_s if sp else None,
            "cost_per_1000_images_usd": sp.cost_per_1000_usd if sp else None,
            "speed_trial": sp.to_dict() if sp else None,
            "objective": s.objective,
            "metrics": ({_metric_key(b, final.budgets): {
                "kind": b.kind, "limit": b.limit, "mean": _num(b.estimate),
                "ci_bound": _num(b.pessimistic), "level": final.level} for b in final.budgets}
                if final else {}),
            "holdout": [h.to_dict() for h in self.holdouts],
            "images_generated": self.images_generated, "grid_images": self.grid_images,
            "grid_points": s.n_points, "search_prompts": self.search_prompts,
            "probes": [p.to_dict() for p in self.probes],
            "closest": ({"variant": closest[0].variant, "value": closest[0].value,
                         "budget": closest[1].describe(), "margin": _num(closest[1].margin)}
                        if closest and w is None else None),
            "vs_fewer_steps": self.vs_fewer_steps, "warm_start": self.warm_start,
            "traced_images": self.traced_images,
            "confidence": s.confidence,
            "sequential_method": ("Student's t CI over prompts at each look; Bonferroni split of "
                                  "1 - confidence over each probe's planned looks"),
            "snippet": self.snippet(),
        }
