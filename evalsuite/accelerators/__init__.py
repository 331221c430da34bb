"""Acceleration techniques. Every module is imported here, the one place they register."""

from evalsuite.accelerators import (
    context_parallel,  # noqa: F401
    diffusers_fbcache,  # noqa: F401  (imports register them)
)
from evalsuite.accelerators.base import (
    ACCELERATORS,
    Accelerator,
    Applied,
    Environment,
    Param,
    StepCounter,
)

__all__ = ["ACCELERATORS", "Accelerator", "Applied", "Environment", "Param", "StepCounter"]
