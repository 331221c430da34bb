"""The scoring phase on its own: a real store and real PNGs, weight-free scorers, no generation."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evalsuite.errors import UserError
from evalsuite.score.scoring import (
    PAIR_RESIZE,
    _score_sets,
    identity_key,
    paired_sample,
    score_batch,
    score_run,
    stored_identity,
)
from evalsuite.store.db import SampleRow, Store
from evalsuite.suite.spec import Suite, parse_suite
from metrics import BaseScorer, Kind, Sample
from metrics.psnr import PSNR
from metrics.sharpness import Sharpness
from reports.records import Score, SetScore

SUITE = """
name = "t"
[model]
id = "tiny"
[metrics]
use = ["sharpness", "psnr"]
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = { threshold = 0.1 }
"""


def noise(seed: int, size: int = 32) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


class RunFixture:
    """A run folder with a store holding hand-made samples for the suite's two variants."""

    def __init__(self, root: Path, text: str = SUITE) -> None:
        self.root = root
        self.suite: Suite = parse_suite(tomllib.loads(text), str(root / "suite.toml"), root)
        self.base, self.fbc = (v.id for v in self.suite.variants)
        self.store = Store(root / "results.sqlite")
        self.store.put_prompts([(p, f"prompt {p}", "s", i, "c", {})
                                for i, p in enumerate(["p1", "p2", "p3"])])

    def add(self, variant_id: str, prompt: str, status: str = "ok", image: Image.Image | None = None,
            reason: str | None = None) -> None:
        rel = None
        if image is not None:
            rel = f"images/{variant_id}-{prompt}.png"
            (self.root / "images").mkdir(exist_ok=True)
            image.save(self.root / rel)
        self.store.put_sample(SampleRow(variant_id, prompt, 0, status, 0.1, image=rel, reason=reason))

    def scores(self) -> dict[tuple[str, str, str], tuple[float, str | None]]:
        return {(r.metric, r.variant_id, r.prompt_id): (r.value, r.reason)
                for r in self.store.scores()}


@pytest.fixture
def run(tmp_path: Path):
    r = RunFixture(tmp_path)
    yield r
    r.store.close()


def test_every_image_is_scored_once_and_every_gap_has_its_reason(run: RunFixture) -> None:
    run.add(run.base, "p1", image=noise(1))
    run.add(run.base, "p2", image=noise(2))
    run.add(run.base, "p3", "failed", reason="worker exited")
    run.add(run.fbc, "p1", image=noise(1, size=48))  # another resolution: resized for pairing
    run.add(run.fbc, "p2", "flagged", image=noise(3), reason="all black")
    run.add(run.fbc, "p3", image=noise(4))  # its baseline image failed
    said: list[str] = []
    assert score_run(run.suite, run.root, run.store, "cpu", progress=said.append) == 5 + 3
    assert said == ["scoring sharpness: 5 images", "scoring psnr: 3 images"]
    s = run.scores()
    assert {k for k in s if k[0] == "sharpness"} == {
        ("sharpness", v, p) for v, p in [(run.base, "p1"), (run.base, "p2"), (run.fbc, "p1"),
                                          (run.fbc, "p2"), (run.fbc, "p3")]}
    assert all(s[("sharpness", v, p)][0] > 0 for v, p in [(run.base, "p1"), (run.fbc, "p3")])
    # NaN is stored as NULL, with the reason.
    assert s[("sharpness", run.fbc, "p2")] == (None, "image not scored: all black")
    # Paired: never the baseline against itself; resized to the baseline's size; gaps explained.
    assert {k[1] for k in s if k[0] == "psnr"} == {run.fbc}
    assert 0 < s[("psnr", run.fbc, "p1")][0] < math.inf
    assert s[("psnr", run.fbc, "p3")] == (None, "no baseline image for this prompt and seed")
    # Nothing left: a second pass stores nothing and says nothing.
    said.clear()
    assert score_run(run.suite, run.root, run.store, "cpu", progress=said.append) == 0 and not said


def test_kept_scorers_are_built_once_across_calls(run: RunFixture) -> None:
    # tune scores after every look: its scorers (and their models) must load only once.
    run.add(run.base, "p1", image=noise(1))
    run.add(run.fbc, "p1", image=noise(2))
    keep: dict = {}
    assert score_run(run.suite, run.root, run.store, "cpu", progress=lambda _: None, keep=keep) == 3
    first = dict(keep)
    assert sorted(type(s).__name__ for s in first.values()) == ["PSNR", "Sharpness"]
    run.add(run.base, "p2", image=noise(3))
    run.add(run.fbc, "p2", image=noise(4))
    assert score_run(run.suite, run.root, run.store, "cpu", progress=lambda _: None, keep=keep) == 3
    assert all(keep[k] is first[k] for k in first) and len(keep) == 2


