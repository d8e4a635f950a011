"""Typed, validated reading of TOML tables: every error names the dotted field and the file."""

from __future__ import annotations

import math
from typing import Any

from kws.errors import SpecError


class Section:
    """Reads typed fields from one TOML table and names the field in every error."""

    def __init__(self, table: Any, path: str, source: str):
        if not isinstance(table, dict):
            raise SpecError(path, "must be a table", source)
        self.table = table
        self.path = path
        self.source = source
        self.used: set[str] = set()

    def _field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str) -> Any:
        if key not in self.table:
            raise SpecError(self._field(key), "is missing", self.source)
        self.used.add(key)
        return self.table[key]

    def name(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str) or not v:
            raise SpecError(self._field(key), f"must be a non-empty string, got {v!r}", self.source)
        return v

    def strs(self, key: str) -> tuple[str, ...]:
        v = self._get(key)
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise SpecError(self._field(key), "must be a list of non-empty strings", self.source)
        if len(set(v)) != len(v):
            dup = next(x for x in v if v.count(x) > 1)
            raise SpecError(self._field(key), f"lists {dup!r} twice", self.source)
        return tuple(v)

    def range(self, key: str, lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
        v = self.floats(key, 2)
        if v[0] > v[1]:
            raise SpecError(self._field(key), f"must be [low, high], got {list(v)}", self.source)
        for x in v:
            self._range(key, x, lo, hi)
        return v[0], v[1]

    def mapping(self, key: str, choices: tuple[str, ...]) -> dict[str, str]:
        v = self._get(key)
        if not isinstance(v, dict) or not all(isinstance(x, str) and x in choices for x in v.values()):
            raise SpecError(self._field(key), f"must map names to one of {list(choices)}", self.source)
        return dict(v)

    def floats(self, key: str, length: int) -> tuple[float, ...]:
        v = self._get(key)
        if not isinstance(v, list) or len(v) != length:
            got = len(v) if isinstance(v, list) else type(v).__name__
            raise SpecError(self._field(key), f"must be a list of {length} numbers, got {got}", self.source)
        out = []
        for i, x in enumerate(v):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
                raise SpecError(f"{self._field(key)}[{i}]", f"must be a finite number, got {x!r}", self.source)
            out.append(float(x))
        return tuple(out)

    def sub(self, key: str) -> Section:
        return Section(self._get(key), self._field(key), self.source)

    def _range(self, key: str, v: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and v < lo:
            raise SpecError(self._field(key), f"must be >= {lo}, got {v}", self.source)
        if hi is not None and v > hi:
            raise SpecError(self._field(key), f"must be <= {hi}, got {v}", self.source)

    def done(self) -> None:
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise SpecError(self._field(extra[0]), "is not a known field (typo?)", self.source)

    # int, float and str last: inside the class body their names are these methods from here on,
    # and the annotations above mean the types
    def int(self, key: str, lo: int | None = None, hi: int | None = None) -> int:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise SpecError(self._field(key), f"must be an integer, got {v!r}", self.source)
        self._range(key, v, lo, hi)
        return v

    def float(
        self, key: str, lo: float | None = None, hi: float | None = None, *, default: float | None = None
    ) -> float:
        """``default``: the value when the key is absent (else it is required)."""
        if default is not None and key not in self.table:
            return default
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SpecError(self._field(key), f"must be a number, got {v!r}", self.source)
        v = float(v)
        if not math.isfinite(v):
            raise SpecError(self._field(key), f"must be finite, got {v!r}", self.source)
        self._range(key, v, lo, hi)
        return v

    def str(self, key: str, choices: tuple[str, ...]) -> str:
        v = self._get(key)
        if v not in choices:
            raise SpecError(self._field(key), f"must be one of {list(choices)}, got {v!r}", self.source)
        return v
