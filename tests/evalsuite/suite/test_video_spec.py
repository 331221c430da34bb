"""Bad input for video suites (issue 20): refused before anything runs, one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.models.families.resolve import RESOLVER
from evalsuite.suite.spec import load_suite
from tests.conftest import run_cli_here

SUITE = """
name = "v"
[model]
id = "{model}"
device = "cpu"
{model_extra}
[prompts]
sets = ["{prompts}"]
limit = 1
{metrics}
[[variant]]
name = "baseline"
"""


def _suite(tmp_path: Path, model: str = "tiny-wan", prompts: str = "video_smoke", metrics: str = "",
           model_extra: str = "") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(model=model, prompts=prompts, metrics=metrics, model_extra=model_extra))
    return path


def test_a_video_suite_defaults_to_video_metrics_and_records_its_clip(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path)), RESOLVER)
    assert [m.name for m in suite.metrics] == ["psnr_video", "ssim_video"]
    assert (suite.model.frames, suite.model.fps) == (9, 16)
    assert suite.to_dict()["model"]["frames"] == 9  # the resolved copy keeps making clips


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(model_extra="frames = 10"), r"model: frames: Wan 2.1 makes 4k\+1 frames"),
    (dict(metrics='[metrics]\nuse = ["psnr"]'), "metrics.use: psnr scores images and tiny-wan makes clips"),
    (dict(model="tiny", prompts="smoke", metrics='[metrics]\nuse = ["ssim_video"]'),
     "metrics.use: ssim_video scores videos and tiny makes images"),
    (dict(model="tiny", metrics='[metrics]\nuse = ["psnr"]'),
     "prompts.sets: video_smoke is a video prompt set and tiny makes images"),
    (dict(model="tiny", prompts="smoke", model_extra="frames = 9"), "FLUX.1 makes images, not clips"),
])
def test_mismatched_clips_and_images_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_suite(str(_suite(tmp_path, **kwargs)), RESOLVER)


def test_the_cli_refuses_in_one_line_with_exit_2(tmp_path: Path) -> None:
    proc = run_cli_here("run", str(_suite(tmp_path, model_extra="frames = 12")), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "12 does not fit; 9 or 13 would" in proc.stderr
    assert not (tmp_path / "r").exists()
