"""The suite's building blocks: frozen dataclasses for the model, hardware, run and variants.

Kept apart from the parser in :mod:`evalsuite.suite.spec` so that modules the parser uses (such as
:mod:`evalsuite.suite.overrides`) can name these types without importing the parser back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalsuite.endpoints.spec import EndpointSpec
from reports.records import SweepAxis


@dataclass(frozen=True)
class ModelSpec:
    """The pipeline and the generation settings every variant shares."""

    id: str = "tiny"  # hub id, local folder, or a tiny built-in ("tiny", "tiny-qwen-image", ...)
    revision: str | None = None
    dtype: str = "float32"
    steps: int = 12
    guidance: float = 3.5
    height: int = 64
    width: int = 64
    device: str = "auto"  # "auto" picks cuda when present
    max_sequence_length: int | None = None
    tiny_seed: int = 0  # initialisation seed of the built-in tiny model


@dataclass(frozen=True)
class HardwareSpec:
    """What the images are paid for: the price table entry and GPUs per image."""

    gpu: str = "auto"  # a name from evalsuite.hardware.prices, or "auto" from the device
    price_per_hour: float | None = None  # overrides the table
    gpus: int = 1


@dataclass(frozen=True)
class RunSpec:
    """How the runner generates."""

    warmup: int = 1  # uncounted generations before timing; the first one's time is "cold"
    timeout_s: float | None = None  # per-variant worker wall-clock limit
    # Baseline images timed again at the end of the sweep, in a fresh worker (0: no drift check).
    drift_images: int = 3
    trace_images: int | None = None  # baseline images traced for the caches (None: 4 if any cache)


@dataclass(frozen=True)
class MetricUse:
    """One scorer and its constructor options."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class AcceleratorUse:
    """One accelerator in a variant, with every parameter (defaults filled in)."""

    name: str
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Variant:
    """One concrete variant: a name and its accelerators, in application order."""

    name: str
    accelerators: tuple[AcceleratorUse, ...]
    id: str  # hash of the canonical JSON of model settings + accelerators
    seed_offset: int = 0  # != 0 only for the noise-floor pseudo-variant (see ReportSpec)
    generation: tuple[tuple[str, Any], ...] = ()  # steps/guidance/height/width overrides (overrides.py)
    role: str | None = None  # "steps_frontier" for the fewer-steps reference variants
    group: str = ""  # the [[variant]] table it was expanded from ("" if none)
    sweep: tuple[SweepAxis, ...] = ()  # the parameters that table sweeps, in its own order
    endpoint: EndpointSpec | None = None  # images requested over HTTP instead of a local worker

    def describe(self) -> dict[str, dict[str, Any]]:
        """Accelerator name -> parameters."""
        return {a.name: dict(a.params) for a in self.accelerators}
