"""Pull-through tables with Python fetchers (docs/PULL_THROUGH.md, docs/PYTHON.md).

A pull-through table holds rows by key and range; a get fetches from the source only the
parts of the requested ranges the table does not hold yet, once per gap across threads and
processes, and stores them. The source here is a Python function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import Cache, _native, _tables

# Python's name for a type the column spec names otherwise; the spec (the CLI's `--columns`,
# parsed and checked by `cacheness::pull::columns`) takes the rest as they are.
_PYTHON_NAMES = {"datetime": "timestamp"}


def _columns_text(columns: Mapping[str, str]) -> str:
    """``{name: type}`` as the column spec's text (``symbol:str,day:date``)."""
    return ",".join(f"{name}:{_PYTHON_NAMES.get(str(kind), kind)}"
                    for name, kind in columns.items())


class PullTable:
    """A pull-through table of a cache, filled by a Python function.

    Make one with a preset: :meth:`for_timeseries`, :meth:`for_realtime_timeseries`,
    :meth:`for_analytics_table` or :meth:`for_lookup_table`. ``fetch`` is called with the
    key columns' values (in order; ints for integer columns, else str) and, except for a
    lookup table, ``start`` and ``end`` of the half-open range ``[start, end)`` to fetch
    (``datetime.date`` for a date column, UTC ``datetime`` for a timestamp column, int for an
    integer one). It returns a pyarrow, pandas or polars table with the table's columns
    (other columns are ignored; types are cast). Rows are read back with :meth:`get`, or with
    ``cache.sql("SELECT ... FROM <name>")`` for ranges already fetched.
    """

    def __init__(self, native: Any, key: list[str]) -> None:
        self._native = native
        self._key = key

    @classmethod
    def _create(cls, preset: str, cache: Cache, name: str, *, fetch: Callable[..., Any],
                key: str | Iterable[str], columns: Mapping[str, str],
                range: str | None = None, granularity: int | None = None) -> PullTable:
        keys = [key] if isinstance(key, str) else list(key)
        native = _native.PullTable.create(cache._native, name, preset, keys, range,
                                          _columns_text(columns), fetch, granularity)
        return cls(native, keys)

    @classmethod
    def for_timeseries(cls, cache: Cache, name: str, *, fetch: Callable[..., Any],
                       key: str | Iterable[str], range: str, columns: Mapping[str, str],
                       granularity: int | None = None) -> PullTable:
        """Historical data: fetched ranges stay valid."""
        return cls._create("timeseries", cache, name, fetch=fetch, key=key, range=range,
                           columns=columns, granularity=granularity)

    @classmethod
    def for_realtime_timeseries(cls, cache: Cache, name: str, *, fetch: Callable[..., Any],
                                key: str | Iterable[str], range: str,
                                columns: Mapping[str, str],
                                granularity: int | None = None) -> PullTable:
        """Live data: fetches count for 5 minutes, the last two granules are refetched."""
        return cls._create("realtime_timeseries", cache, name, fetch=fetch, key=key,
                           range=range, columns=columns, granularity=granularity)

    @classmethod
    def for_analytics_table(cls, cache: Cache, name: str, *, fetch: Callable[..., Any],
                            key: str | Iterable[str], range: str, columns: Mapping[str, str],
                            granularity: int | None = None) -> PullTable:
        """Bulk scans of ranges that do not change."""
        return cls._create("analytics_table", cache, name, fetch=fetch, key=key, range=range,
                           columns=columns, granularity=granularity)

    @classmethod
    def for_lookup_table(cls, cache: Cache, name: str, *, fetch: Callable[..., Any],
                         key: str | Iterable[str], columns: Mapping[str, str]) -> PullTable:
        """Records by key (no range): fetched keys count for a day."""
        return cls._create("lookup_table", cache, name, fetch=fetch, key=key, range=None,
                           columns=columns)

    @property
    def name(self) -> str:
        """The table's name (its name in SQL)."""
        return self._native.name

    def _keys(self, values: Mapping[str, Any]) -> list[list[str]]:
        missing = [k for k in self._key if k not in values]
        if missing:
            raise TypeError(f"table {self.name}: give the key column(s) {missing}")
        columns = []
        for k in self._key:
            v = values[k]
            columns.append([str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)])
        # Several keys per column: every combination, in order.
        keys: list[list[str]] = [[]]
        for options in columns:
            keys = [prefix + [o] for prefix in keys for o in options]
        return keys

    def get_arrow(self, *, start: Any = None, end: Any = None, **key: Any) -> Any:
        """The rows of the key (each key column by name; a list for several values) in
        ``[start, end)``, as a ``pyarrow.Table``, after fetching what is missing."""
        extra = set(key) - set(self._key)
        if extra:
            raise TypeError(f"table {self.name}: {sorted(extra)} are not key columns")
        return _tables.from_stream(self._native.get(self._keys(key), start, end))

    def get(self, *, start: Any = None, end: Any = None, **key: Any) -> Any:
        """:meth:`get_arrow` as a pandas DataFrame."""
        return self.get_arrow(start=start, end=end, **key).to_pandas()

    def invalidate(self, *, start: Any = None, end: Any = None, **key: Any) -> None:
        """Forget what was fetched for the key in ``[start, end)`` (all of it without a
        range): the next get fetches it again."""
        for k in self._keys(key):
            self._native.invalidate(k, start, end)
