"""``tiny-wan22``: a tiny Wan 2.2 with two experts and a boundary (built in ``wan.py``)."""

from __future__ import annotations

from typing import Any

from evalsuite.models.tiny import wan

PIPELINE = wan.PIPELINE
# What tells Wan 2.2 from Wan 2.1 in a model_index.json: a second expert.
INDEX = {"transformer_2": ["diffusers", "WanTransformer3DModel"]}
VERSION = wan.VERSION


def build(seed: int = 0) -> Any:
    """Build the tiny Wan 2.2 pipeline in memory, every module initialised from ``seed``."""
    return wan.build(seed, two_experts=True)
