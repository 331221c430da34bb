"""LoRA on a variant: checked before anything runs, loaded and fused through diffusers (issue 19, 5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from evalsuite.models.families import get
from evalsuite.models.families.lora import check_lora, load_lora
from evalsuite.suite.types import LoraSpec, ModelSpec

MODEL = ModelSpec(id="tiny-flux", steps=2, height=32, width=32, device="cpu", family="flux")
TARGETS = ("transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.proj_out")


def write_lora(path: Path, rank: int = 2, extra_in: int = 0, target: str | None = None) -> Path:
    """A diffusers-format LoRA for the tiny FLUX transformer (``extra_in`` breaks its shapes)."""
    import json

    import torch
    from safetensors.torch import save_file

    from evalsuite.models.tiny import tiny_model_path

    cfg = json.loads((tiny_model_path("tiny-flux") / "transformer" / "config.json").read_text())
    from diffusers import FluxTransformer2DModel

    transformer = FluxTransformer2DModel.from_config(cfg)
    state = {}
    gen = torch.Generator().manual_seed(0)
    for name in (target,) if target else TARGETS:
        module = transformer.get_submodule(name) if target is None else None
        n_in = (module.in_features if module is not None else 8) + extra_in
        n_out = module.out_features if module is not None else 8
        state[f"transformer.{name}.lora_A.weight"] = torch.randn(rank, n_in, generator=gen)
        state[f"transformer.{name}.lora_B.weight"] = torch.randn(n_out, rank, generator=gen)
    save_file(state, str(path))
    return path


def test_a_fitting_lora_passes_and_fuses_into_the_weights(tmp_path: Path) -> None:
    import torch

    from evalsuite.models.pipeline import generate, load_pipeline

    lora = LoraSpec(str(write_lora(tmp_path / "fits.safetensors")), scale=0.5)
    model = replace(MODEL, lora=lora)
    check_lora(model, get("flux"))
    plain = load_pipeline(MODEL, "cpu")
    fused = load_pipeline(model, "cpu")  # load_lora, then fused and unloaded
    assert not any("lora" in n for n, _ in fused.transformer.named_modules())  # adapter layers gone
    q0 = "transformer_blocks.0.attn.to_q.weight"
    assert not torch.equal(plain.transformer.state_dict()[q0], fused.transformer.state_dict()[q0])
    a = generate(plain, MODEL, "cpu", "a red cube", 0).image
    b = generate(fused, model, "cpu", "a red cube", 0).image
    assert a.tobytes() != b.tobytes()


def test_load_lora_reports_what_it_did(tmp_path: Path) -> None:
    from diffusers import DiffusionPipeline

    from evalsuite.models.tiny import tiny_model_path

    pipe = DiffusionPipeline.from_pretrained(str(tiny_model_path("tiny-flux")))
    lora = LoraSpec(str(write_lora(tmp_path / "l.safetensors")), fuse=False, scale=0.7)
    done = load_lora(pipe, lora)
    assert done == {"lora": lora.path, "components": ["transformer"], "fused": False, "scale": 0.7}


@pytest.mark.parametrize(("kind", "message"), [
    ("missing", r"lora.path: .*missing.safetensors: no such file or folder"),
    ("shape", r"lora: shape.safetensors does not fit tiny-flux: \S+ has \d+ input features, the LoRA's "
              r"\S+lora_A.weight has \d+"),
    ("module", r"lora: module.safetensors does not fit tiny-flux: it targets transformer_blocks.9.attn.to_q, "
               r"which the FLUX.1 transformer does not have"),
    ("folder", r"lora: .*pytorch_lora_weights.safetensors: no such file"),
])
def test_a_missing_or_misfit_lora_is_one_line(tmp_path: Path, kind: str, message: str) -> None:
    path = {"missing": lambda: tmp_path / "missing.safetensors",
            "shape": lambda: write_lora(tmp_path / "shape.safetensors", extra_in=3),
            "module": lambda: write_lora(tmp_path / "module.safetensors",
                                         target="transformer_blocks.9.attn.to_q"),
            "folder": lambda: tmp_path}[kind]()
    with pytest.raises(ValueError, match=message) as err:
        check_lora(replace(MODEL, lora=LoraSpec(str(path))), get("flux"))
    assert "\n" not in str(err.value)
