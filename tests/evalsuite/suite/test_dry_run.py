"""Metric presets, the flagship suite and ``run --dry-run`` (nothing loaded or downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.suite.dry_run import format_plan, plan
from evalsuite.suite.presets import METRIC_PRESETS, expand_metric_presets
from evalsuite.suite.spec import load_suite
from tests.conftest import run_cli


def test_presets_expand_in_place_without_duplicates():
    flagship = METRIC_PRESETS["inferbench"][1]
    assert expand_metric_presets(["psnr", "@inferbench"]) == ["psnr", *[m for m in flagship if m != "psnr"]]
    with pytest.raises(KeyError, match="unknown metric preset '@nope'"):
        expand_metric_presets(["@nope"])


def test_flagship_suite_and_seed_suites_score_the_learned_metrics():
    suite = load_suite("inferbench")
    assert [u.name for u in suite.metrics] == list(METRIC_PRESETS["inferbench"][1])
    assert len(suite.metrics) == 11 and suite.report.noise_floor
    assert {b.metric for b in suite.report.budgets} == {"image_reward", "lpips"}
    assert dict(suite.prompts.set_limits) == {"parti": 300, "hpsv2": 200}
    for name in ("flux-dev-fbcache", "para-attn-flux", "modal-flux", "flux-gpu-study"):
        assert {"image_reward", "clip_score"} <= {u.name for u in load_suite(name).metrics}


def test_dry_run_counts_images_downloads_and_time():
    suite = load_suite("inferbench")
    p = plan(suite, "H100")
    assert p.prompts == 200 + 300 + 200 + 553 and p.prompts_exact
    assert all(n == 1253 for n in p.images.values()) and len(p.images) == 8  # + noise floor
    assert p.downloads["black-forest-labs/FLUX.1-dev"] == pytest.approx(33.7)
    assert "yuvalkirstain/PickScore_v1" in p.downloads and "THUDM/ImageReward" in p.downloads
    assert 3 < p.seconds_per_image < 6  # 28 x 74 TFLOP / (989 TFLOP/s x 0.5) = 4.2 s
    text = format_plan(p, suite)
    assert "10024 timed" in text and "basis:" in text and "time on H100" in text
    assert plan(suite, "no-such-gpu").seconds_per_image is None


def test_dry_run_from_the_cli_touches_nothing(tmp_path: Path):
    proc = run_cli("run", "--dry-run", "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert "images to generate: 40 timed + 5 warm-up" in proc.stdout
    assert "models to download (unless cached): none" in proc.stdout
    assert not (tmp_path / "run").exists()


def test_unknown_preset_is_a_one_line_suite_error(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[metrics]\nuse = ["@nope"]\n[[variant]]\nname = "baseline"\n')
    with pytest.raises(UserError, match=r"metrics.use.*unknown metric preset '@nope'"):
        load_suite(str(bad))
