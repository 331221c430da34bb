"""The embedded tiny FLUX: deterministic, cached, loaded like a hub model; flags bad images."""

from __future__ import annotations

from pathlib import Path

import torch

from evalsuite.models.pipeline import generate, load_pipeline
from evalsuite.models.tiny import build_tiny, tiny_model_path
from evalsuite.suite.types import ModelSpec


def test_build_is_deterministic_per_seed() -> None:
    a, b = build_tiny("tiny-flux", 3), build_tiny("tiny", 3)
    c = build_tiny("tiny-flux", 4)
    for name in ("transformer", "vae", "text_encoder", "text_encoder_2"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(a.transformer.x_embedder.weight, c.transformer.x_embedder.weight)


def test_cached_model_loads_through_from_pretrained(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVALSUITE_CACHE", str(tmp_path))
    path = tiny_model_path("tiny", 0)
    assert path == tmp_path / "tiny-flux-v1-seed0"  # the folder name caches had before the families
    assert (path / "model_index.json").is_file()
    assert tiny_model_path("tiny-flux", 0) == path  # built once
    model = ModelSpec(steps=2, max_sequence_length=64)
    pipe = load_pipeline(model, "cpu")
    assert type(pipe).__name__ == "FluxPipeline"
    one = generate(pipe, model, "cpu", "a red apple", 7)
    two = generate(pipe, model, "cpu", "a red apple", 7)
    assert one.flag is None and one.image.size == (64, 64) and one.latency_s > 0
    assert one.image.tobytes() == two.image.tobytes()  # same seed, same noise, same image


def test_nan_and_black_images_are_flagged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVALSUITE_CACHE", str(tmp_path))
    model = ModelSpec(steps=1, max_sequence_length=64)
    pipe = load_pipeline(model, "cpu")
    handle = pipe.vae.decoder.register_forward_hook(lambda m, i, out: out * float("nan"))
    assert "NaN" in generate(pipe, model, "cpu", "x", 0).flag
    handle.remove()
    pipe.vae.decoder.register_forward_hook(lambda m, i, out: out * 0 - 1)
    assert generate(pipe, model, "cpu", "x", 0).flag == "all-black image"
