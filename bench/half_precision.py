"""How much half precision moves each CLIP-based score, on tiny random weights (CPU, seconds).

For each scorer with a ``dtype`` option, the same images and prompts are scored in float32
and in float16 and bfloat16; the table gives the largest absolute difference and that
difference relative to the spread (standard deviation) of the float32 scores. Random tiny
weights are not the published models, so read the figures as a check that the half-precision
paths are wired correctly and change values only at the rounding level, not as the error of
the full models (on a GPU, rerun with ``--device cuda``).

    python bench/half_precision.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from metrics.base import Sample
from metrics.clip_iqa import CLIPIQA
from metrics.clip_score import CLIPScore
from metrics.cmmd import CMMD
from metrics.pickscore import PickScore


def build(name: str, folder: Path, dtype: str, device: str):
    if name == "clip_score":
        return CLIPScore(device=device, model=str(folder), dtype=dtype)
    if name == "clip_iqa":
        return CLIPIQA(device=device, model=str(folder), dtype=dtype)
    if name == "pickscore":
        return PickScore(device=device, model=str(folder), processor=str(folder), dtype=dtype)
    return CMMD(device=device, model=str(folder), dtype=dtype)


def scores(name: str, folder: Path, dtype: str, device: str, samples: Sequence[Sample]) -> list[float]:
    scorer = build(name, folder, dtype, device)
    if name == "cmmd":  # a set metric: one value per half of the images against the other
        half = len(samples) // 2
        return [scorer.score_set([s.image for s in samples[:half]], [s.image for s in samples[half:]])]
    return scorer.score(samples)


def main(argv: Sequence[str] | None = None) -> None:
    from tests.metrics._tiny_clip import random_images, save_tiny_clip

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--images", type=int, default=16)
    args = p.parse_args(argv)
    samples = [Sample(im, f"a photo number {i}") for i, im in enumerate(random_images(args.images, seed=1))]
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_tiny_clip(Path(tmp) / "clip")
        print(f"{'scorer':12} {'dtype':9} {'max |diff|':>11} {'/ sd(fp32)':>11}")
        for name in ("clip_score", "clip_iqa", "pickscore", "cmmd"):
            ref = scores(name, folder, "float32", args.device, samples)
            spread = (statistics.pstdev(ref) if len(ref) > 1 else abs(ref[0])) or 1.0
            for dtype in ("float16", "bfloat16"):
                got = scores(name, folder, dtype, args.device, samples)
                diff = max(abs(a - b) for a, b in zip(got, ref, strict=True))
                print(f"{name:12} {dtype:9} {diff:11.3g} {diff / spread:11.3g}", flush=True)


if __name__ == "__main__":
    main()
