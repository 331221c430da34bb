"""Every model family through the CLI, as a user runs it (issue 19: 1, 5, 6 and bad input)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.ahead import Ahead, runs_ahead_of
from tests.conftest import run_cli, run_cli_here

SUITE = """
name = "fam"
[model]
id = "{model}"
steps = 4
height = 32
width = 32
device = "cpu"
[prompts]
sets = ["smoke"]
limit = 2
seeds = [0]
[run]
drift_images = 0
trace_images = 0
[metrics]
use = ["sharpness", "psnr", "ssim"]
[[variant]]
name = "baseline"
"""


@runs_ahead_of("families_smoke")
def run_families_smoke(tmp: Path, env: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m evalsuite run families-smoke`` in a fresh process (a job started ahead,
    see tests/ahead.py)."""
    out = tmp / "run"
    return out, run_cli("run", "families-smoke", "--out", str(out), env=env)


@pytest.fixture(scope="session")
def families_smoke(ahead: Ahead) -> tuple[Path, subprocess.CompletedProcess]:
    """The built-in families-smoke suite run once, as a user would: its folder and output."""
    return ahead(run_families_smoke)


def test_families_smoke_runs_every_family_and_says_what_it_left_out(families_smoke) -> None:
    out, proc = families_smoke
    assert proc.returncode == 0, proc.stderr[-3000:]
    left_out = [line for line in proc.stderr.splitlines() if line.startswith("left out: ")]
    assert any("does not fit tiny-sana (Sana)" in line for line in left_out)
    assert any("fbcache: does not fit tiny-flux2 (FLUX.2)" in line for line in left_out)
    for key in ("tiny-flux", "tiny-flux2", "tiny-qwen-image", "tiny-z-image", "tiny-sd35", "tiny-sana",
                "tiny-chroma", "tiny-hidream"):
        summary = json.loads((out / key / "summary.json").read_text())
        variants = {v["name"]: v for v in summary["variants"]}
        assert variants["baseline"]["status"] == "ok", key
        for name, v in variants.items():  # every cache that ran skipped steps
            assert v["status"] == "ok" and (name == "baseline" or v["steps"]["skipped"] > 0), (key, name)
        ran = set(variants)
        refused = {n for n in ("fbcache", "taylorseer")
                   if f"variant.{n}.{n}: does not fit {key} " in proc.stderr}
        assert ran == {"baseline", "fbcache", "taylorseer"} - refused, key
    assert {"fbcache", "taylorseer"} <= {v["name"] for v in json.loads(
        (out / "tiny-qwen-image" / "summary.json").read_text())["variants"]}


def _run(tmp_path: Path, text: str) -> tuple[subprocess.CompletedProcess, Path]:
    suite, out = tmp_path / "suite.toml", tmp_path / "run"
    suite.write_text(text)
    return run_cli_here("run", str(suite), "--out", str(out)), out


