"""Clips handed to video scorers: read from their lossless copy, poster frame first.

A video scorer (``modality == "video"``) receives ``metrics.Sample(frames=...)`` built here
from the ``.npz`` the worker stored (never from the MP4, which is lossy); a paired one also
gets the baseline's clip of the same prompt and seed as ``reference_frames``. The MP4 and the
poster PNG are for people and image scorers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from evalsuite.store.clips import read_clip
from metrics import Sample
from metrics.base import Clip, poster_frame

# As for images (scoring.PAIR_RESIZE): a variant at another size is resized to the baseline's.
CLIP_RESIZE = "variant frames resized to the baseline's size (PIL bicubic) where they differ"


def load_clip(run_dir: Path, rel: str) -> Clip:
    """A stored clip's frames (RGB PIL images, in time order) from its lossless copy."""
    return tuple(Image.fromarray(frame) for frame in read_clip(run_dir / rel).frames)


def load_clip_sample(run_dir: Path, rel: str, prompt: str, category: str = "",
                     meta: Mapping[str, Any] | None = None) -> Sample:
    """A stored clip as a scorer receives it: its frames, poster and frame rate (VBench's
    dynamic degree samples frames per second of video)."""
    stored = read_clip(run_dir / rel)
    frames = tuple(Image.fromarray(frame) for frame in stored.frames)
    return clip_sample(frames, prompt, category, meta, stored.fps)


def clip_sample(frames: Clip, prompt: str, category: str = "",
                meta: Mapping[str, Any] | None = None, fps: float | None = None) -> Sample:
    """A clip as a scorer receives it: ``image`` is its poster frame."""
    return Sample(poster_frame(frames), prompt, None, category, meta or {}, frames=frames, fps=fps)


def paired_clip_sample(sample: Sample, reference: Clip) -> Sample:
    """``sample`` with the baseline's clip as reference, its frames resized where sizes differ.

    Raises:
        ValueError: the clips have different frame counts (nothing to pair frame by frame).
    """
    if len(sample.frames) != len(reference):
        raise ValueError(f"{len(sample.frames)} frames against the baseline's {len(reference)}")
    size = reference[0].size
    frames = tuple(f if f.size == size else f.resize(size, Image.Resampling.BICUBIC) for f in sample.frames)
    return Sample(poster_frame(frames), sample.prompt, poster_frame(reference), sample.category,
                  sample.meta, frames=frames, reference_frames=reference, fps=sample.fps)
