"""A cell of the support matrix, and what the static verdicts say it must be.

``support()`` (``evalsuite.models.families``) decides, before anything runs, whether a
technique fits a family; a probe's own ``needs`` says when the matrix's machine cannot run it.
Together they are the *expected* matrix, cheap to compute (no torch): ``evalsuite list
support`` prints it, and a test checks that docs/SUPPORT.md, which CI measured, agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evalsuite.models.families import family_for_index, support
from evalsuite.models.support.probes import PROBES, Probe
from evalsuite.models.tiny import TINY_IDS, family_module

Kind = Literal["ok", "refuses", "n/a", "fails"]
SYMBOL = {"ok": "✓", "refuses": "refuses", "n/a": "n/a", "fails": "✗ fails"}


@dataclass(frozen=True)
class Cell:
    """One probe on one family: its kind and, unless it is ✓, the reason."""

    kind: Kind
    reason: str = ""

    def text(self) -> str:
        """'✓', or 'refuses: reason', 'n/a: reason', '✗ fails: reason'."""
        return SYMBOL[self.kind] + (f": {self.reason}" if self.reason else "")

    @classmethod
    def parse(cls, text: str) -> Cell:
        """Inverse of :meth:`text`."""
        for kind, symbol in SYMBOL.items():
            if text == symbol:
                return cls(kind)
            if text.startswith(symbol + ": "):
                return cls(kind, text[len(symbol) + 2:])
        raise ValueError(f"not a support-matrix cell: {text!r}")


@dataclass(frozen=True)
class Column:
    """A family of the matrix: its adapter and its tiny built-in."""

    family: str  # adapter name ("qwen_image")
    title: str  # "Qwen-Image"
    tiny_id: str  # "tiny-qwen-image"


def columns() -> tuple[Column, ...]:
    """One column per tiny built-in, in ``TINY_IDS`` order (a built-in whose module has not
    landed yet is left out)."""
    out = []
    for tiny_id in TINY_IDS:
        try:
            module = family_module(tiny_id)
        except ImportError:
            continue
        family = family_for_index({"_class_name": module.PIPELINE, **getattr(module, "INDEX", {})})
        out.append(Column(family.name, family.title, tiny_id))
    return tuple(out)


def expected(probe: Probe, family: str) -> Cell:
    """The cell the static verdicts predict: refused by ``support()``, else n/a by the probe's
    ``needs``, else ✓."""
    if (why := support(probe.accelerator, family, dict(probe.params))) is not None:
        return Cell("refuses", why)
    if probe.needs is not None:
        return Cell("n/a", probe.needs.removeprefix("n/a: "))
    return Cell("ok")


def expected_matrix() -> dict[tuple[str, str], Cell]:
    """(probe label, family name) -> expected cell, for every probe and column."""
    return {(p.label, c.family): expected(p, c.family) for p in PROBES for c in columns()}
