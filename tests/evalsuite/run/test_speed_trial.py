"""The speed trial (evalsuite.run.speed_trial): two real workers on the tiny pipeline, alive
at once, timing in turns. Asserts the structure of the trial, never how fast anything was."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import prompts
from evalsuite.progress import Reporter
from evalsuite.run.plan import suite_items
from evalsuite.run.speed_trial import TRIAL_RECORD, TRIAL_STORE, schedule, speed_trial
from evalsuite.suite.spec import load_suite, with_variants
from evalsuite.tune.variants import probe_settings
from tests.ahead import Ahead, runs_ahead
from tests.conftest import REPO, hang_guard


def _rows(run: Path) -> list[tuple[str, str, int, float, float]]:
    """(variant id, prompt, seed, created, latency) of the trial's store, in the order stored."""
    with sqlite3.connect(run / TRIAL_STORE) as con:
        return con.execute("SELECT variant_id, prompt_id, seed, created, latency_s FROM samples "
                           "ORDER BY created").fetchall()


def test_both_workers_time_in_turns_and_a_finished_trial_is_read_back(tmp_path: Path) -> None:
    suite = load_suite("tune-smoke")
    assert suite.tune is not None
    view = with_variants(suite, [probe_settings(suite.tune, 0.2)], steps=3)
    base, probe = view.variants
    items = suite_items(prompts.resolve_prompts(view.prompts)[:3], view.prompts.seeds)
    trial = speed_trial(view, tmp_path, "cpu", Reporter(), base, probe, items)
    assert not isinstance(trial, str), trial
    assert [p.order for p in trial.pairs] == ["AB", "BA", "AB"]
    assert [(p.prompt_id, p.seed) for p in trial.pairs] == [i.key for i in items]
    rows = _rows(tmp_path)
    # stored one at a time, in the schedule's order: A B | B A | A B
    assert [r[0] for r in rows] == [(base.id, probe.id)[side] for side in schedule(3)]
    assert [(r[1], r[2]) for r in rows[::2]] == [i.key for i in items]
    assert all(trial.started <= r[3] <= trial.ended for r in rows)
    candidate, reference = trial.times()  # exactly the stored timings, nothing else
    assert candidate == {(r[1], r[2]): r[4] for r in rows if r[0] == probe.id}
    assert reference == {(r[1], r[2]): r[4] for r in rows if r[0] == base.id}
    assert len(trial.load_before) == 3 and len(trial.load_after) == 3

    # A finished trial is read back: no worker, no new row.
    assert speed_trial(view, tmp_path, "cpu", Reporter(), base, probe, items) == trial
    assert _rows(tmp_path) == rows
    # One killed before it finished has no record: it is timed again from scratch.
    (tmp_path / TRIAL_RECORD).unlink()
    again = speed_trial(view, tmp_path, "cpu", Reporter(), base, probe, items)
    assert not isinstance(again, str) and again.started >= trial.ended
    assert len(_rows(tmp_path)) == len(rows) and all(r[3] >= again.started for r in _rows(tmp_path))
    # Other items (or another winner) are another trial.
    other = speed_trial(view, tmp_path, "cpu", Reporter(), base, probe, items[:2])
    assert not isinstance(other, str) and len(other.pairs) == 2 and len(_rows(tmp_path)) == 4


SCRIPT = textwrap.dedent("""
    import json, sys
    from dataclasses import asdict
    from pathlib import Path
    from evalsuite.progress import Reporter
    from evalsuite.run.generators import alternate
    from evalsuite.suite.types import ModelSpec, Variant
    from evalsuite.store.db import Store
    from evalsuite.run.work import WorkerJob, WorkItem

    run = Path(sys.argv[1])
    good, bad = Variant("good", (), "g" * 16), Variant("bad", (), "b" * 16)
    items = tuple(WorkItem(f"p{i}", "a red apple", 0) for i in range(3))
    store = Store(run / "speed.sqlite")
    store.put_prompts((i.prompt_id, i.text, "", 0, "", {}) for i in items)
    jobs = []
    models = (ModelSpec(steps=2, max_sequence_length=64), ModelSpec(id=str(run / "nope")))
    for v, model in zip((good, bad), models):
        store.put_variant(v.id, v.name, {})
        jobs.append(WorkerJob.build(str(run), v, model, "cpu", items, 0).aside("speed.sqlite", "speed"))
    if __name__ == "__main__":
        reasons = alternate(jobs, [0, 1, 1, 0, 0, 1], store, None, Reporter())
        print(json.dumps({"reasons": reasons, "good": asdict(store.variant(good.id)),
                          "bad": asdict(store.variant(bad.id)),
                          "stored": sorted(store.done_keys(good.id))}))
""")


def alternate_with_a_failing_partner(tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """:data:`SCRIPT` in a fresh interpreter (a job started ahead)."""
    script = tmp / "alternate.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), str(tmp)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=hang_guard())


@runs_ahead(alternate_with_a_failing_partner)
def test_a_worker_that_fails_stops_its_partner_and_leaks_nothing(ahead: Ahead) -> None:
    proc = ahead(alternate_with_a_failing_partner)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    good, bad = out["reasons"]
    assert good == "stopped: the other worker of its alternation failed" and bad
    assert out["good"]["status"] == "failed" and out["bad"]["status"] == "failed"
    assert out["stored"] == [["p0", 0]]  # its first turn, then the partner's turn never came
    assert "leaked semaphore" not in proc.stderr and "resource_tracker" not in proc.stderr, proc.stderr
