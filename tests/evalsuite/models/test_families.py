"""Family adapters: found from model_index.json, called as each pipeline's signature says, and
asked by techniques before anything runs (issue 19, 1)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from evalsuite.accelerators import ACCELERATORS
from evalsuite.models import families
from evalsuite.models.families.detect import pipeline_class
from evalsuite.models.families.resolve import RESOLVER
from evalsuite.suite.types import ModelSpec

FAMILY_NAMES = ["chroma", "flux", "flux2", "hidream", "hunyuan_video15", "ltx2", "qwen_image", "sana", "sd35",
                "wan", "wan22", "z_image"]


def _folder(tmp_path: Path, class_name: str) -> Path:
    """A folder whose model_index.json names ``class_name`` (all detection reads)."""
    folder = tmp_path / class_name
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    return folder


def test_every_family_is_registered_once_and_serves_its_pipelines() -> None:
    assert families.names() == [*FAMILY_NAMES, "generic"]
    served = [p for n in FAMILY_NAMES if n != "wan22" for p in families.get(n).pipelines]
    assert len(served) == len(set(served))  # one adapter per pipeline class ...
    for name in FAMILY_NAMES:
        for pipeline in families.get(name).pipelines:
            index = {"_class_name": pipeline}
            if name == "wan22":  # ... but Wan 2.2 is WanPipeline with a second expert in its index
                index["transformer_2"] = ["diffusers", "WanTransformer3DModel"]
            assert families.family_for_index(index).name == name
    wan21 = {"_class_name": "WanPipeline", "transformer_2": [None, None]}  # Wan 2.1's index
    assert families.family_for_index(wan21).name == "wan"
    assert families.family_for_class("LTXPipeline").name == "generic"
    assert "Flux2KleinPipeline" in families.get("flux2").pipelines


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_call_kwargs_are_arguments_the_pipeline_takes(name: str) -> None:
    """Every argument the adapter sends exists in the installed pipeline's __call__."""
    import diffusers

    family = families.get(name)
    model = ModelSpec(id="x", steps=3, guidance=2.0, height=32, width=48, max_sequence_length=64,
                      negative_prompt="blurry" if family.takes_negative_prompt else None)
    kwargs = family.call_kwargs(model, "a red cube", seed=5)
    assert kwargs.get(family.guidance_name) == (2.0 if family.guidance_in_call else None)
    assert (kwargs["height"], kwargs["width"], kwargs["num_inference_steps"]) == (32, 48, 3)
    assert kwargs["generator"].initial_seed() == 5
    for pipeline in family.pipelines:
        accepted = set(inspect.signature(getattr(diffusers, pipeline).__call__).parameters)
        assert set(kwargs) <= accepted, (pipeline, set(kwargs) - accepted)
    assert ("negative_prompt" in kwargs) == family.takes_negative_prompt


def test_qwen_image_sends_true_cfg_and_its_default_negative_prompt() -> None:
    kwargs = families.get("qwen_image").call_kwargs(ModelSpec(id="x", guidance=4.0), "p", 0)
    assert kwargs["true_cfg_scale"] == 4.0 and "guidance_scale" not in kwargs
    assert kwargs["negative_prompt"] == " "  # without one, QwenImagePipeline runs no CFG at all
    flux = families.get("flux").call_kwargs(ModelSpec(id="x", guidance=3.5), "p", 0)
    assert flux["guidance_scale"] == 3.5 and "negative_prompt" not in flux
    assert families.get("sana").call_kwargs(ModelSpec(id="x"), "p", 0)["use_resolution_binning"] is False


