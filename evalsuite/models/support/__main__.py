"""``python -m evalsuite.models.support [--write docs/SUPPORT.md] [TINY_ID ...]``: run the matrix.

Prints each cell as it is measured and each family's time, then the matrix; ``--write``
writes docs/SUPPORT.md (only for the whole matrix). Exit status 1 when a cell that
``support()`` lets through failed (the document then says which), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One thread per process, like the tests: the tiny models gain nothing from more, and the
# matrix shares CI's two cores with nothing else. A user's own setting wins.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from evalsuite.models.support.cells import Cell, columns  # noqa: E402
from evalsuite.models.support.doc import render_markdown, render_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the matrix; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m evalsuite.models.support", description=__doc__)
    parser.add_argument("tiny_ids", nargs="*", help="only these tiny built-ins (default: all)")
    parser.add_argument("--write", type=Path, help="write the matrix as Markdown to this file")
    args = parser.parse_args(argv)
    cols = columns()
    known = {c.tiny_id for c in cols}
    if bad := [t for t in args.tiny_ids if t not in known]:
        print(f"error: unknown tiny id {bad[0]!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
        return 2
    if args.tiny_ids and args.write:
        print("error: --write needs the whole matrix (give no tiny ids)", file=sys.stderr)
        return 2
    cols = tuple(c for c in cols if not args.tiny_ids or c.tiny_id in args.tiny_ids)

    from evalsuite.models.support.measure import SIZE, STEPS, measure_column

    start = time.perf_counter()
    cells: dict[tuple[str, str], Cell] = {}
    for col in cols:
        run = measure_column(col, log=lambda line: print(line, flush=True))
        cells.update({(label, col.family): cell for label, cell in run.cells.items()})
        print(f"{col.tiny_id}: one {SIZE}x{SIZE} image at {STEPS} steps in {run.image_s:.2f} s; "
              f"column in {run.total_s:.1f} s", flush=True)
    print(f"matrix: {time.perf_counter() - start:.0f} s; load {_load()}\n")
    print(render_text(cells, cols))
    if args.write:
        args.write.write_text(render_markdown(cells, cols, STEPS, SIZE), encoding="utf-8")
        print(f"wrote {args.write}")
    failed = [key for key, cell in cells.items() if cell.kind == "fails"]
    for label, family in failed:
        print(f"FAILED: {label} on {family}: {cells[(label, family)].reason}", file=sys.stderr)
    return 1 if failed else 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
