"""Glue between suites and the endpoint generator: keys checked up front, jobs built from a
variant, and what each endpoint accepted and did with the seed recorded in the manifest.

The orchestration calls :func:`run_endpoint_variant` where it would start a local worker;
both write the same sample rows and PNGs into the same store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalsuite.endpoints import PROTOCOLS, MissingKeyError
from evalsuite.endpoints.generator import EndpointItem, EndpointJob, run_endpoint
from evalsuite.endpoints.spec import read_api_key
from evalsuite.errors import UserError
from evalsuite.overrides import effective_model
from evalsuite.spec import Suite, Variant
from evalsuite.store import image_dir, telemetry_path


def check_endpoint_keys(suite: Suite) -> None:
    """Every endpoint variant's key variable is set; else a UserError naming the variable."""
    for v in suite.variants:
        if v.endpoint is None:
            continue
        try:
            read_api_key(v.endpoint)
        except MissingKeyError as exc:
            raise UserError(f"{suite.source}: variant.{v.name}.endpoint.api_key_env: {exc}") from None


def endpoint_job(suite: Suite, variant: Variant, run_dir: Path,
                 items: Iterable[tuple[str, str, int]], store_path: str = "results.sqlite") -> EndpointJob:
    """The job for ``variant``'s missing (prompt id, text, seed) items."""
    assert variant.endpoint is not None
    model = effective_model(suite.model, variant)  # the variant's own steps, guidance and size
    return EndpointJob(str(run_dir), variant.id, variant.name, variant.endpoint, model.steps,
                       model.guidance, model.width, model.height,
                       tuple(EndpointItem(p, t, s) for p, t, s in items),
                       image_dir(variant.name, variant.id), variant.seed_offset, store_path)


def run_endpoint_variant(suite: Suite, variant: Variant, run_dir: Path,
                         items: Iterable[tuple[str, str, int]], progress: Any, already_done: int) -> bool:
    """Generate ``variant``'s missing images over HTTP; True when the variant failed."""
    assert variant.endpoint is not None
    job = endpoint_job(suite, variant, run_dir, items)
    progress.start(variant.name, len(job.items) + already_done, already_done=already_done)
    outcome = run_endpoint(job, PROTOCOLS[variant.endpoint.protocol](),
                           tick=lambda n: progress.update(already_done + n), time_limit_s=suite.run.timeout_s)
    if outcome.failed_requests and not outcome.failed:
        kinds = ", ".join(f"{n} x {k}" for k, n in sorted(outcome.kinds.items()))
        progress(f"    {outcome.failed_requests} requests failed ({kinds}); a rerun retries them")
    return outcome.failed


def record_endpoints_in_manifest(run_dir: Path, suite: Suite) -> None:
    """Add what each endpoint accepted and whether it honoured the seed to ``manifest.json``."""
    path = run_dir / "manifest.json"
    endpoints: dict[str, Any] = {}
    for v in suite.variants:
        tele = telemetry_path(run_dir, v.name, v.id)
        if v.endpoint is None or not tele.is_file():
            continue
        ep = json.loads(tele.read_text()).get("endpoint", {})
        endpoints[v.name] = {k: ep.get(k) for k in ("protocol", "url", "model", "accepted", "extra",
                                                    "seed_probe", "price")}
    if endpoints and path.is_file():
        manifest = json.loads(path.read_text())
        manifest["endpoints"] = endpoints
        path.write_text(json.dumps(manifest, indent=2))
