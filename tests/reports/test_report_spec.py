"""The suite's ``[report]`` table: strict parsing, the noise-floor variant, round trip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from evalsuite.errors import UserError
from evalsuite.suite.report_spec import NOISE_SEED_OFFSET
from evalsuite.suite.spec import load_suite, parse_suite
from reports.records import Budget

BASE = """
name = "s"
[model]
id = "tiny"
[metrics]
use = ["sharpness", "psnr", "ssim"]
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = { threshold = [0.05, 0.1] }
"""


def parse(text: str):
    return parse_suite(tomllib.loads(text), "suite.toml", Path("."))


def test_report_table_with_noise_floor_and_budgets() -> None:
    suite = parse(BASE + """
[report]
noise_floor = true
objective = "cost"
[[report.budget]]
metric = "ssim"
max_drop = 0.01
[[report.budget]]
metric = "psnr"
min = 30
""")
    assert suite.report.objective == "cost" and suite.report.noise_floor
    assert suite.report.budgets == (Budget("ssim", "max_drop", 0.01), Budget("psnr", "min", 30.0))
    noise = suite.variants[-1]
    assert noise.name == "baseline~noise" and noise.seed_offset == NOISE_SEED_OFFSET
    assert noise.accelerators == () and noise.id != suite.variants[0].id
    # The run folder's suite.toml copy reloads to the same suite (noise variant included once).
    again = parse_suite(tomllib.loads(tomli_w.dumps(suite.to_dict())), "copy.toml", Path("."))
    assert [v.id for v in again.variants] == [v.id for v in suite.variants]
    assert again.report == suite.report


def test_existing_variant_ids_do_not_change() -> None:
    plain, noisy = parse(BASE), parse(BASE + "[report]\nnoise_floor = true\n")
    assert [v.id for v in plain.variants] == [v.id for v in noisy.variants[:-1]]
    assert plain.report.budgets == () and "report" not in plain.to_dict()


@pytest.mark.parametrize("table, key", [
    ("[report]\nnoise = true\n", "report.noise"),
    ("[report]\nnoise_floor = 1\n", "report.noise_floor"),
    ('[report]\nobjective = "speed"\n', "report.objective"),
    ('[[report.budget]]\nmetric = "lpips"\nmax_rise = 0.1\n', "report.budget[0].metric"),
    ('[[report.budget]]\nmetric = "ssim"\n', "report.budget[0]"),
    ('[[report.budget]]\nmetric = "ssim"\nmax_drop = 0.1\nmin = 0.5\n', "report.budget[0]"),
    ('[[report.budget]]\nmetric = "ssim"\nmax_rise = 0.1\n', "report.budget[0].max_rise"),
    ('[[report.budget]]\nmetric = "psnr"\nmax_drop = 1\n', "report.budget[0].max_drop"),
    ('[[report.budget]]\nmetric = "ssim"\nmax_drop = "a"\n', "report.budget[0].max_drop"),
    ('[[report.budget]]\nmetric = "ssim"\nmax_drop = -1\n', "report.budget[0].max_drop"),
    ('[[report.budget]]\nmetric = "ssim"\nmax_dorp = 1\n', "report.budget[0].max_dorp"),
])
def test_bad_report_tables_name_the_key(table: str, key: str) -> None:
    with pytest.raises(UserError) as err:
        parse(BASE + table)
    assert str(err.value).startswith(f"suite.toml: {key}: "), str(err.value)


def test_reserved_noise_name() -> None:
    with pytest.raises(UserError, match="reserved"):
        parse(BASE + '[[variant]]\nname = "baseline~noise"\n[report]\nnoise_floor = true\n')


def test_smoke_suite_has_a_noise_floor_and_budgets() -> None:
    smoke = load_suite("smoke")
    assert smoke.report.noise_floor and smoke.report.budgets


GRID = """
[[variant]]
name = "grid"
compile = { regional = false }
fbcache = { threshold = [0, 0.1] }
torchao = { scheme = ["int8wo", "int8dq"] }
"""


def test_variants_carry_their_sweep_and_the_run_folders_copy_keeps_it() -> None:
    suite = parse(BASE + GRID)
    by_name = {v.name: v for v in suite.variants}
    fbc = by_name["fbc-0.05"]
    assert fbc.group == "fbc" and [(a.accelerator, a.param, a.values) for a in fbc.sweep] == [
        ("fbcache", "threshold", (0.05, 0.1))]
    assert by_name["baseline"].group == "baseline" and by_name["baseline"].sweep == ()
    grid = [v for v in suite.variants if v.group == "grid"]
    assert [v.name for v in grid] == ["grid-threshold0-schemeint8wo", "grid-threshold0-schemeint8dq",
                                      "grid-threshold0.1-schemeint8wo", "grid-threshold0.1-schemeint8dq"]
    axes = [(a.accelerator, a.param) for a in grid[0].sweep]
    assert axes == [("fbcache", "threshold"), ("torchao", "scheme")]
    # suite.toml in the run folder writes each sweep as its lists again: same variants, same
    # ids, same sweeps when `report` reads it back.
    table = suite.to_dict()["variant"]
    assert [t["name"] for t in table] == ["baseline", "fbc", "grid"]
    assert table[2]["fbcache"]["threshold"] == [0, 0.1] and table[2]["compile"]["regional"] is False
    again = parse_suite(tomllib.loads(tomli_w.dumps(suite.to_dict())), "copy.toml", Path("."))
    assert [(v.name, v.id, v.group, v.sweep) for v in again.variants] == [
        (v.name, v.id, v.group, v.sweep) for v in suite.variants]
