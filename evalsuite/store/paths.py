"""The run folder's layout: every name in it, relative to the folder, in one place.

```
runs/<suite>/
  suite.toml  manifest.json  results.sqlite  summary.json  timings.json  metric_card.json
  images/<variant>-<id8>/<prompt_id>-<seed>.png     telemetry/<variant>-<id8>.json
  traces/<variant>-<id8>.jsonl  traces/trace.sqlite drift/<variant>-<id8>/  drift.sqlite
  speed/<variant>-<id8>/  speed.sqlite  speed_trial.json (tune)
  shards/rank-<r>.sqlite (torchrun)  distributed.json  report/index.html  export/  .lock
```
Names are relative strings, as a worker is handed them (a job is pickled and the worker
joins them to its own ``run_dir``); the functions below join the per-variant ones.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results.sqlite"  # variants, samples, scores (the run's store)
SUITE = "suite.toml"  # the resolved suite, defaults filled in
MANIFEST = "manifest.json"  # versions, hardware, seeds, endpoints' accepted settings
SUMMARY = "summary.json"
TIMINGS = "timings.json"  # where the run's own wall time went (bench/smoke_timing.py reads it)
DISTRIBUTED = "distributed.json"  # a torchrun launch's world and hosts
METRIC_CARD = "metric_card.json"
LOCK = ".lock"
IMAGES = "images"
TELEMETRY = "telemetry"
TRACES = "traces"
TRACE_STORE = f"{TRACES}/trace.sqlite"  # the trace worker's own store: results.sqlite is not touched
DRIFT_STORE = "drift.sqlite"  # the drift check's re-timed baseline rows, apart from the sweep's
DRIFT_IMAGES = "drift"  # the drift check's images, beside (never over) the baseline's
TRIAL_STORE = "speed.sqlite"  # tune's speed trial: its timings, apart from the run's
TRIAL_IMAGES = "speed"  # the speed trial's images, beside (never over) the scored ones
TRIAL_RECORD = "speed_trial.json"  # written once the speed trial is complete
SHARDS = "shards"
REPORT = "report"
REPORT_HTML = f"{REPORT}/index.html"
EXPORT = "export"


def image_dir(variant_name: str, variant_id: str) -> str:
    """Images of a variant live under its name plus id, so changed settings never mix."""
    return f"{IMAGES}/{variant_folder(variant_name, variant_id)}"


def variant_folder(variant_name: str, variant_id: str) -> str:
    """A variant's name in file names: its name plus the first 8 characters of its id."""
    return f"{variant_name}-{variant_id[:8]}"


def telemetry_path(run_dir: Path, variant_name: str, variant_id: str) -> Path:
    """The worker's per-variant telemetry file (timings and each technique's own counters)."""
    return run_dir / TELEMETRY / f"{variant_folder(variant_name, variant_id)}.json"


def trace_path(run_dir: Path, variant_name: str, variant_id: str) -> Path:
    """One JSON line per traced image, beside the variant's telemetry."""
    return run_dir / TRACES / f"{variant_folder(variant_name, variant_id)}.jsonl"


def shard_store(rank: int) -> str:
    """The store a torchrun rank (and its workers) writes, relative to the run folder."""
    return f"{SHARDS}/rank-{rank}.sqlite"


def shard_path(run_dir: Path, rank: int) -> Path:
    """The shard store of ``rank``."""
    return run_dir / shard_store(rank)
