"""Images per second of each scorer through our scoring path vs a bare batched forward pass.

Each model is built at its full published size (configuration only, random weights: no
download) and injected into the real scorer, then timed two ways on the same images:

* **ours**: ``evalsuite.score.scoring.score_batch`` on ``Sample`` objects holding PIL images, i.e.
  what the scoring phase does (preprocessing, tokenisation, batching, dtype, output);
* **bare**: the model's own batched forward on ready-made tensors (pixel values and token
  ids prepared once, outside the timing): the floor our path cannot beat.

Target: ours within 15% of bare on the CPU (``ratio`` = ours / bare >= 0.85). On a GPU the
same script gives the images/s behind the goal of scoring 1632 images with every metric in
under 10 minutes on one H100. The default run (CLIP-Score's ViT-L/14 and PickScore's ViT-H/14,
8 images of 512x512, batch 8, one warm-up batch) takes a few minutes on a 2-core machine::

    python bench/scoring_throughput.py                          # default, CPU
    python bench/scoring_throughput.py --device cuda --images 64 --batch 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

from evalsuite.models.tiny.tokenizers import clip_tokenizer
from evalsuite.score.scoring import score_batch
from metrics._clip import TruncatingProcessor
from metrics._clip_model import CLIPFeatures
from metrics.base import Sample
from metrics.clip_score import CLIPScore
from metrics.pickscore import PickScore

# Published configurations (vision tower / text tower widths, depths, heads, patch, size).
CLIP_L14 = {"vision": (1024, 24, 16, 14, 224, 4096), "text": (768, 12, 12, 3072), "proj": 768}
CLIP_H14 = {"vision": (1280, 32, 16, 14, 224, 5120), "text": (1024, 24, 16, 4096), "proj": 1024}
# --tiny: the same code paths with toy towers, so CI runs the script and it cannot rot.
TINY = {"vision": (32, 2, 2, 8, 32, 64), "text": (32, 2, 2, 64), "proj": 16}


@dataclass(frozen=True)
class Result:
    scorer: str
    ours: float  # images/s through score_batch
    bare: float  # images/s of the bare batched forward

    @property
    def ratio(self) -> float:
        return self.ours / self.bare


def clip_model(spec: dict[str, Any], tokenizer: Any, dtype: torch.dtype, device: str) -> CLIPModel:
    vw, vl, vh, patch, size, vff = spec["vision"]
    tw, tl, th, tff = spec["text"]
    config = CLIPConfig(
        text_config={"vocab_size": max(len(tokenizer), tokenizer.vocab_size), "hidden_size": tw,
                     "num_hidden_layers": tl, "num_attention_heads": th, "intermediate_size": tff,
                     "max_position_embeddings": 77, "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id},
        vision_config={"hidden_size": vw, "num_hidden_layers": vl, "num_attention_heads": vh,
                       "patch_size": patch, "image_size": size, "intermediate_size": vff},
        projection_dim=spec["proj"])
    return CLIPModel(config).eval().to(device, dtype)


def processor(tokenizer: Any, side: int = 224) -> CLIPProcessor:
    image = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return CLIPProcessor(image_processor=image, tokenizer=tokenizer)


def images(n: int, size: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def timed(fn: Callable[[], Any], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(name: str, scorer: Any, model: CLIPModel, proc: CLIPProcessor, samples: Sequence[Sample],
            batch: int, device: str, repeats: int) -> Result:
    """Warm both paths once, then time each over every sample, ``repeats`` times in turn."""
    chunks = [samples[i : i + batch] for i in range(0, len(samples), batch)]
    tensors = [(proc(images=[s.image for s in c], return_tensors="pt")["pixel_values"]
                .to(device, model.dtype),
                proc(text=[s.prompt for s in c], padding=True, truncation=True, max_length=77,
                     return_tensors="pt")) for c in chunks]

    def ours() -> None:
        for c in chunks:
            score_batch(scorer, c)

    def bare() -> None:
        with torch.inference_mode():
            for pixels, tok in tensors:
                model.get_image_features(pixel_values=pixels)
                model.get_text_features(input_ids=tok["input_ids"].to(device),
                                        attention_mask=tok["attention_mask"].to(device))

    score_batch(scorer, chunks[0])  # warm-up (lazy init, allocator, kernels)
    bare_warm = tensors[:1]
    with torch.inference_mode():
        model.get_image_features(pixel_values=bare_warm[0][0])
    # Interleaved, median of each: a load change on a shared machine hits both paths alike.
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(repeats):
        times["ours"].append(timed(ours, device))
        times["bare"].append(timed(bare, device))
    t_ours, t_bare = (statistics.median(times[k]) for k in ("ours", "bare"))
    return Result(name, len(samples) / t_ours, len(samples) / t_bare)


def run(names: Sequence[str], n: int, size: int, batch: int, device: str, dtype: torch.dtype,
        repeats: int = 3, tiny: bool = False) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = clip_tokenizer(Path(tmp))
    proc = processor(tokenizer, TINY["vision"][4] if tiny else 224)
    samples = [Sample(im, f"a photo of object number {i}") for i, im in enumerate(images(n, size))]
    results = []
    for name in names:
        if name == "clip_score":
            model = clip_model(TINY if tiny else CLIP_L14, tokenizer, dtype, device)
            scorer = CLIPScore(device=device, dtype=str(dtype).removeprefix("torch."), batch_size=batch)
            scorer._clip = (CLIPFeatures(model), TruncatingProcessor(proc, 77))
        elif name == "pickscore":
            model = clip_model(TINY if tiny else CLIP_H14, tokenizer, dtype, device)
            scorer = PickScore(device=device, dtype=str(dtype).removeprefix("torch."), batch_size=batch)
            scorer._model, scorer._processor = model, proc
        else:
            raise SystemExit(f"unknown scorer {name!r} (this bench knows clip_score, pickscore)")
        results.append(measure(name, scorer, model, proc, samples, batch, device, repeats))
        print(f"{name:12} ours {results[-1].ours:7.2f} img/s   bare {results[-1].bare:7.2f} img/s   "
              f"ratio {results[-1].ratio:.3f}", flush=True)
        del scorer, model
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scorers", default="clip_score,pickscore")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--size", type=int, default=512, help="image side in pixels")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3, help="timed passes of each path, interleaved")
    p.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    p.add_argument("--tiny", action="store_true",
                   help="toy CLIP towers, 4 images of 64 px, batch 2, one pass: a smoke test of the script")
    args = p.parse_args(argv)
    if args.tiny:
        args.images, args.size, args.batch, args.repeats = 4, 64, 2, 1
    torch.manual_seed(0)
    print(f"load average (1, 5, 15 min) at start: {os.getloadavg()}; "
          f"torch threads: {torch.get_num_threads()}")
    results = run(args.scorers.split(","), args.images, args.size, args.batch, args.device,
                  getattr(torch, args.dtype), args.repeats, args.tiny)
    print(f"load average (1, 5, 15 min) at end: {os.getloadavg()}")
    worst = min(r.ratio for r in results)
    verdict = "not judged (--tiny)" if args.tiny else ("met" if worst >= 0.85 else "NOT met")
    print(f"worst ratio {worst:.3f} (target >= 0.85 on CPU): {verdict}")
    return results


if __name__ == "__main__":
    main()
