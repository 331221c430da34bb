"""CMMD: CLIP-embedding maximum mean discrepancy between two image sets (Jayasumana et al., 2024).

Follows the google-research/cmmd reference: OpenAI CLIP ViT-L/14 at 336 px; each image
centre-cropped to a square and resized to 336 with PIL bicubic (``io_util``), scaled to
[0, 1] and normalised with CLIP's mean/std (``embedding``); L2-normalised image embeddings;
Gaussian RBF kernel with sigma = 10; the biased (minimum-variance) MMD² estimator, means over
the full kernel matrices with their diagonals; times 1000; no square root (``distance``).

Two deliberate differences, neither changing the formula: the kernel means are computed in
float64 (the value is a small difference of three means close to 1, where float32 loses
digits), and every image is used (the reference drops the last partial batch, for TPUs).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:  # torch loads when embeddings are computed (see metrics/base.py)
    import numpy as np  # likewise at run time: validating a suite lists scorers, never needs it
    import torch

from metrics._clip import describe_safely, load_clip, load_processor, model_identity
from metrics._torch import check_batch_size, dtype_name, resolve_dtype
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, register

SIGMA = 10.0  # RBF bandwidth from the paper and the reference
SCALE = 1000.0  # the reference reports MMD² x 1000 for readability
_EXTENSIONS = {".png", ".jpg", ".jpeg"}  # what the reference reads from a folder


def cmmd_from_embeddings(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """The reference's CMMD value for two sets of L2-normalised embeddings.

    Args:
        x: Embeddings [n, d] of one set (the reference's ``mmd`` argument order: reference set).
        y: Embeddings [m, d] of the other set.

    Returns:
        1000 x (mean k(x, x') + mean k(y, y') - 2 mean k(x, y)) with
        k(a, b) = exp(-||a - b||² / (2 sigma²)), sigma = 10. Symmetric in x and y; 0 for
        identical sets.
    """
    import numpy as np

    x = _as_float64(x, "x")
    y = _as_float64(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"embedding widths differ: {x.shape[1]} and {y.shape[1]}")
    gamma = 1.0 / (2.0 * SIGMA**2)

    def mean_kernel(a: np.ndarray, b: np.ndarray) -> float:
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
        return float(np.exp(-gamma * sq).mean())

    return SCALE * (mean_kernel(x, x) + mean_kernel(y, y) - 2.0 * mean_kernel(x, y))


def _as_float64(a: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    import numpy as np

    torch = sys.modules.get("torch")  # a tensor implies torch is loaded; never import it here
    if torch is not None and isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [n, d] array, got shape {a.shape}")
    return a


def center_crop_and_resize(image: Image.Image, size: int) -> Image.Image:
    """The reference's ``_center_crop_and_resize``: centred square crop, PIL bicubic resize."""
    w, h = image.size
    side = min(w, h)
    top, left = (h - side) // 2, (w - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return square.resize((size, size), resample=Image.Resampling.BICUBIC)  # antialiased


def list_images(folder: str | Path) -> list[Path]:
    """The .png/.jpg/.jpeg files of ``folder`` (any case), sorted, as the reference reads them."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(f"reference_dir {folder!r} is not a folder")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in _EXTENSIONS)
    if not files:
        raise ValueError(f"reference_dir {folder!r} holds no .png/.jpg/.jpeg images")
    return files


@register
class CMMD(BaseScorer):
    """Set-level CLIP MMD of a variant's images against a reference set; lower is better.

    Args:
        device: Torch device to run on.
        model: Hub id or local folder of a Hugging Face ``CLIPModel`` + ``CLIPProcessor``.
        revision: Hub revision; ignored for local folders.
        reference_dir: A folder of reference images; when given it replaces the default
            reference set (the baseline variant's images for the same prompts and seeds).
        dtype: "auto" (float32, as the reference), "float32", "float16" or "bfloat16".
        batch_size: Images per forward pass.
    """

    name = "cmmd"
    preload = ("metrics._clip_model", "transformers.models.clip.modeling_clip")
    higher_is_better = False
    kind = Kind.SET
    ideal = 0.0

    def __init__(
        self,
        device: str = "cpu",
        model: str = "openai/clip-vit-large-patch14-336",
        revision: str | None = None,
        reference_dir: str | None = None,
        dtype: str = "auto",
        batch_size: int = 32,
    ) -> None:
        super().__init__(device)
        self.model_name = model
        self.revision = revision
        self.reference_dir = reference_dir
        self.reference_files = list_images(reference_dir) if reference_dir is not None else []
        # A set distance of near-equal kernel means is sensitive to embedding noise, so "auto"
        # keeps float32 even on CUDA; half precision must be asked for.
        self.dtype = resolve_dtype(device, dtype, half_ok=False)
        self.batch_size = check_batch_size(batch_size)
        self._clip: tuple[Any, Any] | None = None
        self._processor: Any = None
        self._cache: dict[str, np.ndarray] = {}  # image digest -> embedding, across variants
        self._reference_embeddings: np.ndarray | None = None  # of reference_dir, read once

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {
            "name": self.name,
            **model_identity(self.model_name, self.revision),
            "dtype": dtype_name(self.dtype),
            "sigma": SIGMA,
            "scale": SCALE,
            "preprocessing": self.preprocessing(),
            "reference": "baseline images, same prompts and seeds",
        }
        if self.reference_dir is not None:
            # Path plus a cheap fingerprint of the files, so a changed folder scores again.
            listing = "\n".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                                for p in self.reference_files)
            ident["reference"] = {
                "dir": str(Path(self.reference_dir).expanduser().resolve()),
                "n": len(self.reference_files),
                "listing_sha1": hashlib.sha1(listing.encode()).hexdigest(),
            }
        return ident

    def _normalisation(self) -> tuple[list[float], list[float]]:
        if self._processor is None:
            self._processor = load_processor(self.model_name, self.revision)
        ip = self._processor.image_processor
        return list(ip.image_mean), list(ip.image_std)

    def _size(self) -> int:
        from transformers import CLIPConfig

        return int(CLIPConfig.from_pretrained(self.model_name, revision=self.revision)
                   .vision_config.image_size)

    def preprocessing(self) -> str:
        return describe_safely(self._describe)

    def _describe(self) -> str:
        mean, std = self._normalisation()
        size = self._size()
        return (f"RGB -> centre crop to square -> PIL bicubic resize to {size}x{size} -> /255 -> "
                f"normalise mean {mean} std {std}; L2-normalised image embeddings")

    def _load(self) -> tuple[Any, Any]:
        if self._clip is None:
            with loading(self.name, self.model_name):
                self._clip = load_clip(self.model_name, self.revision, self.device, self.dtype)
        return self._clip

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """L2-normalised CLIP image embeddings [n, d] (float64), preprocessed as the reference."""
        import numpy as np
        import torch

        model, _ = self._load()
        size = model.config.vision_config.image_size  # the model's own input resolution
        mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in self._normalisation())
        keys = [_digest(im) for im in images]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        for start in range(0, len(todo), self.batch_size):
            idx = todo[start : start + self.batch_size]
            arrays = [np.asarray(center_crop_and_resize(images[i].convert("RGB"), size),
                                 dtype=np.float32) / 255.0 for i in idx]
            x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
            with torch.inference_mode():
                emb = model.get_image_features((x - mean) / std).double()
            emb = emb / emb.norm(dim=-1, keepdim=True)
            for i, e in zip(idx, emb.cpu().numpy(), strict=True):
                self._cache[keys[i]] = e
        return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 0))

    def score_set(self, images: Sequence[Image.Image], references: Sequence[Image.Image]) -> float:
        """CMMD of ``images`` against ``references`` (or against ``reference_dir`` if set)."""
        import numpy as np

        if not images:
            raise ValueError("cmmd needs a non-empty set of images")
        if self.reference_dir is not None:
            if self._reference_embeddings is None:
                # A batch of files at a time: a reference folder may not fit in memory at once.
                files, bs = self.reference_files, self.batch_size
                self._reference_embeddings = np.concatenate([
                    self.embed([_open_rgb(p) for p in files[i : i + bs]])
                    for i in range(0, len(files), bs)
                ])
            ref_embeddings = self._reference_embeddings
        elif references:
            ref_embeddings = self.embed(references)
        else:
            raise ValueError("cmmd needs a non-empty reference set")
        return cmmd_from_embeddings(ref_embeddings, self.embed(images))


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _digest(image: Image.Image) -> str:
    # Content hash, so the baseline set is embedded once however many variants use it.
    rgb = image.convert("RGB")
    return hashlib.sha1(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()
