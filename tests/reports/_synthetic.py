"""Synthetic run tables for the reports tests: known effects, no model, no files.

A per-image metric ``quality`` (higher is better) has a prompt effect much larger than the
variants' effects, so only paired deltas can resolve them; ``ssim`` (paired, ideal 1) and
``psnr`` (paired, no ideal) mimic fidelity metrics; ``cmmd`` is set-level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

METRICS = {
    "quality": {"higher_is_better": True, "kind": "per-image", "ideal": None, "identity": {}},
    "ssim": {"higher_is_better": True, "kind": "paired", "ideal": 1.0, "identity": {}},
    "psnr": {"higher_is_better": True, "kind": "paired", "ideal": None, "identity": {}},
    "cmmd": {"higher_is_better": False, "kind": "set", "ideal": 0.0, "identity": {}},
}
PRICING = {"gpu": "test", "usd_per_hour": 3.6, "gpus": 1, "source": "test", "date": None}


def synthetic_kwargs(*, thresholds: Sequence[float] = (0.05, 0.1, 0.2),
                     drops: Sequence[float] = (0.0, 0.05, 0.5),
                     category_drop: Mapping[str, float] | None = None,
                     n_prompts: int = 12, seeds: Sequence[int] = (0, 1),
                     categories: Sequence[str] = ("animals", "text", "scenes"),
                     noise: bool = True, prompt_text: str = "prompt {i}",
                     baseline_name: str = "baseline", skipped: Sequence[int] | None = None,
                     names: Mapping[str, str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Keyword arguments for ``build_summary`` (plus nothing else), with known effects.

    Args:
        thresholds: one fbcache variant per threshold, named ``fbc-<t>``.
        drops: true mean drop of ``quality`` for each variant (same order).
        category_drop: extra drop per category, multiplied by the variant's index + 1.
        n_prompts: prompts, assigned to categories round-robin.
        seeds: seeds per prompt.
        categories: category names.
        noise: add the reseeded-baseline pseudo-variant.
        prompt_text: prompt text pattern (``{i}`` = index); used for escaping tests.
        baseline_name: name of the baseline variant.
        skipped: steps skipped per image for each variant (default: 2 * index + 2).
        names: variant id -> name, to rename accelerated variants (``v-0``, ``v-1``, ...).
        seed: generator seed.
    """
    rng = np.random.default_rng(seed)
    prompts = [(f"p{i:03d}", prompt_text.format(i=i), categories[i % len(categories)])
               for i in range(n_prompts)]
    effect = {p: rng.normal(0, 1.0) for p, _, _ in prompts}  # prompt difficulty: large
    variants = [{"id": "v-base", "name": baseline_name, "spec": {}, "cache": None, "is_cache": False}]
    for i, t in enumerate(thresholds):
        variants.append({"id": f"v-{i}", "name": f"fbc-{t:g}", "spec": {"fbcache": {"threshold": t}},
                         "cache": {"accelerator": "fbcache", "params": {"threshold": t}}, "is_cache": True})
    if noise:
        variants.append({"id": "v-noise", "name": f"{baseline_name}~noise", "spec": {}, "cache": None,
                         "is_cache": False, "role": "noise_floor", "seed_offset": 100_000})
    for v in variants:
        v["name"] = (names or {}).get(v["id"], v["name"])
        v.update({"status": "ok", "error": None, "checks": [], "cold_s": 1.0, "load_s": 0.5,
                  "worker_start_s": 0.1})
    samples, scores, set_scores = [], [], []
    for vi, v in enumerate(variants):
        idx = vi - 1  # -1: baseline; len(thresholds): noise
        is_acc = 0 <= idx < len(thresholds)
        latency = 10.0 / (1 + (idx + 1) * 0.5) if is_acc else 10.0
        for p, text, cat in prompts:
            for s in seeds:
                key = {"variant_id": v["id"], "prompt_id": p, "seed": s}
                skip = (skipped[idx] if skipped else 2 * idx + 2) if is_acc else 0
                samples.append({**key, "status": "ok", "latency_s": latency + rng.normal(0, 0.05),
                                "peak_mem_bytes": 2**30, "steps_computed": 20 - skip, "steps_skipped": skip,
                                "image": f"images/{v['name']}-{v['id']}/{p}-{s}.png", "reason": None,
                                "text": text, "set_name": "synthetic", "category": cat})
                base = 5.0 + effect[p] + 0.3 * s
                if is_acc:
                    value = base - drops[idx] - (category_drop or {}).get(cat, 0.0) * (idx + 1)
                    value += rng.normal(0, 0.02)
                elif v.get("role"):
                    value = base + rng.normal(0, 0.1)  # reseeding: a little noise, no drop
                else:
                    value = base
                scores.append({**key, "metric": "quality", "value": value, "reason": None})
                if vi:
                    loss = (drops[idx] if is_acc else 0.9) + abs(rng.normal(0, 0.001))
                    scores.append({**key, "metric": "ssim", "value": 1 - loss / 2, "reason": None})
                    scores.append({**key, "metric": "psnr", "value": 60 - 40 * loss, "reason": None})
        if vi:
            set_scores.append({"variant_id": v["id"], "metric": "cmmd", "value": 0.1 * vi, "reason": None,
                               "n": n_prompts * len(seeds)})
    return {"suite": "synthetic", "baseline": baseline_name, "variants": variants, "samples": samples,
            "scores": scores, "set_scores": set_scores, "metrics": METRICS, "pricing": PRICING,
            "expected_per_variant": n_prompts * len(seeds)}


def write_images(run_dir: Path, samples: Sequence[Mapping[str, Any]], size: int = 96) -> None:
    """Small PNGs at every sample's image path (a gradient, so thumbnails have content)."""
    for i, s in enumerate(samples):
        path = run_dir / s["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        arr = np.zeros((size, size, 3), dtype=np.uint8)
        arr[..., 0] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
        arr[..., 1] = (i * 37) % 256
        Image.fromarray(arr).save(path)


def render_synthetic(run_dir: Path, recommendation: Mapping[str, Any] | None = None,
                     **kwargs: Any) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    """A full report (images, thumbnails, HTML) of synthetic tables under ``run_dir``.

    Returns the HTML path, the summary and the gallery rows.
    """
    from reports.gallery import gallery_rows, write_thumbnails
    from reports.html import render_report
    from reports.summary import build_summary, index_scores

    kw = synthetic_kwargs(**kwargs)
    write_images(run_dir, kw["samples"])
    summary = build_summary(**kw)
    if recommendation is not None:
        summary["recommendation"] = dict(recommendation)
    rows = gallery_rows(kw["samples"], index_scores(kw["scores"])[0], kw["metrics"], kw["variants"], "v-base")
    write_thumbnails(run_dir, run_dir / "report", rows)
    return render_report(summary, run_dir / "report", gallery=rows), summary, rows
