"""What ``evalsuite calibrate`` writes: the records behind ``calibration.json`` (issue 21 §1).

Frozen dataclasses, written and read only through :mod:`reports.jsonio` (JSON at the edge).
One file holds one model's numbers, per transformer: a single-transformer family has one entry,
named as its pipeline names it (``transformer``); a family with several experts (Wan 2.2's
``transformer`` and ``transformer_2``) has one entry each, with its own steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
KIND = "evalsuite-calibration"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% percentile-bootstrap interval over prompts (None: < 2 prompts)."""

    value: float
    lo: float | None = None
    hi: float | None = None
    n_prompts: int = 0

    @property
    def pessimistic(self) -> float:
        """The lower end of the interval, else the estimate itself."""
        return self.value if self.lo is None else self.lo

    def text(self, digits: int = 3) -> str:
        """``0.998 (95% CI 0.997-0.999, 8 prompts)``."""
        ci = ("" if self.lo is None or self.hi is None
              else f"95% CI {self.lo:.{digits}f}-{self.hi:.{digits}f}, ")
        return f"{self.value:.{digits}f} ({ci}{self.n_prompts} prompts)"


@dataclass(frozen=True)
class CurvePoint:
    """One point of a cache's threshold -> skip-rate curve, predicted from the traces."""

    threshold: float
    skip_rate: float  # skipped over all steps of the traced images, pooled
    speedup: float  # denoising-loop work saved (reports.traces.SkipPattern.speedup)


@dataclass(frozen=True)
class SkipCheck:
    """Predicted against measured skipping at one threshold, on the held-out prompts."""

    threshold: float
    target: float  # the predicted skip rate this threshold was placed at (on the fit prompts)
    predicted: Estimate  # skip rate the traces predict for the held-out images
    measured: Estimate | None = None  # what the cache did there (None: not measured)
    # Held-out images whose skipped-step count the prediction got exactly right.
    agreement: float | None = None


@dataclass(frozen=True)
class Stability:
    """How the fit moves as prompts are added: refitted on the first n fit prompts."""

    n_prompts: tuple[int, ...]
    change: tuple[float, ...]  # relative change of the fit against the fit on all fit prompts
    heldout_r2: tuple[float | None, ...]
    tolerance: float
    settled_at: int | None  # smallest n from which every change stays within tolerance

    def text(self) -> str:
        """``settled by 4 prompts`` or ``not settled by 48 prompts: trace more``."""
        most = self.n_prompts[-1] if self.n_prompts else 0
        if self.settled_at is None:
            return f"not settled by {most} prompts (change > {self.tolerance:g}): trace more prompts"
        return f"settled by {self.settled_at} prompts (change <= {self.tolerance:g} from there to {most})"


@dataclass(frozen=True)
class CacheFit:
    """One cache's numbers on one transformer, and how far to trust them."""

    cache: str  # accelerator name: teacache, magcache, fbcache, para_attn, cache_dit
    params: Mapping[str, Any]  # the parameters the fit sets (coefficients, mag_ratios; {} for a curve)
    base: Mapping[str, Any]  # the cache's other parameters the curve and checks assumed
    trusted: bool
    verdict: str  # one line: why it is (not) trusted
    r2: Estimate | None = None  # held-out R² with its CI (fitted caches only)
    r2_fit: float | None = None  # R² on the fit prompts
    notes: Mapping[str, Any] = field(default_factory=dict)  # x range, points, spread ...
    stability: Stability | None = None
    curve: tuple[CurvePoint, ...] = ()
    checks: tuple[SkipCheck, ...] = ()


@dataclass(frozen=True)
class TransformerCalibration:
    """Every calibrated cache of one transformer (one expert)."""

    name: str  # the pipeline's attribute: "transformer", "transformer_2"
    steps: int  # denoising calls this transformer makes per image
    caches: tuple[CacheFit, ...]

    def cache(self, name: str) -> CacheFit | None:
        """The fit of cache ``name``, if calibrated."""
        return next((c for c in self.caches if c.cache == name), None)


@dataclass(frozen=True)
class TransferCheck:
    """Does the calibration made at the suite's settings serve at other settings?"""

    setting: Mapping[str, Any]  # e.g. {"steps": 20} or {"torchao": {"mode": "int8wo"}}
    transformer: str
    cache: str
    serves: bool
    verdict: str  # one line
    r2: float | None = None  # the base numbers' R² on this setting's traces
    refit_r2: float | None = None  # a refit's own R² there
    # (threshold, skip rate with the base numbers here, skip rate the base setting predicted)
    skip_rates: tuple[tuple[float, float, float], ...] = ()


@dataclass(frozen=True)
class ModelIdentity:
    """Which model the numbers belong to: checked where a suite uses the file."""

    id: str
    revision: str | None
    family: str | None
    dtype: str


@dataclass(frozen=True)
class CalibrationFile:
    """``calibration.json``."""

    model: ModelIdentity
    settings: Mapping[str, Any]  # steps, guidance, height, width the traces were made at
    n_prompts: int  # prompts traced (each with every seed)
    n_holdout: int  # of those, held out of the fit
    seeds: tuple[int, ...]
    min_r2: float
    transformers: tuple[TransformerCalibration, ...]
    transfer: tuple[TransferCheck, ...] = ()
    kind: str = KIND
    schema_version: int = SCHEMA_VERSION

    def transformer(self, name: str = "transformer") -> TransformerCalibration | None:
        """The calibration of the transformer called ``name``."""
        return next((t for t in self.transformers if t.name == name), None)
