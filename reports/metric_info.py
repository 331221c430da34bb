"""How to read a metric: its direction, kind, ideal value and identity.

A module of its own because the analyses (``reports.frontier`` and others) and the summary
records (``reports.summary_records``) both need it, and neither should import the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MetricKind = Literal["per-image", "paired", "set"]


class ScorerLike(Protocol):
    """The class attributes every scorer declares (metrics/base.py), class or instance."""

    higher_is_better: bool
    kind: Any  # a str enum
    ideal: float | None


@dataclass(frozen=True)
class MetricInfo:
    """How to read a metric: its direction, kind, ideal value and identity."""

    higher_is_better: bool
    kind: str  # one of MetricKind
    ideal: float | None = None
    identity: Mapping[str, Any] = field(default_factory=dict)  # model, revision, preprocessing
    # A perfect match's value when there is no ideal (PSNR's 100 dB cap; metrics/psnr.py).
    perfect: float | None = None

    @classmethod
    def of(cls, scorer: ScorerLike, identity: Mapping[str, Any] | None = None) -> MetricInfo:
        """The info of a scorer class (validation) or instance (with its identity)."""
        ideal, perfect = scorer.ideal, getattr(scorer, "perfect", None)  # perfect: optional
        return cls(bool(scorer.higher_is_better), str(scorer.kind),
                   None if ideal is None else float(ideal), dict(identity or {}),
                   None if perfect is None else float(perfect))

    @property
    def reference(self) -> float:
        """The baseline's own value of a paired metric: its ideal, else its perfect value
        (PSNR: 100 dB), else ±inf."""
        if self.ideal is not None:
            return self.ideal
        if self.perfect is not None:
            return self.perfect
        return math.inf if self.higher_is_better else -math.inf

    @property
    def has_delta(self) -> bool:
        """Whether a variant has a delta against the baseline (PSNR, with no finite ideal, not)."""
        return self.kind == "per-image" or self.ideal is not None
