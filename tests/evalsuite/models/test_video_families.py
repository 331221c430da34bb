"""Video families (issue 20 §1): Wan 2.1 and Wan 2.2 found from their index, their clips' frame
rule and defaults, their tiny built-ins, and caches that keep each expert and each guidance
pass apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evalsuite.models import families
from evalsuite.models.families.resolve import RESOLVER
from evalsuite.suite.types import AcceleratorUse, ModelSpec


def _folder(tmp_path: Path, **index: Any) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", **index}))
    return str(folder)


def test_wan_22_is_told_from_wan_21_by_its_second_expert(tmp_path: Path) -> None:
    folder = _folder(tmp_path, transformer_2=["diffusers", "WanTransformer3DModel"])
    two = RESOLVER.resolve(ModelSpec(id=folder), set())
    assert (two.family, two.steps, two.height, two.width) == ("wan22", 40, 720, 1280)
    assert (two.frames, two.fps) == (81, 16)
    one = RESOLVER.resolve(ModelSpec(id="tiny-wan"), set())  # a tiny built-in: 9 frames at 32²
    assert (one.family, one.height, one.frames, one.fps, one.guidance) == ("wan", 32, 9, 16, 5.0)
    assert RESOLVER.resolve(ModelSpec(id="tiny-wan22", frames=13, fps=24), {"frames", "fps"}).frames == 13


def test_frames_the_family_refuses_and_frames_on_an_image_model() -> None:
    with pytest.raises(ValueError, match=r"Wan 2.2 makes 4k\+1 frames .* 10 does not fit; 9 or 13 would"):
        RESOLVER.resolve(ModelSpec(id="tiny-wan22", frames=10), {"frames"})
    with pytest.raises(ValueError, match="fps: FLUX.1 makes images, not clips"):
        RESOLVER.resolve(ModelSpec(id="tiny", fps=8), {"fps"})


def test_wan_22_refuses_what_would_leave_its_second_expert_unaccelerated() -> None:
    assert families.support("fbcache", "wan22") is None and families.support("torchao", "wan22") is None
    assert "transformer_2" in families.support("taylorseer", "wan22")
    assert families.support("magcache", "wan22", {"mag_ratios": "calibrate"}) is None
    assert families.support("teacache", "wan22", {"coefficients": "calibrate"}) is None
    assert "calibrate" in families.support("teacache", "wan")  # no Wan polynomial ships


@pytest.fixture(scope="module")
def wan22() -> tuple[Any, ModelSpec]:
    from evalsuite.models.pipeline import load_pipeline

    model = RESOLVER.resolve(ModelSpec(id="tiny-wan22", steps=3, device="cpu"), {"steps"})
    return load_pipeline(model, "cpu"), model


def test_tiny_wan22_loads_with_two_experts_and_makes_a_seeded_clip(wan22: tuple[Any, ModelSpec]) -> None:
    from evalsuite.models.pipeline import generate

    pipe, model = wan22
    assert families.family_of(ModelSpec(id="tiny-wan22"), pipe).name == "wan22"
    assert families.get("wan22").named_transformers(pipe).keys() == {"transformer", "transformer_2"}
    assert pipe.config.boundary_ratio == 0.875
    one, two = (generate(pipe, model, "cpu", "a cat", 7) for _ in range(2))
    other = generate(pipe, model, "cpu", "a cat", 8)
    assert one.frames.shape == (9, 32, 32, 3) and one.flag is None
    assert np.array_equal(one.frames, two.frames) and not np.array_equal(one.frames, other.frames)
    assert np.array_equal(np.asarray(one.image), one.frames[4])  # the poster is the middle frame


def test_teacache_keeps_cond_and_uncond_apart_after_an_earlier_call(tmp_path: Path) -> None:
    """diffusers caches which blocks carry hooks the first time a pipeline opens a cache context;
    TeaCache applied after any earlier call (a calibration pass, the warm-up) used to share one
    state between Wan's cond and uncond calls (every decision in context "inference")."""
    from evalsuite.accelerators import teacache
    from evalsuite.models.pipeline import apply_accelerators, generate, load_pipeline

    model = RESOLVER.resolve(ModelSpec(id="tiny-wan", steps=3, device="cpu"), {"steps"})
    pipe = load_pipeline(model, "cpu")
    generate(pipe, model, "cpu", "a cat", 0)  # before the technique: the hook list is cached
    use = AcceleratorUse("teacache", (("threshold", 10.0), ("coefficients", [1.0, 0.0])))
    family, (applied,) = apply_accelerators(pipe, model, [use])
    head = pipe.transformer.blocks[0]._diffusers_hook.hooks[teacache.HOOK_NAME]
    decide, seen = head._decide, []

    def spy(state: Any, modulated: Any) -> bool:
        seen.append(head.state_manager._context.name)
        return decide(state, modulated)

    head._decide = spy
    generate(pipe, model, "cpu", "a cat", 0, family)
    assert seen == ["cond", "uncond"] * 3
    assert (applied.counter.computed, applied.counter.skipped) == (4, 2)  # first and last steps of each


