"""Acceleration techniques. Every module is imported here, the one place they register.

Importing a technique's module must stay cheap and must not import its optional library
(para-attn, cache-dit, torchao): those are imported inside ``apply``/``check_environment``.
"""

import logging

# torchao 0.18 registers its enums with torch's pytree when imported, and torch 2.14 logs a
# deprecation warning for each one. transformers and diffusers import torchao whenever it is
# installed, so without this every command would start with those lines on stderr.
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)

from evalsuite.accelerators import (  # noqa: E402, F401  (imports register them)
    attention_backend,
    cache_dit_dbcache,
    channels_last,
    compile,
    context_parallel,
    diffusers_fastercache,
    diffusers_fbcache,
    diffusers_magcache,
    diffusers_pab,
    diffusers_taylorseer,
    fuse_qkv,
    para_attn_fbcache,
    teacache,
    torchao_quant,
)
from evalsuite.accelerators.base import (  # noqa: E402
    ACCELERATORS,
    Accelerator,
    Applied,
    Environment,
    Param,
    StepCounter,
)

__all__ = ["ACCELERATORS", "Accelerator", "Applied", "Environment", "Param", "StepCounter"]
