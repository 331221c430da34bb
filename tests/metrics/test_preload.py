"""Each scorer's ``preload`` names what its scoring imports, so a run can import it early."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from metrics import SCORERS
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


@pytest.mark.parametrize("name", ["sharpness", "ssim"])  # psnr: the same module as ssim
def test_scoring_after_preload_imports_nothing_heavy(name: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, name], cwd=REPO, capture_output=True,
                         text=True, timeout=hang_guard(), check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_every_preload_names_a_module_that_exists() -> None:
    # find_spec of a dotted name imports its parents; in this process those (torch, transformers,
    # torchvision) are imported already, and a fresh interpreter would spend seconds on them.
    import importlib.util

    names = sorted({m for name in SCORERS.names() for m in SCORERS.get(name).preload})
    assert names and [m for m in names if importlib.util.find_spec(m) is None] == []
