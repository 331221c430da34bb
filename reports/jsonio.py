"""The JSON edge of the typed records: one way out (:func:`to_json`), one way back (:func:`from_json`).

Records are frozen dataclasses (reports/records.py). Writing walks their fields in order;
reading walks their type hints, so a new field needs nothing here: give it a default and
older files (which lack it) still load. Keys a reader does not know are ignored, so newer
files load in older code.

Strict JSON has no NaN or infinity, and the two places that read our JSON want different
things: summary.json and the JSON export keep infinities (PSNR of identical images is a real,
best-possible value) as the strings ``"inf"``/``"-inf"``; the page's scripts want plain
numbers or null (``JSON.parse`` knows no infinity). NaN is null everywhere.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

NonFinite = Literal["string", "null"]


class SchemaError(ValueError):
    """JSON that does not fit the record it is read into (one-line message naming the key)."""


def json_key(f: Any) -> str:
    """A field's key in JSON: its name, unless ``metadata={"json": ...}`` renames it."""
    return f.metadata.get("json", f.name)


def json_number(x: float, nonfinite: NonFinite = "string") -> float | str | None:
    """A float as strict JSON allows: NaN -> null, ±inf -> "inf"/"-inf" (or null)."""
    if math.isfinite(x):
        return x
    if math.isnan(x) or nonfinite == "null":
        return None
    return "inf" if x > 0 else "-inf"


def to_json(obj: Any, nonfinite: NonFinite = "string") -> Any:
    """Records, mappings, sequences and numbers as strict-JSON-ready Python values."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {json_key(f): to_json(getattr(obj, f.name), nonfinite) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_json(v, nonfinite) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v, nonfinite) for v in obj]
    if isinstance(obj, float):
        return json_number(obj, nonfinite)
    return obj


def read_number(x: Any) -> float | None:
    """A number as JSON stores it (``"inf"`` strings included) back as a float; None stays None."""
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        raise SchemaError(f"expected a number, got {x!r}")
    try:
        return float(x)
    except ValueError:
        raise SchemaError(f"expected a number, got {x!r}") from None


def from_json(tp: Any, data: Any, where: str = "") -> Any:
    """Build a value of type ``tp`` (a record, or a container of them) from parsed JSON.

    Raises:
        SchemaError: naming the key whose value does not fit.
    """
    origin = get_origin(tp)
    if tp is Any:
        return data
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(tp) if a is not type(None)]
        if data is None:
            if len(args) < len(get_args(tp)):
                return None
            raise SchemaError(f"{where or 'value'}: expected a value, got null")
        return from_json(args[0], data, where) if len(args) == 1 else data
    if is_dataclass(tp):
        return _record(tp, data, where)
    if origin is Literal:
        return data
    if origin is tuple:
        _expect(data, list, where)
        args = get_args(tp)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        if item is None and len(args) != len(data):
            raise SchemaError(f"{where}: expected {len(args)} values, got {len(data)}")
        return tuple(from_json(item if item is not None else args[i], x, f"{where}[{i}]")
                     for i, x in enumerate(data))
    if origin is list:
        _expect(data, list, where)
        return [from_json(get_args(tp)[0], x, f"{where}[{i}]") for i, x in enumerate(data)]
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        _expect(data, dict, where)
        value_type = get_args(tp)[1] if get_args(tp) else Any
        return {k: from_json(value_type, v, f"{where}.{k}" if where else k) for k, v in data.items()}
    if tp is float:
        try:
            return read_number(data)
        except SchemaError as exc:
            raise SchemaError(f"{where}: {exc}") from None
    if tp is int and isinstance(data, float) and data.is_integer():
        return int(data)
    if tp in (int, str, bool):
        if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
            raise SchemaError(f"{where}: expected {tp.__name__}, got {data!r}")
        return data
    return data


def _expect(data: Any, kind: type, where: str) -> None:
    if not isinstance(data, kind):
        raise SchemaError(f"{where or 'value'}: expected {'an object' if kind is dict else 'a list'}, "
                          f"got {type(data).__name__}")


def _record(cls: Any, data: Any, where: str) -> Any:
    _expect(data, dict, where)
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        key = json_key(f)
        path = f"{where}.{key}" if where else key
        if key in data:
            kwargs[f.name] = from_json(hints[f.name], data[key], path)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise SchemaError(f"{path}: missing")
    return cls(**kwargs)
