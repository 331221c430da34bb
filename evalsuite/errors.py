"""Errors the CLI maps to exit codes."""


class UserError(Exception):
    """Bad input from the user (suite file, CLI arguments, run folder): exit code 2.

    The message is one line that names the file and the key or argument at fault.
    """


def spec_error(source: str, key: str, message: str) -> UserError:
    """The error for a bad value in a suite file: ``<file>: <key>: <what is wrong>``.

    Args:
        source: the suite file (or built-in name).
        key: the dotted key at fault, from the file's top (``tune.range``, ``variant.x.fbcache``).
        message: what is wrong with it, and what is expected.
    """
    return UserError(f"{source}: {key}: {message}")


# Exit codes of the CLI, documented in the README.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_FAILED_VARIANTS = 3
