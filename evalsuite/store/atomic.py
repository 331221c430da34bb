"""Atomic image writes, shared by the local worker and the endpoint generator (no heavy imports)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def write_png_atomically(image: Any, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
    with open(tmp, "wb") as fh:
        image.save(fh, format="PNG")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
