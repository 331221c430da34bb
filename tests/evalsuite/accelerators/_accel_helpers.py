"""Helpers for the accelerator tests: tiny suites through the real runner, and in-process pipes.

Runner tests go through ``run_suite(parse_suite(...))`` so every technique is applied inside
a real isolated worker, exactly as a user's sweep would apply it.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SUITE = """
name = "accel"
[model]
id = "tiny"
steps = {steps}
device = "cpu"
max_sequence_length = 128
[prompts]
sets = ["smoke"]
limit = {limit}
seeds = [0]
[hardware]
gpu = "cpu-2vcpu"
[run]
warmup = {warmup}
[metrics]
use = ["psnr"]
[[variant]]
name = "baseline"
"""


@dataclass
class SweepResult:
    """A finished run: summary and telemetry per variant name."""

    run_dir: Path
    variants: dict[str, dict[str, Any]]
    telemetry: dict[str, dict[str, Any]]

    def skipped(self, name: str) -> int:
        """Steps skipped over the whole run by variant ``name``."""
        return int(self.variants[name]["steps"]["skipped"])

    def computed(self, name: str) -> int:
        """Steps computed over the whole run by variant ``name``."""
        return int(self.variants[name]["steps"]["computed"])


def suite_text(variants: str, *, steps: int = 8, limit: int = 1, warmup: int = 0) -> str:
    """A tiny-model suite with a baseline plus ``variants`` (``[[variant]]`` tables)."""
    return SUITE.format(steps=steps, limit=limit, warmup=warmup) + variants


def run_sweep(tmp_path: Path, variants: str, **kwargs: int) -> SweepResult:
    """Parse and run a tiny suite through the real runner; every variant must succeed."""
    from evalsuite.progress import Reporter
    from evalsuite.run.runner import run_suite
    from evalsuite.suite.spec import parse_suite

    text = suite_text(variants, **kwargs)
    suite = parse_suite(tomllib.loads(text), str(tmp_path / "accel.toml"), tmp_path)
    run_dir = tmp_path / "run"
    outcome = run_suite(suite, run_dir, Reporter())
    summary = json.loads((run_dir / "summary.json").read_text())
    by_name = {v["name"]: v for v in summary["variants"]}
    assert not outcome.failed, {n: by_name[n]["error"] for n in outcome.failed}
    telemetry = {}
    for path in (run_dir / "telemetry").glob("*.json"):
        record = json.loads(path.read_text())
        telemetry[record["variant"]] = record
    return SweepResult(run_dir, by_name, telemetry)


def tiny_pipe(steps: int = 6) -> tuple[Any, Any]:
    """The built-in tiny FLUX pipeline loaded in this process, with its model spec."""
    from evalsuite.models.pipeline import load_pipeline
    from evalsuite.suite.types import ModelSpec

    model = ModelSpec(steps=steps, max_sequence_length=128)
    return load_pipeline(model, "cpu"), model


def latents(pipe: Any, model: Any, seed: int = 0) -> np.ndarray:
    """The final latents of one generation, as float64 numbers (bit-exact comparisons)."""
    import torch

    out = pipe(prompt="a red cube on a table", height=model.height, width=model.width,
               num_inference_steps=model.steps, guidance_scale=model.guidance,
               max_sequence_length=model.max_sequence_length, output_type="latent",
               generator=torch.Generator("cpu").manual_seed(seed))
    return out.images.detach().to(torch.float64).numpy().copy()


def full_params(name: str, **given: Any) -> dict[str, Any]:
    """``given`` completed with the accelerator's defaults, validated like a suite would."""
    from evalsuite.accelerators import ACCELERATORS

    schema = ACCELERATORS.get(name).params
    return {k: p.validate(k, given.get(k, p.default)) for k, p in schema.items()}
