"""The hub path: ``datasets`` parses files in the upstream hub format into the same prompts.

The network is never used: ``prompts.hub.fetch`` (the download step) is replaced by one that
returns local files laid out like the pinned sources, so everything after the download
(``datasets``' csv/json builders, column mapping, ids) is the real code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import prompts
from prompts import PromptError, load_set, parse_prompts_table, resolve_prompts
from prompts.hub import HubSource

pytest.importorskip("datasets")


@pytest.fixture
def hub_mirror(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Serve each pinned source's files from a local folder; record what was asked."""
    mirror = tmp_path / "mirror"
    files = {
        ("sayakpaul/drawbench", "DrawBench Prompts - Sheet1.csv"):
            # The hub copy names its prompt column "Prompts".
            (shared / "drawbench" / "drawbench.csv").read_text("utf-8")
            .replace("Prompt,Category", "Prompts,Category", 1),
        ("nateraw/parti-prompts", "PartiPrompts.tsv"):
            (shared / "partiprompts" / "PartiPrompts.tsv").read_text("utf-8"),
        ("djghosh13/geneval", "prompts/evaluation_metadata.jsonl"):
            (shared / "geneval" / "evaluation_metadata.jsonl").read_text("utf-8"),
    }
    merged = json.loads((shared / "hpsv2" / "hpsv2_benchmark_prompts.json").read_text("utf-8"))
    for style, texts in merged.items():
        files[("zhwang/HPDv2", f"benchmark/{style}.json")] = json.dumps(texts, indent=4)
    asked: list[tuple[str, str, str]] = []

    def fake_fetch(source: HubSource, path: str) -> Path:
        asked.append((source.repo, source.revision, path))
        target = mirror / source.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[(source.repo, path)], "utf-8")
        return target

    monkeypatch.setattr(prompts.hub, "fetch", fake_fetch)
    monkeypatch.setattr(prompts.hub, "CACHE_DIR", tmp_path / "hf-datasets-cache")
    return {"asked": asked}


@pytest.mark.parametrize(("name", "folder"), [
    ("drawbench", "drawbench"), ("parti", "partiprompts"), ("hpsv2", "hpsv2"),
    ("geneval", "geneval"),
])
def test_hub_path_gives_the_same_prompts_as_the_local_file(
    shared: Path, hub_mirror: dict[str, Any], name: str, folder: str
) -> None:
    from_hub = load_set(name)
    local = load_set(name, shared / folder)
    assert from_hub == local  # ids, texts, sets, indices, categories
    assert [p.meta for p in from_hub] == [p.meta for p in local]
    source = prompts.PROMPT_SETS.get(name).hub
    assert {(repo, rev) for repo, rev, _ in hub_mirror["asked"]} == {(source.repo, source.revision)}


def test_a_suite_without_paths_loads_through_the_hub(hub_mirror: dict[str, Any],
                                                     tmp_path: Path) -> None:
    selection = parse_prompts_table({"sets": ["geneval"], "limit": 12}, tmp_path)
    items = resolve_prompts(selection)
    assert len(items) == 12 and {p.set for p in items} == {"geneval"}
    assert all("include" in p.meta for p in items)


def test_sources_are_pinned_to_full_commits() -> None:
    for name in ("drawbench", "parti", "hpsv2", "geneval"):
        source = prompts.PROMPT_SETS.get(name).hub
        assert len(source.revision) == 40 and int(source.revision, 16) >= 0
        assert source.revision in source.page
    parti = prompts.PROMPT_SETS.get("parti").hub
    assert parti.file_url("PartiPrompts.tsv") == (
        "https://huggingface.co/datasets/nateraw/parti-prompts/resolve/"
        "944b156abfdad7627c3221b5ec4f6a6fb060a197/PartiPrompts.tsv")


def test_fetch_asks_the_hub_for_the_pinned_revision(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import huggingface_hub

    calls: list[dict[str, Any]] = []

    def fake_download(repo_id: str, filename: str, **kwargs: Any) -> str:
        calls.append({"repo_id": repo_id, "filename": filename, **kwargs})
        return str(tmp_path / "file")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)
    source = prompts.PROMPT_SETS.get("hpsv2").hub
    assert prompts.hub.fetch(source, "benchmark/anime.json") == tmp_path / "file"
    assert calls == [{"repo_id": "zhwang/HPDv2", "filename": "benchmark/anime.json",
                      "repo_type": "dataset", "revision": source.revision,
                      "local_files_only": True}]


def test_failed_download_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(source: HubSource, path: str) -> Path:
        raise ConnectionError("Couldn't reach the Hub\nsecond line")

    monkeypatch.setattr(prompts.hub, "fetch", no_network)
    with pytest.raises(PromptError) as err:
        load_set("drawbench")
    message = str(err.value)
    assert "\n" not in message
    assert "sayakpaul/drawbench" in message and "prompts.paths.drawbench" in message


def test_import_prompts_stays_light() -> None:
    code = ("import sys, prompts; heavy = [m for m in ('datasets', 'torch', 'pyarrow', 'pandas')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
