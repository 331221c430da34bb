"""Full ``evalsuite run`` suites for hostile-server tests: a tiny local baseline beside
endpoint variants that talk to a :class:`~tests.evalsuite.endpoints.faultserver.FaultServer`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_cli, run_cli_here

HEAD = """
name = "hostile"
baseline = "local"
[model]
id = "tiny"
device = "cpu"
steps = 2
height = 64
width = 64
[prompts]
sets = ["smoke"]
limit = {limit}
seeds = {seeds}
[run]
warmup = 0
drift_images = 0
{run_extra}
[metrics]
use = ["sharpness"]
[[variant]]
name = "local"
"""

VARIANT = """
[[variant]]
name = "{name}"
[variant.endpoint]
protocol = "{protocol}"
url = "{url}"
model = "{model}"
api_key_env = "HOSTILE_KEY"
max_retries = 0
{extra}
"""


def suite_text(variants: list[dict[str, str]], limit: int, seeds: tuple[int, ...] = (0,),
              run_extra: str = "") -> str:
    """A suite: the local baseline, then one endpoint variant per dict (name, protocol, url, ...)."""
    text = HEAD.format(limit=limit, seeds=list(seeds), run_extra=run_extra)
    for v in variants:
        text += VARIANT.format(**{"model": "", "extra": "", **v})
    return text


def run_suite(tmp_path: Path, text: str, *, fresh_process: bool = False
              ) -> tuple[Path, subprocess.CompletedProcess]:
    """Write the suite and run it with the CLI; (run folder, what it printed and its exit code).

    The CLI's main runs in this process unless ``fresh_process``: a test of everything a run
    prints (a library's own logging and warnings included) needs a process of its own.
    """
    suite = tmp_path / "suite.toml"
    suite.write_text(text)
    out = tmp_path / "run"
    return out, (run_cli if fresh_process else run_cli_here)("run", str(suite), "--out", str(out))