def _wan_lora(path: Path, seed: int) -> Path:
    """A diffusers-format LoRA on block 0's self-attention query of a tiny Wan expert."""
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    save_file({"transformer.blocks.0.attn1.to_q.lora_A.weight": torch.randn(2, 24, generator=gen),
               "transformer.blocks.0.attn1.to_q.lora_B.weight": torch.randn(24, 2, generator=gen)}, str(path))
    return path


def test_a_two_expert_lora_fuses_one_file_into_each_expert(tmp_path: Path,
                                                          wan22: tuple[Any, ModelSpec]) -> None:
    """As Wan2.2-Lightning ships it: high_noise_model and low_noise_model files, one per expert."""
    import dataclasses

    import torch

    from evalsuite.models.families.lora import check_lora
    from evalsuite.models.pipeline import load_pipeline
    from evalsuite.suite.types import LoraSpec

    _wan_lora(tmp_path / "high_noise_model.safetensors", 0)
    _wan_lora(tmp_path / "low_noise_model.safetensors", 1)
    lora = LoraSpec(str(tmp_path), weight_name="high_noise_model.safetensors",
                    weight_name_2="low_noise_model.safetensors")
    plain, model = wan22
    check_lora(dataclasses.replace(model, lora=lora), families.get("wan22"))
    fused = load_pipeline(dataclasses.replace(model, lora=lora), "cpu")
    q = "blocks.0.attn1.to_q.weight"
    for name in ("transformer", "transformer_2"):
        before, after = getattr(plain, name).state_dict()[q], getattr(fused, name).state_dict()[q]
        assert not torch.equal(before, after), name  # fused into both experts
        assert not any("lora" in n for n, _ in getattr(fused, name).named_modules())
    with pytest.raises(ValueError, match="weight_name_2: Wan 2.1 has one transformer"):
        check_lora(dataclasses.replace(model, lora=lora), families.get("wan"))


def test_tiny_hunyuan_video15_takes_its_guidance_through_the_guider() -> None:
    from evalsuite.models.pipeline import generate, load_pipeline

    model = RESOLVER.resolve(ModelSpec(id="tiny-hunyuan-video15", steps=2, guidance=3.0, device="cpu"),
                             {"steps", "guidance"})
    assert (model.family, model.frames, model.fps) == ("hunyuan_video15", 9, 24)
    family = families.get("hunyuan_video15")
    assert "guidance_scale" not in family.call_kwargs(model, "p", 0)  # not a call argument
    pipe = load_pipeline(model, "cpu")
    assert pipe.guider.guidance_scale == 6.0  # as the checkpoint ships it
    clip = generate(pipe, model, "cpu", "a cat", 0, family)
    assert pipe.guider.guidance_scale == 3.0 and clip.frames.shape == (9, 32, 32, 3) and clip.flag is None


