"""VBench's and VBench-2.0's prompt sets, from the shared upstream copies and through the
hub path (the download step served from those copies)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import prompts
from prompts import PROMPT_SETS, filter_categories, load_set, set_modality
from prompts.hub import HubSource
from prompts.vbench import REVISION


@pytest.fixture(scope="module")
def vbench_dir(shared: Path) -> Path:
    return shared / "vbench"


def test_vbench_has_946_prompts_tagged_with_their_16_dimensions(vbench_dir: Path) -> None:
    items = load_set("vbench", vbench_dir)
    assert len(items) == 946 and len({p.id for p in items}) == 946
    dims = Counter(d for p in items for d in p.meta["categories"])
    assert sorted(dims) == list(PROMPT_SETS.get("vbench").categories) and len(dims) == 16
    assert dims["dynamic_degree"] == 72 and dims["temporal_flickering"] == 75
    multi = next(p for p in items if len(p.meta["categories"]) == 3)
    assert multi.category == "+".join(multi.meta["categories"])
    assert len(filter_categories(items, ["dynamic_degree"])) == 72
    styled = next(p for p in items if p.meta.get("auxiliary_info"))
    assert "appearance_style" in styled.meta["auxiliary_info"] or styled.meta["auxiliary_info"]
    assert items[0].text == "In a still frame, a stop sign"


def test_vbench_category_has_800_prompts_in_8_categories(vbench_dir: Path) -> None:
    items = load_set("vbench_category", vbench_dir)
    assert len(items) == 800 and Counter(p.category for p in items) == dict.fromkeys(
        PROMPT_SETS.get("vbench_category").categories, 100)
    # The order of all_category.txt, duplicates kept (two texts sit in two categories).
    assert [p.text for p in items] == (vbench_dir / "all_category.txt").read_text().splitlines()
    assert len({p.text for p in items}) == 798 and len({p.id for p in items}) == 800


def test_vbench2_has_1013_prompts_with_18_dimensions(vbench_dir: Path) -> None:
    items = load_set("vbench2", vbench_dir)
    text = (vbench_dir / "vbench2" / "VBench2_full_text.txt").read_text()
    assert [p.text for p in items] == text.splitlines()
    assert len({d for p in items for d in p.meta["categories"]}) == 18
    assert all(set_modality(PROMPT_SETS.get(n)) == "video" for n in ("vbench", "vbench_category", "vbench2"))


def test_the_hub_path_fetches_the_pinned_commit_and_gives_the_same_prompts(
        vbench_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = {"vbench/VBench_full_info.json": vbench_dir / "VBench_full_info.json",
             "VBench-2.0/prompts/VBench2_full_text_info.json":
                 vbench_dir / "vbench2" / "VBench2_full_text_info.json"}
    per_category = vbench_dir / "prompts_per_category"
    local |= {f"prompts/prompts_per_category/{p.name}": p for p in per_category.iterdir()}
    asked = []

    def fake_fetch(source: HubSource, path: str) -> Path:
        asked.append((source.repo, source.revision, path))
        return local[path]

    monkeypatch.setattr(prompts.hub, "fetch", fake_fetch)
    for name in ("vbench", "vbench_category", "vbench2"):
        assert load_set(name) == load_set(name, vbench_dir)
    assert {(r, v) for r, v, _ in asked} == {("Vchitect/VBench", REVISION)} and len(REVISION) == 40
    assert len(asked) == 10
