"""The built-in suites of each family validate offline, with the checks a run makes (issue 19, 6)."""

from __future__ import annotations

import pytest

from evalsuite.models import families
from evalsuite.models.families.resolve import RESOLVER
from evalsuite.suite.overrides import effective_model, same_model
from evalsuite.suite.spec import builtin_suites
from evalsuite.suite.sweep import load_suites

FLAGSHIPS = {"qwen-image": "qwen_image", "flux2-dev": "flux2", "z-image": "z_image", "sd35-large": "sd35"}


@pytest.mark.parametrize("name", sorted(FLAGSHIPS))
def test_flagship_suites_hold_a_cache_sweep_taylorseer_fp8_and_the_distilled_sibling(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # nothing may need the hub
    _, [member] = load_suites(name, RESOLVER)
    suite = member.suite
    family = FLAGSHIPS[name]
    assert suite.model.family == family and member.refused == ()
    defaults = families.get(family).defaults
    assert (suite.model.steps, suite.model.guidance, suite.model.height) == (
        defaults.steps, defaults.guidance, defaults.height)  # the family's own defaults
    techniques = [a.name for v in suite.variants for a in v.accelerators]
    assert sum(t in ("fbcache", "cache_dit") for t in techniques) >= 4  # a cache sweep
    assert any(t == "taylorseer" or (t == "cache_dit" and dict(a.params)["taylorseer"])
               for v in suite.variants for a in v.accelerators for t in (a.name,))
    assert any(dict(a.params).get("scheme", "").startswith("float8") for v in suite.variants
               for a in v.accelerators)
    siblings = [v for v in suite.variants if not same_model(effective_model(suite.model, v), suite.model)]
    assert len(siblings) == 1 and not siblings[0].accelerators
    assert effective_model(suite.model, siblings[0]).family == family
    budgets = {b.metric for b in suite.report.budgets}
    assert budgets and not budgets & {"psnr", "ssim", "lpips"}  # the sibling has those n/a


def test_every_built_in_suite_validates_with_the_family_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    for name in builtin_suites():
        _, members = load_suites(name, RESOLVER)
        assert all(m.suite.model.family for m in members), name
