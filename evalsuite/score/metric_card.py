"""``evalsuite metric-card RUN``: which of the run's metrics can see which kind of damage.

Takes the baseline's images (a video run: its clips, from their lossless copies) of a finished
run, applies controlled degradations (``metrics.degrade``; for clips ``metrics.degrade_video``:
frame drops, temporal blur, flicker, per-frame JPEG), scores the degraded media with the run's
own metrics (same options, same identities, clips built as the scoring phase builds them) and
reads each response against the metric's seed-noise floor (``reports.metric_card``). The card
goes to ``RUN/metric_card.json``, which the report shows as a section, and to the terminal
(``--json`` prints the JSON).

Caveat, also in the card: the degradations are pixel- or frame-level proxies, not cache
artifacts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from evalsuite.score.clips import clip_sample, load_clip_sample, paired_clip_sample
from evalsuite.score.scoring import build_scorer, free_memory, identity_key, score_batch
from evalsuite.store.db import Store
from evalsuite.store.records import SampleRecord, Score, SetScore
from evalsuite.store.schema import SampleStatus
from evalsuite.suite.spec import Suite
from metrics import BaseScorer, Kind, Sample
from metrics.base import Clip
from metrics.degrade import DEGRADATIONS, Degradation
from metrics.degrade_video import VIDEO_DEGRADATIONS
from reports.metric_card import MetricRow, card_json, paired_cell, per_image_cell, set_cell
from reports.metric_info import MetricInfo
from reports.metric_stats import noise_entry

CARD_FILE = "metric_card.json"
CAVEAT = ("Image-space proxies (blur, JPEG, noise, resampling, colour cast), not cache artifacts: "
          "a metric blind here is blind to that kind of damage, and one that sees it may still "
          "miss a cache's own errors.")
VIDEO_CAVEAT = ("Clip-level proxies (frame drops, temporal blur, flicker, per-frame JPEG), not cache "
                "artifacts: a metric blind here is blind to that kind of damage, and one that sees "
                "it may still miss a cache's own errors.")
Key = tuple[str, int]


def _load(run_dir: Path, rel: str) -> Image.Image:
    with Image.open(run_dir / rel) as im:
        return im.convert("RGB")


def _score_all(scorer: BaseScorer, samples: Sequence[Sample]) -> list[float | None]:
    values: list[float | None] = []
    for start in range(0, len(samples), scorer.batch_size):
        values += [None if math.isnan(v) else v
                   for v, _ in score_batch(scorer, samples[start : start + scorer.batch_size])]
    return values


def _original(run_dir: Path, r: SampleRecord, meta: dict[str, Any], video: bool) -> Sample:
    """A baseline sample as the scoring phase hands it to a scorer (a clip: every frame)."""
    if video:
        return load_clip_sample(run_dir, str(r.clip), r.text, r.category or "", meta)
    return Sample(_load(run_dir, str(r.image)), r.text, None, r.category or "", meta)


def degraded_sample(d: Degradation, s: Sample, paired: bool) -> Sample:
    """``s`` damaged by ``d`` (its clip, if it has one), paired with the original where asked."""
    if s.frames:
        out = clip_sample(d.apply(s.frames), s.prompt, s.category, s.meta, s.fps)
        return paired_clip_sample(out, s.frames) if paired else out
    return Sample(d.apply(s.image), s.prompt, s.image if paired else None, s.category, s.meta)


def _media(s: Sample) -> Image.Image | Clip:
    return s.frames or s.image


def build_card(suite: Suite, run_dir: Path, store: Store, device: str, limit: int | None = 50,
               degradations: Sequence[Degradation] | None = None,
               progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The card for the suite's metrics over (at most ``limit``) baseline images or clips.

    ``degradations``: by default the image ones (``metrics.degrade``), or for a run of clips
    the clip ones (``metrics.degrade_video``).
    """
    baseline = suite.baseline_variant
    noise = next((v for v in suite.variants if v.seed_offset), None)
    rows = sorted((r for r in store.samples([baseline.id]) if r.status == SampleStatus.OK),
                  key=lambda r: (r.prompt_id, r.seed))[:limit]
    video = bool(rows) and all(r.clip for r in rows)
    what = "clips" if video else "images"
    if not rows:
        raise ValueError(f"{run_dir}: the baseline has no finished images")
    if degradations is None:
        degradations = VIDEO_DEGRADATIONS if video else DEGRADATIONS
    meta = store.prompt_meta()
    originals = {(r.prompt_id, r.seed): _original(run_dir, r, meta.get(r.prompt_id, {}), video)
                 for r in rows}
    stored = _Stored(store.scores(), store.set_scores(), baseline.id, noise.id if noise else None)
    out: list[MetricRow] = []
    for use in suite.metrics:
        scorer = build_scorer(use, device)
        progress(f"metric card: {use.name} under {len(degradations)} degradations, {len(rows)} {what}")
        ident = identity_key(scorer)
        if scorer.kind == Kind.SET:
            out.append(_set_row(scorer, ident, originals, degradations, stored, progress))
        else:
            out.append(_image_row(scorer, ident, originals, degradations, stored))
        del scorer
        free_memory()
    card = card_json(out, {d.name: d.description for d in degradations}, images=len(rows),
                     caveat=VIDEO_CAVEAT if video else CAVEAT, media=what)
    return _finite_only(card)


