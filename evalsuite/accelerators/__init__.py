"""Acceleration techniques. Every module is imported here, the one place they register.

Importing a technique's module must stay cheap and must not import its optional library
(para-attn, cache-dit, torchao): those are imported inside ``apply``/``check_environment``.
"""

from evalsuite.accelerators import (  # noqa: F401  (imports register them)
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
from evalsuite.accelerators.base import (
    ACCELERATORS,
    Accelerator,
    Applied,
    Environment,
    Param,
    StepCounter,
)

__all__ = ["ACCELERATORS", "Accelerator", "Applied", "Environment", "Param", "StepCounter"]
