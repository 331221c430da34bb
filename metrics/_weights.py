"""One clear error for weights that cannot be found: which hub id, and how to point at a copy.

Hugging Face and torch.hub loaders fail offline or on a wrong path with long, differing
messages (``OSError: We couldn't connect to ...``, ``LocalEntryNotFoundError``, ``URLError``).
Every scorer loads inside :func:`loading`, which turns those into :class:`MissingWeights`
naming the scorer, the model it looked for, the suite option that takes a local copy and
the environment variable of the cache it searched. The scoring phase records that reason
once for all of the scorer's images instead of retrying each image.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What the loaders raise when files are absent: OSError covers transformers' wrappers,
# FileNotFoundError and urllib's URLError; huggingface_hub's errors are checked by name
# because their base classes changed between releases.
_HUB_ERRORS = ("LocalEntryNotFoundError", "EntryNotFoundError", "RepositoryNotFoundError",
               "RevisionNotFoundError", "GatedRepoError", "OfflineModeIsEnabled", "HfHubHTTPError")
HF_CACHE_ENV = "HF_HOME"
TORCH_CACHE_ENV = "TORCH_HOME"


class MissingWeights(RuntimeError):
    """A scorer's weights could not be found or read; the message says where to put them."""


def is_missing_weights(exc: BaseException) -> bool:
    """True for the exceptions loaders raise when weight files cannot be reached."""
    return isinstance(exc, OSError) or any(c.__name__ in _HUB_ERRORS for c in type(exc).__mro__)


def missing_message(scorer: str, model: str, option: str, env: str = HF_CACHE_ENV,
                    detail: str = "") -> str:
    """The one-line text of a :class:`MissingWeights` error."""
    where = "local path" if Path(model).expanduser().is_absolute() or model.startswith(".") else "hub id"
    text = (f"{scorer}: cannot load weights from {where} {model!r}; download them once with network "
            f"access (cache: ${env}), or set [metrics.{scorer}] {option} = \"/path/to/local/copy\"")
    return f"{text} ({detail})" if detail else text


@contextmanager
def loading(scorer: str, model: str, option: str = "model", env: str = HF_CACHE_ENV) -> Iterator[None]:
    """Run a loader; a missing-file error becomes :class:`MissingWeights` with the hints."""
    try:
        yield
    except MissingWeights:
        raise
    except Exception as exc:
        if not is_missing_weights(exc):
            raise
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}" if str(exc) else type(exc).__name__
        raise MissingWeights(missing_message(scorer, model, option, env, detail)) from exc