def test_pipeline_class_from_tiny_ids_folders_and_bad_ids(tmp_path: Path) -> None:
    assert pipeline_class("tiny") == pipeline_class("tiny-flux") == "FluxPipeline"
    assert pipeline_class(str(_folder(tmp_path, "QwenImagePipeline"))) == "QwenImagePipeline"
    with pytest.raises(ValueError, match="unknown tiny model 'tiny-nope'"):
        pipeline_class("tiny-nope")
    with pytest.raises(ValueError, match="no such folder"):
        pipeline_class(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no model_index.json"):
        pipeline_class(str(tmp_path / "empty"))


def test_hub_id_offline_says_to_name_the_family(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # nothing cached
    with pytest.raises(ValueError) as err:
        pipeline_class("Qwen/Qwen-Image")
    assert 'family = "..."' in str(err.value) and "qwen_image" in str(err.value)
    assert "\n" not in str(err.value)


def test_resolve_fills_the_family_and_its_defaults(tmp_path: Path) -> None:
    qwen = str(_folder(tmp_path, "QwenImagePipeline"))
    got = RESOLVER.resolve(ModelSpec(id=qwen, steps=8), {"id", "steps"})
    assert (got.family, got.steps, got.guidance, got.height, got.width) == ("qwen_image", 8, 4.0, 1328, 1328)
    tiny = RESOLVER.resolve(ModelSpec(id="tiny"), {"id"})  # a tiny built-in keeps the tiny size
    assert (tiny.family, tiny.steps, tiny.height) == ("flux", ModelSpec().steps, ModelSpec().height)
    unknown = RESOLVER.resolve(ModelSpec(id=str(_folder(tmp_path, "KolorsPipeline"))), {"id"})
    assert unknown.family == "generic"
    named = RESOLVER.resolve(ModelSpec(id="someone/private", family="sd35"), {"id", "family"})
    assert (named.family, named.guidance) == ("sd35", 3.5)  # no hub lookup when the family is named
    with pytest.raises(ValueError, match="unknown family 'fluxx'"):
        RESOLVER.resolve(ModelSpec(id="tiny", family="fluxx"), {"id", "family"})
    with pytest.raises(ValueError, match="FLUX.1 takes no negative prompt"):
        RESOLVER.resolve(ModelSpec(id="tiny", negative_prompt="blurry"), {"id", "negative_prompt"})


def test_support_asks_the_family_never_a_class_name() -> None:
    assert families.support("fbcache", "flux") is None
    chroma = families.support("fbcache", "chroma")
    assert "Chroma" in chroma and "cache API" in chroma  # ChromaPipeline opens no cache context
    assert "FLUX.1" in families.support("teacache", "qwen_image")
    assert families.support("teacache", "flux") is None
    assert "magnitude ratios" in families.support("magcache", "qwen_image")
    assert families.support("magcache", "qwen_image", {"calibrate": True}) is None
    assert "diffusers' cache API" in families.support("taylorseer", "sd35")  # no transformer.enable_cache
    assert "fails on FLUX.2" in families.support("fbcache", "flux2")  # measured: refused by the family
    # An unknown pipeline runs every model-independent technique and nothing else.
    fits = {name for name in ACCELERATORS.names() if families.support(name, "generic") is None}
    assert fits == {"torchao", "compile", "channels_last", "attention_backend"}
    with pytest.raises(ValueError, match="unknown family"):
        families.support("fbcache", "nope")


def test_declared_facts_match_diffusers_on_each_tiny_built_in() -> None:
    """hookable and diffusers_caches against diffusers itself, on every family whose tiny
    built-in exists."""
    from diffusers.hooks._helpers import TransformerBlockRegistry
    from diffusers.models.cache_utils import CacheMixin

    from evalsuite.models.tiny import build_tiny

    checked = 0
    for name in FAMILY_NAMES:
        family = families.get(name)
        tiny_id = family.tiny_id()
        if tiny_id is None:
            continue
        pipe = build_tiny(tiny_id)
        assert families.family_for_index(families.index_of(pipe)).name == name
        for transformer in family.transformers(pipe):  # Wan 2.2: each expert
            blocks = family.blocks(transformer)
            assert blocks, name
            TransformerBlockRegistry._register()  # diffusers registers its blocks lazily
            assert family.hookable == all(b in TransformerBlockRegistry._registry for b in blocks), name
            opens_contexts = "cache_context" in inspect.getsource(type(pipe).__call__)
            assert family.diffusers_caches == (isinstance(transformer, CacheMixin) and opens_contexts), name
        checked += 1
    assert checked >= 1
