"""``manifest.json``: what produced a run (versions, git sha, device, seeds, config hash)."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from evalsuite.store.paths import MANIFEST
from evalsuite.suite.spec import Suite

PACKAGES = ("evalsuite", "torch", "diffusers", "transformers", "torchmetrics", "torchao",
            "accelerate", "para-attn", "cache-dit", "numpy", "pillow")


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def device_info(device: str) -> dict[str, Any]:
    """Name of the device and, on CUDA, its capability and driver."""
    info: dict[str, Any] = {"device": device, "cpu": platform.processor() or platform.machine()}
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(device)
        info["capability"] = list(torch.cuda.get_device_capability(device))
        info["cuda"] = torch.version.cuda
        info["driver"] = torch.cuda.driver_version() if hasattr(torch.cuda, "driver_version") else None
    return info


def config_hash(suite: Suite) -> str:
    """Hash of the resolved suite's canonical JSON."""
    return hashlib.sha256(json.dumps(suite.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def write_manifest(run_dir: Path, suite: Suite, device: str) -> dict[str, Any]:
    """Write and return the manifest."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    manifest = {
        "suite": suite.name, "config_hash": config_hash(suite), "git_sha": _git_sha(),
        "python": platform.python_version(), "platform": platform.platform(),
        "packages": versions, "hardware": device_info(device),
        "seeds": list(suite.prompts.seeds),
        "variants": {v.name: v.id for v in suite.variants},
    }
    (run_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest
