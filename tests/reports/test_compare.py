"""Pairing rules and cross-run maths of ``compare`` on synthetic runs with known answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reports.compare import CompareError, RunView, VariantRun, compare, pair_runs

METRICS = {"q": {"higher_is_better": True, "kind": "per-image", "ideal": None, "identity": "q-v1"},
           "ssim": {"higher_is_better": True, "kind": "paired", "ideal": 1.0, "identity": "ssim"}}


def variant(name: str, keys: list[tuple[str, int]], seconds: float, q: float, *, base: bool = False,
            joules: float | None = None) -> VariantRun:
    # Small per-prompt spread so intervals have width; the same spread on every variant.
    lat = {k: seconds * (1 + 0.01 * (i % 3)) for i, k in enumerate(keys)}
    qs = {k: q + 0.1 * (i % 4) for i, k in enumerate(keys)}
    return VariantRun(name, True, base, lat, {k: joules for k in keys},
                      {"q": qs, "ssim": {} if base else {k: 0.9 for k in keys}}, 1.0 / 3600)


def run(label: str, n_prompts: int, speed: float, *, model: str = "m", steps: int = 4,
        gpu: str = "H100", torch: str = "2.14", joules: float | None = None) -> RunView:
    keys = [(f"p{i}", 0) for i in range(n_prompts)]
    return RunView(label, gpu, {"id": model, "revision": None, "steps": steps, "height": 64, "width": 64},
                   "{}", {"torch": torch}, {"gpu": gpu}, METRICS,
                   [variant("baseline", keys, 2.0 / speed, 1.0, base=True, joules=joules),
                    variant("fast", keys, 1.0 / speed, 0.5, joules=None if joules is None else joules / 2)])


def test_refuses_what_is_not_comparable() -> None:
    a = run("a", 4, 1.0)
    with pytest.raises(CompareError, match="at least two"):
        pair_runs([a])
    with pytest.raises(CompareError, match="different models: a has model.id = 'm', b has 'other'"):
        pair_runs([a, run("b", 4, 1.0, model="other")])
    disjoint = replace(run("b", 4, 1.0), variants=[
        replace(v, latency_s={("x", 9): 1.0}) for v in run("b", 4, 1.0).variants])
    with pytest.raises(CompareError, match="share no"):
        pair_runs([a, disjoint])


def test_intersection_is_named_and_used_and_differences_shown() -> None:
    a, b = run("a", 6, 1.0, torch="2.14"), run("b", 4, 2.0, gpu="H200", torch="2.15")
    p = pair_runs([a, b])
    assert len(p.keys) == 4 and p.keys_by_run == {"a": 6, "b": 4}
    assert "4 (prompt, seed) pairs over 4 prompts" in p.describe() and "of 6, 4" in p.describe()
    assert p.common_baseline and p.metrics == ("q", "ssim")
    assert any(d.startswith("device gpu: a H100; b H200") for d in p.differences)
    assert any(d.startswith("package torch: a 2.14; b 2.15") for d in p.differences)
    result = compare([a, b])
    rows = {r["label"]: r for r in result["points"]}
    assert rows["a/baseline"]["n"] == 4  # a's two extra prompts are left out
    assert rows["b/fast"]["latency"] == pytest.approx(0.5, rel=0.02)
    assert rows["a/baseline"]["quality"]["ssim"][0] == 1.0  # a paired metric's baseline: its ideal
    # b (twice as fast, same images) dominates a: its two variants are the whole front.
    assert result["fronts"]["q"]["latency"] == ["b/fast", "b/baseline"]
    assert result["fronts"]["q"]["energy"] == []  # not measured: no energy front, never zeros


def test_paired_deltas_against_the_first_runs_baseline() -> None:
    result = compare([run("a", 6, 1.0), run("b", 6, 2.0)])
    deltas = {d["label"]: d for d in result["deltas"]}
    assert set(deltas) == {"a/fast", "b/baseline", "b/fast"}
    assert deltas["b/baseline"]["speedup"] == pytest.approx(2.0)
    assert deltas["b/baseline"]["speedup_verdict"] == "faster"
    assert deltas["b/baseline"]["metrics"]["q"]["delta"] == pytest.approx(0.0)
    assert deltas["a/fast"]["metrics"]["q"]["delta"] == pytest.approx(-0.5)
    assert "ssim" not in deltas["a/fast"]["metrics"]  # a paired metric has no cross-run pairing


def test_no_common_baseline_means_no_deltas_and_dropped_metrics_named() -> None:
    other = run("b", 6, 1.0, steps=8)
    other = replace(other, metrics={**METRICS, "q": {**METRICS["q"], "identity": "q-v2"}})
    result = compare([run("a", 6, 1.0), other])
    assert result["deltas"] == []
    assert "model steps differ" in result["pairing"]["baseline_note"]
    assert result["pairing"]["dropped_metrics"] == {"q": "scored with different models or preprocessing"}


def test_energy_axis_when_measured() -> None:
    result = compare([run("a", 4, 1.0, joules=300.0), run("b", 4, 1.0, joules=100.0)])
    rows = {r["label"]: r for r in result["points"]}
    assert rows["b/fast"]["energy"] == pytest.approx(50.0)
    assert result["fronts"]["q"]["energy"][0] == "b/fast"


def test_the_compare_page_is_written_atomically_and_repairs_plotly(tmp_path) -> None:
    from reports.compare_html import render_compare
    from reports.html import PLOTLY_JS
    from reports.jsonio import to_json

    result = to_json(compare([run("a", 4, 1.0, joules=300.0), run("b", 4, 2.0, joules=100.0)]))
    (tmp_path / PLOTLY_JS).write_bytes(b"")  # what a killed run leaves behind
    html = render_compare(result, tmp_path)
    assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert (tmp_path / PLOTLY_JS).stat().st_size > 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", PLOTLY_JS]
