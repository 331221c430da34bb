"""Processes a test started, found by a marker in their environment.

A run's workers and forkserver are not the test's children, and a killed runner leaves them
to notice on their own. A test that reruns into the same folder must first know they are
gone, not hope a fixed sleep was long enough: it starts the run with :func:`marked_env` and
waits with :func:`wait_until_gone`. Children inherit the marker, so it finds them all.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import hang_guard

MARK_ENV = "EVALSUITE_TEST_MARK"
POLL_S = 0.05


def new_marker() -> str:
    """A marker no other process on the machine carries."""
    return uuid.uuid4().hex


def marked_env(marker: str, within: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``within`` (by default this process's environment) plus the marker and ``extra``, for
    a subprocess."""
    return {**(os.environ if within is None else within), MARK_ENV: marker, **extra}


def marked_pids(marker: str, cmd: str = "", **env: str) -> list[int]:
    """Live processes carrying ``marker`` and each ``env`` value, whose command line (NUL
    between arguments) contains ``cmd``; a zombie reads as none."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = dict(kv.split("=", 1) for kv in
                           (proc / "environ").read_text(errors="replace").split("\0") if "=" in kv)
            cmdline = (proc / "cmdline").read_text(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if environ.get(MARK_ENV) == marker and cmd in cmdline \
                and all(environ.get(k) == v for k, v in env.items()):
            found.append(int(proc.name))
    return found


def wait_until_gone(marker: str) -> None:
    """Block until no live process carries ``marker``; fail only at the hang guard."""
    deadline = time.monotonic() + hang_guard()
    while pids := marked_pids(marker):
        assert time.monotonic() < deadline, f"processes {pids} outlived their run"
        time.sleep(POLL_S)
