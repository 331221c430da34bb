"""Loading a named set from its pinned upstream source, through ``datasets`` (the online path).

Every source names a full commit, so the files behind it never change: a download is cached
once and reused, and a cached copy also loads with ``HF_DATASETS_OFFLINE=1``. Files hosted on
the Hugging Face Hub are fetched with ``hf_hub_download`` (which serves a pinned commit from
its cache without asking the network, unlike ``hf://`` paths); files hosted on GitHub go
through ``datasets``' download manager. Both are then parsed by ``datasets``' packaged
``csv``/``json`` builders, whose Arrow cache makes the second load instant.

``datasets`` and ``huggingface_hub`` are imported inside the functions: importing them costs
over a second, and ``import prompts`` must stay cheap for the CLI and the worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompts.base import PromptError
from prompts.files import Row

#: Where ``datasets`` keeps its Arrow cache; None means its default (``HF_DATASETS_CACHE``).
CACHE_DIR: Path | None = None


@dataclass(frozen=True)
class HubSource:
    """A pinned upstream location of a prompt set.

    Attributes:
        repo: Hub dataset id (``owner/name``), or GitHub repository when ``host`` is github.
        revision: Full commit sha; never a branch, so results stay reproducible.
        files: ``(split name, path in the repository)`` pairs. Split names must be
            identifiers (``datasets`` refuses ``concept-art``); the set maps them back.
        builder: The ``datasets`` packaged builder that parses the files: csv or json.
        host: ``huggingface`` or ``github``.
        delimiter: Field separator for the csv builder.
    """

    repo: str
    revision: str
    files: tuple[tuple[str, str], ...]
    builder: str
    host: str = "huggingface"
    delimiter: str = ","

    @property
    def page(self) -> str:
        """Human-readable address of the pinned source."""
        if self.host == "github":
            return f"https://github.com/{self.repo}/tree/{self.revision}"
        return f"https://huggingface.co/datasets/{self.repo}/tree/{self.revision}"

    def file_url(self, path: str) -> str:
        """Download address of ``path`` at the pinned revision."""
        if self.host == "github":
            return f"https://raw.githubusercontent.com/{self.repo}/{self.revision}/{path}"
        return f"https://huggingface.co/datasets/{self.repo}/resolve/{self.revision}/{path}"


def is_offline() -> bool:
    """True when ``HF_DATASETS_OFFLINE`` (or ``HF_HUB_OFFLINE``) forbids network access."""
    import datasets.config

    return bool(datasets.config.HF_HUB_OFFLINE)


def fetch(source: HubSource, path: str) -> Path:
    """Download one file of ``source`` into the cache (or find it there) and return it."""
    if source.host == "huggingface":
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(
            source.repo, path, repo_type="dataset", revision=source.revision,
            local_files_only=is_offline(),
        ))
    from datasets import DownloadConfig, DownloadManager

    # The URL names a commit, so no ETag round trip is needed; skipping it is also what
    # lets a cached copy load offline.
    manager = DownloadManager(download_config=DownloadConfig(use_etag=False))
    return Path(manager.download(source.file_url(path)))


def load_hub_rows(source: HubSource, set_name: str) -> dict[str, list[Row]]:
    """Rows of every file of ``source``, by split name, parsed by ``datasets``.

    Args:
        source: The pinned upstream location.
        set_name: Used in error messages, which also say how to load a local copy instead.

    Returns:
        A list of row dicts per split name of ``source.files``, in file order.

    Raises:
        PromptError: ``datasets`` is missing, or the download or parse failed.
    """
    try:
        import datasets
    except ImportError:
        raise PromptError(f"{set_name}: loading from the hub needs datasets (pip install datasets),"
                          f" or set prompts.paths.{set_name} to a local copy") from None
    kwargs: dict[str, Any] = {}
    if source.builder == "csv":
        # Empty cells as "" rather than NaN (and "NA" or "null" kept as text), like the
        # stdlib reader of the local path, so both paths give the same prompts and ids.
        kwargs = {"delimiter": source.delimiter, "na_filter": False}
    try:
        local = {split: str(fetch(source, path)) for split, path in source.files}
        loaded = datasets.load_dataset(
            source.builder, data_files=local,
            cache_dir=str(CACHE_DIR) if CACHE_DIR is not None else None, **kwargs,
        )
    except Exception as err:  # network, cache and parse errors come in many types
        hint = " (HF_DATASETS_OFFLINE is set and it is not cached)" if is_offline() else ""
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise PromptError(
            f"{set_name}: cannot load {source.repo}@{source.revision[:12]}{hint}: "
            f"{type(err).__name__}: {detail}; set prompts.paths.{set_name} to a local copy"
        ) from None
    return {split: loaded[split].to_list() for split, _ in source.files}
