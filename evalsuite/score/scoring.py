"""The scoring phase: each scorer loaded once, scoring every unscored image in batches.

It runs after generation, in the parent, so the generator's memory is free. A failing
batch is retried image by image, so one bad image costs one NaN (with its reason), not
the batch. Scores are keyed by the scorer's identity (model, revision, preprocessing):
changing any of these scores again instead of mixing values.
"""

from __future__ import annotations

import gc
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from evalsuite.errors import UserError
from evalsuite.score.clips import CLIP_RESIZE, load_clip, load_clip_sample, paired_clip_sample
from evalsuite.store.records import SampleRecord, Score, SetScore
from evalsuite.store.schema import DONE_SAMPLE_STATUSES, SampleStatus
from evalsuite.suite.overrides import effective_model, same_model
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import MetricUse
from metrics import SCORERS, BaseScorer, Kind, Modality, Sample
from metrics._weights import MissingWeights
from reports.metric_stats import NOT_APPLICABLE

# What a paired metric stores for a variant that runs another model than the baseline (its own
# ``model`` or ``lora``): comparing its image with the baseline's pixel by pixel measures the
# models' difference, not a loss, so the value is n/a (NaN with this reason), never 0.
DIFFERENT_MODEL = NOT_APPLICABLE + "different model"

# Prefix of the reason stored when a scorer's weights are missing: such rows are scored again
# on the next run, since they say nothing about the image.
MISSING_WEIGHTS = "missing weights"


class ScoringStore(Protocol):
    """What scoring reads and writes: a run's :class:`Store`, or a torchrun rank's
    ``ScoringView`` (reads from the merged store, writes into the rank's shard)."""

    def samples(self, variant_ids: Sequence[str] | None = None) -> list[SampleRecord]: ...  # noqa: D102

    def prompt_meta(self) -> dict[str, dict[str, Any]]: ...  # noqa: D102

    def scored_keys(self, metric: str, identity: str, retry_prefix: str | None = None  # noqa: D102
                    ) -> set[tuple[str, str, int]]: ...

    def put_scores(self, metric: str, identity: str,  # noqa: D102
                   rows: Iterable[tuple[str, str, int, float, str | None]]) -> None: ...

    def set_scores(self) -> list[SetScore]: ...  # noqa: D102

    def put_set_score(self, variant_id: str, metric: str, value: float | None,  # noqa: D102
                      reason: str | None, n: int, identity: str) -> None: ...


def build_scorer(use: MetricUse, device: str) -> BaseScorer:
    """Construct a scorer with the suite's options (models load lazily on first score)."""
    cls = SCORERS.get(use.name)
    return cls(device=device, **dict(use.options))


# A variant may generate at another resolution than the baseline (a per-variant height or
# width). A paired metric then resizes the variant's image to the baseline's size, so every
# variant is judged against the same, untouched reference. PIL's bicubic resize filters
# (antialiases) when shrinking.
PAIR_RESIZE = "variant image resized to the baseline's size (PIL bicubic) where they differ"


def scorer_identity(scorer: BaseScorer) -> dict[str, Any]:
    """The scorer's identity plus what the scoring phase does to its inputs."""
    ident = scorer.identity()
    if scorer.kind != Kind.PAIRED:
        return ident
    return {**ident, "pair_resize": CLIP_RESIZE if scorer.modality == Modality.VIDEO else PAIR_RESIZE}


def stored_identity(metric: str, score_rows: Iterable[Score | SetScore]) -> dict[str, Any] | None:
    """The identity ``metric``'s stored values were computed with, without building its scorer.

    ``score_rows`` are per-image or set-level score rows. The most common identity wins if a
    rescoring was interrupted; None before any scoring.
    """
    seen = Counter(r.identity for r in score_rows if r.metric == metric)
    common = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
    return json.loads(common[0][0]) if common else None


def identity_key(scorer: BaseScorer) -> str:
    """Canonical JSON of the scorer's identity."""
    return json.dumps(scorer_identity(scorer), sort_keys=True, default=str)


def paired_sample(image: Image.Image, prompt: str, reference: Image.Image, category: str = "",
                  meta: dict[str, Any] | None = None) -> Sample:
    """A paired sample, the image resized to the reference's size where they differ."""
    if image.size != reference.size:
        image = image.resize(reference.size, Image.Resampling.BICUBIC)
    return Sample(image, prompt, reference, category, meta or {})


