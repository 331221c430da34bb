"""evalsuite: quality-versus-speed evaluation of accelerated text-to-image diffusion."""

import logging as _logging
import os as _os

__version__ = "0.1.0"

# Import-time chatter that is not ours (torchao's notices on torch 2.14, per-component
# loading messages) would bury the runner's progress; set before torch is first imported,
# here, because every process (CLI, forkserver, workers) imports this package first.
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
_os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
_logging.getLogger("torch.utils._pytree").setLevel(_logging.ERROR)
