"""Typed records from the store to the report: what ``reports`` reads, and the summary it builds.

Everything here is a frozen dataclass; JSON exists only at the edges (summary.json, the
export, the page's data), through reports/jsonio.py. To add a field to summary.json, add it
to the record with a default (older files then still load) and document it in
docs/SUMMARY.md; nothing else needs to know.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from reports.calibration import Calibration
from reports.frontier import FrontierVerdict, StepsFrontier
from reports.traces import TracePrediction

# --- what the report reads: metrics, variants and the store's rows ---------------------

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

    @classmethod
    def of(cls, scorer: ScorerLike, identity: Mapping[str, Any] | None = None) -> MetricInfo:
        """The info of a scorer class (validation) or instance (with its identity)."""
        ideal = scorer.ideal
        return cls(bool(scorer.higher_is_better), str(scorer.kind),
                   None if ideal is None else float(ideal), dict(identity or {}))

    @property
    def reference(self) -> float:
        """The baseline's own value of a paired metric: its ideal, else ±inf (a perfect match)."""
        if self.ideal is not None:
            return self.ideal
        return math.inf if self.higher_is_better else -math.inf

    @property
    def has_delta(self) -> bool:
        """Whether a variant has a delta against the baseline (PSNR, with no finite ideal, not)."""
        return self.kind == "per-image" or self.ideal is not None


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


@dataclass(frozen=True)
class Sample:
    """One generated image (a store row joined with its prompt)."""

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


@dataclass(frozen=True)
class Score:
    """One per-image score; ``value`` None means the scorer failed (``reason`` says why)."""

    variant_id: str
    prompt_id: str
    seed: int
    metric: str
    value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class SetScore:
    """One set-level score (CMMD) over ``n`` images of a variant."""

    variant_id: str
    metric: str
    value: float | None
    reason: str | None = None
    n: int = 0


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


# --- the summary ----------------------------------------------------------------------

Pair = tuple[float, float]  # a [lo, hi] interval


@dataclass(frozen=True)
class Latency:
    """Warm latency percentiles and mean, in seconds."""

    p50: float
    p90: float
    p99: float
    mean: float


@dataclass(frozen=True)
class SampleCounts:
    """Images expected and how they ended."""

    expected: int
    ok: int
    flagged: int  # NaN or black image: kept, not scored
    failed: int


@dataclass(frozen=True)
class Steps:
    """Denoising steps computed and skipped over the run (cache telemetry)."""

    computed: int
    skipped: int
    skip_rate: float | None


@dataclass(frozen=True)
class MetricEntry:
    """One variant's result on one metric (docs/SUMMARY.md, ``variants[].metrics[m]``)."""

    mean: float | None
    ci: Pair | None = None
    n_valid: int = 0
    n_failed: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)
    reference: bool = False
    delta_vs_baseline: float | None = None
    delta_ci: Pair | None = None
    n_pairs: int = 0
    significant: bool | None = None
    within_noise: bool | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class ParetoMembership:
    """Whether a variant is on a metric's Pareto front against latency, cost and energy."""

    latency: bool
    cost: bool
    energy: bool = False


@dataclass(frozen=True)
class SpeedupEntry:
    """A variant's speedup against the baseline with its CI (reports/speedup.py)."""

    estimate: float | None  # baseline p50 / variant p50 over the pairs timed in both
    ci: Pair | None = None
    delta_s: float | None = None  # variant p50 - baseline p50
    delta_ci: Pair | None = None
    n_pairs: int = 0
    verdict: str | None = None  # reference, indistinguishable, within drift, faster, slower


@dataclass(frozen=True)
class EnergyEntry:
    """A variant's energy per image (reports/energy.py); null values mean not measured."""

    source: str | None = None  # nvml, rapl
    reason: str | None = None  # why not measured
    j_per_image: float | None = None
    ci: Pair | None = None
    wh_per_1000_images: float | None = None
    wh_ci: Pair | None = None
    n: int = 0


@dataclass(frozen=True)
class GpuSnapshot:
    """GPU clocks, heat, power and throttle reasons at one moment (evalsuite/gpu_state.py)."""

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
class Drift:
    """The end-of-sweep re-timing of a few baseline images against their first timing."""

    ratio: float | None = None  # end p50 / start p50 (> 1: the machine got slower)
    ci: Pair | None = None
    flagged: bool = False  # start and end disagree beyond the CI
    floor: float | None = None  # the ratio's farthest plausible value, as a factor >= 1
    n: int = 0
    reason: str | None = None  # why there is no drift check


