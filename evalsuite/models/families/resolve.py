"""The models layer's answers to the suite parser (``evalsuite.suite.types.ModelResolver``).

Whoever loads a suite to run it (``run``, ``tune``, ``serve``) passes :data:`RESOLVER`, so
before any work: the family is found (or the named one checked), the settings ``[model]``
leaves out take the family's defaults (a tiny built-in's: the tiny defaults at the family's
guidance), a negative prompt is refused where the family takes none, a local LoRA is checked
against the model, and each technique is asked whether it fits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from evalsuite.models import families, tiny
from evalsuite.models.families.base import Defaults, Family
from evalsuite.models.families.detect import looks_local, model_index, pipeline_class
from evalsuite.models.families.video import TINY_FRAMES, TINY_SIZE, VideoFamily
from evalsuite.suite.types import ModelSpec

SETTINGS = ("steps", "guidance", "height", "width")


def defaults_for(model_id: str, family: Family) -> Defaults:
    """The settings ``[model]`` falls back on: the family's, or for a tiny built-in the tiny
    size and steps (``ModelSpec``'s own defaults; 32² for a video family) at the family's guidance."""
    if not tiny.is_tiny(model_id):
        return family.defaults
    small = ModelSpec()
    side = TINY_SIZE if isinstance(family, VideoFamily) else None
    return Defaults(steps=small.steps, guidance=family.defaults.guidance, height=side or small.height,
                    width=side or small.width)


class FamilyResolver:
    """Implements :class:`evalsuite.suite.types.ModelResolver` with the family adapters."""

    def resolve(self, model: ModelSpec, given: Collection[str]) -> ModelSpec:
        """``model`` with ``family`` set and missing settings defaulted; ValueError when bad."""
        if model.family is not None:
            family = families.get(model.family)
            self._check_local(model.id)  # a named family skips detection, not the obvious checks
        else:
            family = families.family_for_index(model_index(model.id, model.revision))
        if model.negative_prompt is not None and not family.takes_negative_prompt:
            raise ValueError(f"negative_prompt: {family.title} takes no negative prompt")
        if model.max_sequence_length is not None and not family.takes_max_sequence_length:
            raise ValueError(f"max_sequence_length: {family.title}'s pipeline takes none (it fixes its own)")
        if model.lora is not None:
            from evalsuite.models.families.lora import check_lora

            check_lora(dataclasses.replace(model, family=family.name), family)
        defaults = defaults_for(model.id, family)
        fill = {key: getattr(defaults, key) for key in SETTINGS if key not in given}
        fill.update(self._clip(model, family))
        return dataclasses.replace(model, family=family.name, **fill)

    @staticmethod
    def _clip(model: ModelSpec, family: Family) -> dict[str, int]:
        """A video family's frames and fps (its defaults where ``[model]`` gives none; a tiny
        built-in's 9 frames), checked; frames or fps on an image family is refused."""
        if not isinstance(family, VideoFamily):
            if model.frames is not None or model.fps is not None:
                raise ValueError(f"{'frames' if model.frames is not None else 'fps'}: {family.title} "
                                 "makes images, not clips (frames and fps are for video families)")
            return {}
        frames = model.frames if model.frames is not None else (
            TINY_FRAMES if tiny.is_tiny(model.id) else family.video.frames)
        if (why := family.check_frames(frames)) is not None:
            raise ValueError(f"frames: {why}")
        fps = model.fps if model.fps is not None else family.video.fps
        if fps < 1:
            raise ValueError(f"fps: must be at least 1, got {fps}")
        return {"frames": frames, "fps": fps}

    @staticmethod
    def _check_local(model_id: str) -> None:
        if tiny.is_tiny(model_id) or model_id.startswith("random:"):
            return
        if model_id.startswith("tiny") and "/" not in model_id and not Path(model_id).exists():
            pipeline_class(model_id)  # raises: unknown tiny model
        if looks_local(model_id) and not Path(model_id).expanduser().is_dir():
            raise ValueError(f"{model_id}: no such folder (a hub id is written owner/name)")

    def support(self, accelerator: str, params: Mapping[str, Any], family: str) -> str | None:
        """Why ``accelerator`` does not fit ``family``, or None."""
        return families.support(accelerator, family, params)

    def title(self, family: str) -> str:
        """The family's name for messages."""
        return families.get(family).title


RESOLVER = FamilyResolver()
