"""Which diffusers pipeline class a model id names: ``model_index.json``'s ``_class_name``.

Read without loading anything: from a tiny built-in's module, a local folder's file, or, for
a hub id, that one small file through ``huggingface_hub`` (its cache first; offline it fails,
and the message says how to name the family instead).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalsuite.models import tiny
from evalsuite.models.families.base import FAMILIES
from evalsuite.models.random_flux import is_random_model

INDEX = "model_index.json"


def looks_local(model_id: str) -> bool:
    """Whether ``model_id`` is written as a path rather than a hub id (``owner/name``)."""
    return model_id.startswith(("/", ".", "~")) or model_id.count("/") != 1 or Path(model_id).exists()


def _read_index(index: Path) -> dict[str, Any]:
    try:
        found = json.loads(index.read_text(encoding="utf-8"))
        name = found.get("_class_name")
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{index}: unreadable ({type(exc).__name__})") from None
    if not isinstance(name, str) or not name:
        raise ValueError(f"{index}: no _class_name (not a diffusers pipeline)")
    return found


def _family_hint() -> str:
    return f'set [model] family = "..." (one of {", ".join(n for n in FAMILIES.names() if n != "generic")})'


def pipeline_class(model_id: str, revision: str | None = None) -> str:
    """The pipeline class ``model_id`` loads as; ValueError (one line) when it cannot be told."""
    return str(model_index(model_id, revision)["_class_name"])


def model_index(model_id: str, revision: str | None = None) -> dict[str, Any]:
    """``model_id``'s ``model_index.json`` (a tiny built-in's: its class and ``INDEX`` entries);
    ValueError (one line) when it cannot be read. Wan 2.1 and 2.2 share a pipeline class and
    differ in their index (``transformer_2``)."""
    if is_random_model(model_id):  # bench/'s full-size random FLUX.1
        return {"_class_name": "FluxPipeline"}
    if tiny.is_tiny(model_id):
        try:
            module = tiny.family_module(model_id)
            return {"_class_name": module.PIPELINE, **getattr(module, "INDEX", {})}
        except ImportError:
            raise ValueError(f"tiny model {model_id!r} is not built in this version yet") from None
    if model_id.startswith("tiny") and "/" not in model_id and not Path(model_id).exists():
        raise ValueError(f"unknown tiny model {model_id!r} (known: {', '.join(tiny.TINY_IDS)}, or tiny)")
    if looks_local(model_id):
        folder = Path(model_id).expanduser()
        if not folder.is_dir():
            raise ValueError(f"{model_id}: no such folder (a hub id is written owner/name)")
        if not (folder / INDEX).is_file():
            raise ValueError(f"{model_id}: no {INDEX} in this folder (not a diffusers pipeline)")
        return _read_index(folder / INDEX)
    return _read_index(_hub_index(model_id, revision))


def _hub_index(model_id: str, revision: str | None) -> Path:
    """The hub model's ``model_index.json``: from the local cache, else downloaded (one file)."""
    import logging

    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(model_id, INDEX, revision=revision)
    if isinstance(cached, str):
        return Path(cached)
    if constants.HF_HUB_OFFLINE:
        raise ValueError(f"{model_id}'s {INDEX} is not in the hub cache and HF_HUB_OFFLINE is set; "
                         f"{_family_hint()}")
    # huggingface_hub logs a line per retry (about 20 s of them offline); the error says it all.
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        return Path(hf_hub_download(model_id, INDEX, revision=revision))
    except Exception as exc:  # noqa: BLE001 - offline, gated, missing: one line either way
        kind = type(exc).__name__
        what = ("no such model on the hub" if "RepositoryNotFound" in kind
                else "gated: accept its licence and `hf auth login`" if "Gated" in kind
                else "the hub is unreachable")
        raise ValueError(f"cannot read {model_id}'s {INDEX} ({what}); {_family_hint()}") from None
    finally:
        hub_log.setLevel(level)
