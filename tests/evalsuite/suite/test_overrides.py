"""Per-variant generation overrides and the steps-frontier reference variants (parsing only)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w
from PIL import Image

from evalsuite.errors import UserError
from evalsuite.score.scoring import PAIR_RESIZE, paired_sample, scorer_identity
from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import FRONTIER_ROLE, parse_suite, variant_id
from metrics import SCORERS
from reports.frontier import frontier_steps

BASE = """
name = "t"
[model]
id = "tiny"
steps = 12
[metrics]
use = ["sharpness", "ssim"]
[[variant]]
name = "baseline"
{variants}
{report}
"""


def parse(variants: str = "", report: str = ""):
    text = BASE.format(variants=variants, report=report)
    return parse_suite(tomllib.loads(text), "suite.toml", Path("."))


def test_steps_sweep_names_ids_and_effective_settings() -> None:
    suite = parse('[[variant]]\nname = "steps"\nsteps = [8, 10, 14]')
    steps = suite.variants[1:]
    assert [v.name for v in steps] == ["steps-8", "steps-10", "steps-14"]
    assert [effective_model(suite.model, v).steps for v in steps] == [8, 10, 14]
    assert len({v.id for v in suite.variants}) == 4
    assert steps[0].id == variant_id(replace(suite.model, steps=8), ())
    base = suite.variants[0]
    assert base.id == variant_id(suite.model, ()) and effective_model(suite.model, base) is suite.model


def test_overrides_combine_with_accelerator_sweeps() -> None:
    suite = parse('[[variant]]\nname = "fbc"\nfbcache = { threshold = [0.05, 0.1] }\n'
                  'steps = [6, 8]\nguidance = 2\nheight = 32\nwidth = 48')
    names = [v.name for v in suite.variants[1:]]
    assert names == ["fbc-threshold0.05-steps6", "fbc-threshold0.05-steps8",
                     "fbc-threshold0.1-steps6", "fbc-threshold0.1-steps8"]
    m = effective_model(suite.model, suite.variants[1])
    assert (m.steps, m.guidance, m.height, m.width) == (6, 2.0, 32, 48)
    assert isinstance(m.guidance, float)
    assert suite.variants[1].describe() == {"fbcache": {"threshold": 0.05}}


@pytest.mark.parametrize("line, key", [
    ("steps = 0", "steps"), ("height = 100", "height"), ("width = 8", "width"),
    ("guidance = -1", "guidance"), ("steps = []", "steps"), ("steps = 2.5", "steps"),
    ("guidance = true", "guidance"), ('steps = ["a"]', "steps"),
])
def test_bad_override_is_one_line_naming_the_key(line: str, key: str) -> None:
    with pytest.raises(UserError) as err:
        parse(f'[[variant]]\nname = "x"\n{line}')
    assert f"variant.x.{key}" in str(err.value) and "\n" not in str(err.value)


def test_baseline_may_not_override() -> None:
    text = BASE.format(variants="", report="").replace('name = "baseline"', 'name = "baseline"\nsteps = 4')
    with pytest.raises(UserError, match="baseline"):
        parse_suite(tomllib.loads(text), "suite.toml", Path("."))


def test_steps_frontier_adds_reference_variants() -> None:
    suite = parse('[[variant]]\nname = "fbc"\nfbcache = { threshold = 0.1 }',
                  "[report]\nsteps_frontier = true")
    refs = [v for v in suite.variants if v.role == FRONTIER_ROLE]
    assert [effective_model(suite.model, v).steps for v in refs] == list(frontier_steps(12))
    assert [v.name for v in refs][0] == "baseline~steps-10"
    assert suite.report.steps_frontier == frontier_steps(12)
    explicit = parse("", "[report]\nsteps_frontier = [3, 6, 6]")
    assert [v.name for v in explicit.variants[1:]] == ["baseline~steps-6", "baseline~steps-3"]
    # The resolved suite round-trips: reference variants come back from [report], not [[variant]].
    again = parse_suite(tomllib.loads(tomli_w.dumps(suite.to_dict())), "suite.toml", Path("."))
    assert [(v.name, v.id) for v in again.variants] == [(v.name, v.id) for v in suite.variants]
    assert parse().report.steps_frontier == ()


@pytest.mark.parametrize("value, match", [
    ("[12]", "fewer than"), ("[0]", "fewer than"), ('"yes"', "expected true"), ("[]", "expected true"),
])
def test_bad_steps_frontier(value: str, match: str) -> None:
    with pytest.raises(UserError, match=match):
        parse("", f"[report]\nsteps_frontier = {value}")


def test_reserved_frontier_name() -> None:
    with pytest.raises(UserError, match="reserved"):
        parse('[[variant]]\nname = "baseline~steps-10"\nsteps = 3', "[report]\nsteps_frontier = [10]")


def test_paired_metrics_resize_to_the_baseline_and_say_so() -> None:
    small = Image.new("RGB", (32, 48), (200, 10, 10))
    ref = Image.new("RGB", (64, 64), (0, 0, 0))
    s = paired_sample(small, "p", ref)
    assert s.image.size == (64, 64) and s.reference is ref and s.image.getpixel((10, 10)) == (200, 10, 10)
    same = Image.new("RGB", (64, 64))
    assert paired_sample(same, "p", ref).image is same
    assert scorer_identity(SCORERS.get("ssim")())["pair_resize"] == PAIR_RESIZE
    assert "pair_resize" not in scorer_identity(SCORERS.get("sharpness")())
