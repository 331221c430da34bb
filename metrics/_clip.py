"""CLIP loading shared by CLIP-Score, CLIP-IQA and CMMD: hub id or local folder, transformers 5.

torchmetrics 1.9 calls ``model.get_image_features(...)`` / ``get_text_features(...)`` and then
``.norm()`` on the result. transformers 5 returns a ``BaseModelOutputWithPooling`` there (the
projected embedding is its ``pooler_output``), so torchmetrics fails with ``'...' object has no
attribute 'norm'``. torchmetrics also accepts a callable returning ``(model, processor)``
instead of a model name; we hand it ``CLIPFeatures``, a thin module restoring the tensor
return, which also lets us load local folders (torchmetrics insists on "openai" in the name).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # light at import time (see metrics/base.py); torch loads with the model
    import torch

    from metrics._clip_model import CLIPFeatures


def is_local(model: str) -> bool:
    """True when ``model`` names a folder on disk rather than a hub id."""
    return Path(model).expanduser().is_dir()


@functools.cache  # one hub round trip per model and process
def resolve_revision(model: str, revision: str | None) -> str | None:
    """The commit a hub model resolves to (from the local cache), else the requested revision.

    A local folder has no revision; its absolute path identifies it instead. This never
    raises: the identity of a score must be computable even when the hub is unreachable.
    """
    if is_local(model):
        return None
    try:
        from transformers.utils import cached_file

        path = cached_file(model, "config.json", revision=revision)
        commit = Path(path).parent.name if path else ""
        if re.fullmatch(r"[0-9a-f]{40}", commit):
            return commit
    except Exception:  # noqa: BLE001 - offline or unknown: fall back to what was asked for
        pass
    return revision


def model_identity(model: str, revision: str | None) -> dict[str, Any]:
    """``{"model": ..., "revision": ...}`` with local folders made absolute."""
    name = str(Path(model).expanduser().resolve()) if is_local(model) else model
    return {"model": name, "revision": resolve_revision(model, revision)}


def load_processor(model: str, revision: str | None) -> Any:
    """The model's ``CLIPProcessor`` (tokenizer + image processor); cheap, no weights."""
    from transformers import CLIPProcessor

    return CLIPProcessor.from_pretrained(model, revision=revision)


def describe_safely(describe: Callable[[], str]) -> str:
    """``describe()``, or a stable placeholder when the model's files cannot be read yet.

    The scoring phase asks for identities before scoring; an unreachable hub must turn into
    NaN scores with a reason, not a crash. Only the exception type goes into the text, so
    the placeholder identity stays the same from run to run.
    """
    try:
        return describe()
    except Exception as exc:  # noqa: BLE001
        return f"unresolved: model files unavailable ({type(exc).__name__})"


def describe_image_processor(image_processor: Any) -> str:
    """A one-line description of what a Hugging Face CLIP image processor does."""
    size = image_processor.size
    edge = size.get("shortest_edge") or f"{size.get('height')}x{size.get('width')}"
    crop = image_processor.crop_size
    parts = [f"resize shortest side to {edge} ({_resample_name(image_processor.resample)})"]
    if image_processor.do_center_crop:
        parts.append(f"centre crop {crop['height']}x{crop['width']}")
    if image_processor.do_rescale:
        parts.append(f"rescale x{image_processor.rescale_factor:.6g}")
    parts.append(f"normalise mean {list(image_processor.image_mean)} std "
                 f"{list(image_processor.image_std)}")
    return "RGB -> HF CLIPImageProcessor: " + ", ".join(parts)


def _resample_name(resample: Any) -> str:
    try:
        from PIL import Image

        return Image.Resampling(int(resample)).name.lower()
    except (TypeError, ValueError):
        return str(resample)


class TruncatingProcessor:
    """A ``CLIPProcessor`` whose text calls truncate to the text tower's length.

    torchmetrics tokenizes with ``padding=True`` only and then cuts ids past 77 tokens, which
    drops the end-of-text token that CLIP pools from: a long prompt would be scored by its
    start-of-text embedding. Truncating in the tokenizer keeps the end-of-text token.
    """

    def __init__(self, processor: Any, max_length: int) -> None:
        self.processor = processor
        self.max_length = max_length

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("text") is not None:
            kwargs.setdefault("truncation", True)
            kwargs.setdefault("max_length", self.max_length)
        return self.processor(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.processor, name)


def load_clip(
    model: str, revision: str | None, device: str, dtype: torch.dtype
) -> tuple[CLIPFeatures, TruncatingProcessor]:
    """Load a CLIP model and processor for torchmetrics, on ``device`` in ``dtype``, eval mode."""
    from transformers import CLIPModel

    from metrics._clip_model import CLIPFeatures

    clip = CLIPModel.from_pretrained(model, revision=revision, dtype=dtype).eval().to(device)
    processor = load_processor(model, revision)
    max_length = clip.config.text_config.max_position_embeddings
    return CLIPFeatures(clip), TruncatingProcessor(processor, max_length)


class ClipProcessorScorer:
    """Identity and lazy processor shared by the scorers built on a Hugging Face CLIP.

    Mixed into a ``BaseScorer``; the subclass sets ``model_name``, ``revision`` and ``dtype``
    and describes its own preprocessing from ``self.processor()``.
    """

    model_name: str
    revision: str | None
    dtype: torch.dtype
    _processor: Any = None

    def identity_extra(self) -> dict[str, Any]:
        """What else changes this scorer's values (e.g. CLIP-IQA's prompts)."""
        return {}

    def identity(self) -> dict[str, Any]:
        """Model id and revision, dtype and preprocessing: everything that changes a value."""
        from metrics._torch import dtype_name

        return {"name": self.name, **model_identity(self.model_name, self.revision),  # type: ignore[attr-defined]
                **self.identity_extra(), "dtype": dtype_name(self.dtype),
                "preprocessing": self.preprocessing()}

    def preprocessing(self) -> str:
        """The processor's resize/crop/normalisation, read from its files."""
        return describe_safely(self.describe_processor)

    def processor(self) -> Any:
        """Only the small processor files: the identity is needed before any scoring."""
        if self._processor is None:
            self._processor = load_processor(self.model_name, self.revision)
        return self._processor

    def describe_processor(self) -> str:
        """Subclasses describe how their images and prompts reach the model."""
        raise NotImplementedError
