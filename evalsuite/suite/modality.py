"""Images or clips: a suite's model, metrics and prompt sets must agree on what one sample is.

A video family's model resolves with ``frames`` set (``evalsuite.models.families.resolve``), so
a suite makes clips exactly when ``[model] frames`` is set. Then every metric must read clips
(``modality = "video"``: an image metric would score one poster frame and call it the clip's
quality); otherwise every metric must read images, and no prompt set may be a video set
(VBench's prompts describe motion an image cannot show). Each mismatch is refused before
anything runs, in one line naming the key.
"""

from __future__ import annotations

from collections.abc import Iterable

import prompts
from evalsuite.errors import spec_error
from evalsuite.suite.types import ModelSpec

# What a suite scores when it leaves out [metrics] use (pixel metrics, no model weights).
IMAGE_METRICS = ("sharpness", "psnr", "ssim")
VIDEO_METRICS = ("psnr_video", "ssim_video")


def makes_clips(model: ModelSpec) -> bool:
    """Whether ``model`` (resolved) makes clips rather than images."""
    return model.frames is not None


def check_modality(source: str, model: ModelSpec, metric_names: Iterable[str],
                   selection: prompts.PromptSelection) -> None:
    """Raise UserError for a metric or prompt set that does not fit what ``model`` makes."""
    from metrics import SCORERS

    made = "video" if makes_clips(model) else "image"
    for name in metric_names:
        modality = str(getattr(SCORERS.get(name), "modality", "image"))
        if modality != made:
            hint = (f"use a video metric (e.g. {name}_video where one exists)" if made == "video"
                    else "it needs a video model (e.g. tiny-wan)")
            raise spec_error(source, "metrics.use", f"{name} scores {modality}s and {model.id} makes "
                             f"{'clips' if made == 'video' else 'images'}: {hint}")
    if made == "image":
        for name in selection.sets:
            if name in prompts.PROMPT_SETS and prompts.set_modality(prompts.PROMPT_SETS.get(name)) == "video":
                raise spec_error(source, "prompts.sets", f"{name} is a video prompt set and {model.id} makes "
                                 "images (set [model] id to a video model, e.g. tiny-wan)")


def check_endpoint_modality(source: str, variant: str, model: ModelSpec, protocol: str) -> None:
    """Raise UserError when ``variant``'s endpoint protocol delivers images for a model that makes
    clips, or the reverse."""
    from evalsuite.endpoints import PROTOCOLS

    made = "video" if makes_clips(model) else "image"
    delivers = str(getattr(PROTOCOLS[protocol], "modality", "image"))
    if delivers != made:
        fits = ", ".join(n for n, cls in PROTOCOLS.items() if getattr(cls, "modality", "image") == made)
        what = "clips" if made == "video" else "images"
        raise spec_error(source, f"variant.{variant}.endpoint.protocol",
                         f"{protocol} delivers {delivers}s and {model.id} makes {what} (use {fits})")
