"""The accelerator x model-family support matrix (issue 19, section 3).

* ``probes.py``: the rows, each accelerator at settings that make it act on a tiny model;
* ``cells.py``: a cell, the columns (one per tiny built-in) and the cell ``support()``
  predicts before anything runs (what ``evalsuite list support`` prints);
* ``measure.py``: every row run on every column, on CPU, one pipeline per family;
* ``doc.py``: docs/SUPPORT.md and the terminal table, and reading the document back.

``python -m evalsuite.models.support --write docs/SUPPORT.md`` runs it (CI does, after the
tests, and fails when the document changes).
"""
