"""The suite's building blocks: frozen dataclasses for the model, hardware, run and variants.

Kept apart from the parser in :mod:`evalsuite.suite.spec` so that modules the parser uses (such as
:mod:`evalsuite.suite.overrides`) can name these types without importing the parser back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from evalsuite.endpoints.spec import EndpointSpec
from reports.records import SweepAxis


@dataclass(frozen=True)
class LoraSpec:
    """LoRA weights loaded on top of a model (``lora = { path = ... }``; models/families/lora.py)."""

    path: str  # a local .safetensors file or folder, or a hub repository id
    weight_name: str | None = None  # the file inside a folder or repository
    scale: float = 1.0
    fuse: bool = True  # fused into the weights (base-model speed), adapter layers unloaded
    # Wan 2.2: the low-noise expert's file (loaded into transformer_2), beside weight_name's for
    # the high-noise expert, as two-expert LoRAs ship (Wan2.2-Lightning's high/low_noise_model).
    weight_name_2: str | None = None


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
    family: str | None = None  # the family adapter (None: found from model_index.json)
    negative_prompt: str | None = None  # None: the family's default, if it takes one
    lora: LoraSpec | None = None
    # A video family's clip: frames per clip and the rate it plays at (None for image families;
    # a video family's resolver fills its defaults, so set frames means "this makes clips").
    frames: int | None = None
    fps: int | None = None

    @property
    def outputs(self) -> str:
        """What one generation makes, plural, for the lines a run prints: "clips" or "images"."""
        return "clips" if self.frames is not None else "images"


# What a variant may change about the model itself (``model = "..."`` in a ``[[variant]]``
# writes ``id``); a variant that does generates with another model, so paired metrics against
# the baseline's image are not computed for it.
MODEL_KEYS = ("id", "revision", "family", "lora")


class ModelResolver(Protocol):
    """Model knowledge the suite parser is handed from above (``evalsuite.models.families``).

    The parser cannot import the models layer; whoever loads a suite to run it passes this in,
    so a family, its defaults, a LoRA and each technique's fit are checked before any work.
    """

    def resolve(self, model: ModelSpec, given: Collection[str]) -> ModelSpec:
        """``model`` with its family found (``family`` set) and the generation settings not in
        ``given`` set to the family's defaults; ValueError (one line) for a bad model or LoRA."""
        ...

    def support(self, accelerator: str, params: Mapping[str, Any], family: str) -> str | None:
        """Why ``accelerator`` with ``params`` does not fit ``family``, or None."""
        ...

    def title(self, family: str) -> str:
        """The family's name for messages ("FLUX.1")."""
        ...


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
    # Its own model (MODEL_KEYS -> value: ``model = "..."``, ``lora = {...}``); () = the suite's.
    model: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Accelerator name -> parameters."""
        return {a.name: dict(a.params) for a in self.accelerators}
