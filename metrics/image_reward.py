"""ImageReward (Xu et al., 2023): a BLIP reward model of human preference for a prompt's image.

Loads the official ``THUDM/ImageReward`` checkpoint without the unmaintained ``image-reward``
package (it cannot import on transformers >= 4.56): the network is built from transformers'
BLIP blocks in ``metrics._blip``. Preprocessing, the 35-token prompt truncation and the output
normalisation are the package's own; ``bench/image_reward_parity.py`` checks the scores against
the package on identical weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from metrics._torch import DTYPE_NAMES
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register

if TYPE_CHECKING:  # torch, torchvision and transformers load with the model (metrics/base.py)
    from torchvision import transforms
    from transformers import PreTrainedTokenizerBase

    from metrics._blip import ImageRewardNet

CHECKPOINT_FILE = "ImageReward.pt"
MAX_TOKENS = 35  # the package pads and truncates every prompt to 35 BERT tokens
# Reward statistics the package subtracts and divides by (its ImageReward.mean / .std).
REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_CHECKPOINT_SUFFIXES = {".pt", ".pth", ".bin", ".safetensors", ".ckpt"}


def image_transform(size: int) -> transforms.Compose:
    """The package's ``_transform``: shorter side to ``size`` (bicubic), centre crop, then RGB.

    The RGB conversion comes after the resize on purpose: that is the package's order, and it
    matters for palette and RGBA images.
    """
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            lambda im: im.convert("RGB"),
            transforms.ToTensor(),
            transforms.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )


def resolve_checkpoint(model: str, revision: str | None, filename: str = CHECKPOINT_FILE) -> tuple[Path, str]:
    """Path of the checkpoint file and a revision string for the record.

    ``model`` is a local file, a folder holding ``filename``, or a hub repo id.
    Local files are identified by a SHA-256 prefix, hub files by their commit hash.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / filename).is_file():
            found = sorted(p.name for p in path.iterdir() if p.suffix in _CHECKPOINT_SUFFIXES)
            raise FileNotFoundError(f"folder {path} has no {filename}; checkpoint files it holds: "
                                    f"{', '.join(found) or 'none'}")
        path = path / filename
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 24), b""):
                digest.update(chunk)
        return path, f"sha256:{digest.hexdigest()[:16]}"
    if model.endswith((".pt", ".pth", ".bin")) or model.startswith((".", "/", "~")):
        raise FileNotFoundError(f"checkpoint not found: {model}")
    from huggingface_hub import hf_hub_download

    local = Path(hf_hub_download(model, filename, revision=revision))
    # Hub snapshots live in .../snapshots/<commit>/<file>: the commit is the exact revision.
    return local, local.parent.name if local.parent.parent.name == "snapshots" else str(revision)


def load_tokenizer(name: str, revision: str | None) -> PreTrainedTokenizerBase:
    """BERT uncased tokenizer with BLIP's two added special tokens, as ``init_tokenizer``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name, revision=revision)
    # BLIP adds [DEC] (bos) and [ENC]; they only matter for prompts that spell them out, but
    # keeping them keeps the token ids identical to the package's (30522 and 30523).
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_tokens(["[ENC]"], special_tokens=True)
    return tok


@register
class ImageReward(BaseScorer):
    """ImageReward v1.0 score of an image for its prompt (unbounded; ~N(0, 1) on its training data).

    Args:
        device: Torch device to run on ("cpu", "cuda", "cuda:1").
        model: Hub repo id, a folder holding ``ImageReward.pt``, or the ``.pt`` file itself.
        revision: Hub revision (branch, tag or commit) of ``model``.
        tokenizer: Hub id or local folder of the BERT uncased tokenizer the model was trained with.
        tokenizer_revision: Hub revision of ``tokenizer``.
        dtype: "float32" (default, the reference's precision), "float16" or "bfloat16"; the
            MLP head always runs in float32, as in the package.
        batch_size: Images per forward pass.
    """

    name: ClassVar[str] = "image_reward"
    preload: ClassVar[tuple[str, ...]] = ("torchvision", "metrics._blip")
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    ideal: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        device: str = "cpu",
        model: str = "THUDM/ImageReward",
        revision: str | None = None,
        tokenizer: str = "google-bert/bert-base-uncased",
        tokenizer_revision: str | None = None,
        dtype: str = "float32",
        batch_size: int = 16,
    ) -> None:
        super().__init__(device=device)
        if dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype must be one of {sorted(DTYPE_NAMES)}, got {dtype!r}")
        self.model_id, self.revision = model, revision
        self.tokenizer_id, self.tokenizer_revision = tokenizer, tokenizer_revision
        self.dtype, self.batch_size = dtype, batch_size
        self._net: ImageRewardNet | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._transform: transforms.Compose | None = None
        self._resolved_revision: str | None = None

    def load(self) -> None:
        """Load checkpoint and tokenizer once; later calls do nothing."""
        if self._net is not None:
            return
        import torch

        from metrics._blip import ImageRewardNet

        with loading(self.name, self.model_id):
            path, self._resolved_revision = resolve_checkpoint(self.model_id, self.revision)
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = ImageRewardNet(state, mean=REWARD_MEAN, std=REWARD_STD)
        dtype = getattr(torch, self.dtype)
        net.vision.to(self.device, dtype)
        net.text.to(self.device, dtype)
        net.head.to(self.device, torch.float32)
        with loading(self.name, self.tokenizer_id, "tokenizer"):
            tokenizer = load_tokenizer(self.tokenizer_id, self.tokenizer_revision)
        if len(tokenizer) > net.vocab_size:
            raise ValueError(
                f"tokenizer {self.tokenizer_id!r} has {len(tokenizer)} tokens but the checkpoint's "
                f"text encoder only {net.vocab_size}: wrong tokenizer"
            )
        self._net, self._tokenizer = net, tokenizer
        self._transform = image_transform(net.image_size)

    def preprocessing(self) -> str:
        size = self._net.image_size if self._net is not None else 224
        return (
            f"resize shorter side to {size} (bicubic), center crop {size}, then RGB, CLIP mean/std; "
            f"prompt: BERT uncased, pad+truncate to {MAX_TOKENS} tokens; "
            f"score (r - {REWARD_MEAN}) / {REWARD_STD}; dtype {self.dtype}, head float32"
        )

    def identity(self) -> dict[str, Any]:
        return {
            **super().identity(),
            "model": self.model_id,
            "revision": self._resolved_revision or self.revision,
            "tokenizer": self.tokenizer_id,
            "tokenizer_revision": self.tokenizer_revision,
            "dtype": self.dtype,
        }

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One ImageReward value per (image, prompt) sample."""
        import torch

        self.load()
        assert self._net is not None and self._tokenizer is not None and self._transform
        values: list[float] = []
        dtype = getattr(torch, self.dtype)
        for start in range(0, len(samples), self.batch_size):
            batch = samples[start : start + self.batch_size]
            pixels = torch.stack([self._transform(s.image) for s in batch])
            tokens = self._tokenizer(
                [s.prompt for s in batch],
                padding="max_length",
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            rewards = self._net(
                pixels.to(self.device, dtype),
                tokens.input_ids.to(self.device),
                tokens.attention_mask.to(self.device),
            )
            values.extend(rewards.cpu().tolist())
        return values