def free_memory() -> None:
    """Return a finished scorer's memory before the next one loads (host and CUDA caches)."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def score_batch(scorer: BaseScorer, samples: Sequence[Sample]) -> list[tuple[float, str | None]]:
    """Score a batch; on failure score one by one so only the bad images get NaN."""
    try:
        values = scorer.score(samples)
        if len(values) != len(samples):
            raise RuntimeError(f"{scorer.name} returned {len(values)} values for {len(samples)} images")
        return [(float(v), "scorer returned NaN" if math.isnan(float(v)) else None)
                for v in values]
    except MissingWeights:  # no image can be scored: say so once, not per image
        raise
    except Exception as exc:  # noqa: BLE001 - fall back to isolating the failing images
        if len(samples) == 1:  # isolated already: its failure is the reason (scored once)
            return [(math.nan, _one_line(exc))]
        return [r for s in samples for r in score_batch(scorer, [s])]


def _load(run_dir: Path, rel: str) -> Image.Image:
    with Image.open(run_dir / rel) as im:
        return im.convert("RGB")


def _media(r: SampleRecord, video: bool) -> str | None:
    """What a scorer reads of ``r``: its clip's lossless copy (video), or its image (a clip's poster)."""
    return r.clip if video else r.image


def _baseline_media(rows: Sequence[SampleRecord], baseline_id: str, video: bool
                    ) -> dict[tuple[str, int], str]:
    """(prompt, seed) -> the baseline's image (or clip) that paired and set scorers compare with."""
    return {(r.prompt_id, r.seed): media for r in rows if r.variant_id == baseline_id
            and r.status == SampleStatus.OK and (media := _media(r, video))}


def score_run(suite: Suite, run_dir: Path, store: ScoringStore, device: str,
              progress: Callable[[str], None] = print,
              keep: dict[str, BaseScorer] | None = None) -> int:
    """Score every stored sample of the suite's variants that lacks a score.

    Args:
        suite: whose variants and metrics to score.
        run_dir: the run folder (images are read from it).
        store: where samples are read and scores written.
        device: where scorers run.
        progress: where progress lines go.
        keep: scorers to reuse across calls, by metric use; filled here. Without it each
            scorer loads once per call and is freed before the next (a run scores once);
            ``tune`` scores after every look, and would otherwise reload every model each time.

    Returns:
        How many values were stored: one per image and metric, one per variant and set metric.
    """
    stored = 0
    ids = {v.id: v.name for v in suite.variants}
    baseline_id = suite.baseline_variant.id
    rows = store.samples(list(ids))
    meta = store.prompt_meta()
    other_model = {v.id for v in suite.variants
                   if not same_model(effective_model(suite.model, v), suite.model)}
    for use in suite.metrics:
        key = f"{use.name} {json.dumps(dict(use.options), sort_keys=True, default=str)}"
        try:
            scorer = keep[key] if keep is not None and key in keep else build_scorer(use, device)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{suite.source}: metrics.{use.name}: {exc}") from None
        if keep is not None:
            keep[key] = scorer
        ident = identity_key(scorer)
        video = scorer.modality == Modality.VIDEO
        baseline_images = _baseline_media(rows, baseline_id, video)
        if scorer.kind == Kind.SET:
            stored += _score_sets(scorer, ident, suite, run_dir, store, rows, baseline_id,
                                  baseline_images, load_clip if video else _load)
            del scorer
            if keep is None:
                free_memory()
            continue
        done = store.scored_keys(use.name, ident, retry_prefix=MISSING_WEIGHTS)
        todo = [r for r in rows if (r.variant_id, r.prompt_id, r.seed) not in done
                and r.status in DONE_SAMPLE_STATUSES]
        results: list[tuple[str, str, int, float, str | None]] = []
        if scorer.kind == Kind.PAIRED:  # the baseline against itself is not a measurement
            todo = [r for r in todo if r.variant_id != baseline_id]
            results = [(r.variant_id, r.prompt_id, r.seed, math.nan, DIFFERENT_MODEL)
                       for r in todo if r.variant_id in other_model]
            todo = [r for r in todo if r.variant_id not in other_model]
        if not todo and not results:
            continue
        if todo:
            progress(f"scoring {use.name}: {len(todo)} {'clips' if video else 'images'}")
        batch: list[tuple[SampleRecord, Sample]] = []
        try:
            for r in todo:
                results += _score_row(scorer, r, run_dir, meta, baseline_images, batch, video)
            results += _flush(scorer, batch)
        except MissingWeights as exc:
            progress(str(exc))
            done_keys = {(v, p, s) for v, p, s, _, _ in results}
            reason = f"{MISSING_WEIGHTS}: {exc}"
            results += [(r.variant_id, r.prompt_id, r.seed, math.nan, reason) for r in todo
                        if (r.variant_id, r.prompt_id, r.seed) not in done_keys]
        store.put_scores(use.name, ident, results)
        stored += len(results)
        del scorer  # each scorer loads once and is gone before the next one loads
        if keep is None:
            free_memory()
    return stored


