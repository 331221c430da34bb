"""diffusers' private names our techniques lean on, checked by name, so a diffusers upgrade that
moves one fails here first, saying who uses it, instead of deep inside a cache.

diffusers 0.42.1 exports its hook API (``HookRegistry``, ``ModelHook``, the ``apply_*`` caches)
but not the block registry its caches read, nor the state and context classes a hook of our
own needs. We use them, never patch them; the support matrix (docs/SUPPORT.md) is the
functional check.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

# (module, attribute path, who uses it and why)
PRIVATE = [
    ("diffusers.hooks._helpers", "TransformerBlockRegistry.get",
     "teacache.py, tracing.py: a block's argument names and which output is the image tokens"),
    ("diffusers.hooks._helpers", "TransformerBlockMetadata._get_parameter_from_args_kwargs",
     "teacache.py, tracing.py: read hidden_states/temb from a block call"),
    ("diffusers.hooks.hooks", "StateManager.set_context",
     "teacache.py: a context where the pipeline opens none"),
    ("diffusers.hooks.hooks", "StateManager.get_state", "teacache.py: per-context state"),
    ("diffusers.hooks.hooks", "CacheContext", "teacache.py"),
    ("diffusers.hooks.hooks", "BaseState", "teacache.py"),
    ("diffusers.hooks.first_block_cache", "FBCHeadBlockHook._should_compute_remaining_blocks",
     "diffusers_fbcache.py: counting skipped steps"),
    ("diffusers.hooks.mag_cache", "FLUX_MAG_RATIOS", "diffusers_magcache.py, tracing.py: FLUX.1's table"),
    ("diffusers.hooks.mag_cache", "nearest_interp", "diffusers_magcache.py: the table at the run's steps"),
    ("diffusers.hooks.mag_cache", "MagCacheHeadHook", "diffusers_magcache.py: counting"),
    ("diffusers.hooks.mag_cache", "MagCacheBlockHook._perform_calibration_step",
     "diffusers_magcache.py, models/calibration.py: capturing measured ratios"),
]


@pytest.mark.parametrize(("module", "path", "user"), PRIVATE, ids=[p[1] for p in PRIVATE])
def test_a_private_diffusers_name_we_use_is_where_we_look(module: str, path: str, user: str) -> None:
    obj = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(obj, part), f"diffusers moved {module}.{path}, used by {user}"
        obj = getattr(obj, part)


def test_the_metadata_fields_the_hooks_read_are_there() -> None:
    from diffusers.hooks._helpers import TransformerBlockMetadata

    fields = set(inspect.signature(TransformerBlockMetadata).parameters)
    assert {"return_hidden_states_index", "return_encoder_hidden_states_index"} <= fields


def test_our_copy_of_the_block_list_names_diffusers_caches_look_for() -> None:
    from diffusers.hooks._common import _ALL_TRANSFORMER_BLOCK_IDENTIFIERS

    from evalsuite.models.families.base import DIFFUSERS_BLOCK_LISTS

    assert set(DIFFUSERS_BLOCK_LISTS) == set(_ALL_TRANSFORMER_BLOCK_IDENTIFIERS)


def test_the_unregistered_blocks_the_refusals_cite_are_still_unregistered() -> None:
    # Registering them would not make diffusers' caches run (no cache context, the text+image
    # stream of single blocks; docs/ACCELERATORS.md), but a diffusers that registers them may
    # support them: then revisit the families' facts and regenerate docs/SUPPORT.md.
    from diffusers.hooks._helpers import TransformerBlockRegistry
    from diffusers.models.transformers import sana_transformer, transformer_chroma, transformer_hidream_image

    TransformerBlockRegistry._register()
    blocks = (transformer_chroma.ChromaTransformerBlock, transformer_chroma.ChromaSingleTransformerBlock,
              sana_transformer.SanaTransformerBlock, transformer_hidream_image.HiDreamBlock)
    assert not [b.__name__ for b in blocks if b in TransformerBlockRegistry._registry]
