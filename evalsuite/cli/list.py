"""``python -m evalsuite list WHAT``: built-in suites, metrics, accelerators, model families,
the accelerator x family support matrix, prompt sets, prices."""

from __future__ import annotations

import argparse
from typing import Any

from evalsuite.errors import EXIT_OK


def add_parser(sub: Any) -> None:
    """Register the ``list`` subcommand on the CLI's subparsers."""
    lst = sub.add_parser("list", help="list built-in suites, metrics, accelerators, model families, "
                         "the support matrix, prompt sets, prices")
    lst.add_argument("what", choices=("suites", "metrics", "accelerators", "families", "support",
                                      "prompt-sets", "prices"))


def cmd_list(args: argparse.Namespace) -> int:
    """Run the list command."""
    if args.what == "prices":
        from evalsuite.hardware.prices import price_rows

        print(f"{'gpu':10} {'USD/hour':>9}  {'read':8} source")
        for key, usd, source, date in price_rows():
            print(f"{key:10} {usd:>9}  {date:8} {source}")
    elif args.what == "suites":
        from evalsuite.suite.spec import builtin_suites, read_suite_file

        for name in builtin_suites():  # a model sweep is several suites: read the file's own line
            print(f"{name:24} {read_suite_file(name)[0].get('description', '')}")
    elif args.what == "metrics":
        from evalsuite.suite.presets import METRIC_PRESETS
        from metrics import SCORERS

        for name, cls in SCORERS:
            arrow = "higher is better" if cls.higher_is_better else "lower is better"
            print(f"{name:16} {cls.modality!s:6} {cls.kind!s:10} {arrow:17} "
                  f"{(cls.__doc__ or '').splitlines()[0]}")
        print("\npresets ([metrics] use = [\"@name\"]):")
        for name, (what, names) in METRIC_PRESETS.items():
            print(f"@{name:15} {what}: {', '.join(names)}")
    elif args.what == "accelerators":
        from evalsuite.accelerators import ACCELERATORS

        for name, cls in ACCELERATORS:
            print(f"{name:18} [{cls.family}] {cls.description}")
            for key, param in cls.params.items():
                rng = "".join(f" {w}={b}" for w, b in (("min", param.min), ("max", param.max),
                                                         ("choices", param.choices)) if b is not None)
                print(f"    {key} ({param.type.__name__}, default {param.default!r}{rng}): {param.doc}")
    elif args.what == "families":
        _list_families()
    elif args.what == "support":
        # What support() and each probe's needs say, without loading a model; docs/SUPPORT.md
        # holds the same matrix as CI measured it, and a test keeps the two equal.
        from evalsuite.models.support.cells import columns, expected_matrix
        from evalsuite.models.support.doc import render_text

        print(render_text(expected_matrix(), columns()), end="")
    else:
        from prompts import PROMPT_SETS, set_modality

        for name, cls in PROMPT_SETS:
            print(f"{name:16} {set_modality(cls):6} {cls.description} "
                  f"[source: {cls.source}; license: {cls.license}]")
    return EXIT_OK


def _list_families() -> None:
    """Each model family: its pipelines, defaults and tiny built-in (``[model] family = "..."``)."""
    from evalsuite.models import families

    for name in families.names():
        family = families.get(name)
        d = family.defaults
        video = getattr(family, "video", None)  # a video family's clip length and frame rate
        clip = f", {video.frames} frames at {video.fps} fps" if video is not None else ""
        print(f"{name:11} {family.title}: {', '.join(family.pipelines) or 'any other DiffusionPipeline'}")
        size = f"{d.width}x{d.height}{clip}"
        print(f"    defaults: {d.steps} steps, {family.guidance_name} {d.guidance:g}, {size}"
              f"; negative prompt: {'yes' if family.takes_negative_prompt else 'no'}"
              f"; tiny built-in: {family.tiny_id() or 'none'}")
