"""``evalsuite compare RUN_A RUN_B ... --out DIR``: one report across run folders.

Reads each folder's summary.json, manifest.json, suite.toml and results.sqlite (read only),
hands plain per-image tables to the pure ``reports.compare`` and writes ``compare.json`` and
``index.html`` into DIR. Runs that cannot be compared are refused with a one-line reason.
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from evalsuite.errors import UserError
from evalsuite.store.db import Store
from evalsuite.store.paths import MANIFEST, RESULTS, SUITE, SUMMARY
from evalsuite.store.schema import DONE_SAMPLE_STATUSES, VariantStatus
from reports.compare import CompareError, RunView, VariantRun, compare
from reports.compare_html import render_compare
from reports.files import write_atomic
from reports.jsonio import to_json


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({type(exc).__name__}); run `evalsuite report` "
                        f"on that folder first") from None


def _machine(hardware: dict[str, Any]) -> str:
    return str(hardware.get("gpu") or f"{hardware.get('device', 'cpu')} ({hardware.get('cpu') or '?'})")


def load_run(run_dir: Path, label: str) -> RunView:
    """Everything ``compare`` needs from one run folder."""
    for name in (SUMMARY, MANIFEST, SUITE, RESULTS):
        if not (run_dir / name).is_file():
            raise UserError(f"{run_dir}: not a finished run folder (no {name})")
    summary = _read_json(run_dir / SUMMARY)
    manifest = _read_json(run_dir / MANIFEST)
    suite = tomllib.loads((run_dir / SUITE).read_text())
    # Read only: comparing must never change a run folder (nor create a WAL beside it).
    with Store.open_read_only(run_dir / RESULTS) as store:
        samples, scores = store.samples(), store.scores()
    latency: dict[str, dict] = defaultdict(dict)
    energy: dict[str, dict] = defaultdict(dict)
    for s in samples:
        key = (s.prompt_id, s.seed)
        timed = s.status in DONE_SAMPLE_STATUSES
        latency[s.variant_id][key] = s.latency_s if timed else None
        energy[s.variant_id][key] = s.energy_j if timed else None
    by_metric: dict[tuple[str, str], dict] = defaultdict(dict)
    for r in scores:
        by_metric[(r.variant_id, r.metric)][(r.prompt_id, r.seed)] = r.value
    price = (summary.get("pricing") or {}).get("usd_per_hour")
    variants = []
    base_settings = "{}"
    for v in summary["variants"]:
        gpus = v.get("gpus_per_image") or 1
        variants.append(VariantRun(
            name=v["name"], ok=v["status"] == VariantStatus.OK, is_baseline=bool(v["is_baseline"]),
            latency_s=latency.get(v["id"], {}), energy_j=energy.get(v["id"], {}),
            scores={m: by_metric.get((v["id"], m), {}) for m in summary["metrics"]},
            usd_per_second=price * gpus / 3600.0 if price is not None else None))
        if v["is_baseline"]:
            base_settings = json.dumps(v.get("accelerators") or {}, sort_keys=True)
    model = {k: v for k, v in suite.get("model", {}).items() if k != "device"}
    return RunView(label=label, machine=_machine(manifest.get("hardware", {})), model=model,
                   baseline_settings=base_settings, packages=manifest.get("packages", {}),
                   hardware={k: v for k, v in manifest.get("hardware", {}).items()},
                   metrics=summary["metrics"], variants=variants)


def _labels(run_dirs: list[Path]) -> list[str]:
    """Folder names, made unique with their parent's name (then a number) where they clash."""
    names = [d.resolve().name for d in run_dirs]
    labels = [f"{d.resolve().parent.name}/{n}" if names.count(n) > 1 else n
              for d, n in zip(run_dirs, names, strict=True)]
    return [f"{lab}#{i + 1}" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


def compare_runs(run_dirs: list[Path], out_dir: Path) -> dict[str, Any]:
    """Compare the runs and write ``compare.json`` and ``index.html`` into ``out_dir``."""
    runs = [load_run(d, lab) for d, lab in zip(run_dirs, _labels(run_dirs), strict=True)]
    try:
        result = compare(runs)
    except CompareError as exc:
        raise UserError(str(exc)) from None
    result["run_dirs"] = [str(d) for d in run_dirs]
    safe = to_json(result)  # strict JSON: NaN as null, infinities as "inf"/"-inf"
    write_atomic(out_dir / "compare.json", json.dumps(safe, indent=2, allow_nan=False))
    render_compare(safe, out_dir)
    return safe
