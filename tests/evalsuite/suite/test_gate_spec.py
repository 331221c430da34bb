"""The suite's ``[gate]`` table: parsed strictly, written back, defaults without it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.suite.spec import load_suite, parse_suite
from reports.gate import GateBudgets

GATE_SMOKE = Path(__file__).resolve().parents[3] / "evalsuite" / "suites" / "gate-smoke.toml"


def _with_gate(gate: dict) -> dict:
    raw = tomllib.loads(GATE_SMOKE.read_text())
    raw["gate"] = gate
    return raw


def test_gate_smoke_budgets_round_trip_through_the_resolved_suite(tmp_path: Path) -> None:
    suite = load_suite("gate-smoke")
    assert suite.gate == GateBudgets({"psnr": 0.5, "ssim": 0.0001}, 0.5, 0.05, True)
    again = parse_suite(suite.to_dict(), "resolved", tmp_path)
    assert again.gate == suite.gate


def test_no_gate_table_no_budgets(tmp_path: Path) -> None:
    raw = tomllib.loads(GATE_SMOKE.read_text())
    del raw["gate"]
    assert parse_suite(raw, "s.toml", tmp_path).gate is None


@pytest.mark.parametrize(("gate", "words"), [
    ({"speed": 1}, "gate.speed: unknown key"),
    ({"max_drop": {"lpips": 1.0}}, "gate.max_drop.lpips: not a metric of this suite"),
    ({"max_drop": {"psnr": -1}}, "gate.max_drop.psnr: expected a number >= 0"),
    ({"skip_tolerance": 2}, "gate.skip_tolerance: expected a number from 0 to 1"),
    ({"outliers": "yes"}, "gate.outliers: expected true or false"),
])
def test_bad_gate_tables_name_the_key(tmp_path: Path, gate: dict, words: str) -> None:
    with pytest.raises(UserError, match=words):
        parse_suite(_with_gate(gate), "s.toml", tmp_path)
