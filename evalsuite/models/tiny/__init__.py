"""The tiny built-ins: one small, randomly initialised but real pipeline per image family.

Nothing can be downloaded here or in CI, so each family has a built-in whose modules are
diffusers' and transformers' own classes at toy sizes, with tokenizers written locally
(``tokenizers.py``). One is built once per (id, seed), deterministically, saved with
``save_pretrained`` into the user cache directory and loaded through the same
``from_pretrained(path)`` code path that loads the real checkpoint from the hub.

Each family lives in its own module (``flux.py``, ``qwen_image.py``, ...) exposing
``PIPELINE`` (the diffusers class, as ``model_index.json`` names it), ``VERSION`` (bumped
when its architecture or tokenizers change, so old caches are not reused) and
``build(seed)``. ``FAMILIES`` below is the one place they are registered. Shapes follow
diffusers' own pipeline tests (``get_dummy_components``), with 4-6 transformer blocks and
a 32² image in 64 tokens. Random timestep embeddings are damped where they made block 0's
residual jump between steps far more than a trained model's (``timesteps.py``), so caches
have steps to skip. Importing this package stays cheap (no torch, no diffusers): suites
are validated without them.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

# Tiny id -> the module under evalsuite.models.tiny that builds it.
FAMILIES: dict[str, str] = {
    "tiny-flux": "flux",
    "tiny-flux2": "flux2",
    "tiny-qwen-image": "qwen_image",
    "tiny-z-image": "z_image",
    "tiny-sd35": "sd35",
    "tiny-sana": "sana",
    "tiny-chroma": "chroma",
    "tiny-hidream": "hidream",
    "tiny-wan": "wan",
    "tiny-wan22": "wan22",
    "tiny-hunyuan-video15": "hunyuan_video15",
    "tiny-ltx2": "ltx2",
}
TINY_IDS: tuple[str, ...] = tuple(FAMILIES)
# "tiny" predates the other families and stays the default model id.
ALIASES: dict[str, str] = {"tiny": "tiny-flux"}


def is_tiny(model_id: str) -> bool:
    """Whether ``model_id`` names a tiny built-in (``"tiny"`` included)."""
    return model_id in FAMILIES or model_id in ALIASES


def canonical_tiny(model_id: str) -> str:
    """The tiny id ``model_id`` stands for (``"tiny"`` -> ``"tiny-flux"``).

    Raises:
        ValueError: ``model_id`` is not a tiny id.
    """
    model_id = ALIASES.get(model_id, model_id)
    if model_id not in FAMILIES:
        raise ValueError(f"{model_id!r} is not a tiny model (known: {', '.join(TINY_IDS)}, or tiny)")
    return model_id


def family_module(model_id: str) -> ModuleType:
    """The module building ``model_id`` (cheap: its torch imports sit inside ``build``)."""
    return importlib.import_module(f"{__name__}.{FAMILIES[canonical_tiny(model_id)]}")


def cache_root() -> Path:
    """The user cache directory for evalsuite (honours ``EVALSUITE_CACHE`` and XDG)."""
    if env := os.environ.get("EVALSUITE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalsuite"


def build_tiny(model_id: str, seed: int = 0) -> DiffusionPipeline:
    """Build ``model_id``'s pipeline in memory, every module initialised from ``seed``."""
    return family_module(model_id).build(seed)


def tiny_model_path(model_id: str = "tiny-flux", seed: int = 0) -> Path:
    """Return the folder of ``model_id``'s pipeline for ``seed``, building it on first use."""
    model_id = canonical_tiny(model_id)
    # "tiny-flux-v1-seed0" for FLUX: the name caches had before the other families came.
    target = cache_root() / f"{model_id}-v{family_module(model_id).VERSION}-seed{seed}"
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so a killed build or a concurrent
    # builder never leaves a half-written model that later runs would trust.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build_tiny(model_id, seed).save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
