"""Glue between suites and the endpoint generator: keys checked up front, jobs built from a
variant, and what each endpoint accepted and did with the seed recorded in the manifest.

The orchestration hands an endpoint variant's job to :class:`EndpointGenerator` where it
would start a local worker; both write the same sample rows and PNGs into the same store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalsuite.endpoints import PROTOCOLS, MissingKeyError
from evalsuite.endpoints.generator import EndpointItem, EndpointJob, run_endpoint
from evalsuite.endpoints.spec import read_api_key
from evalsuite.errors import UserError
from evalsuite.progress import Progress
from evalsuite.run.work import WorkerJob
from evalsuite.store.db import Store
from evalsuite.store.paths import MANIFEST, telemetry_path
from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import Suite
from evalsuite.suite.types import ModelSpec


def check_endpoint_keys(suite: Suite) -> None:
    """Every endpoint variant's key variable is set; else a UserError naming the variable."""
    for v in suite.variants:
        if v.endpoint is None:
            continue
        try:
            read_api_key(v.endpoint)
        except MissingKeyError as exc:
            raise UserError(f"{suite.source}: variant.{v.name}.endpoint.api_key_env: {exc}") from None


def endpoint_job(job: WorkerJob) -> EndpointJob:
    """The endpoint job for a generator job (its run folder, variant, model and pending items)."""
    variant = job.variant
    assert variant.endpoint is not None
    model = effective_model(job.model, variant)  # the variant's own steps, guidance and size
    guidance_field, negative = family_fields(model)
    return EndpointJob(str(job.run_dir), variant.id, variant.name, variant.endpoint, model.steps,
                       model.guidance, model.width, model.height,
                       tuple(EndpointItem(i.prompt_id, i.text, i.seed) for i in job.items),
                       job.image_dir, variant.seed_offset, job.store_path, job.warmup,
                       guidance_field, negative, model.frames, model.fps)


def family_fields(model: ModelSpec) -> tuple[str, str | None]:
    """(the family's name for guidance, the negative prompt it sends): the served model gets the
    settings the local one would. A model whose family cannot be told gets ``guidance_scale``."""
    from evalsuite.models.families import family_of

    try:
        family = family_of(model)
    except ValueError:  # a hub id the suite named without a family, offline
        return "guidance_scale", model.negative_prompt
    return family.guidance_name, family.negative_prompt(model)


class EndpointGenerator:
    """The generator of an endpoint variant: its pending items requested over HTTP.

    Same contract as the local worker's generator: it writes sample rows and PNGs into the
    job's store and returns why the variant failed, or None.
    """

    def run(self, job: WorkerJob, store: Store, timeout: float | None, progress: Progress,
            abort: object = None) -> str | None:
        """Generate ``job.items`` through the variant's endpoint, reporting progress."""
        del store, abort  # the generator opens its own connection; endpoints form no groups
        ep_job = endpoint_job(job)
        progress.start(job.variant.name, len(ep_job.items))
        outcome = run_endpoint(ep_job, PROTOCOLS[ep_job.spec.protocol](), tick=progress.update,
                               time_limit_s=timeout)
        if outcome.failed_requests and not outcome.failed:
            kinds = ", ".join(f"{n} x {k}" for k, n in sorted(outcome.kinds.items()))
            progress(f"    {outcome.failed_requests} requests failed ({kinds}); a rerun retries them")
        return outcome.reason if outcome.failed else None


def record_endpoints_in_manifest(run_dir: Path, suite: Suite) -> None:
    """Add what each endpoint accepted and whether it honoured the seed to ``manifest.json``."""
    path = run_dir / MANIFEST
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
