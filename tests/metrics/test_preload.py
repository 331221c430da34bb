"""Each scorer's ``preload`` names what its scoring imports, so a run can import it early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metrics import SCORERS
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard

# Scores two tiny images after the preload and prints the heavy modules scoring still had
# to import: the run's scoring phase would pay for those after generation, serially.
PROBE = """
import json, sys
from PIL import Image
from metrics import SCORERS, Sample, preload_imports
name = sys.argv[1]
preload_imports([name])
before = set(sys.modules)
images = [Image.new("RGB", (32, 32), (i * 40, 90, 30)) for i in range(2)]
samples = [Sample(image=im, prompt="a red apple", reference=images[0]) for im in images]
SCORERS.get(name)().score(samples)
heavy = ("torch", "torchmetrics", "torchvision", "transformers", "scipy")
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in heavy)))
"""


PROBED = ("sharpness", "ssim")  # psnr: the same module as ssim


def probe_preloads(tmp: Path, env: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """:data:`PROBE` for each scorer of :data:`PROBED`, each in a fresh interpreter (a job
    started ahead)."""
    return {name: subprocess.run([sys.executable, "-c", PROBE, name], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=hang_guard())
            for name in PROBED}


@pytest.mark.parametrize("name", PROBED)
@runs_ahead(probe_preloads)
def test_scoring_after_preload_imports_nothing_heavy(name: str, ahead: Ahead) -> None:
    out = ahead(probe_preloads)[name]
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_every_preload_names_a_module_that_exists() -> None:
    # find_spec of a dotted name imports its parents; in this process those (torch, transformers,
    # torchvision) are imported already, and a fresh interpreter would spend seconds on them.
    import importlib.util

    names = sorted({m for name in SCORERS.names() for m in SCORERS.get(name).preload})
    assert names and [m for m in names if importlib.util.find_spec(m) is None] == []
