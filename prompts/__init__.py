"""Prompt sets. Every set module is imported here, the one place they register."""

from prompts import smoke  # noqa: F401  (imports register the sets)
from prompts.base import PROMPT_SETS, Prompt, PromptError, PromptSet, make_prompt, prompt_id
from prompts.config import PromptSelection, parse_prompts_table, resolve_prompts

__all__ = [
    "PROMPT_SETS", "Prompt", "PromptError", "PromptSelection", "PromptSet",
    "make_prompt", "parse_prompts_table", "prompt_id", "resolve_prompts",
]
