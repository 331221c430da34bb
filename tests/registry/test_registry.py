"""The plug-in registry: names written once, one naming rule, old spellings with a warning."""

from __future__ import annotations

import warnings
from typing import ClassVar

import pytest

from registry import DeprecatedName, Registry, check_name


class _Plugin:
    name: ClassVar[str] = "new_name"
    deprecated_names: ClassVar[tuple[str, ...]] = ("new-name",)


def test_the_decorator_reads_the_name_from_the_class() -> None:
    reg: Registry[type] = Registry("widget")
    assert reg.register(_Plugin) is _Plugin
    assert reg.names() == ["new_name"] and reg.get("new_name") is _Plugin
    assert "new-name" not in reg  # an old spelling is not a second entry


def test_duplicates_are_refused_including_old_spellings() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register(_Plugin)
    with pytest.raises(ValueError, match="duplicate widget name 'new_name'"):
        reg.register(type("Again", (), {"name": "new_name"}))
    with pytest.raises(ValueError, match="duplicate widget name 'new-name'"):
        reg.register(type("Other", (), {"name": "other", "deprecated_names": ("new-name",)}))


@pytest.mark.parametrize("bad", ["fuse-qkv", "Clip", "a__b", "_x", "x_", "1abc", "", None])
def test_names_must_be_snake_case(bad: object) -> None:
    with pytest.raises(ValueError, match="lowercase snake_case"):
        check_name("widget", bad)
    reg: Registry[type] = Registry("widget")
    with pytest.raises(ValueError, match="lowercase snake_case"):
        reg.register(type("Bad", (), {"name": bad}))


def test_resolve_maps_an_old_spelling_with_one_deprecation_warning() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register(_Plugin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert reg.resolve("new_name") == "new_name"
        assert not caught
        assert reg.resolve("new-name", where="s.toml: variant.v.new-name") == "new_name"
    assert len(caught) == 1 and caught[0].category is DeprecatedName
    assert str(caught[0].message) == ("s.toml: variant.v.new-name: widget name 'new-name' is "
                                      "deprecated; write 'new_name' (same settings)")
    with pytest.raises(KeyError, match="unknown widget 'nope' \\(known: new_name\\)"):
        reg.resolve("nope")


def test_every_built_in_plugin_follows_the_rule() -> None:
    from evalsuite.accelerators import ACCELERATORS
    from metrics import SCORERS
    from prompts import PROMPT_SETS

    for reg in (ACCELERATORS, SCORERS, PROMPT_SETS):
        for name, cls in reg:
            assert check_name(reg.kind, name) == cls.name
