"""Per-model cache constants from the baseline's traces: TeaCache's rescale polynomial and
MagCache's magnitude ratios. Pure functions; no I/O.

TeaCache estimates how much the model's output will change from how much its (cheap)
modulated input changed, through a polynomial fitted on one model (TeaCache4FLUX's is for
FLUX.1-dev). For another model, refit it the way TeaCache's authors did: least squares of the
output's relative L1 change on the input's, step by step, over several prompts (degree 4).

MagCache's ratios are the mean, over prompts, of each step's residual-magnitude ratio (what
diffusers' ``calibrate=True`` prints for one prompt).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reports.traces import ImageTrace

if TYPE_CHECKING:  # imported where computed: reading a summary or validating a suite never needs numpy
    pass

TEACACHE_DEGREE = 4


@dataclass(frozen=True)
class PolyFit:
    """A least-squares polynomial fit with its goodness of fit."""

    coefficients: tuple[float, ...]  # highest power first (numpy.poly1d order)
    r2: float  # coefficient of determination on the fitted points
    n_points: int
    x_range: tuple[float, float]  # the fit is only trustworthy inside it



def fit_polynomial(x: Sequence[float], y: Sequence[float], degree: int = TEACACHE_DEGREE) -> PolyFit:
    """Least-squares polynomial of ``y`` on ``x`` (non-finite pairs dropped), with R².

    Raises:
        ValueError: fewer finite points than coefficients.
    """
    import numpy as np

    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    if xa.size <= degree:
        raise ValueError(f"a degree-{degree} fit needs more than {degree} points, has {xa.size}")
    coefficients = np.polyfit(xa, ya, degree)
    residual = ya - np.polyval(coefficients, xa)
    total = float(((ya - ya.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else math.nan
    return PolyFit(tuple(float(c) for c in coefficients), r2, int(xa.size),
                   (float(xa.min()), float(xa.max())))


def fit_teacache(traces: Sequence[ImageTrace], degree: int = TEACACHE_DEGREE) -> PolyFit:
    """TeaCache's rescale polynomial refitted on traced images (steps 1.. of each).

    Raises:
        KeyError: a trace lacks the ``modulated`` or ``output`` signal.
        ValueError: too few finite points.
    """
    x: list[float] = []
    y: list[float] = []
    for t in traces:
        x += list(t.signals["modulated"][1:])
        y += list(t.signals["output"][1:])
    return fit_polynomial(x, y, degree)


def magcache_ratios(traces: Sequence[ImageTrace]) -> tuple[float, ...]:
    """Mean magnitude ratio per step over traced images (all with the same step count).

    Raises:
        ValueError: no traces, or traces with different step counts.
    """
    import numpy as np

    if not traces:
        raise ValueError("no traced images to calibrate from")
    steps = {t.steps for t in traces}
    if len(steps) != 1:
        raise ValueError(f"traced images have different step counts: {sorted(steps)}")
    table = np.asarray([t.signals["mag_ratio"] for t in traces], dtype=float)
    return tuple(float(v) for v in np.nanmean(table, axis=0))


@dataclass(frozen=True)
class Calibration:
    """summary.json ``calibration``: per-model cache constants from the baseline's traces."""

    n_images: int
    teacache: PolyFit | None = None  # the refitted rescale polynomial
    magcache_ratios: tuple[float, ...] = ()
    snippets: Mapping[str, str] = field(default_factory=dict)  # accelerator -> suite-file text
    errors: Mapping[str, str] = field(default_factory=dict)  # accelerator -> why there is none


def calibrate(traces: Sequence[ImageTrace]) -> Calibration:
    """Both calibrations from ``traces``; a failing one is reported in ``errors``."""
    fit, ratios = None, ()
    snippets, errors = {}, {}
    try:
        fit = fit_teacache(traces)
        snippets["teacache"] = f"teacache = {{ coefficients = {toml_list(fit.coefficients)} }}"
    except (KeyError, ValueError) as exc:
        errors["teacache"] = f"{type(exc).__name__}: {exc}"
    try:
        ratios = magcache_ratios(traces)
        snippets["magcache"] = f"magcache = {{ mag_ratios = {toml_list(ratios)} }}"
    except (KeyError, ValueError) as exc:
        errors["magcache"] = f"{type(exc).__name__}: {exc}"
    return Calibration(len(traces), fit, ratios, snippets, errors)


def toml_list(values: Sequence[float], digits: int = 6) -> str:
    """Values as a TOML array a suite file can take (``mag_ratios = [...]``)."""
    return "[" + ", ".join(f"{v:.{digits}g}" for v in values) + "]"
