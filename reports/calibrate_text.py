"""``evalsuite calibrate``'s one-screen text: per cache, the verdict, the checks and stability."""

from __future__ import annotations

from reports.calibrate_records import CalibrationFile, SkipCheck


def _check(c: SkipCheck) -> str:
    measured = "not measured" if c.measured is None else f"measured {c.measured.text(2)}"
    agree = "" if c.agreement is None else f", per-image skipped steps agree on {c.agreement:.0%}"
    return (f"    threshold {c.threshold:g} (placed at {c.target:.0%}): predicted {c.predicted.text(2)}, "
            f"{measured}{agree}")


def summary_lines(cal: CalibrationFile) -> list[str]:
    """The verdict lines a user reads after ``evalsuite calibrate``."""
    m = cal.model
    rev = f"@{m.revision}" if m.revision else ""
    lines = [f"calibrated {m.id}{rev} ({m.family}) at {cal.settings['steps']} steps"
             f" on {cal.n_prompts} prompts ({cal.n_prompts - cal.n_holdout} fit, {cal.n_holdout} held out)"]
    for t in cal.transformers:
        prefix = "" if len(cal.transformers) == 1 else f"{t.name}: "
        for f in t.caches:
            lines.append(f"{prefix}{f.cache}: {f.verdict}")
            lines += [_check(c) for c in f.checks]
            if f.curve:
                points = ", ".join(f"{p.skip_rate:.0%} at {p.threshold:g}" for p in f.curve)
                lines.append(f"    curve (skip rate at threshold): {points}")
    for x in cal.transfer:
        lines.append(f"transfer: {x.verdict}")
    if cal.transfer:
        serves = all(x.serves for x in cal.transfer)
        lines.append("transfer: one calibration serves every checked setting" if serves
                     else "transfer: calibrate per setting (see above)")
    return lines
