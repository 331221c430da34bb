"""Errors the CLI maps to exit codes."""


class UserError(Exception):
    """Bad input from the user (suite file, CLI arguments, run folder): exit code 2.

    The message is one line that names the file and the key or argument at fault.
    """


# Exit codes of the CLI, documented in the README.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_FAILED_VARIANTS = 3
