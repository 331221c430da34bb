"""Typed records from the store to the report: what ``reports`` reads, and the budgets.

Everything here is a frozen dataclass; JSON exists only at the edges, through
reports/jsonio.py. The summary the report builds from these is in
``reports.summary_records``; how to read a metric is ``reports.metric_info.MetricInfo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class CacheUse:
    """A variant's cache accelerator and its parameters."""

    accelerator: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class SweepAxis:
    """One parameter a ``[[variant]]`` table sweeps: ``fbcache = { threshold = [0.05, 0.1] }``."""

    accelerator: str  # "" for a generation setting (steps, guidance, height, width)
    param: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Spread:
    """Percentiles, mean and count of one endpoint timing, in seconds."""

    p50: float
    p90: float
    p99: float
    mean: float
    n: int


@dataclass(frozen=True)
class RequestCounts:
    """Endpoint requests sent and how they ended."""

    total: int = 0
    ok: int = 0
    failed: int = 0


@dataclass(frozen=True)
class SeedProbe:
    """The first delivered image's request sent again: did the same bytes come back?"""

    seed_honoured: bool | None = None  # identical pixels
    same_bytes: bool | None = None
    same_pixels: bool | None = None
    probe: str | None = None  # "<prompt_id>-<seed>"
    reason: str | None = None  # why there is no answer (the repeat failed)


@dataclass(frozen=True)
class EndpointPrice:
    """An endpoint's list price and where it comes from."""

    usd: float | None
    unit: str  # "image" or "megapixel"
    source: str
    date: str


@dataclass(frozen=True)
class EndpointStats:
    """What the endpoint generator measured for one variant (docs/ENDPOINTS.md)."""

    protocol: str
    url: str
    model: str = ""
    concurrency: int = 1
    requests: RequestCounts = RequestCounts()
    failures_by_kind: Mapping[str, int] = field(default_factory=dict)  # how requests finally ended
    failed_attempts_by_kind: Mapping[str, int] = field(default_factory=dict)  # retried ones included
    attempts: int = 0
    retries: int = 0
    latency_s: Spread | None = None  # client side, end to end
    queue_s: Spread | None = None  # where the API reports it
    inference_s: Spread | None = None  # where the API reports it
    images_per_minute: float | None = None
    cost_per_image_usd: float | None = None
    price: EndpointPrice | None = None
    seed_probe: SeedProbe | None = None


@dataclass(frozen=True)
class GpuSnapshot:
    """GPU clocks, heat, power and throttle reasons at one moment (evalsuite/hardware/gpu_state.py)."""

    sm_clock_mhz: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    throttle_reasons: tuple[str, ...] = ()
    throttled: bool = False


@dataclass(frozen=True)
class GpuState:
    """A variant's GPU state at the start and end of its timed images, and what to flag."""

    start: GpuSnapshot | None = None
    end: GpuSnapshot | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class VariantRun:
    """One variant of the suite as the store knows it, ready for the report."""

    id: str
    name: str
    status: str = "pending"
    error: str | None = None
    accelerators: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    generation: Mapping[str, Any] = field(default_factory=dict)  # its own steps/guidance/height/width
    cache: CacheUse | None = None
    gpus_per_image: int = 1
    group: str = ""  # the [[variant]] table it was expanded from
    sweep: tuple[SweepAxis, ...] = ()  # what that table sweeps
    role: str | None = None  # NOISE_ROLE for the reseeded baseline
    seed_offset: int = 0
    worker_start_s: float | None = None
    load_s: float | None = None
    cold_s: float | None = None
    compile_s: float | None = None
    checks: tuple[str, ...] = ()
    energy_source: str | None = None  # "nvml", "rapl", or None: not measured
    energy_reason: str | None = None  # why not, when energy_source is None
    gpu_state: GpuState | None = None
    endpoint: EndpointStats | None = None  # endpoint variants only
    # Its own model as the suite writes it (model, revision, family, lora); {}: the suite's.
    model: Mapping[str, Any] = field(default_factory=dict)
    # Per-model numbers its worker fitted for a technique set to "calibrate", with the fit's
    # quality: accelerator -> record (evalsuite.models.calibration); {}: none.
    calibration: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # A clip's length in seconds (its frames at its fps) for a video model; None for images.
    clip_s: float | None = None


@dataclass(frozen=True)
class SampleRecord:
    """One generated image as the store reads it back: its row joined with its prompt.

    (Not ``metrics.Sample``, which is one image handed to a scorer.) ``status`` is the
    store's ``SampleStatus`` (a ``str``) when read from a store.
    """

    variant_id: str
    prompt_id: str
    seed: int
    status: str  # ok, flagged, failed
    latency_s: float | None = None
    peak_mem_bytes: int | None = None
    steps_computed: int | None = None
    steps_skipped: int | None = None
    reason: str | None = None
    image: str | None = None
    text: str = ""
    set_name: str | None = None
    category: str | None = None
    energy_j: float | None = None  # the generation's joules (None: not measured)
    created: float | None = None  # time.time() when stored
    clip: str | None = None  # a clip's lossless copy (.npz; ``image`` is its poster), or None
    expert_steps: str | None = None  # JSON {transformer: [computed, skipped]} (Wan 2.2), or None


@dataclass(frozen=True)
class Score:
    """One per-image score; ``value`` None means the scorer failed (``reason`` says why)."""

    variant_id: str
    prompt_id: str
    seed: int
    metric: str
    value: float | None
    reason: str | None = None
    identity: str = ""  # canonical JSON of the scorer's identity (model, preprocessing, dtype)


@dataclass(frozen=True)
class SetScore:
    """One set-level score (CMMD) over ``n`` images of a variant."""

    variant_id: str
    metric: str
    value: float | None
    reason: str | None = None
    n: int = 0
    identity: str = ""  # as Score.identity


@dataclass(frozen=True)
class Pricing:
    """Price per GPU-hour and where it comes from."""

    gpu: str
    usd_per_hour: float
    gpus: int = 1
    source: str = ""
    date: str | None = None


def cost_per_image(latency_s: float, usd_per_hour: float, gpus: int) -> float:
    """$/image = latency x price per GPU-hour / 3600 x GPUs that make one image."""
    return latency_s * usd_per_hour / 3600.0 * gpus


# --- budgets and the recommendation ---------------------------------------------------

BudgetKind = Literal["max_drop", "max_rise", "min", "max"]
BUDGET_KINDS: tuple[BudgetKind, ...] = ("max_drop", "max_rise", "min", "max")


@dataclass(frozen=True)
class Budget:
    """One quality constraint, in the metric's own units (see reports/recommend.py)."""

    metric: str
    kind: BudgetKind
    value: float

    def describe(self) -> str:
        """E.g. ``ssim drop <= 0.02``."""
        words = {"max_drop": "drop <=", "max_rise": "rise <=", "min": ">=", "max": "<="}
        return f"{self.metric} {words[self.kind]} {self.value:g}"


@dataclass(frozen=True)
class Rejection:
    """A faster (or cheaper) variant the recommendation passed over, and why."""

    variant: str
    reason: str


@dataclass(frozen=True)
class Recommendation:
    """The pick, why, and why each faster (or cheaper) variant was rejected."""

    variant: str | None
    objective: str
    objective_value: float | None
    reason: str
    budgets: tuple[str, ...]
    bound: str = "ci"
    rejected: tuple[Rejection, ...] = ()
    # The numbers the picked variant fitted in the run ("calibrate"): what deploying it needs.
    calibration: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
