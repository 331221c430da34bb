"""Clips per second of each video scorer through our scoring path vs a bare forward of its model.

The video counterpart of ``bench/scoring_throughput.py``. Each model is built at its published
size from its configuration (random weights: no download) and injected into the real scorer,
then timed two ways on the same clips, interleaved, median of ``--repeats``:

* **ours**: ``evalsuite.score.scoring.score_batch`` on clip ``Sample``s (FVD: ``score_set``
  over the two sets, its per-clip cache emptied each pass), i.e. what the scoring phase does:
  PIL frames to tensors, resizing, batching, per-frame or per-pair work, the reduction;
* **bare**: the model's forward on tensors prepared once outside the timing (frames already
  resized, normalised, padded, paired): the floor our path cannot beat. For the model-free
  metrics (PSNR, SSIM, temporal flickering) the bare path is their arithmetic on ready arrays.

``ratio`` = ours / bare (1.0: no overhead). ``vqascore_video`` is not here: its 7B VLM does not
fit a CPU run, and its throughput is the VLM's generate-free forward, as for ``vqascore``.
Models (published sizes): CLIP ViT-L/14 (clip_score_video), CLIP ViT-B/32
(background_consistency), DINO ViT-B/16 (subject_consistency), RAFT-large (dynamic_degree,
motion_smoothness), AlexNet-LPIPS (lpips_video), I3D (fvd). ``--tiny`` swaps in toy towers
(RAFT-small, a 1/16-wide I3D) and 2 clips of 9 frames at 32 px, one pass: a smoke test::

    python bench/video_scoring_throughput.py --tiny
    python bench/video_scoring_throughput.py --device cuda --clips 16 --frames 16 --size 256
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from evalsuite.models.tiny.tokenizers import clip_tokenizer
from evalsuite.score.scoring import score_batch
from metrics import SCORERS
from metrics._clip import TruncatingProcessor
from metrics._clip_model import CLIPFeatures
from metrics._raft import flow, pad_to
from metrics.base import Clip, Sample


def _sibling(name: str) -> Any:
    """The image bench (its CLIP builders and timer), loaded by path: bench/ is no package."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault(name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