class _Stored:
    """The run's stored scores, read once: baseline values and the noise-floor variant's."""

    def __init__(self, scores: list[Score], sets: list[SetScore], baseline: str, noise: str | None) -> None:
        self.scores, self.sets, self.baseline, self.noise = scores, sets, baseline, noise

    def values(self, variant_id: str | None, metric: str, ident: str) -> dict[Key, float | None]:
        return {(s.prompt_id, s.seed): s.value for s in self.scores
                if s.variant_id == variant_id and s.metric == metric and s.identity == ident}

    def noise_set_value(self, metric: str, ident: str) -> float | None:
        return next((s.value for s in self.sets if self.noise and s.variant_id == self.noise
                     and s.metric == metric and s.identity == ident), None)


def _set_row(scorer: BaseScorer, ident: str, originals: dict[Key, Sample],
             degradations: Sequence[Degradation], stored: _Stored,
             progress: Callable[[str], None]) -> MetricRow:
    floor = stored.noise_set_value(scorer.name, ident)
    refs = [_media(s) for s in originals.values()]
    cells = []
    for d in degradations:
        try:
            value: float | None = scorer.score_set([d.apply(im) for im in refs], refs)
        except Exception as exc:  # noqa: BLE001 - one failed cell, not a failed card
            progress(f"metric card: {scorer.name} / {d.name}: {type(exc).__name__}: {exc}")
            value = None
        cells.append(set_cell(d.name, value, len(refs), floor))
    return MetricRow(scorer.name, str(scorer.kind), scorer.higher_is_better, floor, tuple(cells))


def _image_row(scorer: BaseScorer, ident: str, originals: dict[Key, Sample],
               degradations: Sequence[Degradation], stored: _Stored) -> MetricRow:
    info = MetricInfo(scorer.higher_is_better, str(scorer.kind), scorer.ideal)
    base = stored.values(stored.baseline, scorer.name, ident)
    # The seed-noise floor exactly as the report computes it, from every stored image.
    floor = (noise_entry(info, stored.values(stored.noise, scorer.name, ident), base).floor
             if stored.noise else None)
    paired = scorer.kind == Kind.PAIRED
    original: dict[Key, float | None] = {}
    if not paired:  # per-image: the undegraded values, stored by the run or scored now
        missing = [k for k in originals if base.get(k) is None]
        base.update(zip(missing, _score_all(scorer, [originals[k] for k in missing]), strict=True))
        original = {k: base.get(k) for k in originals}
    cells = []
    for d in degradations:
        degraded = [degraded_sample(d, s, paired) for s in originals.values()]
        values = dict(zip(originals, _score_all(scorer, degraded), strict=True))
        cells.append(paired_cell(d.name, values, scorer.ideal, floor, scorer.perfect) if paired
                     else per_image_cell(d.name, original, values, floor))
    return MetricRow(scorer.name, str(scorer.kind), scorer.higher_is_better, floor, tuple(cells))


def _finite_only(x: Any) -> Any:
    """JSON has no NaN or infinity: they become null (``inside_floor`` says what happened)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite_only(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite_only(v) for v in x]
    return x


def write_card(run_dir: Path, card: dict[str, Any]) -> Path:
    """Write ``metric_card.json`` into the run folder (atomically) and return its path."""
    path = run_dir / CARD_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, allow_nan=False))
    tmp.replace(path)
    return path


def format_card(card: dict[str, Any]) -> str:
    """The card as a plain-text table: response in floor units, '!' where inside the floor."""
    names = list(card["degradations"])
    lines = [f"metric card over {card['images']} baseline {card.get('media', 'images')} "
             "(response / seed-noise floor; "
             "'!' = inside the floor, '=' = no change)",
             "metric".ljust(14) + "".join(n.rjust(13) for n in names)]
    for m in card["metrics"]:
        cols = []
        for c in m["cells"]:
            if c["inside_floor"] and m["kind"] == "paired":
                cols.append("=")
            elif c["floor_units"] is not None:
                cols.append(f"{c['floor_units']:.2f}x" + ("!" if c["inside_floor"] else " "))
            elif c["response"] is not None:
                cols.append(f"{c['response']:+.4g}" + ("!" if c["inside_floor"] else " "))
            else:
                cols.append("-")
        lines.append(m["metric"].ljust(14) + "".join(x.rjust(13) for x in cols))
    blind = [f"{m['metric']}: {', '.join(m['blind_to'])}" for m in card["metrics"] if m["blind_to"]]
    lines += ["inside the floor (would pass as seed noise): " + ("; ".join(blind) or "none"),
              f"caveat: {card['caveat']}"]
    return "\n".join(lines)