BAD = {
    "unknown-family": ('model = "tiny-flux"\nfamily = "fluxx"\n', r"variant.v: unknown family 'fluxx'"),
    "unknown-tiny": ('model = "tiny-nope"\n', r"variant.v: unknown tiny model 'tiny-nope'"),
    "misfit": ('fbcache = { threshold = 0.1 }\n', r"variant.v.fbcache: does not fit tiny-sana \(Sana\): "),
    "missing-lora": ('lora = { path = "./no-such.safetensors" }\n',
                     r"variant.v: lora.path: ./no-such.safetensors: no such file or folder"),
    "foreign-lora": ('lora = { path = "LORA" }\n', r"variant.v: lora: foreign.safetensors does not fit "
                                                  r"tiny-sana: it targets \S+, which the Sana transformer"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_family_input_is_one_line_exit_2_and_no_run_folder(tmp_path: Path, case: str) -> None:
    from tests.evalsuite.models.test_lora import write_lora

    table, message = BAD[case]
    if "LORA" in table:  # a FLUX LoRA on Sana: its modules are not Sana's
        table = table.replace("LORA", str(write_lora(tmp_path / "foreign.safetensors")))
    proc, out = _run(tmp_path, SUITE.format(model="tiny-sana") + '[[variant]]\nname = "v"\n' + table)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert re.search(message, proc.stderr), proc.stderr
    assert not out.exists()


def test_a_model_on_the_baseline_and_an_unknown_model_family_are_refused(tmp_path: Path) -> None:
    base = SUITE.format(model="tiny-flux")
    own = base.replace('name = "baseline"\n', 'name = "baseline"\nmodel = "tiny-sd35"\n')
    proc, out = _run(tmp_path, own)
    assert proc.returncode == 2 and "model or lora of its own" in proc.stderr and not out.exists()
    proc, out = _run(tmp_path, base.replace('device = "cpu"', 'device = "cpu"\nfamily = "nope"'))
    assert proc.returncode == 2 and "model: unknown family 'nope'" in proc.stderr and not out.exists()


def test_a_variant_on_another_model_has_na_paired_metrics_and_real_values_elsewhere(tmp_path: Path) -> None:
    from tests.evalsuite.models.test_lora import write_lora

    lora = write_lora(tmp_path / "flux1.safetensors")
    text = (SUITE.format(model="tiny-flux2") + '[[variant]]\nname = "flux1"\nmodel = "tiny-flux"\n'
            f'[[variant]]\nname = "flux1-lora"\nmodel = "tiny-flux"\nlora = {{ path = "{lora}" }}\n'
            '[[variant]]\nname = "ts"\ntaylorseer = { cache_interval = 2 }\n')
    proc, out = _run(tmp_path, text)
    assert proc.returncode == 0, proc.stderr[-3000:]
    variants = {v["name"]: v for v in json.loads((out / "summary.json").read_text())["variants"]}
    assert variants["flux1"]["model"] == {"model": "tiny-flux", "family": "flux"}  # what it ran
    assert variants["flux1-lora"]["model"]["lora"] == {"path": str(lora), "scale": 1.0, "fuse": True}
    assert variants["flux1-lora"]["metrics"]["ssim"]["not_applicable"] == "different model"
    assert (variants["flux1-lora"]["metrics"]["sharpness"]["mean"]
            != variants["flux1"]["metrics"]["sharpness"]["mean"])  # the fused LoRA changed the images
    flux1, same = variants["flux1"]["metrics"], variants["ts"]["metrics"]
    for metric in ("psnr", "ssim"):  # paired with the baseline's image: n/a across models, never 0
        assert flux1[metric]["not_applicable"] == "different model" and flux1[metric]["mean"] is None
        assert flux1[metric]["failures"] == {"n/a: different model": 2}
        assert same[metric]["mean"] is not None and same[metric]["not_applicable"] is None
    sharp = flux1["sharpness"]  # per-image: scored as usual, with its paired delta to the baseline
    assert sharp["n_valid"] == 2 and sharp["mean"] > 0 and sharp["delta_vs_baseline"] is not None
    assert "n/a: different model" in (out / "report" / "index.html").read_text()
    rec = json.loads(run_cli_here("recommend", str(out), "--metric", "ssim", "--max-drop", "0.5",
                                  "--json").stdout)
    assert rec["variant"] != "flux1"  # no SSIM, so never within an SSIM budget
    assert all("ssim n/a: different model" in r["reason"] for r in rec["rejected"] if r["variant"] == "flux1")


def test_tune_refuses_a_technique_that_does_not_fit_before_any_work(tmp_path: Path) -> None:
    from evalsuite.suite.spec import builtin_suites

    source = builtin_suites()["tune-smoke"]
    suite = tmp_path / "tune.toml"
    suite.write_text(source.read_text().replace('id = "tiny"', 'id = "tiny-sana"'))
    (tmp_path / "tune-smoke-prompts.txt").write_text((source.parent / "tune-smoke-prompts.txt").read_text())
    proc = run_cli_here("tune", str(suite), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2, proc.stderr
    assert "tune: fbcache does not fit tiny-sana (Sana): " in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "run").exists()
