"""Registry listing, seed suites, and combinations rejected at load time (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.accelerators import ACCELERATORS
from evalsuite.errors import UserError
from evalsuite.suite.spec import load_suite
from tests.conftest import run_cli, run_cli_here
from tests.evalsuite.accelerators._accel_helpers import suite_text

EXPECTED = {"para_attn", "fbcache", "taylorseer", "magcache", "fastercache", "pab", "teacache",
            "cache_dit", "torchao", "compile", "fuse_qkv", "channels_last", "attention_backend"}


def test_list_accelerators_shows_every_technique_with_its_parameters() -> None:
    proc = run_cli("list", "accelerators")
    assert proc.returncode == 0, proc.stderr
    for name in EXPECTED:
        assert any(line.startswith(f"{name} ") for line in proc.stdout.splitlines()), name
        for key in ACCELERATORS.get(name).params:
            assert f"    {key} (" in proc.stdout, (name, key)


@pytest.mark.parametrize("name", ["para-attn-flux", "modal-flux", "flux-gpu-study", "techniques"])
def test_seed_suites_validate(name: str) -> None:
    suite = load_suite(name)
    names = [v.name for v in suite.variants]
    assert names[0] == "baseline" and len(names) == len(set(names))


def test_seed_suites_carry_the_seeds_settings() -> None:
    para = {v.name: v.describe() for v in load_suite("para-attn-flux").variants}
    thresholds = [p["para_attn"]["residual_diff_threshold"] for n, p in para.items() if n.startswith("fbc-")]
    assert thresholds == [0.06, 0.08, 0.10, 0.12]
    stack = para["fbc0.12+fp8-dq+compile"]
    assert stack["torchao"]["scheme"] == "float8dq-tensor" and "compile" in stack
    study = {v.name for v in load_suite("flux-gpu-study").variants}
    assert {"teacache-0.2", "teacache-0.4", "teacache-0.6", "fbc-0.15", "fbc-0.4", "fp8", "int8"} <= study
    modal = {v.name: v.describe() for v in load_suite("modal-flux").variants}
    assert set(modal["standard"]) == {"fuse_qkv", "channels_last", "compile"}
    assert modal["standard+fbc0.12"]["para_attn"]["residual_diff_threshold"] == 0.12


def test_accelerators_apply_in_a_fixed_order() -> None:
    stack = next(v for v in load_suite("modal-flux").variants if v.name == "standard+fbc0.12")
    assert [a.name for a in stack.accelerators] == ["channels_last", "fuse_qkv", "para_attn", "compile"]


BAD = {
    "two caches": ('fbcache = { threshold = 0.1 }\nteacache = { threshold = 0.4 }', "at most one cache"),
    "fullgraph cache": ('fbcache = { threshold = 0.1 }\ncompile = { fullgraph = true }', "graph break"),
    "cudagraphs cache": ('teacache = { threshold = 0.4 }\ncompile = { mode = "reduce-overhead" }',
                         "CUDA graphs"),
    "pab window": ('pab = { timestep_low = 900.0, timestep_high = 100.0 }', "below"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_incompatible_combinations_are_rejected_at_load(tmp_path: Path, case: str) -> None:
    tables, reason = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(suite_text(f'[[variant]]\nname = "bad"\n{tables}\n'))
    with pytest.raises(UserError, match=reason):
        load_suite(str(path))


def test_cli_exits_2_on_an_incompatible_combination_and_on_fp8_dynamic_on_cpu(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(suite_text('[[variant]]\nname = "bad"\nfbcache = { threshold = 0.1 }\n'
                              'compile = { fullgraph = true }\n'))
    proc = run_cli_here("run", str(bad), "--out", str(tmp_path / "run1"))
    assert proc.returncode == 2 and "graph break" in proc.stderr
    fp8 = tmp_path / "fp8.toml"
    fp8.write_text(suite_text('[[variant]]\nname = "fp8"\ntorchao = { scheme = "float8dq-row" }\n'))
    proc = run_cli_here("run", str(fp8), "--out", str(tmp_path / "run2"))
    assert proc.returncode == 2 and "compute capability >= 8.9" in proc.stderr
    assert not (tmp_path / "run2").exists(), "rejected before the run folder is touched"
