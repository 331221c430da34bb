"""``evalsuite serve`` for every family: its tiny built-ins, its guidance field, its negative prompt
(issue 19, 7)."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from PIL import Image

from evalsuite.errors import UserError
from evalsuite.models import families
from evalsuite.run.serve import PipelineRunner, config_from_args, parse_generation
from evalsuite.suite.types import ModelSpec
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard

QWEN = ModelSpec(id="x", family="qwen_image")


def _tiny_ids() -> list[str]:
    """The tiny id of every family whose built-in exists in this version."""
    return [t for n in families.names() if (t := families.get(n).tiny_id()) is not None]


def test_guidance_comes_under_the_familys_name_and_nothing_is_dropped() -> None:
    _, _, model = parse_generation({"prompt": "x", "true_cfg_scale": 2.5, "negative_prompt": "blur"}, QWEN)
    assert (model.guidance, model.negative_prompt) == (2.5, "blur")
    with pytest.raises(ValueError, match="guidance_scale: Qwen-Image takes its guidance as true_cfg_scale"):
        parse_generation({"prompt": "x", "guidance_scale": 2.5}, QWEN)
    with pytest.raises(ValueError, match="negative_prompt: FLUX.1 takes no negative prompt"):
        parse_generation({"prompt": "x", "negative_prompt": "blur"}, ModelSpec(id="tiny"))
    with pytest.raises(ValueError, match="negative_prompt: expected a string"):
        parse_generation({"prompt": "x", "negative_prompt": 3}, QWEN)


def test_model_resolves_its_family_and_defaults_and_refuses_unknown_ids() -> None:
    config = config_from_args("tiny-qwen-image", None, None, "cpu", 2, 0, None)
    assert config.model.family == "qwen_image" and config.model.guidance == 4.0  # Qwen-Image's true CFG
    with pytest.raises(UserError, match="--model: unknown tiny model 'tiny-nope'"):
        config_from_args("tiny-nope", None, None, "cpu", 2, 0, None)


@pytest.mark.parametrize("tiny_id", _tiny_ids())
def test_every_tiny_built_in_serves_an_image(tiny_id: str) -> None:
    """In process, through the same runner the server calls (one image per family, tiny size)."""
    config = config_from_args(tiny_id, None, None, "cpu", 2, 0, None)
    runner = PipelineRunner(config)
    _, _, model = parse_generation({"prompt": "a red cube", "seed": 3, "size": "32x32",
                                    "num_inference_steps": 2}, config.model)
    png, seconds, _ = runner.run("a red cube", 3, model)
    # HiDream's pipeline rescales every request to its own minimum area (128² for the tiny one).
    assert min(Image.open(io.BytesIO(png)).size) >= 32 and seconds > 0


class Served(NamedTuple):
    announced: str  # the server's first line
    failure: str  # its stderr, when it ended before announcing
    status: int | None
    body: str
    size: tuple[int, int] | None  # the image's


def serve_qwen_and_ask(tmp: Path, env: dict[str, str]) -> Served:
    """``evalsuite serve --model tiny-qwen-image`` as a user starts it, asked for one image
    with Qwen-Image's own fields, then stopped (a job started ahead, see tests/ahead.py)."""
    proc = subprocess.Popen([sys.executable, "-m", "evalsuite", "serve", "--model", "tiny-qwen-image",
                             "--port", "0", "--device", "cpu", "--warmup", "0"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # announced once the model is loaded
        if "serving tiny-qwen-image on " not in line:
            return Served(line, proc.stderr.read() if proc.poll() is not None else "", None, "", None)
        url = line.split(" on ", 1)[1].split()[0]
        resp = httpx.post(f"{url}/images/generations", timeout=hang_guard(), json={
            "prompt": "a red cube", "seed": 1, "size": "32x32", "num_inference_steps": 2,
            "true_cfg_scale": 3.0, "negative_prompt": "blurry"})
        size = None
        if resp.status_code == 200:
            size = Image.open(io.BytesIO(base64.b64decode(resp.json()["data"][0]["b64_json"]))).size
        return Served(line, "", resp.status_code, resp.text[:2000], size)
    finally:
        proc.terminate()
        proc.wait(hang_guard())


@runs_ahead(serve_qwen_and_ask)
def test_serve_tiny_qwen_image_from_the_command_line(ahead: Ahead) -> None:
    """As a user starts it; the request sends Qwen-Image's own fields."""
    served = ahead(serve_qwen_and_ask)
    assert "serving tiny-qwen-image on " in served.announced, served.failure or served.announced
    assert served.status == 200, served.body
    assert served.size == (32, 32)


def test_an_endpoint_variant_gets_the_fields_the_local_model_would() -> None:
    from evalsuite.run.endpoint_variants import family_fields

    assert family_fields(QWEN) == ("true_cfg_scale", " ")  # Qwen-Image's CFG needs a negative prompt
    assert family_fields(ModelSpec(id="tiny")) == ("guidance_scale", None)
    sd35 = ModelSpec(id="x", family="sd35", negative_prompt="blurry")
    assert family_fields(sd35) == ("guidance_scale", "blurry")