def test_values_stored_under_another_identity_are_scored_again(run: RunFixture) -> None:
    run.add(run.base, "p1", image=noise(1))
    run.store.put_scores("sharpness", '{"name": "sharpness", "old": true}', [(run.base, "p1", 0, 1.0, None)])
    assert score_run(run.suite, run.root, run.store, "cpu", progress=lambda _: None) == 1
    (row,) = run.store.scores()
    assert row.identity == identity_key(Sharpness()) and row.value != 1.0


def test_bad_scorer_options_are_a_one_line_user_error(run: RunFixture) -> None:
    suite = parse_suite(tomllib.loads(SUITE.replace('use = ["sharpness", "psnr"]', 'use = ["lpips"]\n'
                                                   '[metrics.lpips]\nnet = "resnet"')),
                        str(run.root / "suite.toml"), run.root)
    with pytest.raises(UserError, match=r"suite.toml: metrics.lpips: unknown LPIPS net 'resnet'"):
        score_run(suite, run.root, run.store, "cpu", progress=lambda _: None)


class Picky(BaseScorer):
    """Fails on any batch holding a black image; counts its calls."""

    name = "picky"

    def __init__(self, values_per_call: int | None = None) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.values_per_call = values_per_call

    def score(self, samples: Sequence[Sample]) -> list[float]:
        self.calls.append(len(samples))
        if any(not s.image.getbbox() for s in samples):
            raise ValueError("black image\nsecond line of the message")
        values = [float(s.image.getpixel((0, 0))[0]) for s in samples]
        return values[: self.values_per_call] if self.values_per_call else values


def samples(*reds: int) -> list[Sample]:
    return [Sample(Image.new("RGB", (4, 4), (r, 0, 0)), "p") for r in reds]


def test_one_bad_image_costs_one_nan_with_its_reason_not_the_batch() -> None:
    scorer = Picky()
    got = score_batch(scorer, samples(10, 0, 30))
    assert got[0] == (10.0, None) and got[2] == (30.0, None)
    assert math.isnan(got[1][0]) and got[1][1] == "ValueError: black image"  # one line
    assert scorer.calls == [3, 1, 1, 1]  # the batch, then each image once


def test_a_scorer_returning_too_few_values_is_retried_one_by_one() -> None:
    scorer = Picky(values_per_call=1)
    assert score_batch(scorer, samples(5, 6)) == [(5.0, None), (6.0, None)]


def test_a_nan_value_is_kept_with_a_reason() -> None:
    class NaNs(Picky):
        def score(self, samples: Sequence[Sample]) -> list[float]:
            return [math.nan for _ in samples]

    assert [why for _, why in score_batch(NaNs(), samples(1))] == ["scorer returned NaN"]


def test_paired_identity_records_the_resize_and_pairs_are_resized() -> None:
    assert json.loads(identity_key(PSNR()))["pair_resize"] == PAIR_RESIZE
    assert "pair_resize" not in json.loads(identity_key(Sharpness()))
    pair = paired_sample(Image.new("RGB", (48, 48)), "p", Image.new("RGB", (32, 24)))
    assert pair.image.size == (32, 24) and pair.reference is not None


def test_the_stored_identity_is_read_without_building_a_scorer() -> None:
    def row(metric: str, identity: str) -> Score:
        return Score("v", "p", 0, metric, 1.0, identity=identity)

    rows = [row("psnr", '{"name": "psnr", "v": 1}')] * 2 + [
        row("psnr", '{"name": "psnr", "v": 2}'),
        SetScore("v", "cmmd", 0.1, identity='{"name": "cmmd"}'), row("other", "{}")]
    assert stored_identity("psnr", rows) == {"name": "psnr", "v": 1}  # the most common one
    assert stored_identity("cmmd", rows) == {"name": "cmmd"}
    assert stored_identity("lpips", rows) is None  # not scored yet


class MeanGap(BaseScorer):
    """A set metric: the gap between the mean pixel values of the two sets."""

    name = "mean_gap"
    kind = Kind.SET

    def score_set(self, images: Sequence[Image.Image], references: Sequence[Image.Image]) -> float:
        mean = lambda ims: float(np.mean([np.asarray(im) for im in ims]))  # noqa: E731
        return abs(mean(images) - mean(references))


def test_set_metrics_score_each_variant_once_per_set_of_pairs(run: RunFixture) -> None:
    run.add(run.base, "p1", image=noise(1))
    run.add(run.fbc, "p1", image=noise(5))

    def score() -> int:
        rows = run.store.samples()
        base_images = {(r.prompt_id, r.seed): r.image for r in rows
                       if r.variant_id == run.base and r.status == "ok"}
        return _score_sets(MeanGap(), "ident", run.suite, run.root, run.store, rows, run.base, base_images)

    assert score() == 1
    (row,) = run.store.set_scores()
    assert row.value is None and row.reason == "ValueError: needs at least 2 images paired " \
        "with the baseline, has 1"
    assert score() == 0  # same pairs, same identity: not again
    run.add(run.base, "p2", image=noise(2))
    run.add(run.fbc, "p2", image=noise(6))
    assert score() == 1
    (row,) = run.store.set_scores()
    assert row.n == 2 and row.value > 0 and row.reason is None
