"""Stratified ``limit``, dedupe and category filter: pure functions over prompt lists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from prompts import PromptError, dedupe, filter_categories, load_set, make_prompt, stratified_sample
from prompts.base import Prompt


def _synthetic(sizes: dict[str, int], set_name: str = "toy") -> list[Prompt]:
    items = []
    for category, size in sizes.items():
        for i in range(size):
            items.append(make_prompt(set_name, len(items), f"{category} prompt {i}", category))
    return items


def _assert_proportional(items: list[Prompt], sample: list[Prompt], limit: int) -> None:
    total = Counter((p.set, p.category) for p in items)
    drawn = Counter((p.set, p.category) for p in sample)
    assert len(sample) == limit
    for key, size in total.items():
        assert abs(drawn[key] - limit * size / len(items)) < 1, (key, drawn[key], size)


@pytest.mark.parametrize("limit", [1, 7, 11, 50, 100, 199])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_stratified_limit_keeps_proportions_within_one(shared: Path, limit: int, seed: int) -> None:
    items = load_set("drawbench", shared / "drawbench")
    _assert_proportional(items, stratified_sample(items, limit, seed), limit)


@pytest.mark.parametrize(("name", "folder", "limit"), [
    ("parti", "partiprompts", 100), ("parti", "partiprompts", 333),
    ("hpsv2", "hpsv2", 77), ("geneval", "geneval", 60),
])
def test_stratified_limit_on_the_larger_sets(shared: Path, name: str, folder: str,
                                              limit: int) -> None:
    items = load_set(name, shared / folder)
    _assert_proportional(items, stratified_sample(items, limit, 3), limit)


def test_same_seed_same_subset_other_seed_other_subset(shared: Path) -> None:
    items = load_set("parti", shared / "partiprompts")
    first = [p.id for p in stratified_sample(items, 120, 7)]
    assert first == [p.id for p in stratified_sample(list(items), 120, 7)]
    assert first != [p.id for p in stratified_sample(items, 120, 8)]


def test_sample_is_in_upstream_order_without_repeats(shared: Path) -> None:
    items = load_set("hpsv2", shared / "hpsv2")
    sample = stratified_sample(items, 200, 0)
    assert [p.index for p in sample] == sorted(p.index for p in sample)
    assert len({p.id for p in sample}) == 200


def test_larger_limit_mostly_contains_smaller_one() -> None:
    items = _synthetic({"a": 40, "b": 30, "c": 30})
    small = {p.id for p in stratified_sample(items, 10, 0)}
    large = {p.id for p in stratified_sample(items, 50, 0)}
    assert small <= large  # quotas grow per stratum, and each stratum draws a prefix


def test_mixed_sets_are_stratified_by_set_and_category() -> None:
    items = _synthetic({"x": 30, "y": 10}, "one") + _synthetic({"x": 60}, "two")
    sample = stratified_sample(items, 10, 0)
    _assert_proportional(items, sample, 10)
    assert Counter(p.set for p in sample) == {"one": 4, "two": 6}


def test_uneven_strata_and_tiny_limits() -> None:
    items = _synthetic({"big": 97, "one": 1, "two": 2})
    for limit in range(1, 101):
        _assert_proportional(items, stratified_sample(items, limit, limit), limit)


def test_limit_equal_to_size_keeps_all_and_larger_is_an_error() -> None:
    items = _synthetic({"a": 3, "b": 2})
    assert stratified_sample(items, 5, 0) == items
    with pytest.raises(PromptError, match="prompts.limit: 6 is more than the 5"):
        stratified_sample(items, 6, 0)


def test_dedupe_is_per_set_and_category() -> None:
    items = [
        make_prompt("s", 0, "a cat", "x"), make_prompt("s", 1, "a cat", "x"),
        make_prompt("s", 2, "a cat", "y"), make_prompt("t", 0, "a cat", "x"),
    ]
    assert [p.id for p in dedupe(items)] == [items[0].id, items[2].id, items[3].id]


def test_filter_categories_and_unknown_category() -> None:
    items = _synthetic({"a": 2, "b": 2, "c": 1})
    assert {p.category for p in filter_categories(items, ["a", "c"])} == {"a", "c"}
    with pytest.raises(PromptError, match="no selected prompt has category 'd'"):
        filter_categories(items, ["a", "d"])


def test_per_set_limits_sample_one_set_and_leave_the_others() -> None:
    from prompts.config import parse_prompts_table, resolve_prompts

    table = {"sets": ["smoke"], "limits": {"smoke": 3}}
    selection = parse_prompts_table(table, Path("."))
    drawn = resolve_prompts(selection)
    assert len(drawn) == 3 and selection.to_dict()["limits"] == {"smoke": 3}
    assert "limits" not in parse_prompts_table({"sets": ["smoke"]}, Path(".")).to_dict()
    for bad, why in (({"other": 2}, "not a set listed"), ({"smoke": 0}, "positive integer"),
                     ({"smoke": 99}, "more than the 8 prompts")):
        with pytest.raises(PromptError, match=why):
            resolve_prompts(parse_prompts_table({"sets": ["smoke"], "limits": bad}, Path(".")))
