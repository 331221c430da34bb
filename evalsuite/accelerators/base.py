"""The small interface every acceleration technique implements.

An accelerator declares its parameters (validated when the suite loads), checks that the
machine can run it, applies itself to a loaded pipeline inside the worker, counts per-image
telemetry (denoising steps computed vs skipped for caches) and, after the run, says whether
it had any effect at all. Whether a cache is "inert" (it skipped no step) is not decided
here: one worker may see only part of a run, so the report decides it over the whole run
(``reports.telemetry.is_inert``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from registry import Registry

# Application order: structural pipeline changes first, then weights, then caches (which
# hook the blocks), then compilation, which must see the final modules.
ORDER_PIPELINE = 10
ORDER_QUANTIZE = 20
ORDER_CACHE = 30
ORDER_COMPILE = 40


@dataclass(frozen=True)
class Param:
    """One accelerator parameter: its type, default, range and meaning."""

    type: type
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    # Words accepted in place of a value of ``type`` (``coefficients = "calibrate"``).
    literals: tuple[str, ...] = ()

    def validate(self, key: str, value: Any) -> Any:
        """Return ``value`` checked (ints accepted for floats); raise ``ValueError`` naming ``key``."""
        if isinstance(value, str) and value in self.literals:
            return value
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            also = "".join(f" or {word!r}" for word in self.literals)
            raise ValueError(f"{key}: expected {self.type.__name__}{also}, got {value!r}")
        if self.min is not None and value < self.min:
            raise ValueError(f"{key}: {value!r} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{key}: {value!r} is above the maximum {self.max}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{key}: {value!r} is not one of {list(self.choices)}")
        return value


@dataclass
class StepCounter:
    """Denoising steps computed and skipped for the image being generated.

    A counter of one transformer of several (Wan 2.2's experts) has the technique's overall
    counter as ``parent``, which counts every decision too.
    """

    computed: int = 0
    skipped: int = 0
    total_skipped: int = field(default=0, repr=False)
    parent: StepCounter | None = field(default=None, repr=False)

    def reset(self) -> None:
        """Start counting a new image."""
        self.computed = 0
        self.skipped = 0

    def record(self, computed: bool) -> None:
        """Count one denoiser call."""
        if computed:
            self.computed += 1
        else:
            self.skipped += 1
            self.total_skipped += 1
        if self.parent is not None:
            self.parent.record(computed)


def expert_counters(names: Iterable[str]) -> tuple[StepCounter, dict[str, StepCounter]]:
    """An overall counter and one per named transformer, each feeding the overall one."""
    total = StepCounter()
    return total, {name: StepCounter(parent=total) for name in names}


@dataclass
class Applied:
    """What ``apply`` hands back to the worker for one accelerator."""

    counter: StepCounter | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    # Per transformer (pipeline attribute) when the technique hooks each of several (Wan 2.2's
    # experts); their decisions also reach ``counter``.
    experts: dict[str, StepCounter] = field(default_factory=dict)

    def check(self) -> str | None:
        """After the run: a reason the technique had no effect, or None if it did."""
        return None

    def warmed_up(self) -> None:
        """Called by the worker after the warm-up, before the timed images."""

    def telemetry(self) -> dict[str, Any]:
        """After the run: what the technique reports about itself (written beside the results)."""
        return dict(self.notes)


@dataclass(frozen=True)
class Environment:
    """What the machine running the variant offers, for hardware checks at load time."""

    device: str  # "cpu" or "cuda[:N]"
    cuda_capability: tuple[int, int] | None = None


class ModelFamily(Protocol):
    """What a technique may ask about the model it runs on (``evalsuite.models.families``).

    Techniques ask these questions, never a class name, so a new family is one adapter,
    not a branch in every technique.
    """

    name: str  # the adapter's name, as ``[model] family`` writes it
    title: str  # e.g. "FLUX.1", for messages
    known: bool  # False for a pipeline no adapter serves (model-independent techniques only)
    # Its transformer has diffusers' cache API (``CacheMixin.enable_cache``) and its pipeline
    # opens the cache contexts those hooks need.
    diffusers_caches: bool
    hookable: bool  # its blocks are registered in diffusers' ``TransformerBlockRegistry``
    flux_blocks: bool  # FLUX.1's double + single blocks and their call convention
    # Block 0 computes its timestep-modulated input as FLUX.1's does, ``norm1(hidden_states,
    # emb=temb)[0]``, and every block takes and returns the image tokens apart from the text's
    # (what TeaCache reads and how it skips): FLUX.1, SD3.5.
    modulated_norm1: bool
    cache_dit: bool  # cache-dit 1.5.3 has a block adapter for its pipeline
    calibrated: frozenset[str]  # techniques whose per-model numbers ship for it (teacache, ...)

    def transformers(self, pipe: Any) -> tuple[Any, ...]:
        """The denoising transformer(s) of a loaded pipeline."""
        ...

    def named_transformers(self, pipe: Any) -> dict[str, Any]:
        """The denoising transformer(s) by pipeline attribute (Wan 2.2: two experts)."""
        ...

    def block_lists(self, transformer: Any) -> tuple[tuple[str, Any], ...]:
        """(attribute name, ``ModuleList``) of the blocks caches hook, in call order."""
        ...


class Accelerator:
    """Base class of every technique; subclasses set the class attributes and ``apply``.

    An instance is made for the model it will run on (``model_family``; None where no
    model is involved, e.g. validating parameters).
    """

    name: ClassVar[str]  # the key suite files use (snake_case); ``register`` reads it
    deprecated_names: ClassVar[tuple[str, ...]] = ()  # old spellings, accepted with a warning
    family: ClassVar[str]  # "cache", "quantization", "compile", "pipeline", "parallel"
    order: ClassVar[int]
    description: ClassVar[str]
    params: ClassVar[Mapping[str, Param]] = {}

    def __init__(self, model_family: ModelFamily | None = None) -> None:
        self.model_family = model_family

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        """Why this technique with ``params`` does not fit ``family``, or None if it does.

        Checked before any work, from the family's declared facts (no model is loaded). The
        default fits every model: techniques that depend on the model override it.
        """
        return None

    def check_environment(self, params: Mapping[str, Any], env: Environment) -> None:
        """Raise ``ValueError`` if this machine cannot run the technique with ``params``."""

    def skips_steps(self, params: Mapping[str, Any]) -> bool:
        """Whether this technique, with ``params``, is meant to skip denoising steps (a cache
        that then skips none is inert); a calibration run is not."""
        return self.family == "cache"

    def conflicts(self, params: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> str | None:
        """Why this technique cannot run beside ``others`` (name -> params), checked at load time."""
        return None

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        """Apply the technique to ``pipe`` in place."""
        raise NotImplementedError


# The word a per-model parameter takes to be fitted in the run (teacache.coefficients,
# magcache.mag_ratios); evalsuite.models.calibration replaces it before ``apply``.
CALIBRATE = "calibrate"


def unresolved(key: str) -> str:
    """Why ``apply`` got a parameter still saying "calibrate" (a caller skipped the fit)."""
    return (f'{key} = "calibrate" must be fitted before the technique is applied '
            "(evalsuite.models.calibration.resolve_uses); it reached apply unresolved")


def transformers_of(family: ModelFamily | None, pipe: Any) -> dict[str, Any]:
    """The transformers a technique applies to, by pipeline attribute: the family's (each of
    Wan 2.2's experts), or ``pipe.transformer`` where no family is known."""
    return family.named_transformers(pipe) if family is not None else {"transformer": pipe.transformer}


def step_ranges(family: ModelFamily | None, pipe: Any, steps: int) -> dict[str, range]:
    """Which of the call's ``steps`` each transformer denoises (Wan 2.2: the high-noise expert the
    first ones, the low-noise expert the rest); every step for a model with one transformer."""
    ranges = getattr(family, "step_ranges", None)
    return ranges(pipe, steps) if ranges is not None else {"transformer": range(steps)}


def unchecked(family: ModelFamily, technique: str) -> str | None:
    """None for a known family; for a pipeline no adapter serves, why a technique that picks
    its modules by the model's layout is refused."""
    if family.known:
        return None
    return (f"{technique} picks the modules it changes by the model's layout, and no family adapter "
            "describes this pipeline's (set [model] family if it is one of `evalsuite list families`)")


def no_cache_api(family: ModelFamily, technique: str) -> str | None:
    """None if ``family``'s transformer has diffusers' cache API, which diffusers' caches
    (FirstBlockCache, MagCache, TaylorSeer, FasterCache, PAB) are enabled through, else why not."""
    if (why := unchecked(family, technique)) is not None:
        return why
    if family.diffusers_caches:
        return None
    return (f"{technique} runs through diffusers' cache API (transformer.enable_cache inside the "
            f"pipeline's cache contexts), which {family.title} lacks in diffusers 0.42.1")


def unhookable(family: ModelFamily, technique: str) -> str | None:
    """None if diffusers' block hooks can hook ``family``'s blocks, else why not."""
    if (why := no_cache_api(family, technique)) is not None:
        return why
    if family.hookable:
        return None
    return (f"{technique} hooks only transformer blocks registered in diffusers' "
            f"TransformerBlockRegistry (diffusers 0.42.1), and {family.title}'s are not")


ACCELERATORS: Registry[type[Accelerator]] = Registry(
    "accelerator", group="evalsuite.accelerators"
)
register = ACCELERATORS.register


def to_calibrate(accelerator: str, params: Mapping[str, Any]) -> str | None:
    """The parameter ``params`` ask to fit in the run (it says "calibrate"), if any."""
    schema = ACCELERATORS.get(accelerator).params
    keys = [key for key, p in schema.items() if CALIBRATE in p.literals and params.get(key) == CALIBRATE]
    return keys[0] if keys else None
