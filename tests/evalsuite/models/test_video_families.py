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
    assert "transformer_2" in families.support("magcache", "wan22", {"mag_ratios": [1.0, 1.0]})
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
