"""The gallery: per (prompt, seed), every variant's image (or clip) side by side with its scores.

Rows are built by a pure function; thumbnails are the one piece of I/O, written beside the
report so that it never inlines full-size PNGs and still works offline from the run folder.
A clip's cell plays its MP4 (the one beside its lossless copy, same stem) with the thumbnail
of its poster frame as the poster; the page loads a clip only when it plays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image

from reports.files import atomic_path
from reports.metric_info import MetricInfo
from reports.metric_stats import oriented_loss
from reports.records import SampleRecord, VariantRun

THUMB_SIZE = 192  # px, longest side; enough to spot artefacts, small enough for 1000s of rows


def thumb_path(image: str) -> str:
    """Where the thumbnail of ``images/<variant>/<name>.png`` lives, relative to report/."""
    rel = Path(image)
    parts = rel.parts[1:] if rel.parts and rel.parts[0] == "images" else rel.parts
    return str(Path("thumbs", *parts).with_suffix(".jpg"))


def video_path(clip: str | None) -> str | None:
    """The browsable MP4 of a clip whose lossless copy is ``clip`` (the store keeps both under
    one stem, docs/VIDEO.md), or None for an image."""
    return None if clip is None else str(Path(clip).with_suffix(".mp4"))


def image_loss(info: MetricInfo, value: float | None, base: float | None) -> float | None:
    """How much worse one image is than the baseline's of the same prompt and seed.

    Per-image metrics: the oriented difference with the baseline's value. Paired metrics:
    the oriented distance from the ideal; PSNR has none, so minus its value (lowest first).
    """
    if value is None or math.isnan(value):
        return None
    if info.kind == "paired":
        return oriented_loss(info, value - info.ideal if info.ideal is not None else value)
    if base is None or math.isnan(base):
        return None
    return oriented_loss(info, value - base)


def gallery_rows(samples: Sequence[SampleRecord],
                 scores_by: Mapping[tuple[str, str], Mapping[tuple[str, int], float | None]],
                 metrics: Mapping[str, MetricInfo], variants: Sequence[VariantRun],
                 baseline_id: str) -> list[dict[str, Any]]:
    """One row per (prompt, seed), cells in ``variants`` order.

    Args:
        samples: sample rows with prompt text and category (store.samples()).
        scores_by: (variant id, metric) -> {(prompt, seed): value}.
        metrics: name -> info; set-level metrics are left out.
        variants: in display order; role "noise_floor" marks the reseeded baseline, shown
            but never counted as the worst variant.
        baseline_id: id of the baseline.

    Returns:
        Rows with prompt_id, seed, text, category, cells (variant, role, image, thumb, video:
        a clip's MP4, status, reason, scores, losses) and worst: metric -> {"loss", "variant"}, the
        largest loss among the accelerated variants (the gallery sorts on it).
    """
    per_image = {m: i for m, i in metrics.items() if i.kind != "set"}
    by_key: dict[tuple[str, int], dict[str, SampleRecord]] = {}
    meta: dict[tuple[str, int], SampleRecord] = {}
    for s in samples:
        key = (s.prompt_id, s.seed)
        by_key.setdefault(key, {})[s.variant_id] = s
        meta.setdefault(key, s)
    rows = []
    for key in sorted(by_key, key=lambda k: (str(k[0]), k[1])):
        cells, worst = [], {}
        for v in variants:
            s = by_key[key].get(v.id)
            scores, losses = {}, {}
            for m, info in per_image.items():
                value = scores_by.get((v.id, m), {}).get(key)
                base = scores_by.get((baseline_id, m), {}).get(key)
                scores[m] = value
                losses[m] = None if v.id == baseline_id else image_loss(info, value, base)
                if v.role is None and losses[m] is not None and (
                        m not in worst or losses[m] > worst[m]["loss"]):
                    worst[m] = {"loss": losses[m], "variant": v.name}
            image = s.image if s else None
            cells.append({"variant": v.name, "role": v.role, "is_baseline": v.id == baseline_id,
                          "image": image, "thumb": thumb_path(image) if image else None,
                          "video": video_path(s.clip) if s and image else None,
                          "status": s.status if s else "missing",
                          "reason": s.reason if s else None, "scores": scores, "losses": losses})
        rows.append({"prompt_id": key[0], "seed": key[1], "text": meta[key].text,
                     "category": meta[key].category or "", "cells": cells, "worst": worst})
    return rows


def url(path: str | None, prefix: str = "") -> str | None:
    """A relative URL for a file path (spaces, '#' and '?' in variant names stay literal)."""
    return None if path is None else prefix + quote(path)


def write_thumbnails(run_dir: Path, report_dir: Path, rows: Sequence[dict[str, Any]],
                     size: int = THUMB_SIZE) -> int:
    """Write missing or stale JPEG thumbnails of every gallery image; return how many.

    A cell whose image file is gone gets ``thumb = None``, so the page shows a gap
    instead of a broken image; a clip whose MP4 is gone gets ``video = None`` (its poster
    still shows).
    """
    written = 0
    for row in rows:
        for cell in row["cells"]:
            if not cell["image"]:
                continue
            if cell.get("video") and not (run_dir / cell["video"]).is_file():
                cell["video"] = None
            src, dst = run_dir / cell["image"], report_dir / cell["thumb"]
            if not src.is_file():
                cell["thumb"] = None
                continue
            if dst.is_file() and dst.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
                continue
            with Image.open(src) as im, atomic_path(dst) as tmp:
                im = im.convert("RGB")
                im.thumbnail((size, size), Image.Resampling.LANCZOS)
                im.save(tmp, format="JPEG", quality=85)
            written += 1
    return written
