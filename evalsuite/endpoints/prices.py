"""Prices of the hosted FLUX.1 [dev] endpoints InferBench compares, each with its source.

Used when an endpoint variant gives neither ``price_per_image`` nor ``price_per_megapixel``
and its (host, model) is in the table: keyed by the provider's host, so a self-hosted server
serving the same model id never picks up a provider's price. Prices move: set the price in the suite for your
own contract. Where no public price was found, the table says so instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from evalsuite.endpoints.spec import EndpointSpec


@dataclass(frozen=True)
class ProviderPrice:
    """One provider's list price for one model, with its provenance."""

    provider: str
    model: str
    usd: float | None  # None: no public price found
    unit: str  # "image" or "megapixel"
    source: str
    date: str  # when the price was read
    round_megapixels_up: bool = False  # billed per started megapixel


PROVIDER_PRICES: dict[tuple[str, str], ProviderPrice] = {
    ("queue.fal.run", "fal-ai/flux/dev"): ProviderPrice(
        "fal.ai", "fal-ai/flux/dev", 0.025, "megapixel",
        "fal.ai model page for FLUX.1 [dev] (fal.ai/models/fal-ai/flux-1/dev): '$0.025 per megapixel', "
        "'billed by rounding up to the nearest megapixel'", "2026-12-01", round_megapixels_up=True),
    ("api.replicate.com", "black-forest-labs/flux-dev"): ProviderPrice(
        "Replicate", "black-forest-labs/flux-dev", 0.025, "image",
        "secondary: third-party price comparisons citing Replicate ('$0.025/image', workflowlab.dev "
        "verified 2026-05-11); replicate.com's own page was not reachable from here", "2026-12-01"),
    ("api.replicate.com", "prunaai/flux.1-juiced"): ProviderPrice(
        "Replicate (Pruna FLUX-juiced)", "prunaai/flux.1-juiced", None, "image",
        "no public price found; set price_per_image", "2026-12-01"),
    ("api.together.xyz", "black-forest-labs/FLUX.1-dev"): ProviderPrice(
        "Together AI", "black-forest-labs/FLUX.1-dev", 0.0154, "image",
        "secondary: third-party price comparison citing together.ai/pricing ('$0.0154/image', "
        "workflowlab.dev verified 2026-05-11)", "2026-12-01"),
}
# Fireworks AI (flux-1-dev-fp8) is also in InferBench's comparison; it has its own workflow
# API that none of the protocols here speaks, and no public price was found.


def megapixels(width: int, height: int, round_up: bool = False) -> float:
    """Image area in megapixels (10^6 pixels), optionally rounded up to a whole one."""
    mp = width * height / 1e6
    return float(math.ceil(mp)) if round_up else mp


def endpoint_price(spec: EndpointSpec) -> ProviderPrice | None:
    """The suite's own price for the endpoint, else the table's entry, else None."""
    if spec.price_per_image is not None:
        return ProviderPrice("suite", spec.model, spec.price_per_image, "image", "suite file", "")
    if spec.price_per_megapixel is not None:
        return ProviderPrice("suite", spec.model, spec.price_per_megapixel, "megapixel", "suite file", "")
    found = PROVIDER_PRICES.get(((urlsplit(spec.url).hostname or "").lower(), spec.model))
    return found if found is not None and found.usd is not None else None


def cost_per_image(price: ProviderPrice | None, width: int, height: int) -> float | None:
    """USD for one image of width x height at ``price`` (None when unknown)."""
    if price is None or price.usd is None:
        return None
    if price.unit == "image":
        return price.usd
    return price.usd * megapixels(width, height, price.round_megapixels_up)
