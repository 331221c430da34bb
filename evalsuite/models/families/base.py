"""The adapter every model family implements: how to call its pipeline, its defaults, its blocks.

A family is an adapter, not a branch in the worker (docs: DESIGN.md section 5). One small
class per family answers, for the pipeline classes it serves:

* how to call the pipeline (:meth:`Family.call_kwargs`): which argument the suite's
  ``guidance`` goes to, whether there is a negative prompt, extra arguments;
* the defaults (steps, guidance, size) used when ``[model]`` leaves them out;
* the transformer(s) of a loaded pipeline and the block lists caches hook;
* the facts techniques ask before anything runs (``evalsuite.accelerators.ModelFamily``):
  whether diffusers' block hooks know its blocks, whether they are FLUX.1's, whether
  cache-dit has an adapter, which per-model numbers ship for it.

Importing an adapter stays cheap (no torch): suites are validated with these facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from registry import Registry

if TYPE_CHECKING:
    from evalsuite.suite.types import ModelSpec

# Block-list attribute names diffusers' caches look for (diffusers.hooks._common,
# _ALL_TRANSFORMER_BLOCK_IDENTIFIERS in 0.42.1): a family whose blocks sit elsewhere (HiDream's
# double_stream_blocks) is invisible to them whatever its registration.
DIFFUSERS_BLOCK_LISTS = ("blocks", "transformer_blocks", "single_transformer_blocks", "layers",
                         "visual_transformer_blocks", "temporal_transformer_blocks")


@dataclass(frozen=True)
class Defaults:
    """Generation settings a family's checkpoints are meant to run at."""

    steps: int
    guidance: float
    height: int
    width: int


class Family:
    """Base class of every family adapter; subclasses set the class attributes.

    Instances are stateless; ``FAMILIES`` maps names to classes and :func:`get` makes one.
    """

    name: ClassVar[str]  # [model] family = "..." (snake_case, like every plug-in key)
    title: ClassVar[str]  # "FLUX.1", for messages and the README
    pipelines: ClassVar[tuple[str, ...]]  # diffusers pipeline classes (model_index.json _class_name)
    defaults: ClassVar[Defaults]
    block_attrs: ClassVar[tuple[str, ...]] = ("transformer_blocks",)  # in call order
    output: ClassVar[str] = "image"  # or "video": frames at ``fps`` (see Video below)
    # The pipeline argument the suite's ``guidance`` goes to (also the endpoint field name).
    guidance_name: ClassVar[str] = "guidance_scale"
    takes_max_sequence_length: ClassVar[bool] = True  # the pipeline has a max_sequence_length argument
    # False where the guidance is set on the pipeline instead (``prepare``: HunyuanVideo-1.5's guider).
    guidance_in_call: ClassVar[bool] = True
    takes_negative_prompt: ClassVar[bool] = False
    default_negative_prompt: ClassVar[str | None] = None  # sent when [model] gives none
    extra_kwargs: ClassVar[dict[str, Any]] = {}  # fixed call arguments (see each family)
    # Facts techniques ask (evalsuite.accelerators.base.ModelFamily); tests check
    # diffusers_caches and hookable against the installed diffusers.
    known: ClassVar[bool] = True
    # Its transformer is a diffusers CacheMixin and its pipeline opens cache contexts.
    diffusers_caches: ClassVar[bool] = False
    hookable: ClassVar[bool] = False
    flux_blocks: ClassVar[bool] = False
    modulated_norm1: ClassVar[bool] = False
    cache_dit: ClassVar[bool] = False
    calibrated: ClassVar[frozenset[str]] = frozenset()
    # Techniques measured to fail (or do nothing) on this family although its facts say they
    # fit, with the reason: refused before anything runs, like any misfit.
    refused: ClassVar[dict[str, str]] = {}

    def serves(self, index: Mapping[str, Any]) -> bool:
        """Whether this adapter serves the pipeline of ``index`` (a ``model_index.json``)."""
        return index.get("_class_name") in self.pipelines

    def decoded(self, output: Any) -> Any:
        """The one image (``H x W x 3`` in [0, 1]) of a pipeline call's output."""
        return output.images[0]

    def call_kwargs(self, model: ModelSpec, prompt: str, seed: int) -> dict[str, Any]:
        """The pipeline's keyword arguments for one image of ``prompt`` from ``seed``'s noise."""
        import torch

        # A fresh CPU generator per (prompt, seed) gives every variant the baseline's noise.
        kwargs: dict[str, Any] = dict(
            prompt=prompt, height=model.height, width=model.width, num_inference_steps=model.steps,
            generator=torch.Generator(device="cpu").manual_seed(seed), output_type="np",
        )
        if self.guidance_in_call:
            kwargs[self.guidance_name] = model.guidance
        if (negative := self.negative_prompt(model)) is not None:
            kwargs["negative_prompt"] = negative
        if model.max_sequence_length is not None and self.takes_max_sequence_length:
            kwargs["max_sequence_length"] = model.max_sequence_length
        return {**kwargs, **self.extra_kwargs}

    def prepare(self, pipe: Any, model: ModelSpec) -> None:
        """Set on ``pipe`` what ``model`` asks for that is not a call argument (before each call;
        HunyuanVideo-1.5's guider holds its guidance). Nothing for most families."""

    def negative_prompt(self, model: ModelSpec) -> str | None:
        """The negative prompt sent with ``model`` (its own, else the family's), or None."""
        if not self.takes_negative_prompt:
            return None
        return model.negative_prompt if model.negative_prompt is not None else self.default_negative_prompt

    def transformers(self, pipe: Any) -> tuple[Any, ...]:
        """The denoising transformer(s), in the order the denoising loop first calls them."""
        return tuple(self.named_transformers(pipe).values())

    def named_transformers(self, pipe: Any) -> dict[str, Any]:
        """The denoising transformer(s) by pipeline attribute (``transformer``; Wan 2.2 adds
        ``transformer_2``, its low-noise expert), so steps are counted per transformer."""
        return {"transformer": pipe.transformer}

    def step_ranges(self, pipe: Any, steps: int) -> dict[str, range]:
        """Which of a call's ``steps`` (during it: its scheduler holds them) each transformer
        denoises; every one for a family with one transformer."""
        return {name: range(steps) for name in self.named_transformers(pipe)}

    def check_frames(self, frames: int) -> str | None:
        """Why ``frames`` frames do not fit this family's model, or None (image families: never)."""
        return f"{self.title} makes images, not clips (frames is for video families)"

    def block_lists(self, transformer: Any) -> tuple[tuple[str, Any], ...]:
        """(attribute, ``ModuleList``) of the blocks caches hook, in call order."""
        return tuple((a, getattr(transformer, a)) for a in self.block_attrs if hasattr(transformer, a))

    def blocks(self, transformer: Any) -> tuple[type, ...]:
        """The transformer block classes caches hook, in call order, each once."""
        return tuple(dict.fromkeys(type(b) for _, blocks in self.block_lists(transformer) for b in blocks))

    def tiny_id(self) -> str | None:
        """The id of this family's tiny built-in (``evalsuite.models.tiny``), if it has one."""
        from evalsuite.models import tiny

        for tiny_id in tiny.TINY_IDS:
            try:
                module = tiny.family_module(tiny_id)
            except ImportError:  # a tiny built-in registered before its module lands
                continue
            if self.serves({"_class_name": module.PIPELINE, **getattr(module, "INDEX", {})}):
                return tiny_id
        return None


FAMILIES: Registry[type[Family]] = Registry("family")
register = FAMILIES.register
