"""docs/SUPPORT.md against the static verdicts, and the matrix's rendering.

CI measures the matrix (``python -m evalsuite.models.support --write docs/SUPPORT.md``) and
fails when the checked-in document changes; these tests, which load no model, fail when the
document disagrees with what ``support()`` and the probes say before anything runs: every ✓
must be a fit, every refusal must carry ``support()``'s reason, and nothing may have failed.
"""

from __future__ import annotations

import pytest

from evalsuite.models.support.cells import Cell, columns, expected, expected_matrix
from evalsuite.models.support.doc import parse, render_markdown, render_text
from evalsuite.models.support.probes import PROBES
from tests.conftest import REPO, run_cli

DOC = REPO / "docs" / "SUPPORT.md"


@pytest.fixture(scope="module")
def measured() -> dict[tuple[str, str], Cell]:
    """The checked-in matrix, keyed (probe label, family name)."""
    by_title = {c.title: c.family for c in columns()}
    return {(label, by_title[title]): cell for (label, title), cell in parse(DOC.read_text()).items()}


def test_the_document_covers_every_probe_and_every_tiny_family(measured: dict) -> None:
    assert {label for label, _ in measured} == {p.label for p in PROBES}
    assert {family for _, family in measured} == {c.family for c in columns()}


def test_the_document_agrees_with_the_static_verdicts(measured: dict) -> None:
    stale = {key: (cell.text(), expected_matrix()[key].text()) for key, cell in measured.items()
             if cell != expected_matrix()[key]}
    assert not stale, ("docs/SUPPORT.md disagrees with support() (measured, expected); a failure means "
                       "support() lets through what does not work: refuse it in the family's adapter; "
                       f"then regenerate the document: {stale}")


def test_nothing_in_the_document_failed(measured: dict) -> None:
    assert not [key for key, cell in measured.items() if cell.kind == "fails"]


def test_a_rendered_matrix_parses_back_cell_for_cell() -> None:
    cols = columns()
    cells = expected_matrix()
    cells[(PROBES[0].label, cols[0].family)] = Cell("fails", "RuntimeError: boom | with a bar")
    title = {c.family: c.title for c in cols}
    by_title = {(label, title[family]): cell for (label, family), cell in cells.items()}
    assert parse(render_markdown(cells, cols, steps=6, size=32)) == by_title
    text = render_text(cells, cols)
    assert text.splitlines()[1].split()[:2] == [PROBES[0].label, "✗"]  # one short cell per family
    assert "[1] RuntimeError: boom | with a bar" in text


def test_a_cell_is_refused_before_it_is_na_and_na_only_by_the_probe() -> None:
    by_label = {p.label: p for p in PROBES}
    # SD3.5's processors bypass the dispatcher: refused, whatever kernel the probe names.
    assert expected(by_label["attention_backend _native_efficient"], "sd35").kind == "refuses"
    assert expected(by_label["attention_backend _native_efficient"], "flux").kind == "n/a"
    fp8 = expected(by_label["torchao float8dq-row"], "flux")
    assert fp8.kind == "n/a" and fp8.reason.startswith("needs CUDA compute capability")
    assert expected(by_label["fbcache"], "flux") == Cell("ok")


def test_list_support_prints_the_matrix() -> None:
    proc = run_cli("list", "support")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["probe", *(c.tiny_id for c in columns())]
    assert [line.split()[0] for line in lines[1:len(PROBES) + 1]] == [p.label.split()[0] for p in PROBES]
    assert any(line.startswith("[1] ") for line in lines)