def test_the_real_video_suites_validate_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    from evalsuite.suite.sweep import load_suites

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _, [wan] = load_suites("wan22-t2v", RESOLVER)
    suite = wan.suite
    model = suite.model
    assert (model.family, model.frames, model.height, model.steps) == ("wan22", 81, 720, 40)
    uses = {(a.name, tuple(sorted(dict(a.params).items()))) for v in suite.variants for a in v.accelerators}
    assert {name for name, _ in uses} == {"fbcache", "magcache", "teacache", "torchao", "context_parallel"}
    assert {dict(p)["ulysses"] for n, p in uses if n == "context_parallel"} == {2, 4}
    lightning = next(v for v in suite.variants if v.name == "lightning-4step")
    lora = dict(lightning.model)["lora"]
    assert lora.weight_name_2 and dict(lightning.generation) == {"steps": 4, "guidance": 1.0}
    _, [hunyuan] = load_suites("hunyuan-video15", RESOLVER)
    assert (hunyuan.suite.model.family, hunyuan.suite.model.frames) == ("hunyuan_video15", 121)


def test_tiny_ltx2_makes_a_clip_sends_its_frame_rate_and_ignores_the_audio() -> None:
    from evalsuite.models.pipeline import generate, load_pipeline

    model = RESOLVER.resolve(ModelSpec(id="tiny-ltx2", steps=2, fps=12, device="cpu"), {"steps", "fps"})
    assert (model.family, model.frames) == ("ltx2", 9)
    assert families.get("ltx2").call_kwargs(model, "p", 0)["frame_rate"] == 12.0  # it shapes the clip
    with pytest.raises(ValueError, match=r"LTX-2 makes 8k\+1 frames"):
        RESOLVER.resolve(ModelSpec(id="tiny-ltx2", frames=13), {"frames"})
    clip = generate(load_pipeline(model, "cpu"), model, "cpu", "a robot dancing", 0)
    assert clip.frames.shape == (9, 32, 32, 3) and clip.flag is None


def test_magcache_is_calibrated_and_applied_per_expert() -> None:
    """Each expert measures its own steps' magnitude ratios (the clip's table is the two in step
    order, the low-noise expert's first step a fresh 1.0) and caches with its own slice of it."""
    from evalsuite.models.calibration import resolve_uses
    from evalsuite.models.pipeline import apply_accelerators, count_denoiser_calls, generate, load_pipeline

    model = RESOLVER.resolve(ModelSpec(id="tiny-wan22", steps=4, device="cpu"), {"steps"})
    pipe, family = load_pipeline(model, "cpu"), families.get("wan22")
    pipe.scheduler.set_timesteps(4)  # what the pipeline sets before its first step
    assert {k: list(v) for k, v in family.step_ranges(pipe, 4).items()} == {"transformer": [0, 1],
                                                                            "transformer_2": [2, 3]}
    use = AcceleratorUse("magcache", (("threshold", 0.5), ("max_skip_steps", 3), ("retention_ratio", 0.0),
                                      ("calibrate", False), ("mag_ratios", "calibrate")))
    resolved = resolve_uses(pipe, model, family, [use], [("p", "a dog", 0)], "cpu")
    table = resolved.records["magcache"]["mag_ratios"]
    assert len(table) == 4 and table[0] == table[2] == 1.0  # each expert's first step
    family, (applied,) = apply_accelerators(pipe, model, resolved.uses)
    calls = count_denoiser_calls(pipe, family)
    generate(pipe, model, "cpu", "a cat", 0, family)
    assert calls == {"transformer": 4, "transformer_2": 4}  # 2 steps each, cond and uncond
    assert {k: v.computed + v.skipped for k, v in applied.experts.items()} == calls
    assert applied.experts["transformer_2"].skipped > 0