@dataclass(frozen=True)
class VariantResult:
    """One variant's entry in summary.json."""

    name: str
    id: str
    status: str
    error: str | None
    accelerators: Mapping[str, Mapping[str, Any]]
    is_baseline: bool
    samples: SampleCounts
    latency_s: Latency | None
    gpus_per_image: int
    cost_per_image_usd: float | None
    images_per_usd: float | None
    steps: Steps
    cache: CacheUse | None = None
    flags: Mapping[str, int] = field(default_factory=dict)
    cold_s: float | None = None
    compile_s: float | None = None
    load_s: float | None = None
    worker_start_s: float | None = None
    peak_memory_mb: float | None = None
    cost_per_1000_images_usd: float | None = None
    checks: tuple[str, ...] = ()
    inert: bool = False
    speedup_p50: float | None = None
    speedup: SpeedupEntry | None = None
    energy: EnergyEntry | None = None
    gpu_state: GpuState | None = None
    pareto: Mapping[str, ParetoMembership] = field(default_factory=dict)
    cliffs: tuple[str, ...] = ()
    generation: Mapping[str, Any] = field(default_factory=dict)
    group: str = ""
    sweep: tuple[SweepAxis, ...] = ()
    metrics: Mapping[str, MetricEntry] = field(default_factory=dict)
    endpoint: EndpointStats | None = None  # endpoint variants only
    role: str | None = None  # "steps_frontier": a fewer-steps reference variant
    vs_fewer_steps: FrontierVerdict | None = None  # caches, with [report] steps_frontier
    trace_prediction: TracePrediction | None = None  # caches, when the baseline was traced


@dataclass(frozen=True)
class NoiseEntry:
    """What reseeding the baseline does to one metric."""

    mean: float | None = None
    ci: Pair | None = None
    delta: float | None = None
    delta_ci: Pair | None = None
    floor: float | None = None
    n: int = 0


@dataclass(frozen=True)
class NoiseFloor:
    """The reseeded baseline: seed noise per metric."""

    variant: str
    id: str
    status: str
    seed_offset: int
    samples_ok: int
    metrics: Mapping[str, NoiseEntry] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryCount:
    """A prompt category and its number of (prompt, seed) images."""

    name: str
    n: int


@dataclass(frozen=True)
class CategoryCell:
    """One variant's result within one prompt category."""

    mean: float | None
    n: int
    delta: float | None
    delta_ci: Pair | None
    loss: float | None  # positive = worse than the baseline
    verdict: str | None


@dataclass(frozen=True)
class BreakRow:
    """A category and the first variant (suite order) that makes it significantly worse."""

    category: str
    variant: str | None
    max_loss: float | None


@dataclass(frozen=True)
class CategoryBreakdown:
    """One metric's per-category results."""

    categories: tuple[CategoryCount, ...]
    cells: Mapping[str, Mapping[str, CategoryCell]]  # category -> variant -> cell
    first_to_break: tuple[BreakRow, ...]


@dataclass(frozen=True)
class Cliff:
    """A sweep step with a disproportionate quality loss."""

    before: str
    after: str
    x_before: float
    x_after: float
    loss_before: float
    loss_after: float
    share_of_loss: float
    share_of_range: float


@dataclass(frozen=True)
class TelemetryPoint:
    """One variant of a cache sweep."""

    variant: str
    x: float
    skip_rate: float | None
    speedup_p50: float | None
    inert: bool
    loss: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """One series of a cache sweep: a [[variant]] table's values along one parameter."""

    accelerator: str
    param: str | None  # None: the cache's parameters are not swept
    fixed: Mapping[str, Any]  # the cache's other parameters
    with_: Mapping[str, Any] = field(default_factory=dict, metadata={"json": "with"})
    points: tuple[TelemetryPoint, ...] = ()
    cliffs: Mapping[str, tuple[Cliff, ...]] = field(default_factory=dict)
    group: str = ""  # the [[variant]] table


@dataclass(frozen=True)
class Telemetry:
    """Cache sweeps and inert variants."""

    sweeps: tuple[Sweep, ...] = ()
    inert: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatsInfo:
    """How the intervals were computed."""

    method: str
    level: float
    n_boot: int
    seed: int


@dataclass(frozen=True)
class Summary:
    """The whole of summary.json (docs/SUMMARY.md)."""

    schema_version: int
    suite: str
    baseline: str
    pricing: Pricing
    metrics: Mapping[str, MetricInfo]
    variants: tuple[VariantResult, ...]
    stats: StatsInfo | None = None
    noise_floor: NoiseFloor | None = None
    categories: Mapping[str, CategoryBreakdown] = field(default_factory=dict)
    telemetry: Telemetry = field(default_factory=Telemetry)
    recommendation: Recommendation | None = None
    drift: Drift | None = None
    steps_frontier: StepsFrontier | None = None  # docs/FRONTIER.md
    calibration: Calibration | None = None  # from the baseline's traces

    def variant(self, name: str) -> VariantResult:
        """The variant called ``name`` (KeyError if none)."""
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def base(self) -> VariantResult | None:
        """The baseline's entry."""
        return next((v for v in self.variants if v.is_baseline), None)
