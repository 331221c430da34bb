"""The four upstream sets and the smoke set, loaded from local upstream files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import prompts
from prompts import PROMPT_SETS, PromptError, load_set


def test_drawbench_has_200_prompts_in_11_categories(shared: Path) -> None:
    items = load_set("drawbench", shared / "drawbench" / "drawbench.csv")
    counts = Counter(p.category for p in items)
    assert len(items) == 200
    assert len(counts) == 11
    # The upstream "Gary Marcus et al. " (trailing space) is normalised.
    assert counts["Gary Marcus et al."] == 10
    assert counts["Reddit"] == 38 and counts["Rare Words"] == 7
    assert tuple(sorted(counts)) == PROMPT_SETS.get("drawbench").categories
    assert items[0].id == "drawbench-00000-43785d78"
    assert items[0].text == "A red colored car." and items[0].set == "drawbench"


def test_drawbench_loads_from_a_folder_and_from_other_copies(shared: Path, tmp_path: Path) -> None:
    from_folder = load_set("drawbench", shared / "drawbench")
    # The hub copy's header says "Prompts"; other copies add a BOM and drop the space.
    text = (shared / "drawbench" / "drawbench.csv").read_text(encoding="utf-8")
    variant = "\ufeff" + text.replace("Prompt,Category", "Prompts,Category", 1)
    variant = variant.replace("Gary Marcus et al. ", "Gary Marcus et al.") + "\n"
    (tmp_path / "DrawBench Prompts - Sheet1.csv").write_text(variant, encoding="utf-8")
    assert load_set("drawbench", tmp_path) == from_folder


def test_parti_has_1632_prompts_12_categories_11_challenges(shared: Path) -> None:
    items = load_set("parti", shared / "partiprompts" / "PartiPrompts.tsv")
    assert len(items) == 1632
    assert len({p.category for p in items}) == 12
    assert len({p.meta["challenge"] for p in items}) == 11
    assert Counter(p.category for p in items)["Animals"] == 314
    assert Counter(p.meta["challenge"] for p in items)["Writing & Symbols"] == 91
    assert sum("note" in p.meta for p in items) == 190
    assert tuple(sorted({p.category for p in items})) == PROMPT_SETS.get("parti").categories
    assert tuple(sorted({p.meta["challenge"] for p in items})) == prompts.parti.CHALLENGES


def test_parti_can_report_by_challenge(shared: Path) -> None:
    by_topic = load_set("parti", shared / "partiprompts")
    by_challenge = load_set("parti", shared / "partiprompts", category="challenge")
    assert [p.id for p in by_topic] == [p.id for p in by_challenge]
    assert {p.category for p in by_challenge} == set(prompts.parti.CHALLENGES)
    assert all(p.meta["category"] == q.category for p, q in zip(by_challenge, by_topic, strict=True))
    with pytest.raises(PromptError, match="category"):
        load_set("parti", shared / "partiprompts", category="note")


def test_hpsv2_has_3200_prompts_with_duplicates_kept(shared: Path) -> None:
    items = load_set("hpsv2", shared / "hpsv2" / "hpsv2_benchmark_prompts.json")
    assert len(items) == 3200
    assert Counter(p.category for p in items) == {s: 800 for s in prompts.hpsv2.STYLES}
    anime = [p.text for p in items if p.category == "anime"]
    assert len(set(anime)) == 781
    # Indices run across styles; the position within the style is kept too.
    assert items[800].category == "concept-art" and items[800].meta["style_index"] == 0
    assert len({p.id for p in items}) == 3200


def test_hpsv2_dedupe_keeps_first_occurrence_and_its_id(shared: Path) -> None:
    items = load_set("hpsv2", shared / "hpsv2")
    kept = prompts.dedupe(items)
    counts = Counter(p.category for p in kept)
    assert counts == {"anime": 781, "concept-art": 795, "paintings": 798, "photo": 800}
    assert {p.id for p in kept} <= {p.id for p in items}


def test_hpsv2_loads_per_style_files_like_the_hub_layout(shared: Path, tmp_path: Path) -> None:
    merged = json.loads((shared / "hpsv2" / "hpsv2_benchmark_prompts.json").read_text("utf-8"))
    (tmp_path / "benchmark").mkdir()
    for style, texts in merged.items():
        (tmp_path / "benchmark" / f"{style}.json").write_text(json.dumps(texts), "utf-8")
    assert load_set("hpsv2", tmp_path) == load_set("hpsv2", shared / "hpsv2")


def test_hpsv2_rejects_a_missing_style(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"anime": ["a cat"]}), "utf-8")
    with pytest.raises(PromptError, match="missing style 'concept-art'"):
        load_set("hpsv2", tmp_path / "p.json")


def test_geneval_has_553_prompts_with_include_metadata(shared: Path) -> None:
    file = shared / "geneval" / "evaluation_metadata.jsonl"
    items = load_set("geneval", file)
    assert len(items) == 553
    assert Counter(p.category for p in items) == {
        "position": 100, "color_attr": 100, "two_object": 99, "colors": 94,
        "single_object": 80, "counting": 80,
    }
    assert all(p.meta["include"] for p in items)
    assert {p.category for p in items if "exclude" in p.meta} == {"counting"}
    # The upstream row is rebuilt exactly from the prompt: nothing lost for scoring.
    rows = [json.loads(line) for line in file.read_text("utf-8").splitlines()]
    for p, row in zip(items, rows, strict=True):
        assert {"tag": p.category, "prompt": p.text, **p.meta} == row


def test_declared_categories_match_every_set(shared: Path) -> None:
    paths = {"drawbench": "drawbench", "parti": "partiprompts", "hpsv2": "hpsv2",
             "geneval": "geneval"}
    for name, folder in paths.items():
        items = load_set(name, shared / folder)
        assert set(PROMPT_SETS.get(name).categories) == {p.category for p in items}, name


def test_ids_are_stable_and_unique(shared: Path) -> None:
    for name, folder in (("drawbench", "drawbench"), ("parti", "partiprompts"),
                         ("hpsv2", "hpsv2"), ("geneval", "geneval")):
        first = load_set(name, shared / folder)
        again = load_set(name, shared / folder)
        assert [p.id for p in first] == [p.id for p in again]
        assert len({p.id for p in first}) == len(first)
        assert all(p.id == prompts.prompt_id(name, p.index, p.text) for p in first)
    assert load_set("parti", shared / "partiprompts")[-1].id == "parti-01631-9387dcb6"
    assert load_set("hpsv2", shared / "hpsv2")[-1].id == "hpsv2-03199-d98e7be7"
    assert load_set("geneval", shared / "geneval")[0].id == "geneval-00000-f64075aa"


def test_smoke_set_keeps_its_prompts_and_ids() -> None:
    items = load_set("smoke")
    assert [p.id for p in items] == [
        "smoke-00000-c15caa83", "smoke-00001-671e3cd5", "smoke-00002-ee1c67cf",
        "smoke-00003-e558dde3", "smoke-00004-46908f78", "smoke-00005-0f3a770b",
        "smoke-00006-6b282d14", "smoke-00007-4463b54f",
    ]
    assert items[0].text == "a red apple on a wooden table" and items[0].category == "objects"
    assert PROMPT_SETS.get("smoke").categories == ("counting", "objects", "scenes", "style", "text")


def test_every_set_documents_source_and_license() -> None:
    for name in ("smoke", "drawbench", "parti", "hpsv2", "geneval"):
        cls = PROMPT_SETS.get(name)
        assert cls.description and cls.source and cls.license
    assert "unknown" in PROMPT_SETS.get("drawbench").license
    sources = Path(prompts.__file__).with_name("SOURCES.md").read_text("utf-8")
    for needle in ("sayakpaul/drawbench", "nateraw/parti-prompts", "zhwang/HPDv2",
                   "djghosh13/geneval", "unknown"):
        assert needle in sources


@pytest.mark.parametrize(("name", "problem"), [
    ("drawbench", "no such file or folder"),
    ("parti", "no such file or folder"),
    ("hpsv2", "no such file or folder"),
    ("geneval", "no such file or folder"),
])
def test_missing_local_file_is_a_one_line_error(name: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=problem) as err:
        load_set(name, tmp_path / "nowhere")
    assert "\n" not in str(err.value)


def test_folder_without_the_file_names_the_expected_file(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="PartiPrompts.tsv"):
        load_set("parti", tmp_path)


def test_unknown_column_and_empty_set_are_errors(tmp_path: Path) -> None:
    (tmp_path / "drawbench.csv").write_text("Text,Category\na cat,Colors\n", "utf-8")
    with pytest.raises(PromptError, match="unknown column 'Prompt'"):
        load_set("drawbench", tmp_path)
    (tmp_path / "drawbench.csv").write_text("Prompt,Category\n", "utf-8")
    with pytest.raises(PromptError, match="empty"):
        load_set("drawbench", tmp_path)
    (tmp_path / "evaluation_metadata.jsonl").write_text('{"prompt": "a cat"}\n', "utf-8")
    with pytest.raises(PromptError, match="unknown column 'tag'"):
        load_set("geneval", tmp_path)
