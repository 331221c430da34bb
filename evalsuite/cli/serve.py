"""``python -m evalsuite serve``: a pipeline behind the openai-images protocol."""

from __future__ import annotations

import argparse
from typing import Any

from evalsuite.errors import EXIT_OK


def add_parser(sub: Any) -> None:
    """Register the ``serve`` subcommand on the CLI's subparsers."""
    srv = sub.add_parser("serve", help="serve a pipeline over the openai-images protocol",
                         description="Serves POST /v1/images/generations (b64_json PNGs) for the model, "
                         "optionally with one variant's accelerators; requests beyond --max-queue get 429.")
    srv.add_argument("--model", help="hub id, local folder or tiny (default: tiny, or the suite's model)")
    srv.add_argument("--suite", help="suite file or built-in name whose [model] to serve")
    srv.add_argument("--variant", help="apply this variant's accelerators (needs --suite)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    srv.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: the model's)")
    srv.add_argument("--max-queue", type=int, default=8, help="requests admitted at once (default: 8)")
    srv.add_argument("--warmup", type=int, default=1, help="generations before serving (default: 1)")
    srv.add_argument("--api-key-env", help="require 'Authorization: Bearer' with this variable's value")


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the serve command."""
    from evalsuite.run.serve import config_from_args, serve

    config = config_from_args(args.model, args.suite, args.variant, args.device, args.max_queue,
                              args.warmup, args.api_key_env)
    serve(config, args.host, args.port)
    return EXIT_OK
