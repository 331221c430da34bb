"""The light commands never import torch, diffusers or transformers (issue 12, section 5).

``--help``, ``list ...``, ``recommend``, ``export`` and every suite validation error must be
instant; their timing against ``import torch`` is measured by ``bench/cli_timing.py``. Here
one fresh interpreter runs each command in turn and reports the heavy modules each left in
``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, hang_guard

HEAVY = ("torch", "diffusers", "transformers")
# Not heavy, but each costs about 5% of an `import torch`: validating a suite and reading a
# summary need neither (issue 12's 25% target for these commands).
LIGHTER = ("numpy", "httpx")
PROBE = f"""
import contextlib, io, json, sys
from evalsuite.cli.main import main
found = {{}}
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    found[" ".join(argv)] = [code, [m for m in {HEAVY + LIGHTER!r} if m in sys.modules]]
print(json.dumps(found))
"""
BAD = {
    "unknown-key": '[model]\nid = "tiny"\nsteps = 4\ncolour = 1\n[[variant]]\nname = "baseline"\n',
    "bad-metric": '[model]\nid = "tiny"\n[metrics]\nuse = ["nope"]\n[[variant]]\nname = "baseline"\n',
    "bad-budget": '[model]\nid = "tiny"\n[[variant]]\nname = "baseline"\n[[report.budget]]\n'
                  'metric = "psnr"\nmax_drop = 1\n',
    "bad-accelerator": '[model]\nid = "tiny"\n[[variant]]\nname = "baseline"\n[[variant]]\n'
                       'name = "x"\nfbcache = { threshold = -1 }\n',
    "bad-prompts": '[model]\nid = "tiny"\n[prompts]\nsets = ["smoke"]\npaths = { smoke = "no.csv" }\n'
                   '[[variant]]\nname = "baseline"\n',
}


def probe(argvs: list[list[str]]) -> dict[str, list]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argvs)], cwd=REPO,
                          capture_output=True, text=True, timeout=hang_guard())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_help_list_and_validation_errors_never_import_torch_numpy_or_httpx(tmp_path: Path) -> None:
    argvs = [["--help"], ["run", "--help"], ["list", "suites"], ["list", "metrics"],
             ["list", "accelerators"], ["list", "prompt-sets"]]
    for name, text in BAD.items():
        (tmp_path / f"{name}.toml").write_text(text)
        argvs.append(["run", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / "none")])
    found = probe(argvs)
    assert {k: v[1] for k, v in found.items() if v[1]} == {}
    assert [v[0] for v in found.values()] == [0] * 6 + [2] * len(BAD)  # each error really failed
    assert not (tmp_path / "none").exists()


def test_recommend_and_export_never_import_torch(smoke_run: Path, tmp_path: Path) -> None:
    found = probe([["recommend", str(smoke_run)], ["recommend", str(smoke_run), "--json"],
                   ["export", str(smoke_run), "--out", str(tmp_path / "csv")]])
    for command, (_, imported) in found.items():  # in order: recommend runs before export
        # export rebuilds the summary's statistics (numpy); recommend only reads summary.json
        allowed = {"numpy"} if command.startswith("export") else set()
        assert set(imported) <= allowed, (command, imported)
    assert [v[0] for v in found.values()][2] == 0 and (tmp_path / "csv" / "samples.csv").is_file()


def test_importing_every_scorer_module_is_light() -> None:
    code = ("import sys, metrics; from metrics import SCORERS; [(c.kind, c.ideal, c.higher_is_better) "
            f"for _, c in SCORERS]; print([m for m in {HEAVY + ('torchmetrics', 'torchvision')!r} "
            "if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=hang_guard())
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr
