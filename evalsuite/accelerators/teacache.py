"""TeaCache for FLUX.1-style blocks, written as diffusers hooks (no class-level state, removable).

TeaCache (Liu et al., 2024; ali-vilab/TeaCache, TeaCache4FLUX) decides *before* running any
block whether a step may reuse the previous step's residual. Its signal is the timestep-
modulated input of block 0 (``transformer_blocks[0].norm1(hidden_states, temb)``): the
relative L1 change of that input since the previous step is rescaled by a polynomial fitted
on FLUX.1-dev, and accumulated. While the sum stays below ``threshold`` the step adds the
cached residual (output of the last block minus input of the first, image tokens) to its
input and skips every block; otherwise it computes all blocks, refreshes the residual and
resets the sum. The first and the last step are always computed.

It fits any family whose block 0 is modulated the FLUX.1 way (``ModelFamily.modulated_norm1``:
FLUX.1, SD3.5). The polynomial is per checkpoint: FLUX.1-dev's ships; for another model,
``coefficients = "calibrate"`` fits it on the baseline's traces before the variant's first
image (``evalsuite.models.calibration``), or ``coefficients = [...]`` gives it.

The hook layout mirrors diffusers' FirstBlockCache: a head hook on the first block decides,
pass-through hooks on the others skip, and the tail hook records the residual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalsuite.accelerators._hooks import num_steps
from evalsuite.accelerators.base import (
    CALIBRATE,
    ORDER_CACHE,
    Accelerator,
    Applied,
    ModelFamily,
    Param,
    StepCounter,
    expert_counters,
    register,
    transformers_of,
    unchecked,
    unresolved,
)
from reports.traces import FLUX_TEACACHE_COEFFICIENTS as FLUX_COEFFICIENTS
from reports.traces import polyval

HOOK_NAME = "evalsuite_teacache"
# (block 0, its hidden_states, its temb) -> the modulated input TeaCache decides on.
Modulate = Callable[[Any, Any, Any], Any]

if TYPE_CHECKING:  # torch is imported lazily: the suite parser imports this package
    import torch


def rescale(rel_l1: float, coefficients: tuple[float, ...] = FLUX_COEFFICIENTS) -> float:
    """The fitted polynomial: estimated output change from the input change."""
    return polyval(coefficients, rel_l1)


def _hook_classes() -> tuple[type, type, type]:
    """Build the hook classes lazily so importing this module stays cheap."""
    import torch
    from diffusers.hooks._helpers import TransformerBlockRegistry
    from diffusers.hooks.hooks import BaseState, CacheContext, ModelHook

    class TeaCacheState(BaseState):
        def __init__(self) -> None:
            self.reset()

        def reset(self) -> None:
            self.step = 0
            self.accumulated = 0.0
            self.previous_modulated: torch.Tensor | None = None
            self.residual: torch.Tensor | None = None
            self.head_input: torch.Tensor | None = None
            self.should_compute = True

    class _Base(ModelHook):
        def __init__(self, state_manager: Any) -> None:
            super().__init__()
            self.state_manager = state_manager

        def initialize_hook(self, module: torch.nn.Module) -> torch.nn.Module:
            self.meta = TransformerBlockRegistry.get(type(module))
            return module

        def state(self) -> Any:
            if self.state_manager._context is None:  # called outside a pipeline's cache_context
                self.state_manager.set_context(CacheContext(name="inference"))
            return self.state_manager.get_state()

        def passthrough(self, args: tuple, kwargs: dict, hidden: torch.Tensor) -> Any:
            if self.meta.return_encoder_hidden_states_index is None:  # Wan: a block returns one tensor
                return hidden
            encoder = self.meta._get_parameter_from_args_kwargs("encoder_hidden_states", args, kwargs)
            out: list[Any] = [None, None]
            out[self.meta.return_hidden_states_index] = hidden
            out[self.meta.return_encoder_hidden_states_index] = encoder
            return tuple(out)

    class TeaCacheHeadHook(_Base):
        _is_stateful = True

        def __init__(self, state_manager: Any, threshold: float, steps: Callable[[], int | None],
                     counter: StepCounter, coefficients: tuple[float, ...], modulate: Modulate) -> None:
            super().__init__(state_manager)
            self.threshold, self.steps, self.counter = threshold, steps, counter
            self.coefficients, self.modulate = coefficients, modulate

        def new_forward(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
            hidden = self.meta._get_parameter_from_args_kwargs("hidden_states", args, kwargs)
            temb = self.meta._get_parameter_from_args_kwargs("temb", args, kwargs)
            modulated = self.modulate(module, hidden, temb)
            state = self.state()
            compute = self._decide(state, modulated)
            if not compute:
                return self.passthrough(args, kwargs, hidden + state.residual)
            state.head_input = hidden
            return self.fn_ref.original_forward(*args, **kwargs)

        @torch.compiler.disable
        def _decide(self, state: Any, modulated: torch.Tensor) -> bool:
            n = self.steps()
            # Where the pipeline says which step this is (Wan), first and last are the image's,
            # not this transformer's: Wan 2.2's low-noise expert starts mid-image.
            context = self.state_manager._context
            step = state.step if getattr(context, "step_index", None) is None else context.step_index
            if step == 0 or state.residual is None or (n is not None and step >= n - 1):
                compute, state.accumulated = True, 0.0
            else:
                prev = state.previous_modulated
                rel = ((modulated - prev).abs().mean() / prev.abs().mean()).item()
                state.accumulated += rescale(rel, self.coefficients)
                compute = state.accumulated >= self.threshold
                if compute:
                    state.accumulated = 0.0
            state.previous_modulated = modulated
            state.should_compute = compute
            state.step += 1
            if n is not None and state.step >= n:  # as TeaCache4FLUX: the next call is a new image
                state.step = 0
            self.counter.record(compute)
            return compute

        def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
            self.state_manager.reset()
            return module

    class TeaCacheBlockHook(_Base):
        def __init__(self, state_manager: Any, is_tail: bool) -> None:
            super().__init__(state_manager)
            self.is_tail = is_tail

        def new_forward(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
            state = self.state()
            if not state.should_compute:
                hidden = self.meta._get_parameter_from_args_kwargs("hidden_states", args, kwargs)
                return self.passthrough(args, kwargs, hidden)
            out = self.fn_ref.original_forward(*args, **kwargs)
            if self.is_tail:
                hidden = out if torch.is_tensor(out) else out[self.meta.return_hidden_states_index]
                state.residual = hidden - state.head_input
                state.head_input = None
            return out

    return TeaCacheState, TeaCacheHeadHook, TeaCacheBlockHook


def flux_modulated_input(block: Any, hidden: Any, temb: Any) -> Any:
    """Block 0's modulated input the FLUX.1 way (SD3.5's too)."""
    return block.norm1(hidden, emb=temb)[0]


def apply_teacache(transformer: torch.nn.Module, threshold: float, steps: Callable[[], int | None],
                   counter: StepCounter, coefficients: tuple[float, ...] = FLUX_COEFFICIENTS,
                   block_lists: Sequence[tuple[str, Any]] | None = None,
                   modulate: Modulate = flux_modulated_input) -> None:
    """Hook TeaCache onto a transformer's blocks (``block_lists``, from the model's family;
    default FLUX.1's double then single blocks); ``modulate`` computes block 0's modulated input
    (the family's ``modulated_input``, default FLUX.1's)."""
    from diffusers.hooks.hooks import HookRegistry, StateManager

    state_cls, head_cls, block_cls = _hook_classes()
    if block_lists is None:
        block_lists = (("transformer_blocks", transformer.transformer_blocks),
                       ("single_transformer_blocks", transformer.single_transformer_blocks))
    blocks = [block for _, blocks in block_lists for block in blocks]
    if len(blocks) < 2 or not hasattr(blocks[0], "norm1"):
        raise ValueError(f"TeaCache's FLUX rule needs FLUX blocks; {type(transformer).__name__} has none")
    manager = StateManager(state_cls)
    HookRegistry.check_if_exists_or_initialize(blocks[0]).register_hook(
        head_cls(manager, threshold, steps, counter, tuple(coefficients), modulate), HOOK_NAME)
    for i, block in enumerate(blocks[1:], 1):
        HookRegistry.check_if_exists_or_initialize(block).register_hook(
            block_cls(manager, is_tail=i == len(blocks) - 1), HOOK_NAME)
    # diffusers caches which blocks carry hooks the first time a pipeline opens a cache context
    # (a calibration pass, a warm-up): without this, later contexts never reach our hooks, and
    # Wan's cond and uncond calls would share one state.
    HookRegistry.check_if_exists_or_initialize(transformer).invalidate_child_registries_cache()


def remove_teacache(transformer: torch.nn.Module) -> None:
    """Remove the hooks; the transformer computes exactly as before."""
    from diffusers.hooks.hooks import HookRegistry

    registry = HookRegistry.check_if_exists_or_initialize(transformer)
    registry.remove_hook(HOOK_NAME, recurse=True)
    registry.invalidate_child_registries_cache()


@register
class TeaCache(Accelerator):
    """TeaCache with TeaCache4FLUX's published coefficients, the suite's own, or a refit in the run."""

    name = "teacache"
    family = "cache"
    order = ORDER_CACHE
    description = (
        "TeaCache for FLUX.1-style blocks (our diffusers-hook port): skip all blocks while the rescaled, "
        "accumulated change of block 0's modulated input stays below `threshold` "
        "(published 0.25/0.4/0.6/0.8 ~ 1.5x/1.8x/2.0x/2.25x); first and last steps computed"
    )
    params = {
        "threshold": Param(float, 0.4, "accumulated rescaled relative-L1 budget; below the "
                           "polynomial's minimum (0.18 per step) nothing is skipped", min=0.0),
        "coefficients": Param(list, [], "rescale polynomial, highest power first; \"calibrate\" = "
                              "fit it on the baseline's traces before the variant runs; empty = "
                              "TeaCache4FLUX's (FLUX.1 only)", literals=(CALIBRATE,)),
    }

    def supports(self, family: ModelFamily, params: Mapping[str, Any]) -> str | None:
        if (why := unchecked(family, "TeaCache")) is not None:
            return why
        if not family.modulated_norm1:
            return (f"TeaCache's hooks read block 0's modulated input as norm1(hidden_states, emb=temb) "
                    f"and skip the image tokens apart from the text's (FLUX.1, SD3.5); {family.title}'s "
                    "blocks are built otherwise")
        if params.get("coefficients") or self.name in family.calibrated:
            return None
        return (f"TeaCache ships FLUX.1's rescale polynomial only: give {family.title}'s as "
                'coefficients = [...], or coefficients = "calibrate" to fit it on the baseline\'s traces '
                "before the variant runs")

    def check_environment(self, params: Mapping[str, Any], env: Any) -> None:
        if params["coefficients"] == CALIBRATE:
            return
        if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in params["coefficients"]):
            raise ValueError("coefficients: expected a list of numbers, highest power first")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        if params["coefficients"] == CALIBRATE:
            raise ValueError(unresolved("teacache.coefficients"))
        coefficients = tuple(float(c) for c in params["coefficients"]) or FLUX_COEFFICIENTS
        family = self.model_family
        modulate = getattr(family, "modulated_input", flux_modulated_input)
        named = transformers_of(family, pipe)
        counter, experts = expert_counters(named)
        for name, transformer in named.items():  # Wan 2.2: each expert decides on its own
            lists = family.block_lists(transformer) if family is not None else None
            apply_teacache(transformer, params["threshold"], lambda: num_steps(pipe), experts[name],
                           coefficients, lists, modulate)
        return Applied(counter=counter, notes={"coefficients": list(coefficients)},
                       experts=experts if len(named) > 1 else {})
