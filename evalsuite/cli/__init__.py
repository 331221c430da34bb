"""The command line: one thin layer over the packages below."""

from evalsuite.cli.main import main

__all__ = ["main"]
