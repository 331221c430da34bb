"""Parity of ``metrics.image_reward`` with the original ``image-reward`` 1.5 package.

The package cannot import beside transformers 5, so it runs in a separate virtualenv with the old
stack, as a subprocess of this script (``--reference-side``). That side builds the package's own
``ImageReward`` model at full size (ViT-L/16 + BERT-base, BLIP's med_config), fills it with seeded
random weights, saves the state dict as ``ImageReward.pt`` and scores the image-prompt pairs with
``ImageReward.score(prompt, image)``, i.e. through the package's preprocessing and tokenisation.
This side loads that file with our scorer, scores the same pairs and compares.

No network is needed: the BERT vocabulary is a synthetic 30,522-entry uncased WordPiece vocab
(bert-base-uncased's special-token ids, every letter as a piece), used by both sides; the package's
``BertTokenizer.from_pretrained('bert-base-uncased')`` is pointed at it. ``--tokenizer DIR`` uses a
real bert-base-uncased folder instead.

Setup of the reference virtualenv (about 6 GB with torch; a few minutes from a warm pip cache)::

    python3.11 -m venv /tmp/irp
    /tmp/irp/bin/pip install torch==2.14.1 torchvision==0.29.1 image-reward==1.5 \\
        transformers==4.45.2 timm==0.6.13 openai-clip==1.0.1 diffusers==0.30.3 "setuptools<81"

(``diffusers`` must predate transformers 4.46's API, ``setuptools<81`` keeps ``pkg_resources``
for ``clip``.) Then, from the repository root with the project's environment::

    python bench/image_reward_parity.py --reference-python /tmp/irp/bin/python \\
        --out bench/image_reward_parity.md

Exit status 0 when the max abs difference is within ``--tolerance`` (1e-4), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

SEED = 0
PROMPTS = [
    "A photo of an astronaut riding a horse on the moon",
    "a red cube on top of a blue sphere, studio lighting",
    "Portrait of an old fisherman, oil painting, highly detailed, 8k",
    "two cats and a dog sleeping on a sofa",
    # 35-token truncation: this one is far longer.
    "a sprawling futuristic city at dusk with flying cars, neon signs in many languages, "
    "rain-soaked streets reflecting the lights, crowds with umbrellas, a giant hologram of a "
    "whale swimming between skyscrapers, cinematic composition, volumetric fog",
    "ZEBRA!!! crossing a road ... in Tokyo? (watercolour)",
    "",
    "a bowl of ramen with chopsticks",
]
# (width, height, mode): non-square both ways, small (upscaled), RGBA, palette and grey images.
IMAGES = [(512, 512, "RGB"), (640, 384, "RGB"), (300, 500, "RGBA"), (128, 96, "RGB"),
          (1024, 1024, "RGB"), (256, 256, "P"), (333, 222, "L"), (224, 224, "RGB")]  # fmt: skip
MED_CONFIG = {  # BLIP's configs/med_config.json (the package expects it beside the checkpoint)
    "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
    "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
    "type_vocab_size": 2, "vocab_size": 30524, "encoder_width": 768, "add_cross_attention": True,
}  # fmt: skip


def write_vocab(folder: Path) -> Path:
    """A bert-base-uncased-shaped vocab: same special ids, 30,522 entries, no [UNK] for ASCII."""
    import string

    words = sorted({w.strip(string.punctuation).lower() for p in PROMPTS for w in p.split()} - {""})
    head = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = list(string.punctuation + string.digits + string.ascii_lowercase)
    pieces += [f"##{c}" for c in string.digits + string.ascii_lowercase] + words
    pieces += ["##s", "##ing", "##ed", "##er", "##ly"]
    vocab = head + [p for p in dict.fromkeys(pieces) if p not in head]
    vocab += [f"[unused{i}]" for i in range(99, 99 + 30522 - len(vocab))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def write_images(folder: Path) -> list[Path]:
    """Seeded noise-plus-gradient images, saved as PNG so both sides read identical pixels."""
    rng = np.random.default_rng(SEED)
    paths = []
    for i, (w, h, mode) in enumerate(IMAGES):
        grad = np.linspace(0, 255, w)[None, :, None] * np.ones((h, 1, 4))
        px = np.clip(grad * 0.5 + rng.integers(0, 128, (h, w, 4)), 0, 255).astype(np.uint8)
        img = Image.fromarray(px, "RGBA")
        img = img.convert("RGB").convert("P") if mode == "P" else img.convert(mode)
        paths.append(folder / f"img{i}.png")
        img.save(paths[-1])
    return paths


def reference_side(work: Path) -> None:
    """Runs in the old-transformers virtualenv: the package's model, weights and scores."""
    import torch
    import transformers
    from ImageReward.ImageReward import ImageReward as PackageImageReward
    from ImageReward.models.BLIP import blip

    class LocalBert(transformers.BertTokenizer):
        @classmethod
        def from_pretrained(cls, name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
            return super().from_pretrained(str(work / "tokenizer"), *args, **kwargs)

    blip.BertTokenizer = LocalBert  # only where the vocabulary comes from
    (work / "med_config.json").write_text(json.dumps(MED_CONFIG))
    torch.manual_seed(SEED)
    model = PackageImageReward(med_config=str(work / "med_config.json"), device="cpu").eval()
    with torch.no_grad():  # re-draw every weight so that scores really depend on the inputs
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.02)
            elif p.ndim == 1:  # LayerNorm scales
                p.normal_(1.0, 0.1)
            else:
                fan_in = p[0].numel() if p.ndim > 1 else 1
                p.normal_(0.0, fan_in**-0.5 if name.startswith("mlp.") else 0.05)
    torch.save(model.state_dict(), work / "ImageReward.pt")
    pairs = json.loads((work / "pairs.json").read_text())
    start = time.perf_counter()
    with torch.no_grad():
        scores = [model.score(prompt, Image.open(path)) for path, prompt in pairs]
    import ImageReward as package
    import timm

    versions = {"image-reward": package.__version__ if hasattr(package, "__version__") else "1.5",
                "transformers": transformers.__version__, "timm": timm.__version__,
                "torch": torch.__version__}  # fmt: skip
    result = {"scores": scores, "seconds": time.perf_counter() - start, "versions": versions}
    (work / "reference.json").write_text(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-python", help="python of the image-reward 1.5 virtualenv")
    parser.add_argument("--tokenizer", help="a bert-base-uncased folder (default: synthetic vocab)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, help="write the result as Markdown here")
    parser.add_argument("--reference-side", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_side:
        reference_side(args.reference_side)
        return 0
    if not args.reference_python:
        parser.error("--reference-python is required (see the module docstring for the setup)")

    import torch
    import transformers

    from metrics.base import Sample
    from metrics.image_reward import ImageReward

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tok = Path(args.tokenizer) if args.tokenizer else write_vocab(work / "tokenizer")
        if args.tokenizer:
            (work / "tokenizer").symlink_to(tok.resolve())
        pairs = [(str(p), q) for p, q in zip(write_images(work), PROMPTS, strict=True)]
        (work / "pairs.json").write_text(json.dumps(pairs))
        start = time.perf_counter()
        cmd = [args.reference_python, __file__, "--reference-side", str(work)]
        subprocess.run(cmd, check=True, cwd=work)
        ref = json.loads((work / "reference.json").read_text())
        scorer = ImageReward(model=str(work), tokenizer=str(tok), batch_size=4)
        ours = scorer.score([Sample(Image.open(p), q) for p, q in pairs])
        elapsed = time.perf_counter() - start

    diffs = np.abs(np.array(ours) - np.array(ref["scores"]))
    ok = bool(diffs.max() <= args.tolerance)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    lines = [
        "# ImageReward parity: metrics.image_reward vs image-reward 1.5",
        "",
        f"Reference: {ref['versions']}. Ours: {versions}. CPU, float32, seed {SEED}; "
        f"full-size model (ViT-L/16 + BERT-base) with identical random weights; "
        f"tokenizer: {'given' if args.tokenizer else 'synthetic 30,522-entry uncased vocab'}.",
        "",
        "| image | prompt | image-reward 1.5 | ours | abs diff |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for (w, h, mode), prompt, r, o, d in zip(IMAGES, PROMPTS, ref["scores"], ours, diffs, strict=True):
        short = (prompt[:40] + "...") if len(prompt) > 40 else prompt
        lines.append(f"| {w}x{h} {mode} | {short!r} | {r:.6f} | {o:.6f} | {d:.2e} |")
    lines += [
        "",
        f"**Max abs difference: {diffs.max():.3e}** (tolerance {args.tolerance:g}): "
        f"{'PASS' if ok else 'FAIL'}. Spread of the scores (std): {np.std(ref['scores']):.3f}. "
        f"Wall time {elapsed:.0f} s.",
        "",
        "Reproduce: create the reference virtualenv as in the docstring of "
        "`bench/image_reward_parity.py`, then run "
        "`python bench/image_reward_parity.py --reference-python /tmp/irp/bin/python "
        "--out bench/image_reward_parity.md`.",
        "Not run in CI: it needs a second ~6 GB virtualenv (its own torch) and PyPI. CI's guard "
        "is `tests/metrics/test_image_reward.py`, which checks a tiny checkpoint in the same "
        "key layout against a functional re-implementation of the package's forward pass.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