image_bench = _sibling("scoring_throughput")
Result = image_bench.Result  # scorer, ours, bare (here clips/s), ratio
CLIP_B32 = {"vision": (768, 12, 12, 32, 224, 3072), "text": (512, 12, 8, 2048), "proj": 512}
DINO_TINY = {"patch_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2}
SCORER_NAMES = ("psnr_video", "ssim_video", "lpips_video", "temporal_flickering", "clip_score_video",
                "background_consistency", "subject_consistency", "dynamic_degree", "motion_smoothness", "fvd")


@dataclass(frozen=True)
class Case:
    """One scorer's two timed paths over the same clips."""

    ours: Callable[[], Any]
    bare: Callable[[], Any]


def make_clips(n: int, frames: int, size: int, seed: int) -> list[Clip]:
    """Textured frames drifting 2 px a frame (motion for the flow metrics)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.integers(0, 256, (size, size + 2 * frames, 3), dtype=np.uint8)
        out.append(tuple(Image.fromarray(np.ascontiguousarray(base[:, 2 * t : 2 * t + size]))
                         for t in range(frames)))
    return out


def stack(clip: Clip) -> torch.Tensor:
    """uint8 [T, 3, H, W]."""
    return torch.from_numpy(np.stack([np.asarray(f) for f in clip])).permute(0, 3, 1, 2).contiguous()


def case(name: str, clips: list[Clip], refs: list[Clip], batch: int, device: str, tiny: bool) -> Case:
    """Build ``name``'s scorer with an injected random-weight model, and its bare path."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    samples = [Sample(c[len(c) // 2], f"a clip of object number {i}", r[len(r) // 2], frames=c,
                      reference_frames=r) for i, (c, r) in enumerate(zip(clips, refs, strict=True))]
    chunks = [samples[i : i + batch] for i in range(0, len(samples), batch)]
    scorer = SCORERS.get(name)(device=device)
    fb = scorer.batch_size  # frames per forward in our path; the bare one batches alike
    x = torch.cat([stack(c) for c in clips]).float().div(255).to(device)  # every frame, [0, 1]
    y = torch.cat([stack(r) for r in refs]).float().div(255).to(device)

    def ours() -> None:
        for c in chunks:
            score_batch(scorer, c)

    if name in ("psnr_video", "ssim_video"):
        from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

        def bare() -> Any:
            if name == "psnr_video":
                return peak_signal_noise_ratio(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3))
            return structural_similarity_index_measure(x, y, data_range=1.0, reduction="none")
    elif name == "lpips_video":
        from torchmetrics.functional.image.lpips import _lpips_update, _NoTrainLpips

        model = _NoTrainLpips(net="alex", pretrained=True, pnet_rand=True).eval().to(device)
        scorer.image._model = model

        def bare() -> Any:
            with torch.inference_mode():
                return torch.cat([_lpips_update(x[i : i + fb], y[i : i + fb], model, normalize=True)
                                  for i in range(0, len(x), fb)])
    elif name == "temporal_flickering":
        arrays = [np.stack([np.asarray(f) for f in c]) for c in clips]

        def bare() -> Any:
            return [np.abs(np.diff(a.astype(np.float32), axis=0)).mean() for a in arrays]
    elif name in ("clip_score_video", "background_consistency"):
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = clip_tokenizer(Path(tmp))
        full = image_bench.CLIP_L14 if name == "clip_score_video" else CLIP_B32
        spec = image_bench.TINY if tiny else full
        model = image_bench.clip_model(spec, tokenizer, torch.float32, device)
        side = spec["vision"][4]
        proc = image_bench.processor(tokenizer, side)
        features = CLIPFeatures(model)
        if name == "clip_score_video":
            scorer.image._clip = (features, TruncatingProcessor(proc, 77))
        else:
            scorer._clip = features
        pixels = TF.center_crop(TF.resize(x, side, InterpolationMode.BICUBIC, antialias=False), side)
        tokens = proc(text=[s.prompt for s in samples], padding=True, return_tensors="pt").to(device)

        def bare() -> Any:  # every frame's image features; one text per clip (the floor)
            with torch.inference_mode():
                for i in range(0, len(pixels), fb):
                    model.get_image_features(pixel_values=pixels[i : i + fb])
                if name == "clip_score_video":
                    model.get_text_features(**tokens)
    elif name == "subject_consistency":
        from metrics.subject_consistency import VIT_B16, build_dino, dino_features, dino_transform

        model = build_dino(DINO_TINY if tiny else VIT_B16).to(device)
        scorer._model = model
        ready = dino_transform(torch.cat([stack(c) for c in clips])).to(device)

        def bare() -> Any:
            with torch.inference_mode():
                return [dino_features(model, ready[i : i + fb]) for i in range(0, len(ready), fb)]
    elif name in ("dynamic_degree", "motion_smoothness"):
        from torchvision.models import optical_flow

        model = getattr(optical_flow, "raft_small" if tiny else "raft_large")(weights=None).eval().to(device)
        scorer._model = model
        pairs = []  # the frame pairs each path feeds RAFT, padded (motion smoothness: both ways)
        for c in clips:
            f = stack(c).float().to(device)
            if name == "dynamic_degree":
                (a, b), _ = pad_to(f[:-1], f[1:])
                pairs.append((a, b))
            else:
                (even,), _ = pad_to(f[0::2], divisor=16)
                pairs += [(even[:-1], even[1:]), (even[1:], even[:-1])]

        def bare() -> Any:
            with torch.inference_mode():
                return [flow(model, a, b) for a, b in pairs]
    elif name == "fvd":
        from metrics._i3d import InceptionI3d, preprocess

        if len(clips) < 2 or len(clips[0]) < 9:
            raise SystemExit("fvd needs at least 2 clips of at least 9 frames (--clips, --frames)")
        scorer = SCORERS.get(name)(device=device, width=1 / 16 if tiny else 1.0, batch_size=batch)
        model = InceptionI3d(width=1 / 16 if tiny else 1.0).eval().to(device)
        scorer._model = model
        ready = torch.stack([preprocess(stack(c[: scorer.frames])) for c in (*clips, *refs)]).to(device)

        def ours() -> None:
            scorer._cache.clear()
            scorer.score_set(clips, refs)

        def bare() -> Any:
            with torch.inference_mode():
                return [model(ready[i : i + batch]) for i in range(0, len(ready), batch)]
    else:
        raise SystemExit(f"unknown scorer {name!r} (this bench knows {', '.join(SCORER_NAMES)})")
    return Case(ours, bare)


