"""What a generator is asked to do: a variant and its pending (prompt, seed) items.

Torch-free on purpose: the orchestrating process plans and hands out work without
importing the heavy libraries only its workers need.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from evalsuite.store.paths import RESULTS, image_dir
from evalsuite.suite.types import ModelSpec, Variant


@dataclass(frozen=True)
class WorkItem:
    """One image to generate."""

    prompt_id: str
    text: str
    seed: int

    @property
    def key(self) -> tuple[str, int]:
        """The (prompt_id, seed) key its sample row is stored under."""
        return (self.prompt_id, self.seed)


@dataclass(frozen=True)
class WorkerJob:
    """One variant's share of work, for a local worker process or an endpoint; picklable."""

    run_dir: str
    variant: Variant
    model: ModelSpec
    device: str
    items: tuple[WorkItem, ...]
    warmup: int
    image_dir: str  # relative to run_dir
    store_path: str = RESULTS  # relative to run_dir; under torchrun, the rank's shard
    group: Any = None  # a CPGroup when K workers generate each image together (context parallel)
    spawned_at: float = 0.0  # time.time() when the process was started (set by whoever starts it)
    telemetry: bool = True  # write the variant's telemetry file (not for the drift re-timing)
    trace_items: tuple[WorkItem, ...] = ()  # generate again, untimed, with trace hooks (tracing.py)
    trace_fn: tuple[int, ...] = ()  # cache-dit Fn values whose residual the trace records
    trace_file: str = ""  # relative to run_dir; "" = the variant's trace file (a calibrate rank's own)
    # Trace every transformer of the family into trace_file with "{transformer}" replaced by its
    # name (evalsuite calibrate; Wan 2.2's experts), rather than pipe.transformer alone.
    trace_experts: bool = False
    turns: Any = None  # a generators.Turns: time each image only when the supervisor says (speed trial)
    # The baseline's first trace images, measured untimed before the warm-up when a technique
    # of the variant asks to "calibrate" its per-model numbers (evalsuite.models.calibration).
    calibration_items: tuple[WorkItem, ...] = ()

    @classmethod
    def build(cls, run_dir: str, variant: Variant, model: ModelSpec, device: str,
              items: tuple[WorkItem, ...], warmup: int, store_path: str = RESULTS,
              group: Any = None) -> WorkerJob:
        """The one place a job is put together (images go under the variant's own folder)."""
        return cls(run_dir=run_dir, variant=variant, model=model, device=device, items=items,
                   warmup=warmup, image_dir=image_dir(variant.name, variant.id),
                   store_path=store_path, group=group)

    def aside(self, store_path: str, folder: str) -> WorkerJob:
        """The same job re-timing into a side store and image folder (the drift check, the
        speed trial): beside, never over, the run's own rows and images, which are the ones
        that get scored; and no telemetry file."""
        return replace(self, store_path=store_path, telemetry=False,
                       image_dir=f"{folder}/{PurePosixPath(self.image_dir).name}")
