"""Who generates what: each variant's pending items split over the launch's ranks.

A single-process run is the plan for a world of size 1: every variant has one share, its
whole pending list. Under torchrun rank 0 computes the plan from the merged store and
broadcasts it, so every rank works from the same split.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import prompts as prompt_sets
from evalsuite.models.cp_checks import gpus_per_image
from evalsuite.run.work import WorkItem
from evalsuite.store.schema import VariantStatus
from evalsuite.suite.types import Variant


@dataclass(frozen=True)
class VariantPlan:
    """Who generates what of one variant: one share of the pending items per group of K ranks."""

    variant: Variant
    k: int  # ranks per image (context-parallel degree; 1 = data parallel)
    shares: tuple[tuple[WorkItem, ...], ...]  # group g = ranks g*K .. g*K+K-1
    run_empty: bool  # nothing pending but not marked ok: group 0 runs a warm-up-only worker
    done: int  # items stored before this launch

    def group_of(self, rank: int) -> int:
        """The group ``rank`` belongs to for this variant."""
        return rank // self.k

    def items_for(self, rank: int) -> tuple[WorkItem, ...] | None:
        """The rank's items, or None when it starts no worker for this variant."""
        g = self.group_of(rank)
        if self.shares[g] or (self.run_empty and g == 0):
            return self.shares[g]
        return None

    def ranks(self, world_size: int) -> list[int]:
        """Ranks that start a worker."""
        return [r for r in range(world_size) if self.items_for(r) is not None]

    @property
    def complete(self) -> bool:
        """Nothing to do: every item stored and the variant marked ok."""
        return not any(self.shares) and not self.run_empty


@dataclass(frozen=True)
class Plan:
    """The launch's work, computed once (by rank 0) from the store."""

    token: str  # unique per launch: prefixes rendezvous keys in the shared store
    variants: tuple[VariantPlan, ...]  # data-parallel variants first, then context-parallel ones

    def keys_for(self, variant_id: str, rank: int) -> frozenset[tuple[str, int]]:
        """The (prompt_id, seed) keys of ``variant_id`` that ``rank`` generates in this launch."""
        vp = next((p for p in self.variants if p.variant.id == variant_id), None)
        items = vp.items_for(rank) if vp is not None else None  # None: nothing for this rank
        return frozenset(i.key for i in items or ())


def suite_items(prompts: Sequence[prompt_sets.Prompt], seeds: Sequence[int]) -> tuple[WorkItem, ...]:
    """Every (prompt, seed) item, prompt-major: the order a run generates them in."""
    return tuple(WorkItem(p.id, p.text, s) for p in prompts for s in seeds)


def calibration_items(suite: Any) -> tuple[WorkItem, ...]:
    """What a variant's "calibrate" measures on: the run's first ``[run] trace_images`` items
    (default 4), the images the baseline's trace step traces, so both fits see the same."""
    from evalsuite.models.tracing import DEFAULT_TRACE_IMAGES

    n = suite.run.trace_images or DEFAULT_TRACE_IMAGES
    return suite_items(prompt_sets.resolve_prompts(suite.prompts), suite.prompts.seeds)[:n]


def make_plan(variants: Sequence[Variant], items: Sequence[WorkItem],
              done: Mapping[str, set[tuple[str, int]]], status: Mapping[str, str], size: int) -> Plan:
    """Split each variant's pending ``items`` round-robin over its groups (deterministic).

    Args:
        variants: what to generate, in order (context-parallel ones are moved last).
        items: the wanted (prompt, seed) items; those in ``done`` are skipped.
        done: per variant id, the (prompt_id, seed) keys already stored.
        status: per variant id, its stored status.
        size: ranks in the launch (1 for a single process).
    """
    plans = []
    for v in sorted(variants, key=lambda v: gpus_per_image(v) > 1):  # stable: given order
        k = gpus_per_image(v)
        have = done.get(v.id, set())
        pending = [i for i in items if i.key not in have]
        groups = size // k
        shares = tuple(tuple(pending[g::groups]) for g in range(groups))
        plans.append(VariantPlan(v, k, shares, not pending and status.get(v.id) != VariantStatus.OK,
                                 len(have)))
    return Plan(uuid.uuid4().hex[:12], tuple(plans))
