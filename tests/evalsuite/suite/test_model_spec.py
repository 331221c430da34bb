"""A variant's own model and LoRA: parsed strictly, part of its identity (issue 19, 5)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.suite.overrides import effective_model, same_model
from evalsuite.suite.spec import parse_suite
from evalsuite.suite.types import LoraSpec

BASE = """
name = "t"
[model]
id = "tiny"
steps = 4
[[variant]]
name = "baseline"
"""


def parse(text: str):
    return parse_suite(tomllib.loads(text), "suite.toml", Path("."))


def test_a_variant_runs_its_own_model_with_the_suites_settings() -> None:
    suite = parse(BASE + '[[variant]]\nname = "other"\nmodel = "tiny-flux"\nrevision = "v2"\n'
                         '[[variant]]\nname = "lora"\nlora = { path = "a.safetensors", scale = 0.5 }\n')
    base, other, lora = suite.variants
    mine = effective_model(suite.model, other)
    assert (mine.id, mine.revision, mine.steps) == ("tiny-flux", "v2", 4)
    assert not same_model(mine, suite.model)
    with_lora = effective_model(suite.model, lora)
    assert with_lora.id == "tiny" and with_lora.lora == LoraSpec("a.safetensors", scale=0.5)
    assert not same_model(with_lora, suite.model)
    assert same_model(effective_model(suite.model, base), suite.model)
    assert len({base.id, other.id, lora.id}) == 3


def test_identity_includes_the_model_its_revision_and_the_lora() -> None:
    def vid(table: str) -> str:
        return parse(BASE + '[[variant]]\nname = "v"\n' + table).variants[1].id

    ids = {vid('model = "tiny-flux"\n'), vid('model = "tiny-flux"\nrevision = "r1"\n'),
           vid('lora = { path = "a.safetensors" }\n'),
           vid('lora = { path = "a.safetensors", scale = 0.8 }\n'),
           vid('lora = { path = "b.safetensors" }\n')}
    assert len(ids) == 5
    assert vid('model = "tiny-flux"\n') == vid('model = "tiny-flux"\nsteps = 4\n')  # same settings


def test_own_model_round_trips_through_the_resolved_suite_file() -> None:
    import tomli_w

    suite = parse(BASE + '[[variant]]\nname = "klein"\nmodel = "tiny-flux"\nfamily = "flux"\nsteps = 2\n'
                         '[[variant]]\nname = "l"\nlora = { path = "a.safetensors", fuse = false }\n')
    again = parse(tomli_w.dumps(suite.to_dict()))
    def key(s):
        return [(v.name, v.id, v.model) for v in s.variants]

    assert key(again) == key(suite)


@pytest.mark.parametrize(("table", "message"), [
    ('model = ["a/b", "c/d"]\n', r"variant\.v\.model: expected a non-empty string \(one model per"),
    ('revision = "r1"\n', r"variant\.v: revision and family describe a variant's own model"),
    ('lora = { path = "a.safetensors", rank = 4 }\n', r"variant\.v\.lora\.rank: unknown key"),
    ('lora = { scale = 1.0 }\n', r"variant\.v\.lora\.path: expected the LoRA's file"),
    ('lora = { path = "a", scale = "high" }\n', r"variant\.v\.lora\.scale: expected float"),
])
def test_bad_own_model_is_one_line_naming_the_key(table: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse(BASE + '[[variant]]\nname = "v"\n' + table)


@pytest.mark.parametrize("table", ['model = "tiny-flux"\n', 'lora = { path = "a.safetensors" }\n'])
def test_the_baseline_takes_no_model_of_its_own(table: str) -> None:
    text = BASE.replace('name = "baseline"\n', 'name = "baseline"\n' + table)
    with pytest.raises(UserError, match="baseline: .*model or lora of its own"):
        parse(text)


def test_model_lora_and_a_list_of_models_in_the_model_table() -> None:
    suite = parse(BASE.replace("steps = 4", 'steps = 4\nlora = "base.safetensors"'))
    assert suite.model.lora == LoraSpec("base.safetensors")
    with pytest.raises(UserError, match="model.id: a list of models is a model sweep"):
        parse(BASE.replace('id = "tiny"', 'id = ["tiny", "tiny-flux"]'))
