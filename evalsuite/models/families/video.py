"""What text-to-video families share: clips of ``frames`` frames at ``fps``.

A video family is one more kind of adapter (DESIGN.md section 5): its pipeline returns
``.frames`` (a batch of clips, each ``frames x H x W x 3`` in [0, 1] with ``output_type="np"``)
instead of ``.images``, it takes ``num_frames``, and its VAE compresses time, so only some frame
counts fit (:meth:`VideoFamily.check_frames`). ``[model] frames`` and ``fps`` default to the
family's (``VideoDefaults``); a tiny built-in makes 9-frame clips. ``fps`` does not change the
frames of any family here (it is the rate the MP4 is written at and the report plays at).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from evalsuite.models.families.base import Family

if TYPE_CHECKING:
    from evalsuite.suite.types import ModelSpec

TINY_FRAMES = 9  # what every tiny video built-in makes (at 32x32)
TINY_SIZE = 32


@dataclass(frozen=True)
class VideoDefaults:
    """A video family's clip length and frame rate, as its model card runs it."""

    frames: int
    fps: int


class VideoFamily(Family):
    """Base class of the text-to-video adapters."""

    output = "video"
    video: ClassVar[VideoDefaults]
    # The VAE compresses time by this factor and keeps the first frame: frames = k * factor + 1.
    temporal_factor: ClassVar[int] = 4

    def check_frames(self, frames: int) -> str | None:
        """Why ``frames`` does not fit: its VAE needs ``temporal_factor * k + 1`` frames."""
        if frames < 1 or (frames - 1) % self.temporal_factor:
            n = self.temporal_factor
            below = max(1, (frames - 1) // n * n + 1)
            return (f"{self.title} makes {n}k+1 frames (its VAE compresses time {n}x and keeps the first "
                    f"frame): {frames} does not fit; {below} or {below + n} would")
        return None

    def decoded(self, output: Any) -> Any:
        """The one clip (``frames x H x W x 3`` in [0, 1]) of a pipeline call's output."""
        return output.frames[0]

    def call_kwargs(self, model: ModelSpec, prompt: str, seed: int) -> dict[str, Any]:
        """The image arguments plus ``num_frames``."""
        return {**super().call_kwargs(model, prompt, seed), "num_frames": model.frames}
