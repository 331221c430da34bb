"""One typed registry per kind of plug-in: prompt sets, scorers, accelerators.

A leaf package (standard library only) so that ``prompts``, ``metrics`` and
``evalsuite.accelerators`` can all share it without importing each other or torch.

Naming rule for plug-in keys (the names suite files use): lowercase snake_case, the
spelling of a Python identifier (``fuse_qkv``, ``clip_score``, ``context_parallel``),
so a key reads the same as the module, the parameters and the ``[metrics.<name>]`` table
that hold it. A renamed plug-in keeps its old spelling in ``deprecated_names``; using it
still works and emits one :class:`DeprecatedName` warning.

Hand-written because it is ~100 lines and every library offering it brings a framework.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from importlib.metadata import EntryPoints, entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

NAME_RULE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


@functools.cache
def _installed_entry_points() -> EntryPoints:
    """Every installed entry point, read once for all registries (each scan costs ~15 ms)."""
    return entry_points()


class UserNotice(UserWarning):
    """A warning meant for the person running a command (a plug-in's own words, e.g. "FVD from
    fewer clips than it needs"): the CLI prints it as one line, ``warning: MESSAGE``."""


class DeprecatedName(FutureWarning, UserNotice):
    """An old spelling of a plug-in key was used; the message names the new one."""


def check_name(kind: str, name: object) -> str:
    """Return ``name`` if it follows the naming rule, else raise ``ValueError`` saying why."""
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise ValueError(f"{kind} name {name!r} must be lowercase snake_case "
                         "(letters, digits, single underscores; e.g. 'fuse_qkv')")
    return name


class Registry(Generic[T]):
    """Maps unique names to plug-in classes; external packages add entries via an entry-point group.

    A plug-in class carries its key in its ``name`` class attribute (written once; the
    ``register`` decorator reads it) and may list old spellings in ``deprecated_names``,
    oldest first.
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._loaded_entry_points = False

    def register(self, obj: T) -> T:
        """Class decorator: register ``obj`` under ``obj.name``; a duplicate name is an error."""
        name = check_name(self.kind, getattr(obj, "name", None))
        old_names: tuple[str, ...] = tuple(getattr(obj, "deprecated_names", ()))
        for key in (name, *old_names):
            if key in self._items or key in self._aliases:
                raise ValueError(f"duplicate {self.kind} name {key!r}")
        self._items[name] = obj
        self._aliases.update(dict.fromkeys(old_names, name))
        return obj

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points or self.group is None:
            return
        self._loaded_entry_points = True
        for ep in _installed_entry_points().select(group=self.group):
            if ep.name in self._items:
                continue
            obj: Any = ep.load()
            if getattr(obj, "name", None) != ep.name:
                raise ValueError(f"entry point {ep.name!r} in group {self.group!r} loads a "
                                 f"{self.kind} named {getattr(obj, 'name', None)!r}; they must match")
            self.register(obj)

    def resolve(self, name: str, where: str = "") -> str:
        """The registered key for ``name``: itself, or the new key of a deprecated spelling.

        A deprecated spelling warns (:class:`DeprecatedName`, prefixed with ``where``, e.g. the
        file and key); an unknown name raises ``KeyError`` listing the known names.
        """
        self._load_entry_points()
        if name in self._items:
            return name
        if name in self._aliases:
            new = self._aliases[name]
            warnings.warn(f"{where}{': ' if where else ''}{self.kind} name {name!r} is deprecated; "
                          f"write {new!r} (same settings)", DeprecatedName, stacklevel=2)
            return new
        raise KeyError(self.unknown(name))

    def first_name(self, name: str) -> str:
        """The key ``name`` was first released under (its oldest spelling), for identities.

        Hashes of stored work use it, so that renaming a plug-in never invalidates results.
        """
        old_names = getattr(self.get(name), "deprecated_names", ())
        return old_names[0] if old_names else name

    def unknown(self, name: str) -> str:
        """The one-line message for an unknown ``name``."""
        return f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})"

    def get(self, name: str) -> T:
        """Return the entry registered as ``name`` or raise ``KeyError`` listing the known names."""
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(self.unknown(name)) from None

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_entry_points()
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(sorted(self._items.items()))

