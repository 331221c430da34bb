"""The scorer Protocol every metric follows, and the shared helpers.

A scorer is a class with class attributes ``name``, ``higher_is_better`` and ``kind``
(torchmetrics' style) and one of two methods:

* ``score(samples) -> list[float]`` for per-image and paired metrics, one value per sample;
* ``score_set(images, references) -> float`` for set-level metrics such as CMMD.

``modality`` says what a scorer reads: ``"image"`` (one picture per sample) or ``"video"``
(a clip: ``Sample.frames``, paired against ``Sample.reference_frames``; set-level video
scorers such as FVD take ``score_set(clips, references)`` with sequences of frame tuples).
A suite uses image scorers on image models and video scorers on video models only.

Models load lazily on first use and can be injected through the constructor, so tests run
tiny local models through the real code path. Failures are exceptions: the scoring phase
turns them into NaN plus the reason, never 0.

Importing a scorer module must stay cheap, because suites are validated and ``list metrics``
runs without torch: a scorer module imports torch, numpy, PIL, torchmetrics, torchvision,
transformers and the heavy helpers (``metrics._clip_model``, ``metrics._blip``) inside the
functions that compute, never at module level (``tests/evalsuite/cli/test_instant_cli.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from registry import Registry

if TYPE_CHECKING:  # importing a scorer module stays cheap: torch loads when a scorer computes
    import torch
    from PIL import Image


class Modality(StrEnum):
    """What one sample of a scorer (or of a prompt set) is: a picture or a clip."""

    IMAGE = "image"
    VIDEO = "video"


#: A clip as scorers receive it: its frames in time order (RGB PIL images of one size).
Clip = tuple["Image.Image", ...]


class Kind(StrEnum):
    """What a scorer compares."""

    PER_IMAGE = "per-image"  # one image (and its prompt)
    PAIRED = "paired"  # one image against the baseline's image of the same prompt and seed
    SET = "set"  # a set of images against a reference set, one value


@dataclass(frozen=True)
class Sample:
    """One image or clip to score, with its prompt and (for paired metrics) the reference.

    ``category`` and ``meta`` are the prompt's (e.g. GenEval's task tag and object list).
    For a clip, ``frames`` holds every frame in time order and ``image`` is its poster frame
    (the middle one, ``frames[len(frames) // 2]``), so image scorers can still read it;
    ``reference_frames`` is the baseline's clip of the same prompt and seed (paired video
    metrics), ``reference`` its poster frame, and ``fps`` the clip's frame rate when known
    (VBench's dynamic degree samples frames at about 8 per second). Image samples leave both
    tuples empty.
    """

    image: Image.Image
    prompt: str
    reference: Image.Image | None = None
    category: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    frames: Clip = ()
    reference_frames: Clip = ()
    fps: float | None = None


def poster_frame(frames: Sequence[Image.Image]) -> Image.Image:
    """The frame that stands for a clip where one picture is shown or scored: the middle one."""
    if not frames:
        raise ValueError("a clip needs at least one frame")
    return frames[len(frames) // 2]


@runtime_checkable
class Scorer(Protocol):
    """What the scoring phase relies on."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    kind: ClassVar[Kind]
    modality: ClassVar[Modality]  # "image" or "video": what one sample is
    # Value of a perfect match for paired metrics (SSIM 1, LPIPS 0), the anchor of their
    # deltas; None when the report shows the value itself (PSNR).
    ideal: ClassVar[float | None]
    preload: ClassVar[tuple[str, ...]]  # modules scoring imports lazily (see preload_imports)

    def identity(self) -> dict[str, Any]:
        """Model id, revision, preprocessing and dtype: everything that changes the value."""
        ...


class BaseScorer:
    """Defaults shared by the built-in scorers."""

    name: ClassVar[str] = ""  # the key suite files use (snake_case); ``register`` reads it
    deprecated_names: ClassVar[tuple[str, ...]] = ()  # old spellings, accepted with a warning
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    modality: ClassVar[Modality] = Modality.IMAGE
    ideal: ClassVar[float | None] = None
    # Value of a perfect match when ``ideal`` is None (PSNR: its 100 dB cap), so that the
    # baseline's own value stays finite; optional (``MetricInfo.of`` reads it with getattr).
    perfect: ClassVar[float | None] = None
    batch_size: int = 16
    # What scoring imports lazily (modules stay light at import, see above). A run imports
    # these while its workers' process imports torch, so scoring starts at once.
    preload: ClassVar[tuple[str, ...]] = ("torch",)

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def identity(self) -> dict[str, Any]:
        """The scorer's name plus its preprocessing; subclasses add model ids."""
        return {"name": self.name, "preprocessing": self.preprocessing()}

    def preprocessing(self) -> str:
        """A short description of how images are turned into tensors."""
        return "RGB uint8 -> float [0,1]"

    def skip_reason(self, sample: Sample) -> str | None:
        """Why this scorer does not apply to a sample (recorded as NaN + reason), else None."""
        return None

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One value per sample (per-image and paired scorers)."""
        raise NotImplementedError

    def score_set(self, images: Sequence[Image.Image] | Sequence[Clip],
                  references: Sequence[Image.Image] | Sequence[Clip]) -> float:
        """One value for the whole set (set-level scorers).

        Image scorers receive images; video scorers (``modality == "video"``) receive clips,
        each a tuple of frames.
        """
        raise NotImplementedError


def to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    """Stack PIL images into a float tensor [N, 3, H, W] in [0, 1]."""
    import numpy as np
    import torch

    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def require_references(samples: Sequence[Sample], name: str) -> list[Image.Image]:
    """The reference images of paired samples; a missing one is an error, not a guess."""
    refs = [s.reference for s in samples]
    if any(r is None for r in refs):
        raise ValueError(f"{name} needs the baseline image of the same prompt and seed")
    for s, r in zip(samples, refs, strict=True):
        if r.size != s.image.size:
            raise ValueError(f"{name}: image size {s.image.size} differs from baseline's {r.size}")
    return refs  # type: ignore[return-value]


def require_clips(samples: Sequence[Sample], name: str, paired: bool = False) -> list[Clip]:
    """The clips of video samples (and, when ``paired``, check their baseline clips).

    A sample without frames, or a paired one whose baseline clip is missing or differs in
    frame count or size, is an error naming the scorer, never a guess.
    """
    for s in samples:
        if not s.frames:
            raise ValueError(f"{name} scores clips; this sample has no frames (an image?)")
        if paired:
            refs = s.reference_frames
            if not refs:
                raise ValueError(f"{name} needs the baseline clip of the same prompt and seed")
            if len(refs) != len(s.frames):
                raise ValueError(f"{name}: clip has {len(s.frames)} frames, the baseline's {len(refs)}")
            if refs[0].size != s.frames[0].size:
                raise ValueError(f"{name}: frame size {s.frames[0].size} differs from baseline's "
                                 f"{refs[0].size}")
    return [s.frames for s in samples]


SCORERS: Registry[type[BaseScorer]] = Registry("metric", group="evalsuite.metrics")
register = SCORERS.register


def preload_imports(names: Iterable[str]) -> None:
    """Import what the named scorers import lazily when they score (see ``preload``).

    A dependency that fails to import is left for the scorer itself to report, where its
    message names the metric.
    """
    import contextlib
    import importlib

    for module in dict.fromkeys(m for n in names for m in SCORERS.get(n).preload):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
