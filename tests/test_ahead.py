"""tests/ahead.py: jobs run in the background in order, each once, handed to their tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ahead import Ahead, jobs_in_order, runs_ahead
from tests.conftest import hang_guard, smoke

RAN: list[tuple[str, str]] = []  # (job, thread name), in the order the jobs started


def _ran(name: str) -> None:
    RAN.append((name, threading.current_thread().name))


def failing(tmp: Path, env: dict[str, str]) -> None:
    _ran("failing")
    raise ValueError("the job's own error")


def not_queued(tmp: Path, env: dict[str, str]) -> str:
    _ran("not_queued")
    return f"{tmp.name}:{env['WHO']}"


def _folders(root: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        (root / name).mkdir()
        return root / name
    return make


def _blocker(started: threading.Event, release: threading.Event) -> Callable[[Path, dict[str, str]], str]:
    """A job that says it has started, then waits for ``release``; it returns env's WHO."""
    def blocker(tmp: Path, env: dict[str, str]) -> str:
        _ran("blocker")
        started.set()
        assert release.wait(hang_guard())
        return env.get("WHO", "released")
    return blocker


def test_jobs_run_once_in_the_background_and_hand_over_results_and_errors(tmp_path: Path) -> None:
    RAN.clear()
    started, release = threading.Event(), threading.Event()
    blocker = _blocker(started, release)

    env = {"WHO": "snapshot"}
    ahead = Ahead([blocker, failing], _folders(tmp_path), env, hang_guard())
    env["WHO"] = "changed later"  # jobs see the environment as it was given
    ahead.start()
    assert started.wait(hang_guard())  # an order: the thread has taken the first job
    assert RAN == [("blocker", "tests-ahead")]
    release.set()
    assert ahead(blocker) == "snapshot" and ahead(blocker) == "snapshot"  # run once, kept
    with pytest.raises(ValueError, match="the job's own error"):
        ahead(failing)
    assert ahead(not_queued) == "not_queued:snapshot"  # not queued: run by the test taking it
    ahead.close()
    assert sorted(job for job, _ in RAN) == ["blocker", "failing", "not_queued"]
    assert RAN[-1] == ("not_queued", threading.current_thread().name)


def test_a_job_whose_turn_has_not_come_runs_in_the_test_that_takes_it(tmp_path: Path) -> None:
    RAN.clear()
    ahead = Ahead([not_queued], _folders(tmp_path), {"WHO": "x"}, hang_guard())
    assert ahead(not_queued) == "not_queued:x"  # the thread never started
    ahead.start()
    ahead.close()
    assert [("not_queued", threading.current_thread().name)] == RAN


def test_a_test_waiting_on_a_running_job_runs_the_next_ones_meanwhile(tmp_path: Path) -> None:
    RAN.clear()
    started, release = threading.Event(), threading.Event()
    blocker = _blocker(started, release)

    def releaser(tmp: Path, env: dict[str, str]) -> None:
        _ran("releaser")
        release.set()

    ahead = Ahead([blocker, releaser], _folders(tmp_path), {}, hang_guard())
    ahead.start()
    assert started.wait(hang_guard())  # the thread runs the blocker, which waits for the releaser
    assert ahead(blocker) == "released"  # only the waiting test can have run the releaser
    ahead.close()
    assert [("blocker", "tests-ahead"), ("releaser", threading.current_thread().name)] == RAN


class _Item:
    def __init__(self, *jobs: object, fixtures: tuple[str, ...] = ()) -> None:
        self._marks = [runs_ahead(*jobs).mark] if jobs else []  # type: ignore[arg-type]
        self.fixturenames = fixtures

    def iter_markers(self, name: str):
        return iter(m for m in self._marks if m.name == name)


def test_jobs_are_ordered_by_their_first_test_and_listed_once() -> None:
    items = [_Item(failing), _Item(not_queued, failing), _Item(), _Item(not_queued)]
    assert jobs_in_order(items) == [failing, not_queued]  # type: ignore[arg-type]
    # a fixture's job (conftest's smoke run) comes with the first test using the fixture
    items = [_Item(failing), _Item(fixtures=("smoke_run", "smoke_cli"))]
    assert jobs_in_order(items) == [failing, smoke]  # type: ignore[arg-type]
