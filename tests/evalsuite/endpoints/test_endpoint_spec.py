"""Endpoint variants in suite files: strict validation, identity, round trip, built-in suite."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from evalsuite.endpoints.prices import PROVIDER_PRICES, cost_per_image, endpoint_price
from evalsuite.errors import UserError
from evalsuite.suite.spec import load_suite, parse_suite
from tests.conftest import run_cli_here

EP = {"protocol": "openai-images", "url": "http://127.0.0.1:8000/v1", "model": "tiny"}


def _suite(endpoint, **variant):
    raw = {"name": "t", "variant": [{"name": "baseline"}, {"name": "ep", "endpoint": endpoint, **variant}],
           "report": {"noise_floor": True}}
    return parse_suite(raw, "t.toml", Path("."))


@pytest.mark.parametrize("endpoint, key", [
    ({**EP, "protocol": "grpc"}, "protocol"),
    ({**EP, "url": "http://example.com/v1"}, "url"),
    ({**EP, "url": "https://user:pw@example.com/v1"}, "url"),
    ({**EP, "api_key_env": "sk-live-abc123"}, "api_key_env"),
    ({**EP, "concurrency": 0}, "concurrency"),
    ({**EP, "price_per_image": -1}, "price_per_image"),
    ({**EP, "price_per_image": 0.01, "price_per_megapixel": 0.01}, "price_per_image"),
    ({**EP, "timeout": 5}, "timeout"),
    ({"url": "https://x"}, "protocol"),
])
def test_bad_endpoint_tables_name_the_key(endpoint, key):
    with pytest.raises(UserError, match=rf"^t.toml: variant\.ep\.endpoint\.{key}: "):
        _suite(endpoint)


def test_http_is_allowed_for_loopback_or_when_asked():
    assert _suite({**EP, "url": "http://localhost:9/v1"}).variants[1].endpoint is not None
    assert _suite({**EP, "url": "http://10.0.0.5/v1", "allow_http": True}).variants[1].endpoint.allow_http


def test_no_accelerators_on_an_endpoint_variant():
    with pytest.raises(UserError, match="takes no accelerators"):
        _suite(EP, fbcache={"threshold": 0.1})


def test_identity_changes_with_what_changes_images_only():
    base = _suite(EP).variants[1].id
    assert _suite({**EP, "concurrency": 8, "price_per_image": 0.1}).variants[1].id == base
    assert _suite({**EP, "model": "other"}).variants[1].id != base
    assert _suite({**EP, "extra": {"quality": "hd"}}).variants[1].id != base
    assert _suite(EP, steps=2).variants[1].id != base


def test_resolved_suite_round_trips():
    suite = _suite({**EP, "extra": {"go_fast": False}, "api_key_env": "MY_KEY"})
    again = parse_suite(tomllib.loads(tomli_w.dumps(suite.to_dict())), "t.toml", Path("."))
    assert [v.id for v in again.variants] == [v.id for v in suite.variants]
    assert again.variants[1].endpoint == suite.variants[1].endpoint


def test_endpoint_baseline_carries_to_the_noise_floor():
    raw = {"name": "t", "baseline": "ep", "variant": [{"name": "ep", "endpoint": EP}],
           "report": {"noise_floor": True}}
    suite = parse_suite(raw, "t.toml", Path("."))
    noise = next(v for v in suite.variants if v.name == "ep~noise")
    assert noise.endpoint == suite.variants[0].endpoint and noise.seed_offset


def test_providers_suite_validates_without_keys_and_run_names_the_missing_variable(monkeypatch, tmp_path):
    suite = load_suite("providers-flux-dev")
    eps = {v.name: v.endpoint for v in suite.variants if v.endpoint}
    assert set(eps) == {"replicate", "fal", "together"} and all(e.api_key_env for e in eps.values())
    for var in ("REPLICATE_API_TOKEN", "FAL_KEY", "TOGETHER_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    proc = run_cli_here("run", "providers-flux-dev", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "REPLICATE_API_TOKEN is not set" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()


def test_price_table_entries_have_provenance_and_cost_follows_the_unit():
    for entry in PROVIDER_PRICES.values():
        assert entry.source and entry.date and entry.unit in ("image", "megapixel")
    fal = endpoint_price(_suite({**EP, "protocol": "fal-queue", "url": "https://queue.fal.run",
                                 "model": "fal-ai/flux/dev"}).variants[1].endpoint)
    assert cost_per_image(fal, 1024, 1024) == pytest.approx(0.05)  # 1.05 MP billed as 2 MP
    assert cost_per_image(fal, 1000, 1000) == pytest.approx(0.025)
    # the same model id on a self-hosted server does not pick up a provider's price
    together_id = {**EP, "model": "black-forest-labs/FLUX.1-dev"}
    assert endpoint_price(_suite(together_id).variants[1].endpoint) is None