def measure(name: str, c: Case, n: int, device: str, repeats: int, warmup: bool = True) -> Result:
    """Warm both paths once (lazy init, allocator, kernels), then time each ``repeats`` times,
    interleaved."""
    if warmup:
        c.ours()
        c.bare()
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(repeats):  # a load change on a shared machine hits both paths alike
        times["ours"].append(image_bench.timed(c.ours, device))
        times["bare"].append(image_bench.timed(c.bare, device))
    return Result(name, n / statistics.median(times["ours"]), n / statistics.median(times["bare"]))


def run(names: Sequence[str], n: int, frames: int, size: int, batch: int, device: str,
        repeats: int = 3, tiny: bool = False, warmup: bool = True) -> list[Result]:
    import warnings

    from metrics.fvd import FewClipsWarning

    warnings.simplefilter("ignore", FewClipsWarning)  # a bench set is small on purpose
    clips, refs = make_clips(n, frames, size, seed=0), make_clips(n, frames, size, seed=1)
    results = []
    for name in names:
        r = measure(name, case(name, clips, refs, batch, device, tiny), n, device, repeats, warmup)
        results.append(r)
        print(f"{name:23} ours {r.ours:8.2f} clips/s   bare {r.bare:8.2f} clips/s   ratio {r.ratio:.3f}",
              flush=True)
    return results


FULL = {"clips": 4, "frames": 16, "size": 256, "batch": 4, "repeats": 3, "warmup": True}
TINY = {"clips": 2, "frames": 9, "size": 32, "batch": 2, "repeats": 1, "warmup": False}


def main(argv: Sequence[str] | None = None) -> list[Result]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scorers", default=",".join(SCORER_NAMES))
    p.add_argument("--clips", type=int, help=f"clips per set (default {FULL['clips']})")
    p.add_argument("--frames", type=int, help=f"frames per clip (default {FULL['frames']}; fvd: >= 9)")
    p.add_argument("--size", type=int, help=f"frame side in pixels (default {FULL['size']})")
    p.add_argument("--batch", type=int, help=f"clips per score_batch (default {FULL['batch']})")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, help="timed passes of each path, interleaved (default 3)")
    p.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=None,
                   help="one untimed pass of each path first (default on; off with --tiny)")
    p.add_argument("--tiny", action="store_true",
                   help="toy towers, 2 clips of 9 frames at 32 px, one pass, no warm-up: a smoke test "
                   "(other flags still override)")
    args = p.parse_args(argv)
    for key, value in (TINY if args.tiny else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    torch.manual_seed(0)
    print(f"load average (1, 5, 15 min) at start: {os.getloadavg()}; "
          f"torch threads: {torch.get_num_threads()}; {args.clips} clips x {args.frames} frames of "
          f"{args.size}px on {args.device}", flush=True)
    results = run(args.scorers.split(","), args.clips, args.frames, args.size, args.batch, args.device,
                  args.repeats, args.tiny, args.warmup)
    print(f"load average (1, 5, 15 min) at end: {os.getloadavg()}")
    return results


if __name__ == "__main__":
    main()
