"""Model sweeps: one suite per model, refused techniques left out per model (issue 19, 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.suite.sweep import load_suites, model_key

SWEEP = """
name = "sw"
[model]
id = {ids}
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = {{ threshold = 0.1 }}
"""


def _write(tmp_path: Path, ids: str) -> str:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(ids=ids))
    return str(path)


def test_model_keys_are_folder_names() -> None:
    assert model_key("tiny-flux") == "tiny-flux"
    assert model_key("Qwen/Qwen-Image") == "Qwen--Qwen-Image"
    assert model_key("/models/my model/") == "models--my-model"


def test_one_suite_per_model_each_with_its_own_baseline(tmp_path: Path) -> None:
    from evalsuite.models.families.resolve import RESOLVER

    name, members = load_suites(_write(tmp_path, '["tiny-flux", "tiny-sana"]'), RESOLVER)
    assert name == "sw" and [m.key for m in members] == ["tiny-flux", "tiny-sana"]
    flux, sana = members
    assert flux.suite.name == "sw-tiny-flux" and flux.suite.model.family == "flux"
    assert [v.name for v in flux.suite.variants] == ["baseline", "fbc"] and flux.refused == ()
    assert [v.name for v in sana.suite.variants] == ["baseline"]  # FirstBlockCache does not fit Sana
    assert len(sana.refused) == 1 and "variant.fbc.fbcache: does not fit tiny-sana (Sana)" in sana.refused[0]


def test_a_plain_suite_is_one_member_in_its_own_folder(tmp_path: Path) -> None:
    name, members = load_suites(_write(tmp_path, '"tiny"'))
    assert name == "sw" and len(members) == 1 and members[0].key == ""


@pytest.mark.parametrize(("ids", "message"), [
    ("[]", "model.id: expected a model id or a non-empty list"),
    ('["tiny-flux", "tiny-flux"]', "model.id: a model is listed twice"),
])
def test_bad_sweeps(tmp_path: Path, ids: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_suites(_write(tmp_path, ids))


def test_a_sweep_takes_no_family(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(ids='["tiny-flux"]').replace("[model]\n", '[model]\nfamily = "flux"\n'))
    with pytest.raises(UserError, match="model.family: a model sweep finds each model's family"):
        load_suites(str(path))
