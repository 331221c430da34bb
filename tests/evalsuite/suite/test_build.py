"""Variants built from settings (evalsuite.suite.build): the same names and ids as a
hand-written suite file gives them, without a round trip through a dict and the parser."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
import tomli_w

from evalsuite.suite import spec
from evalsuite.suite.spec import BUILTIN_DIR, Suite, load_suite, parse_suite, with_variants
from evalsuite.tune.variants import fewer_steps_settings, probe_settings, probed_suite, trace_reference

VALUES = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]


def _tune_smoke(tmp_path: Path, variants: list[dict], **model: object) -> Suite:
    """tune-smoke with other [[variant]] tables (and [model] settings), parsed from a file."""
    raw = tomllib.loads((BUILTIN_DIR / "tune-smoke.toml").read_text())
    raw["prompts"]["file"][0]["path"] = str(BUILTIN_DIR / "tune-smoke-prompts.txt")
    raw["variant"] = [{"name": "baseline"}, *variants]
    raw["model"].update(model)
    path = tmp_path / f"hand-{len(list(tmp_path.iterdir()))}.toml"
    path.write_text(tomli_w.dumps(raw))
    return load_suite(str(path))


def test_probes_are_the_variants_of_a_hand_written_sweep(tmp_path: Path) -> None:
    hand = _tune_smoke(tmp_path, [{"name": "fbcache", "fbcache": {"threshold": VALUES}}])
    tune = hand.tune
    assert tune is not None
    built = with_variants(hand, [probe_settings(tune, v, VALUES) for v in VALUES])
    assert built.variants == hand.variants  # names, ids, parameters, group and sweep
    one = with_variants(hand, [probe_settings(tune, 0.2)]).variants[-1]
    assert (one.name, one.id) == ("fbcache-0.2", next(v.id for v in hand.variants if v.name == "fbcache-0.2"))


def test_companions_other_steps_and_the_fewer_steps_reference_keep_their_ids(tmp_path: Path) -> None:
    hand = _tune_smoke(tmp_path, [
        {"name": "fbcache+channels_last", "fbcache": {"threshold": [0.1, 0.2]}, "channels_last": True},
        {"name": "fewer-steps", "steps": [3]}, {"name": "channels_last", "channels_last": True}], steps=4)
    source = tomllib.loads((BUILTIN_DIR / "tune-smoke.toml").read_text())
    source["tune"]["fixed"] = {"channels_last": {}}
    source["prompts"]["file"][0]["path"] = str(BUILTIN_DIR / "tune-smoke-prompts.txt")
    path = tmp_path / "fixed.toml"
    path.write_text(tomli_w.dumps(source))
    suite = load_suite(str(path))  # [model] steps = 8: the confirm setting below moves it to 4
    assert suite.tune is not None
    built = with_variants(suite, [probe_settings(suite.tune, 0.1), probe_settings(suite.tune, 0.2),
                                  fewer_steps_settings(3)], steps=4)
    assert built.model == hand.model
    assert [(v.name, v.id) for v in built.variants] == [(v.name, v.id) for v in hand.variants[:4]]
    _, traced = trace_reference(dataclasses.replace(suite, model=hand.model))  # the companions alone
    assert (traced.name, traced.id) == (hand.variants[-1].name, hand.variants[-1].id)


def test_probes_are_built_without_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = load_suite("tune-smoke")
    assert suite.tune is not None

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a probe was built through a dict and the parser")

    monkeypatch.setattr(spec, "parse_suite", refuse)
    monkeypatch.setattr(Suite, "to_dict", refuse)
    view = with_variants(suite, [probe_settings(suite.tune, 0.3)], steps=4)
    assert [v.name for v in view.variants] == ["baseline", "fbcache-0.3"] and view.model.steps == 4


def test_the_tune_folder_suite_lists_every_probe_and_parses_back_to_the_same_ids() -> None:
    suite = load_suite("tune-smoke")
    probed = probed_suite(suite, [0.4, 0.1, 0.2, 0.1])
    assert [v.name for v in probed.variants] == ["baseline", "fbcache-0.1", "fbcache-0.2", "fbcache-0.4"]
    again = parse_suite(probed.to_dict(), suite.source, Path(suite.source).parent)
    assert again.variants == probed.variants
