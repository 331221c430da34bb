"""The summary the report builds: the typed tree behind summary.json, root :class:`Summary`.

Everything here is a frozen dataclass; JSON exists only at the edges (summary.json, the
export, the page's data), through reports/jsonio.py. To add a field to summary.json, add it
to the record with a default (older files then still load) and document it in
docs/SUMMARY.md; nothing else needs to know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reports.calibration import Calibration
from reports.equal_work_records import EqualWork
from reports.frontier import FrontierVerdict, StepsFrontier
from reports.metric_info import MetricInfo
from reports.records import CacheUse, EndpointStats, GpuState, Pricing, Recommendation, SweepAxis
from reports.traces import TracePrediction

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
class ExpertSteps:
    """One transformer's steps of a model with several (Wan 2.2's experts), over the run."""

    computed: int
    skipped: int
    skip_rate: float | None
    inert: bool  # a cache variant whose cache skipped no step of this transformer


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
    # Why the metric does not apply to this variant ("different model": a paired metric of a
    # variant that runs another model than the baseline); None when it does.
    not_applicable: str | None = None


@dataclass(frozen=True)
class ParetoMembership:
    """Whether a variant is on a metric's Pareto front against latency, cost and energy."""

    latency: bool
    cost: bool
    energy: bool = False
    cost_per_second: bool = False  # against the cost of one second of video (clips only)


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
    # Per transformer where the model has several (Wan 2.2: "transformer", "transformer_2").
    experts: Mapping[str, ExpertSteps] = field(default_factory=dict)
    flags: Mapping[str, int] = field(default_factory=dict)
    cold_s: float | None = None
    compile_s: float | None = None
    load_s: float | None = None
    worker_start_s: float | None = None
    peak_memory_mb: float | None = None
    cost_per_1000_images_usd: float | None = None
    # Clips: the clip's length (s) and the cost of one second of video (cost per clip / length).
    clip_s: float | None = None
    cost_per_video_second_usd: float | None = None
    checks: tuple[str, ...] = ()
    inert: bool = False
    speedup_p50: float | None = None
    speedup: SpeedupEntry | None = None
    energy: EnergyEntry | None = None
    gpu_state: GpuState | None = None
    pareto: Mapping[str, ParetoMembership] = field(default_factory=dict)
    cliffs: tuple[str, ...] = ()
    generation: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)  # its own model ({}: the suite's)
    calibration: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # numbers fitted in the run
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
    equal_work: EqualWork | None = None  # caches at equal measured skip rate (reports/equal_work.py)

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
