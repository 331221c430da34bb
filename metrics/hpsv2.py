"""HPSv2.1 (Wu et al., 2023): human preference score from an open_clip ViT-H-14 fine-tuned on HPD v2.

Optional extra: needs ``open_clip_torch`` (not the ``hpsv2`` package, which pins protobuf < 4 and
pytest 7.2 and misses its tokenizer file). The score is the package's: cosine similarity of the
L2-normalised image and text embeddings (no logit scale), typically 0.2-0.35. It is the natural
score for the HPSv2 prompt set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register
from metrics.image_reward import CLIP_MEAN, CLIP_STD, resolve_checkpoint

DEFAULT_REPO = "xswu/HPSv2"
CHECKPOINTS = {"v2.1": "HPS_v2.1_compressed.pt", "v2.0": "HPS_v2_compressed.pt"}
if TYPE_CHECKING:  # torch and torchvision load with the model (metrics/base.py)
    from torchvision import transforms

INSTALL_HINT = "HPSv2 needs open_clip: pip install 'evalsuite[hpsv2]' (or: pip install open_clip_torch)"


def _import_open_clip() -> Any:
    try:
        import open_clip
    except ImportError as exc:  # one line, naming what to install
        raise ImportError(INSTALL_HINT) from exc
    return open_clip


def image_transform(size: int) -> transforms.Compose:
    """The hpsv2 package's ``preprocess_val``, which differs from upstream open_clip's.

    It converts to RGB and to a tensor *first*, then resizes the tensor (shorter side, bicubic)
    and centre-crops. Tensor resizing antialiases on torchvision >= 0.17, which is what the
    package does on any current install.
    """
    from torchvision import transforms

    return transforms.Compose(
        [
            lambda im: im.convert("RGB"),
            transforms.ToTensor(),
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC, antialias=True),
            transforms.CenterCrop(size),
            transforms.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )


@register
class HPSv2(BaseScorer):
    """HPSv2.1 score of an image for its prompt (cosine similarity; higher = preferred).

    Args:
        device: Torch device ("cpu", "cuda", "cuda:1").
        model: Hub repo id, a folder holding the checkpoint, or the ``.pt`` file itself.
        revision: Hub revision (branch, tag or commit) of ``model``.
        version: "v2.1" (default) or "v2.0": which checkpoint file to take from ``model``.
        arch: open_clip architecture name; HPSv2 is "ViT-H-14".
        precision: "amp" (default: float16 autocast on CUDA, as the package; float32 on CPU)
            or "float32".
        batch_size: Images per forward pass.
    """

    name: ClassVar[str] = "hpsv2"
    preload: ClassVar[tuple[str, ...]] = ("torchvision", "open_clip")
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    ideal: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        device: str = "cpu",
        model: str = DEFAULT_REPO,
        revision: str | None = None,
        version: str = "v2.1",
        arch: str = "ViT-H-14",
        precision: str = "amp",
        batch_size: int = 16,
    ) -> None:
        super().__init__(device=device)
        if version not in CHECKPOINTS:
            raise ValueError(f"version must be one of {sorted(CHECKPOINTS)}, got {version!r}")
        if precision not in ("amp", "float32"):
            raise ValueError(f"precision must be 'amp' or 'float32', got {precision!r}")
        self.model_id, self.revision, self.version = model, revision, version
        self.arch, self.precision, self.batch_size = arch, precision, batch_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._transform: transforms.Compose | None = None
        self._resolved_revision: str | None = None
        self._size = 224  # ViT-H-14's; read from the model once loaded

    @property
    def _autocast(self) -> bool:
        return self.precision == "amp" and self.device.split(":")[0] == "cuda"

    def load(self) -> None:
        """Build the open_clip model and load the HPSv2 weights once."""
        if self._model is not None:
            return
        open_clip = _import_open_clip()
        import torch

        with loading(self.name, self.model_id):
            path, self._resolved_revision = resolve_checkpoint(
                self.model_id, self.revision, CHECKPOINTS[self.version]
            )
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint.get("state_dict", checkpoint)
        # Checkpoints saved from DistributedDataParallel prefix every key with "module.".
        state = {k.removeprefix("module."): v for k, v in state.items()}
        model = open_clip.create_model(self.arch, pretrained=None, device="cpu")
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys:
            raise ValueError(
                f"{path} is not an HPSv2 {self.arch} checkpoint: missing {result.missing_keys[:5]}"
            )
        if result.unexpected_keys:
            raise ValueError(f"{path}: unexpected keys for {self.arch}: {result.unexpected_keys[:5]}")
        self._model = model.to(self.device).eval()
        self._tokenizer = open_clip.get_tokenizer(self.arch)
        size = model.visual.image_size
        self._size = int(size[0] if isinstance(size, tuple | list) else size)
        self._transform = image_transform(self._size)

    def preprocessing(self) -> str:
        return (
            f"RGB, ToTensor, resize shorter side to {self._size} (bicubic, antialias, on the tensor), "
            f"center crop, CLIP mean/std; open_clip tokenizer of {self.arch} (77 tokens); "
            "score = cosine(image, text); " + ("float16 autocast" if self._autocast else "float32")
        )

    def identity(self) -> dict[str, Any]:
        return {
            **super().identity(),
            "model": self.model_id,
            "checkpoint": CHECKPOINTS[self.version],
            "revision": self._resolved_revision or self.revision,
            "arch": self.arch,
            "precision": "float16 autocast" if self._autocast else "float32",
        }

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One HPSv2 value per (image, prompt) sample."""
        import torch

        with torch.inference_mode():
            return self._score(samples)

    def _score(self, samples: Sequence[Sample]) -> list[float]:
        import torch

        self.load()
        assert self._transform is not None
        values: list[float] = []
        for start in range(0, len(samples), self.batch_size):
            batch = samples[start : start + self.batch_size]
            pixels = torch.stack([self._transform(s.image) for s in batch]).to(self.device)
            tokens = self._tokenizer([s.prompt for s in batch]).to(self.device)
            with torch.autocast("cuda", dtype=torch.float16, enabled=self._autocast):
                image = self._model.encode_image(pixels, normalize=True)
                text = self._model.encode_text(tokens, normalize=True)
            values.extend((image.float() * text.float()).sum(-1).cpu().tolist())
        return values
