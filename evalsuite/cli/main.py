"""Thin command line: python -m evalsuite COMMAND (run, score, report, recommend, export, list, ...).

Exit codes: 0 ok, 1 internal error, 2 bad input, 3 finished with failed variants (or, for
recommend, nothing within budget). The first line of this docstring is ``--help``'s text.
This module assembles the parser and dispatches; each command lives in its own module
(``evalsuite/cli/run.py``, ``score.py``, ... ``tune.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence

# Each command module imports only argparse and the errors at the top: what a command needs
# it imports when it runs, so --help, list and validation errors stay instant.
from evalsuite.cli import (
    calibrate,
    compare,
    export,
    gate,
    metric_card,
    recommend,
    report,
    run,
    score,
    serve,
    tune,
)
from evalsuite.cli import list as listing
from evalsuite.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, UserError

# One module per command, each with add_parser(sub) and its command function, in --help's order.
_MODULES = (run, score, report, recommend, gate, calibrate, export, tune, serve, compare, metric_card,
            listing)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": run.cmd_run, "score": score.cmd_score, "report": report.cmd_report,
    "recommend": recommend.cmd_recommend, "gate": gate.cmd_gate, "calibrate": calibrate.cmd_calibrate,
    "export": export.cmd_export,
    "tune": tune.cmd_tune,
    "serve": serve.cmd_serve, "compare": compare.cmd_compare,
    "metric-card": metric_card.cmd_metric_card, "list": listing.cmd_list,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evalsuite", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.add_parser(sub)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """Notices for users (deprecated plug-in names, a metric's caveat): one line, no source location."""
    from registry import UserNotice

    if issubclass(category, UserNotice):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)


_default_show_warning = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
            return code
    except BrokenPipeError:
        # The reader went away (`evalsuite list accelerators | head -1`): what it wanted it has.
        # Point stdout at /dev/null so the interpreter's final flush cannot complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug or os.environ.get("EVALSUITE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
