"""LoRA weights on a variant (``lora = { path = ..., weight_name = ..., scale = ... }``).

Loaded through diffusers' ``load_lora_weights`` (PEFT), then fused into the weights at
``scale`` and the adapter unloaded, so a LoRA variant runs at the base model's speed, the
way a distilled LoRA (Qwen-Image-Lightning) is served. ``fuse = false`` keeps the adapter
layers (slower; what a server switching LoRAs per request pays).

A local LoRA is checked before anything runs: the file exists, and every module it
targets exists in the model's transformer with the shapes it expects (diffusers would
otherwise skip keys it cannot place and run the base model in silence). The transformer is
built on the meta device from its ``config.json``, so no weights load. A LoRA on the hub is
loaded, and so checked, by the worker.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalsuite.models.families.base import Family
    from evalsuite.suite.types import LoraSpec, ModelSpec

ADAPTER = "evalsuite"
DEFAULT_WEIGHT_NAME = "pytorch_lora_weights.safetensors"  # what diffusers looks for in a folder


def is_local(lora: LoraSpec) -> bool:
    """Whether ``lora.path`` names a local file or folder rather than a hub repository."""
    return (lora.path.startswith(("/", ".", "~")) or lora.path.endswith(".safetensors")
            or lora.path.count("/") != 1 or Path(lora.path).expanduser().exists())


def lora_file(lora: LoraSpec) -> Path:
    """The local ``.safetensors`` file; ValueError (one line) when it is missing."""
    source = Path(lora.path).expanduser()
    if not source.exists():
        raise ValueError(f"lora.path: {lora.path}: no such file or folder")
    file = source if source.is_file() else source / (lora.weight_name or DEFAULT_WEIGHT_NAME)
    if not file.is_file():
        raise ValueError(f"lora: {file}: no such file (set lora.weight_name to the file in the folder)")
    return file


def _pipeline_class(family: Family) -> Any:
    import diffusers

    cls = getattr(diffusers, family.pipelines[0], None) if family.pipelines else None
    if cls is None or not hasattr(cls, "load_lora_weights"):
        raise ValueError(f"{family.title}'s pipeline takes no LoRA in diffusers {diffusers.__version__}")
    return cls


def _transformer_skeleton(model: ModelSpec) -> Any:
    """The model's transformer on the meta device (its config only), or None when unreadable."""
    import diffusers
    from accelerate import init_empty_weights

    from evalsuite.models import tiny

    try:
        if tiny.is_tiny(model.id):
            config = tiny.tiny_model_path(model.id, model.tiny_seed) / "transformer" / "config.json"
        elif Path(model.id).expanduser().is_dir():
            config = Path(model.id).expanduser() / "transformer" / "config.json"
        else:
            from huggingface_hub import hf_hub_download

            config = Path(hf_hub_download(model.id, "transformer/config.json", revision=model.revision))
        cfg = json.loads(config.read_text())
    except Exception:  # noqa: BLE001 - offline or gated: the worker checks the loaded LoRA instead
        return None
    cls = getattr(diffusers, cfg.get("_class_name", ""), None)
    if cls is None:
        return None
    with init_empty_weights():
        return cls.from_config(cfg)


def _misfit(state: dict[str, Any], transformer: Any, title: str) -> str | None:
    """Why the LoRA's transformer keys do not fit ``transformer``, or None."""
    targets = 0
    for key, tensor in state.items():
        if ".lora_A." not in key and ".lora_B." not in key:
            continue
        path = key.split(".lora_")[0]
        if path.startswith("text_encoder"):
            continue  # text-encoder LoRA: loaded by diffusers, not checked here
        path = path.removeprefix("transformer.")
        try:
            module = transformer.get_submodule(path)
        except AttributeError:
            return f"it targets {path}, which the {title} transformer does not have"
        targets += 1
        wanted = (getattr(module, "in_features", None) if ".lora_A." in key
                  else getattr(module, "out_features", None))
        have = tensor.shape[1] if ".lora_A." in key else tensor.shape[0]
        if wanted is not None and have != wanted:
            side = "input" if ".lora_A." in key else "output"
            return f"{path} has {wanted} {side} features, the LoRA's {key} has {have}"
    return None if targets else "it holds no LoRA weights for the transformer (lora_A/lora_B keys)"


def check_lora(model: ModelSpec, family: Family) -> None:
    """Raise ValueError (one line) if ``model.lora`` is missing or does not fit ``model``."""
    lora = model.lora
    if lora is None:
        return
    if lora.weight_name_2 is not None and not getattr(family, "two_experts", False):
        raise ValueError(f"lora.weight_name_2: {family.title} has one transformer (weight_name_2 is the "
                         "low-noise expert's file of a two-expert model such as Wan 2.2)")
    if not is_local(lora):
        return
    if lora.weight_name_2 is not None:
        lora_file(replace(lora, weight_name=lora.weight_name_2))  # raises when missing
    file = lora_file(lora)
    cls = _pipeline_class(family)
    try:
        state = cls.lora_state_dict(str(file.parent), weight_name=file.name)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: say what diffusers said
        why = str(exc).splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"lora: {file}: diffusers cannot read it as a LoRA ({why})") from None
    if isinstance(state, tuple):  # FLUX's loader may return (state dict, alphas)
        state = state[0]
    transformer = _transformer_skeleton(model)
    if transformer is not None and (why := _misfit(state, transformer, family.title)) is not None:
        raise ValueError(f"lora: {file.name} does not fit {model.id}: {why}")


def load_lora(pipe: Any, lora: LoraSpec) -> dict[str, Any]:
    """Load ``lora`` into ``pipe`` (fused at its scale unless ``fuse = false``); what was done.

    With ``weight_name_2`` (Wan 2.2), that file goes into the low-noise expert
    (``load_into_transformer_2``, diffusers' WanLoraLoaderMixin) under the same adapter name.
    """
    files = [(lora.weight_name, {})]
    if lora.weight_name_2 is not None:
        files.append((lora.weight_name_2, {"load_into_transformer_2": True}))
    for weight_name, into in files:
        if is_local(lora):
            file = lora_file(replace(lora, weight_name=weight_name))
            pipe.load_lora_weights(str(file.parent), weight_name=file.name, adapter_name=ADAPTER, **into)
        else:
            kwargs = {"weight_name": weight_name} if weight_name else {}
            pipe.load_lora_weights(lora.path, adapter_name=ADAPTER, **kwargs, **into)
    adapters = {c: a for c, a in pipe.get_list_adapters().items() if ADAPTER in a}
    if not adapters:
        raise ValueError(f"lora {lora.path}: diffusers placed none of its weights in the model")
    if lora.fuse:
        # diffusers fuses into ``transformer`` only unless told: name the second expert too.
        both = {"components": ["transformer", "transformer_2"]} if lora.weight_name_2 is not None else {}
        pipe.fuse_lora(lora_scale=lora.scale, adapter_names=[ADAPTER], **both)
        pipe.unload_lora_weights()  # the fused weights stay; the adapter layers go
    else:
        pipe.set_adapters([ADAPTER], [lora.scale])
    return {"lora": lora.path, "components": sorted(adapters), "fused": lora.fuse, "scale": lora.scale}
