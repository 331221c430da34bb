"""Selecting prompts: duplicate removal, category filter and a reproducible stratified sample.

Pure functions over lists of prompts, so they are tested without files.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prompts.base import Prompt, PromptError


@dataclass(frozen=True)
class Stratum:
    """The prompts of one (set, category) pair and how many of them the sample takes."""

    set: str
    category: str
    positions: tuple[int, ...]
    quota: int


def dedupe(prompts: Sequence[Prompt]) -> list[Prompt]:
    """Drop a prompt whose text already appeared in the same set and category.

    The first occurrence stays, with its own index and id, so ids do not move when
    deduplication is switched on or off.
    """
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for prompt in prompts:
        key = (prompt.set, prompt.category, prompt.text)
        if key not in seen:
            seen.add(key)
            kept.append(prompt)
    return kept


def filter_categories(prompts: Sequence[Prompt], categories: Iterable[str]) -> list[Prompt]:
    """Keep the prompts whose category is one of ``categories``.

    A prompt tagged with several categories (``meta["categories"]``: VBench's dimensions)
    is kept when any of them is wanted.

    Raises:
        PromptError: a requested category matches no prompt (most likely a typo); the
            message lists the categories that exist.
    """
    wanted = list(categories)
    tags = {p.id: {p.category, *p.meta.get("categories", ())} for p in prompts}
    present = set().union(*tags.values()) if tags else set()
    for category in wanted:
        if category not in present:
            known = ", ".join(repr(c) for c in sorted(present))
            raise PromptError(f"prompts.categories: no selected prompt has category "
                              f"{category!r} (categories: {known})")
    keep = set(wanted)
    return [p for p in prompts if tags[p.id] & keep]


def allocate(prompts: Sequence[Prompt], limit: int, seed: int) -> list[Stratum]:
    """Share ``limit`` among the (set, category) strata in proportion to their sizes.

    Largest-remainder rounding: every stratum gets the floor of its exact share and the
    leftover units go to the largest fractional parts, so each quota is within 1 of
    ``limit * size / total``. Ties are broken by ``seed``, not by position, so that no
    category is favoured by where it sits in the file.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for position, prompt in enumerate(prompts):
        groups.setdefault((prompt.set, prompt.category), []).append(position)
    total = len(prompts)
    floors = {key: limit * len(pos) // total for key, pos in groups.items()}
    # Integer remainders (limit * size mod total) compare exactly, unlike float shares.
    remainders = {key: limit * len(pos) % total for key, pos in groups.items()}
    rng = random.Random(f"evalsuite-allocate:{seed}")
    tie_break = {key: rng.random() for key in groups}
    order = sorted(groups, key=lambda key: (-remainders[key], tie_break[key]))
    extra = set(order[: limit - sum(floors.values())])
    return [
        Stratum(key[0], key[1], tuple(pos), floors[key] + (key in extra))
        for key, pos in groups.items()
    ]


def stratified_sample(prompts: Sequence[Prompt], limit: int, seed: int) -> list[Prompt]:
    """Draw ``limit`` prompts, stratified by (set, category), reproducible for ``seed``.

    Within a stratum the draw is a seeded shuffle of that stratum alone, seeded by the set
    and category names: filtering out other categories or adding another set does not
    change which prompts a stratum gives for the same quota, and a larger quota gives a
    superset of a smaller one.

    Args:
        prompts: The candidates, in their upstream order.
        limit: How many to draw; at most ``len(prompts)``.
        seed: The sampling seed (independent of the generation seeds).

    Returns:
        The sample, in the order of ``prompts``.

    Raises:
        PromptError: ``limit`` is larger than the number of candidates.
    """
    if limit > len(prompts):
        raise PromptError(f"prompts.limit: {limit} is more than the {len(prompts)} prompts selected")
    if limit == len(prompts):
        return list(prompts)
    chosen: list[int] = []
    for stratum in allocate(prompts, limit, seed):
        # A str seed is hashed with SHA-512 by random.Random: stable across runs and
        # processes, unlike hash(), which PYTHONHASHSEED salts.
        rng = random.Random(f"evalsuite-sample:{seed}:{stratum.set}:{stratum.category}")
        positions = list(stratum.positions)
        rng.shuffle(positions)
        chosen.extend(positions[: stratum.quota])
    return [prompts[i] for i in sorted(chosen)]
