"""Subprocess work started ahead of the tests that check it, on the machine's other core.

The suite runs one test at a time in one process, and most of its tests keep one core busy:
this process, or the forkserver worker it waits on. A test whose cost is a fresh interpreter
(a script, a CLI run in its own process, a launch that is killed mid-run) leaves the other
core idle while the rest of the suite waits behind it. Such work is a *job*: a function of
a fresh folder and an environment that starts its subprocesses, waits on them and returns
what the test checks. A test names its jobs with ``@runs_ahead(job, ...)``, and a fixture
shared by many tests with ``@runs_ahead_of("fixture_name")`` on the job; at the session's
start one background thread runs every selected test's jobs, one at a time, in the order
their tests will run, and the test (or fixture) takes the result with the ``ahead`` fixture
(``ahead(job)``), running it itself if it has not started, or else, while it is not done,
running the queued jobs that come next rather than idling. The checks stay in the tests;
only the waiting moved.

What a job may do, because it runs beside other tests in this process:
- start subprocesses (and a loopback server thread of its own, as the redaction run does)
  and wait on them, with every path absolute and ``cwd`` given (a test may ``chdir``
  meanwhile), in its own folder only;
- read the environment it is given (a snapshot taken at the session's start, before any
  test's ``monkeypatch``), never ``os.environ``;
- never print, import torch for work of its own, or run evalsuite in this process (the
  forkserver and the CLI's redirected streams belong to the test running meanwhile).

Nothing depends on which finishes first: a job shares no file, port or process with the
tests running meanwhile, and every wait is bounded by the tests' hang guard only. The one
thing shared is the user cache of tiny models, which any number of processes may fill at
once (each model is built beside its folder and renamed into place).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
Job = Callable[[Path, dict[str, str]], Any]
J = TypeVar("J", bound=Job)


class _Slot:
    """One job's state: pending, running (by the thread or a test), or done."""

    def __init__(self, job: Job, folder: Path | None = None) -> None:
        self.job, self.folder = job, folder
        self.started = False
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Ahead:
    """Runs jobs in a background thread, in order; hands each result to its test."""

    def __init__(self, jobs: Iterable[Job], folder: Callable[[str], Path], env: Mapping[str, str],
                 guard_s: float) -> None:
        # Every queued job's folder is made here, in the main thread: pytest's numbered
        # temporary folders are not made to be created from two threads at once.
        self._slots = {job: _Slot(job, folder(job.__name__)) for job in jobs}
        # A snapshot: what a test's monkeypatch sets later is not the jobs' business.
        self._folder, self._env, self._guard_s = folder, dict(env), guard_s
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._run_all, name="tests-ahead", daemon=True)

    def start(self) -> None:
        if self._slots:
            self._thread.start()

    def close(self) -> None:
        """Start no further job and wait for the running one (a session cut short by ``-x``
        or a failing fixture must not leave its subprocesses behind)."""
        with self._lock:
            self._closing = True
        if self._thread.is_alive():
            self._thread.join(self._guard_s)

    def __call__(self, job: Callable[[Path, dict[str, str]], T]) -> T:
        """``job``'s result (its exception re-raised here), run now if it has not started."""
        slot, run_here = self._claim(job)
        if run_here:  # not queued (an unmarked test), or its turn has not come yet
            self._execute(slot)
        # The thread is running it: rather than idle, this test runs the jobs that come next.
        while not slot.done.is_set() and (other := self._next_pending()) is not None:
            self._execute(other)
        assert slot.done.wait(self._guard_s), f"{job.__name__} did not finish"
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _claim(self, job: Job) -> tuple[_Slot, bool]:
        """``job``'s slot, and whether the caller must run it (nobody has started it)."""
        with self._lock:
            slot = self._slots.get(job) or _Slot(job, self._folder(job.__name__))
            run_here, slot.started = not slot.started, True
            return slot, run_here

    def _next_pending(self) -> _Slot | None:
        """The first queued job nobody has started, now marked started; None when none is left
        (or the session is closing)."""
        with self._lock:
            if self._closing:
                return None
            for slot in self._slots.values():
                if not slot.started:
                    slot.started = True
                    return slot
            return None

    def _run_all(self) -> None:
        while (slot := self._next_pending()) is not None:
            self._execute(slot)

    def _execute(self, slot: _Slot) -> None:
        try:
            assert slot.folder is not None
            slot.result = slot.job(slot.folder, dict(self._env))
        except BaseException as exc:  # handed to the test that takes it
            slot.error = exc
        finally:
            slot.done.set()


def runs_ahead(*jobs: Job) -> pytest.MarkDecorator:
    """Mark a test (or a module, as ``pytestmark``) as taking ``jobs``' results."""
    # with_args: a mark called with one function would decorate that function instead.
    return pytest.mark.ahead.with_args(*jobs)


# fixture name -> the job it takes (see runs_ahead_of); filled as test modules are imported.
_FIXTURE_JOBS: dict[str, Job] = {}


def runs_ahead_of(fixture: str) -> Callable[[J], J]:
    """Declare a job as the one ``fixture`` takes: every test using ``fixture`` (directly or
    through other fixtures) starts it ahead, as ``@runs_ahead(job)`` on each would."""
    def register(job: J) -> J:
        assert _FIXTURE_JOBS.setdefault(fixture, job) is job, f"two jobs for {fixture}"
        return job
    return register


def jobs_in_order(items: Iterable[pytest.Item]) -> list[Job]:
    """Every job ``items`` take (their ``ahead`` markers and fixtures), once, in the order of
    first use."""
    seen: dict[Job, None] = {}
    for item in items:
        for mark in item.iter_markers("ahead"):
            for job in mark.args:
                seen.setdefault(job, None)
        for name in getattr(item, "fixturenames", ()):
            if name in _FIXTURE_JOBS:
                seen.setdefault(_FIXTURE_JOBS[name], None)
    return list(seen)
