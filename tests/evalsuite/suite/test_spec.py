"""Suite parsing: strict validation, sweeps, identities."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict
from pathlib import Path

import pytest

from evalsuite.errors import UserError
from evalsuite.suite.spec import builtin_suites, load_suite, parse_suite
from evalsuite.suite.sweep import load_suites

BASE = """
name = "t"
[model]
id = "tiny"
[[variant]]
name = "baseline"
[[variant]]
name = "fbc"
fbcache = { threshold = [0.05, 0.1, 0.2] }
"""


def parse(text: str, tmp_path: Path = Path(".")):
    return parse_suite(tomllib.loads(text), "suite.toml", tmp_path)


def test_sweep_expands_into_a_grid_of_named_variants() -> None:
    suite = parse(BASE)
    assert [v.name for v in suite.variants] == ["baseline", "fbc-0.05", "fbc-0.1", "fbc-0.2"]
    assert [v.describe() for v in suite.variants][1] == {"fbcache": {"threshold": 0.05}}
    assert len({v.id for v in suite.variants}) == 4


def test_variant_identity_follows_its_settings() -> None:
    a = parse(BASE).variants[1]
    b = parse(BASE.replace("0.05", "0.06")).variants[1]
    c = parse(BASE.replace('id = "tiny"', 'id = "tiny"\nsteps = 20')).variants[1]
    assert a.id != b.id and a.id != c.id
    assert parse(BASE).variants[1].id == a.id  # stable across parses


@pytest.mark.parametrize("text, key", [
    (BASE + "\n[run]\nwarmpu = 1\n", "run.warmpu"),
    (BASE.replace("[model]", "[model]\nsteps = 'ten'"), "model.steps"),
    (BASE.replace("0.05", "-0.05"), "variant.fbc.fbcache.threshold"),
    (BASE + '\n[[variant]]\nname = "baseline"\n', "variant.baseline"),
    (BASE + '\n[metrics]\nuse = ["nope"]\n', "metrics.use"),
    (BASE + '\n[[variant]]\nname = "x"\nwarp-drive = {}\n', "variant.x.warp-drive"),
    (BASE.replace("threshold", "treshold"), "variant.fbc.fbcache.treshold"),
    (BASE + "\ncolour = 1\n", "colour"),
    (BASE.replace('id = "tiny"', 'id = "tiny"\nheight = 50'), "model.height"),
    (BASE + '\n[prompts]\nsets = ["nope"]\n', "prompts.sets"),
    (BASE.replace('name = "baseline"', 'name = "base"'), "baseline"),
])
def test_bad_suites_name_the_file_and_key(text: str, key: str) -> None:
    with pytest.raises(UserError) as err:
        parse(text)
    message = str(err.value)
    assert message.startswith("suite.toml: ") and key in message and "\n" not in message


def test_two_caches_in_one_variant_are_rejected_with_the_reason(monkeypatch) -> None:
    from evalsuite.accelerators import ACCELERATORS

    cls = ACCELERATORS.get("fbcache")
    monkeypatch.setitem(ACCELERATORS._items, "fbcache-twin", cls)
    with pytest.raises(UserError, match="at most one cache"):
        parse(BASE + '\n[[variant]]\nname = "both"\nfbcache = {}\nfbcache-twin = {}\n')


def test_builtin_suites_validate() -> None:
    names = builtin_suites()
    assert {"smoke", "flux-dev-fbcache"} <= set(names)
    for name in names:  # a model sweep is one suite per model (test_sweep.py)
        load_suites(name)
    smoke = load_suite(None)
    assert smoke.name == "smoke" and smoke.model.id == "tiny" and len(smoke.variants) >= 4
    flux = load_suite("flux-dev-fbcache")
    assert flux.model.id == "black-forest-labs/FLUX.1-dev" and flux.model.height == 1024
    assert [v.describe().get("fbcache", {}).get("threshold") for v in flux.variants] == [
        None, 0.06, 0.08, 0.10, 0.12]


def test_missing_suite_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such suite"):
        load_suite(str(tmp_path / "absent.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed\n")
    with pytest.raises(UserError, match="invalid TOML"):
        load_suite(str(bad))


def test_resolved_suite_round_trips(tmp_path: Path) -> None:
    import tomli_w

    suite = load_suite(None)
    path = tmp_path / "suite.toml"
    path.write_text(tomli_w.dumps(suite.to_dict()))
    again = load_suite(str(path))
    assert [v.id for v in again.variants] == [v.id for v in suite.variants]


def test_an_old_accelerator_spelling_still_works_with_a_deprecation_warning() -> None:
    from registry import DeprecatedName

    new = BASE + '\n[[variant]]\nname = "q"\nfuse_qkv = { vae = false }\n'
    with pytest.warns(DeprecatedName, match=r"variant\.q\.fuse-qkv: accelerator name 'fuse-qkv' "
                      r"is deprecated; write 'fuse_qkv'"):
        old = parse(new.replace("fuse_qkv =", "fuse-qkv ="))
    assert old.variants[-1] == parse(new).variants[-1]  # same key, settings and identity
    # The identity hashes the first spelling, so runs made before the rename still resume; the
    # model fields added since (family, negative_prompt, lora, frames, fps) are not hashed while unset.
    added = ("family", "negative_prompt", "lora", "frames", "fps")
    before = {k: v for k, v in asdict(old.model).items() if k not in added}
    assert old.variants[-1].id == hashlib.sha256(json.dumps(
        {"model": before, "accelerators": [["fuse-qkv", {"vae": False}]]},
        sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    with pytest.raises(UserError, match="fuse_qkv is given twice"), pytest.warns(DeprecatedName):
        parse(new + "fuse-qkv = true\n")
