"""Caches whose numbers are per model, on families other than FLUX.1, through the CLI (issue 19, 4).

TeaCache ships FLUX.1's polynomial only and MagCache FLUX.1's ratios only: on another family
a suite must give its numbers or say "calibrate", which fits them on the baseline model in the
variant's worker before its first image; without either, the run is refused before anything
runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli_here
from tests.evalsuite.cli.test_families_cli import SUITE

STEPS = 4  # test_families_cli's suite


def _suite(tmp_path: Path, variants: str) -> Path:
    path = tmp_path / "calibrate.toml"
    # Two trace images: what the baseline's trace step traces, and what "calibrate" measures on.
    text = SUITE.format(model="tiny-sd35").replace("trace_images = 0", "trace_images = 2")
    path.write_text(text + variants)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """TeaCache fitted on tiny-sd35 and MagCache measured on a tiny-qwen-image variant, one run."""
    tmp = tmp_path_factory.mktemp("calibrate")
    suite = _suite(tmp, """
[[variant]]
name = "teacache-fit"
teacache = { threshold = 5.0, coefficients = "calibrate" }
[[variant]]
name = "magcache-fit"
model = "tiny-qwen-image"
magcache = { threshold = 1.0, max_skip_steps = 10, mag_ratios = "calibrate" }
""")
    out = tmp / "run"
    return out, run_cli_here("run", str(suite), "--out", str(out))


def _telemetry(run: Path, name: str) -> dict:
    return next(r for p in (run / "telemetry").glob("*.json")
                if (r := json.loads(p.read_text()))["variant"] == name)


def test_calibrate_fits_the_numbers_before_the_variant_and_the_cache_skips_with_them(calibrated) -> None:
    run, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    variants = {v["name"]: v for v in json.loads((run / "summary.json").read_text())["variants"]}
    tea = _telemetry(run, "teacache-fit")["accelerators"]["teacache"]
    fit = tea["calibration"]
    assert fit["n_images"] == 2 and len(fit["coefficients"]) == 5
    assert fit["coefficients"] == tea["coefficients"]  # what TeaCache ran with
    assert 0.0 <= fit["r2"] <= 1.0 and fit["n_points"] == 2 * (STEPS - 1)  # steps 1.. of each image
    mag = _telemetry(run, "magcache-fit")["accelerators"]["magcache"]["calibration"]
    assert mag["n_images"] == 2 and len(mag["mag_ratios"]) == STEPS and mag["mag_ratios"][0] == 1.0
    for name in ("teacache-fit", "magcache-fit"):
        assert variants[name]["status"] == "ok" and variants[name]["steps"]["skipped"] > 0, name


def test_the_fit_is_in_summary_json_the_report_and_recommend_json(calibrated) -> None:
    run, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    variants = {v["name"]: v for v in json.loads((run / "summary.json").read_text())["variants"]}
    fitted = variants["teacache-fit"]["calibration"]["teacache"]
    assert fitted == _telemetry(run, "teacache-fit")["accelerators"]["teacache"]["calibration"]
    assert variants["baseline"]["calibration"] == {}
    # The prediction from the traces runs with the fitted polynomial, not the word "calibrate".
    assert variants["teacache-fit"]["trace_prediction"]["predicted_skip_rate"] > 0
    html = (run / "report" / "index.html").read_text()
    assert "Per-model numbers fitted in the run" in html and f"R² {fitted['r2']:.3f}" in html
    rec = run_cli_here("recommend", str(run), "--metric", "sharpness", "--max-drop", "1000", "--json")
    pick = json.loads(rec.stdout)
    assert pick["variant"] in variants, rec.stderr
    assert pick["calibration"] == variants[pick["variant"]]["calibration"]  # what deploying it needs


def test_teacache_fit_equals_the_reports_refit_of_the_baselines_traces(calibrated) -> None:
    # The worker measured the first trace images on the baseline model before applying
    # TeaCache; the trace step traced the same images after the sweep: the same polynomial.
    run, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((run / "summary.json").read_text())["calibration"]["teacache"]
    fit = _telemetry(run, "teacache-fit")["accelerators"]["teacache"]["calibration"]
    assert report["coefficients"] == pytest.approx(fit["coefficients"], rel=1e-9)
    assert report["r2"] == pytest.approx(fit["r2"], rel=1e-9)


@pytest.mark.parametrize(("variant", "expected"), [
    ('teacache = { threshold = 0.4 }',
     'teacache: does not fit tiny-sd35 (SD3.5): TeaCache ships FLUX.1\'s rescale polynomial only'),
    ('model = "tiny-qwen-image"\nmagcache = { threshold = 0.1 }',
     'mag_ratios = "calibrate" measures them before the variant runs'),
    ('teacache = { coefficients = "calibrated" }', "expected list or 'calibrate'"),
])
def test_a_family_without_numbers_and_without_calibrate_is_refused_before_anything_runs(
        tmp_path: Path, variant: str, expected: str) -> None:
    suite = _suite(tmp_path, f'[[variant]]\nname = "cache"\n{variant}\n')
    out = tmp_path / "run"
    proc = run_cli_here("run", str(suite), "--out", str(out))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_serve_refuses_a_variant_whose_numbers_a_run_fits(tmp_path: Path) -> None:
    from evalsuite.errors import UserError
    from evalsuite.run.serve import config_from_args

    suite = _suite(tmp_path, '[[variant]]\nname = "fit"\nteacache = { coefficients = "calibrate" }\n')
    with pytest.raises(UserError, match='its teacache is "calibrate", fitted in a run'):
        config_from_args(None, str(suite), "fit", "cpu", 8, 0, None)
