"""Synthetic run tables for the reports tests: known effects, no model, no files.

A per-image metric ``quality`` (higher is better) has a prompt effect much larger than the
variants' effects, so only paired deltas can resolve them; ``ssim`` (paired, ideal 1) and
``psnr`` (paired, no ideal) mimic fidelity metrics; ``cmmd`` is set-level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reports.metric_info import MetricInfo
from reports.records import (
    CacheUse,
    Pricing,
    Recommendation,
    SampleRecord,
    Score,
    SetScore,
    SweepAxis,
    VariantRun,
)
from reports.summary_records import Summary

METRICS = {
    "quality": MetricInfo(True, "per-image", None),
    "ssim": MetricInfo(True, "paired", 1.0),
    "psnr": MetricInfo(True, "paired", None),
    "cmmd": MetricInfo(False, "set", 0.0),
}
PRICING = Pricing("test", 3.6, 1, "test")


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
    sweep = (SweepAxis("fbcache", "threshold", tuple(thresholds)),)
    variants = [VariantRun("v-base", baseline_name, group=baseline_name)]
    for i, t in enumerate(thresholds):
        variants.append(VariantRun(f"v-{i}", f"fbc-{t:g}", accelerators={"fbcache": {"threshold": t}},
                                   cache=CacheUse("fbcache", {"threshold": t}), group="fbc", sweep=sweep))
    if noise:
        variants.append(VariantRun("v-noise", f"{baseline_name}~noise", group=f"{baseline_name}~noise",
                                   role="noise_floor", seed_offset=100_000))
    variants = [replace(v, name=(names or {}).get(v.id, v.name), status="ok", cold_s=1.0, load_s=0.5,
                        worker_start_s=0.1) for v in variants]
    samples, scores, set_scores = [], [], []
    for vi, v in enumerate(variants):
        idx = vi - 1  # -1: baseline; len(thresholds): noise
        is_acc = 0 <= idx < len(thresholds)
        latency = 10.0 / (1 + (idx + 1) * 0.5) if is_acc else 10.0
        for p, text, cat in prompts:
            for s in seeds:
                skip = (skipped[idx] if skipped else 2 * idx + 2) if is_acc else 0
                samples.append(SampleRecord(v.id, p, s, "ok", latency + rng.normal(0, 0.05), 2**30, 20 - skip,
                                            skip, None, f"images/{v.name}-{v.id}/{p}-{s}.png", text,
                                            "synthetic", cat))
                base = 5.0 + effect[p] + 0.3 * s
                if is_acc:
                    value = base - drops[idx] - (category_drop or {}).get(cat, 0.0) * (idx + 1)
                    value += rng.normal(0, 0.02)
                elif v.role:
                    value = base + rng.normal(0, 0.1)  # reseeding: a little noise, no drop
                else:
                    value = base
                scores.append(Score(v.id, p, s, "quality", value))
                if vi:
                    loss = (drops[idx] if is_acc else 0.9) + abs(rng.normal(0, 0.001))
                    scores.append(Score(v.id, p, s, "ssim", 1 - loss / 2))
                    scores.append(Score(v.id, p, s, "psnr", 60 - 40 * loss))
        if vi:
            set_scores.append(SetScore(v.id, "cmmd", 0.1 * vi, None, n_prompts * len(seeds)))
    return {"suite": "synthetic", "baseline": baseline_name, "variants": variants, "samples": samples,
            "scores": scores, "set_scores": set_scores, "metrics": METRICS, "pricing": PRICING,
            "expected_per_variant": n_prompts * len(seeds)}


def write_images(run_dir: Path, samples: Sequence[SampleRecord], size: int = 96) -> None:
    """Small PNGs at every sample's image path (a gradient, so thumbnails have content)."""
    for i, s in enumerate(samples):
        path = run_dir / str(s.image)
        path.parent.mkdir(parents=True, exist_ok=True)
        arr = np.zeros((size, size, 3), dtype=np.uint8)
        arr[..., 0] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
        arr[..., 1] = (i * 37) % 256
        Image.fromarray(arr).save(path)


def render_synthetic(run_dir: Path, recommendation: Recommendation | None = None,
                     transform: Any = None, **kwargs: Any) -> tuple[Path, Summary, list[dict[str, Any]]]:
    """A full report (images, thumbnails, HTML) of synthetic tables under ``run_dir``.

    ``transform`` may rewrite the ``build_summary`` keyword arguments first (e.g. add metrics).
    Returns the HTML path, the summary and the gallery rows.
    """
    from reports.gallery import gallery_rows, write_thumbnails
    from reports.html import render_report
    from reports.summary import build_summary, index_scores

    kw = synthetic_kwargs(**kwargs)
    if transform is not None:
        kw = transform(kw)
    write_images(run_dir, kw["samples"])
    summary = replace(build_summary(**kw), recommendation=recommendation)
    rows = gallery_rows(kw["samples"], index_scores(kw["scores"])[0], kw["metrics"], kw["variants"], "v-base")
    write_thumbnails(run_dir, run_dir / "report", rows)
    return render_report(summary, run_dir / "report", gallery=rows), summary, rows


def as_clips(kw: dict[str, Any], run_dir: Path, mp4: bytes, clip_s: float = 9 / 8) -> dict[str, Any]:
    """``synthetic_kwargs`` turned into a video run's: every sample a clip (its lossless copy's
    path recorded, ``mp4`` written beside its poster) and every variant's clip ``clip_s`` long.
    (A ``render_synthetic`` transform: the posters are written after it, as for images.)"""
    samples = []
    for s in kw["samples"]:
        stem = str(s.image).removesuffix(".png")
        path = run_dir / f"{stem}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(mp4)
        samples.append(replace(s, clip=f"{stem}.npz"))
    variants = [replace(v, clip_s=clip_s) for v in kw["variants"]]
    return {**kw, "samples": samples, "variants": variants}
