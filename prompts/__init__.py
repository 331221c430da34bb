"""Prompt sets. Every set module is imported here, the one place they register.

Only the standard library is imported: ``datasets`` loads lazily, on the hub path.
"""

from prompts import (  # noqa: F401  (imports register the sets)
    drawbench,
    geneval,
    hpsv2,
    parti,
    smoke,
    vbench,
    vbench2,
    video_smoke,
)
from prompts.base import (
    MODALITIES,
    PROMPT_SETS,
    Prompt,
    PromptError,
    PromptSet,
    make_prompt,
    normalise_category,
    prompt_id,
    set_modality,
)
from prompts.config import PromptSelection, load_set, parse_prompts_table, resolve_prompts
from prompts.custom import CustomFile
from prompts.hub import HubSource
from prompts.sampling import dedupe, filter_categories, stratified_sample

__all__ = [
    "MODALITIES", "PROMPT_SETS", "CustomFile", "HubSource", "Prompt", "PromptError", "PromptSelection",
    "PromptSet", "dedupe", "filter_categories", "load_set", "make_prompt", "normalise_category",
    "parse_prompts_table", "prompt_id", "resolve_prompts", "set_modality", "stratified_sample",
]
