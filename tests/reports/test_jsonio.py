"""The JSON edge: strict numbers out, typed records back in, one-line errors for bad files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reports.jsonio import SchemaError, from_json, json_number, read_number, to_json
from reports.summary import load_summary
from reports.summary_records import MetricEntry, Sweep


@dataclass(frozen=True)
class Point:
    x: float
    ci: tuple[float, float] | None = None
    tags: tuple[str, ...] = ()
    by: dict[str, float | None] = field(default_factory=dict)


def test_non_finite_numbers_have_one_rule() -> None:
    assert [json_number(x) for x in (1.5, math.nan, math.inf, -math.inf)] == [1.5, None, "inf", "-inf"]
    assert json_number(math.inf, "null") is None  # the page's scripts: JSON.parse has no Infinity
    data = to_json({"a": [math.nan, (math.inf, 2.0)], "p": Point(-math.inf, (0.0, math.inf))})
    assert json.loads(json.dumps(data, allow_nan=False)) == {
        "a": [None, ["inf", 2.0]], "p": {"x": "-inf", "ci": [0.0, "inf"], "tags": [], "by": {}}}
    assert read_number("inf") == math.inf and read_number(3) == 3.0 and read_number(None) is None


def test_records_come_back_typed_with_defaults_and_unknown_keys_ignored() -> None:
    p = from_json(Point, {"x": "inf", "ci": [1, 2], "tags": ["a"], "by": {"m": None}, "newer": 1})
    assert p == Point(math.inf, (1.0, 2.0), ("a",), {"m": None})
    assert from_json(Point, {"x": 1}) == Point(1.0)  # an older file without the newer fields
    sweep = from_json(Sweep, {"accelerator": "fbcache", "param": None, "fixed": {}, "with": {"compile": {}}})
    assert sweep.with_ == {"compile": {}}  # the JSON key "with" is the field with_


@pytest.mark.parametrize("data, where", [
    ({}, "mean: missing"),
    ({"mean": "fast"}, "mean: expected a number"),
    ({"mean": 1, "n_valid": "3"}, "n_valid: expected int"),
    ({"mean": 1, "ci": [1]}, "ci: expected 2 values"),
    ({"mean": 1, "failures": []}, "failures: expected an object"),
])
def test_bad_values_name_their_key(data: dict, where: str) -> None:
    with pytest.raises(SchemaError, match=where):
        from_json(MetricEntry, data)


@pytest.mark.parametrize("text, message", [
    (None, "no summary.json"),
    ("{not json", "not valid JSON"),
    ('{"schema_version": 99}', "schema_version: 99 is not one this version reads"),
    ('{"schema_version": 3, "suite": "s"}', "not a summary: baseline: missing"),
    ("[1, 2]", "expected a JSON object"),
])
def test_load_summary_errors_are_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "summary.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SchemaError, match=message) as err:
        load_summary(path)
    assert "\n" not in str(err.value)
