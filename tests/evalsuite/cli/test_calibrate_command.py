"""``evalsuite calibrate``: one run on the tiny FLUX, its files loaded back by their consumers,
resuming after a kill, ``calibration =`` in run and tune, and bad input (issue 21 §1)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from evalsuite.suite.calibration_ref import read_calibration
from reports.calibrate_records import ModelIdentity
from reports.jsonio import to_json
from tests.conftest import run_cli_here

PROMPTS = Path(__file__).parents[3] / "evalsuite" / "suites" / "tune-smoke-prompts.txt"
SUITE = f"""
name = "cal"
baseline = "baseline"
[model]
id = "{{model}}"
steps = 6
height = 32
width = 32
device = "cpu"
max_sequence_length = 64
[prompts]
seeds = [0]
[[prompts.file]]
name = "tune-smoke"
path = "{PROMPTS}"
[run]
warmup = 0
[metrics]
use = ["psnr"]
[[variant]]
name = "baseline"
"""
CALIBRATE = """
[calibrate]
caches = ["teacache", "magcache", "cache_dit"]
prompts = 4
holdout = 2
skip_rates = [0.3]
params = { cache_dit = { Fn_compute_blocks = 1, max_warmup_steps = 1 } }
"""


def _suite(folder: Path, extra: str = CALIBRATE, model: str = "tiny") -> Path:
    path = folder / "suite.toml"
    path.write_text(SUITE.format(model=model) + extra)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """One calibration of the tiny FLUX: 4 prompts traced, 3 caches, each measured at one threshold."""
    tmp = tmp_path_factory.mktemp("calibrate")
    suite, out = _suite(tmp), tmp / "out"
    return suite, out, run_cli_here("calibrate", str(suite), "--out", str(out))


def test_calibration_json_names_the_model_and_judges_each_fit(calibrated) -> None:
    _, out, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    cal = read_calibration(out / "calibration.json")
    assert cal.model == ModelIdentity("tiny", None, "flux", "float32")
    assert [t.name for t in cal.transformers] == ["transformer"] and cal.transformers[0].steps == 6
    tea = cal.transformers[0].cache("teacache")
    assert tea is not None and len(tea.params["coefficients"]) == 5
    assert tea.r2 is not None and tea.r2.lo is not None and tea.r2.hi is not None and tea.r2.n_prompts == 2
    assert tea.stability is not None and tea.stability.n_prompts == (2,)
    for fit in cal.transformers[0].caches:
        assert fit.checks, fit.cache
        for check in fit.checks:  # run for real on the held-out prompts
            assert check.measured is not None and check.agreement is not None, fit.cache
    assert f"teacache: {tea.verdict}" in proc.stdout and "measured" in proc.stdout


def test_the_diffusers_file_builds_a_magcache_config_that_runs_on_the_tiny_model(calibrated) -> None:
    from diffusers import MagCacheConfig

    from evalsuite.models.families import family_of
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.models.pipeline import generate, load_pipeline
    from evalsuite.suite.spec import load_suite

    suite, out, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    scope: dict = {}
    exec((out / "exports" / "diffusers_caches.py").read_text(), scope)  # noqa: S102 - our own output
    config = scope["magcache_config"]
    fit = read_calibration(out / "calibration.json").transformers[0].cache("magcache")
    assert isinstance(config, MagCacheConfig) and list(config.mag_ratios) == fit.params["mag_ratios"]
    assert config.threshold == fit.checks[0].threshold
    model = load_suite(str(suite), RESOLVER).model
    pipe = load_pipeline(model, "cpu")
    pipe.transformer.enable_cache(config)
    image = generate(pipe, model, "cpu", "a lighthouse at dusk", 0, family_of(model, pipe)).image
    assert image.size == (32, 32)


def test_cache_dit_loads_its_file(calibrated) -> None:
    import cache_dit

    _, out, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    config, calibrator = cache_dit.load_cache_config(str(out / "exports" / "cache_dit.yaml"))
    fit = read_calibration(out / "calibration.json").transformers[0].cache("cache_dit")
    assert calibrator is None and config.Fn_compute_blocks == 1 and config.max_warmup_steps == 1
    assert config.residual_diff_threshold == fit.checks[0].threshold


def test_the_suite_snippet_parses_and_reads_the_same_numbers_from_calibration_json(calibrated) -> None:
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.spec import load_suite

    _, out, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    snippet = out / "exports" / "evalsuite_suite.toml"
    variants = {v.name: v for v in load_suite(str(snippet), RESOLVER).variants}
    inline = next(v for n, v in variants.items() if n.startswith("teacache-") and n != "teacache-calibrated")
    assert variants["teacache-calibrated"].accelerators == inline.accelerators  # the same variant
    assert variants["teacache-calibrated"].id == inline.id


def test_a_killed_calibration_resumes_with_what_it_traced(calibrated, tmp_path: Path) -> None:
    _, out, proc = calibrated
    assert proc.returncode == 0, proc.stderr[-3000:]
    before = to_json(read_calibration(out / "calibration.json"))
    folder = tmp_path / "out"
    shutil.copytree(out, folder)
    (folder / "calibration.json").unlink()
    trace = next((folder / "traces").glob("baseline-*.rank0.jsonl"))
    lines = trace.read_text().splitlines()
    trace.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])  # killed while writing the last image
    again = run_cli_here("calibrate", str(calibrated[0]), "--out", str(folder))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "tracing 1 images" in again.stderr + again.stdout
    assert to_json(read_calibration(folder / "calibration.json")) == before


def _with(cal_dir: Path, tmp: Path, variant: str, model: str = "tiny", edit=None) -> Path:
    path = cal_dir / "calibration.json"
    if edit is not None:
        data = json.loads(path.read_text())
        edit(data)
        path = tmp / "edited.json"
        path.write_text(json.dumps(data))
    return _suite(tmp, f'[[variant]]\nname = "cached"\n{variant.replace("PATH", str(path))}\n', model)


def test_a_calibration_for_another_model_is_refused_in_one_line(calibrated, tmp_path: Path) -> None:
    suite = _with(calibrated[1], tmp_path, 'teacache = { threshold = 0.1 }\ncalibration = "PATH"',
                  model="tiny-sd35")
    proc = run_cli_here("run", str(suite), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "was calibrated for tiny (flux), not for tiny-sd35" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_fit_too_poor_to_trust_needs_force(calibrated, tmp_path: Path) -> None:
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.spec import load_suite

    def distrust(data: dict) -> None:
        data["transformers"][0]["caches"][0]["trusted"] = False  # teacache

    refused = _with(calibrated[1], tmp_path, 'teacache = { threshold = 0.1 }\ncalibration = "PATH"',
                    edit=distrust)
    proc = run_cli_here("run", str(refused), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "too poor to trust" in proc.stderr and "force = true" in proc.stderr
    forced = _with(calibrated[1], tmp_path, 'teacache = { threshold = 0.1 }\n'
                   'calibration = { path = "PATH", force = true }', edit=distrust)
    variant = next(v for v in load_suite(str(forced), RESOLVER).variants if v.name == "cached")
    fit = read_calibration(calibrated[1] / "calibration.json").transformers[0].cache("teacache")
    assert dict(variant.accelerators[0].params)["coefficients"] == fit.params["coefficients"]


def test_tune_searches_with_the_calibrated_numbers(calibrated, tmp_path: Path) -> None:
    from evalsuite.models.families.resolve import RESOLVER
    from evalsuite.suite.spec import load_suite
    from evalsuite.tune.variants import probe_settings

    path = calibrated[1] / "calibration.json"
    suite = _suite(tmp_path, '[tune]\naccelerator = "teacache"\nparameter = "threshold"\nrange = [0.0, 0.2]\n'
                   f'step = 0.1\ncalibration = "{path}"\n[[tune.budget]]\nmetric = "psnr"\nmin = 10.0\n')
    tune = load_suite(str(suite), RESOLVER).tune
    settings = dict(probe_settings(tune, 0.1).accelerators)["teacache"]
    fit = read_calibration(path).transformers[0].cache("teacache")
    assert dict(settings)["coefficients"] == fit.params["coefficients"]


def _wan(model: str) -> str:
    return (SUITE.format(model=model).replace('use = ["psnr"]', 'use = ["psnr_video"]')
            .replace("max_sequence_length = 64", "frames = 5").replace("steps = 6", "steps = 8"))


def test_wan_measures_skips_per_guidance_stream_as_the_traces_follow_one(tmp_path: Path) -> None:
    # Wan calls the transformer twice a step (cond, uncond); the stored count is of calls.
    suite = tmp_path / "suite.toml"
    suite.write_text(_wan("tiny-wan") + '[calibrate]\ncaches = ["fbcache"]\nprompts = 4\nholdout = 2\n'
                     "skip_rates = [0.5]\n")
    proc = run_cli_here("calibrate", str(suite), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = read_calibration(tmp_path / "out" / "calibration.json").transformers[0].caches[0].checks[0]
    assert check.measured is not None and check.measured.value == pytest.approx(check.predicted.value)
    assert check.agreement == 1.0


def test_wan22_is_calibrated_per_expert(tmp_path: Path) -> None:
    """Each of Wan 2.2's experts gets its own numbers under its pipeline attribute's name."""
    import ast

    wan = _wan("tiny-wan22")
    suite = tmp_path / "suite.toml"
    suite.write_text(wan + '[calibrate]\ncaches = ["teacache"]\nprompts = 6\nholdout = 2\n')
    out = tmp_path / "out"
    proc = run_cli_here("calibrate", str(suite), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    cal = read_calibration(out / "calibration.json")
    assert [t.name for t in cal.transformers] == ["transformer", "transformer_2"]
    assert sum(t.steps for t in cal.transformers) == 8  # each expert its own share of the steps
    fits = [t.cache("teacache") for t in cal.transformers]
    assert all(f is not None and f.r2 is not None and len(f.params["coefficients"]) == 5 for f in fits)
    assert fits[0].params != fits[1].params
    assert all(c.measured is None for f in fits for c in f.checks)  # evalsuite runs one polynomial on both
    text = (out / "exports" / "sglang_caches.py").read_text()
    call = next(n for n in ast.walk(ast.parse(text))
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "TeaCacheParams")
    experts = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "expert_coefficients"))
    assert experts == {"high": fits[0].params["coefficients"], "low": fits[1].params["coefficients"]}
    variant = tmp_path / "variant.toml"
    variant.write_text(wan + f'[[variant]]\nname = "c"\nteacache = {{ threshold = 0.1 }}\n'
                       f'calibration = "{out / "calibration.json"}"\n')
    refused = run_cli_here("run", str(variant), "--out", str(tmp_path / "run"))
    assert refused.returncode == 2, refused.stderr
    assert "holds per-expert numbers (transformer, transformer_2)" in refused.stderr


@pytest.mark.parametrize(("extra", "model", "expected"), [
    ('[calibrate]\ncaches = ["torchao"]\n', "tiny", "calibrate.caches: torchao has nothing to calibrate"),
    ('[calibrate]\nprompts = 3\nholdout = 2\n', "tiny", "the fit needs at least 2"),
    ('[calibrate]\nprompts = 100\n', "tiny", "asks for 100 prompts and [prompts] selects 64"),
    ("", "tiny-qwen-image", "the tracer reads block 0's modulated input"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, extra: str, model: str,
                                                  expected: str) -> None:
    out = tmp_path / "out"
    proc = run_cli_here("calibrate", str(_suite(tmp_path, extra, model)), "--out", str(out))
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()