def _score_row(scorer: BaseScorer, r: SampleRecord, run_dir: Path, meta: dict[str, dict[str, Any]],
               baseline_images: dict[tuple[str, int], str],
               batch: list[tuple[SampleRecord, Sample]], video: bool = False
               ) -> list[tuple[str, str, int, float, str | None]]:
    """Queue one sample row in ``batch`` (scoring it when full); rows that cannot be scored
    come back at once as NaN with the reason. ``video``: the scorer reads clips
    (``baseline_images`` then holds the baseline's clips)."""
    key = (r.variant_id, r.prompt_id, r.seed)
    what = "clip" if video else "image"
    if r.status == SampleStatus.FLAGGED:
        return [(*key, math.nan, f"{what} not scored: {r.reason}")]
    if (media := _media(r, video)) is None:
        return [(*key, math.nan, f"no {what} stored for this sample")]
    meta_row = meta.get(r.prompt_id, {})
    reference = None
    if scorer.kind == Kind.PAIRED:  # both media read first, then the scorer's types are built
        ref_path = baseline_images.get((r.prompt_id, r.seed))
        if ref_path is None:
            return [(*key, math.nan, f"no baseline {what} for this prompt and seed")]
        reference = load_clip(run_dir, ref_path) if video else _load(run_dir, ref_path)
    sample = (load_clip_sample(run_dir, media, r.text, r.category or "", meta_row) if video
              else Sample(_load(run_dir, media), r.text, None, r.category or "", meta_row))
    if (why := scorer.skip_reason(sample)) is not None:
        return [(*key, math.nan, why)]
    if reference is not None:
        try:
            sample = (paired_clip_sample(sample, reference) if video else
                      paired_sample(sample.image, sample.prompt, reference, sample.category,
                                    dict(sample.meta)))
        except ValueError as exc:
            return [(*key, math.nan, _one_line(exc))]
    batch.append((r, sample))
    if len(batch) < scorer.batch_size:
        return []
    scored = _flush(scorer, batch)
    batch.clear()
    return scored


def _flush(scorer: BaseScorer, batch: list[tuple[SampleRecord, Sample]]
           ) -> list[tuple[str, str, int, float, str | None]]:
    if not batch:
        return []
    scored = score_batch(scorer, [s for _, s in batch])
    return [(r.variant_id, r.prompt_id, r.seed, v, why)
            for (r, _), (v, why) in zip(batch, scored, strict=True)]


def _score_sets(scorer: BaseScorer, ident: str, suite: Suite, run_dir: Path, store: ScoringStore,
                rows: Sequence[SampleRecord], baseline_id: str,
                baseline_images: dict[tuple[str, int], str],
                load: Callable[[Path, str], Any] = _load) -> int:
    """Set-level metrics: each variant's images (or clips, read by ``load``) against the
    baseline's, same prompts and seeds.

    Returns the number of variants scored.
    """
    stored = 0
    existing = {(r.variant_id, r.identity): r.n for r in store.set_scores() if r.metric == scorer.name}
    for v in suite.variants:
        video = load is not _load
        pairs = [(str(_media(r, video)), baseline_images[(r.prompt_id, r.seed)]) for r in rows
                 if r.variant_id == v.id and r.status == SampleStatus.OK and _media(r, video)
                 and (r.prompt_id, r.seed) in baseline_images]
        if v.id == baseline_id or existing.get((v.id, ident)) == len(pairs):
            continue
        try:
            if len(pairs) < 2:
                raise ValueError(f"needs at least 2 images paired with the baseline, has {len(pairs)}")
            value, reason = scorer.score_set([load(run_dir, a) for a, _ in pairs],
                                             [load(run_dir, b) for _, b in pairs]), None
        except Exception as exc:  # noqa: BLE001
            value, reason = None, _one_line(exc)
        store.put_set_score(v.id, scorer.name, value, reason, len(pairs), ident)
        stored += 1
    return stored
