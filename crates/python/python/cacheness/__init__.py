"""Cacheness: a disk cache for data and ML work, built as a small data lake.

Values are keyed by parameters (``cache.put(value, model="xgboost", version=3)``); NumPy arrays
are stored as Blosc2 arrays, tables (pyarrow, pandas, polars) as Parquet, and dicts, lists,
strings, numbers and bytes in a signed container. Every entry is a row of a Delta Lake catalog
that ``cache.sql(...)`` queries. See docs/PYTHON.md.
"""

from __future__ import annotations

import io
import json
from typing import Any

from . import _native
from ._native import CacheError

__all__ = ["Cache", "CacheError", "key"]
__version__: str = _native.__version__

_OBJECT_TYPES = (dict, list, tuple, str, int, float, bool, type(None))


def key(**params: Any) -> str:
    """The key (16 hex digits) that ``params`` name: the key Rust's ``params!`` and the CLI's
    ``-p`` give for the same parameters."""
    return _native.key_of(params)


def _table_kind(value: Any) -> str | None:
    """``"pyarrow"``, ``"pandas"`` or ``"polars"`` for a table of that library, else None."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module == "pyarrow" and name in ("Table", "RecordBatch"):
        return "pyarrow"
    if module == "pandas" and name in ("DataFrame", "Series"):
        return "pandas"
    if module == "polars" and name in ("DataFrame", "Series"):
        return "polars"
    return None


def _to_ipc(value: Any, kind: str) -> bytes:
    import pyarrow as pa

    if kind == "pandas":
        import pandas as pd

        frame = value.to_frame() if isinstance(value, pd.Series) else value
        table = pa.Table.from_pandas(frame, preserve_index=True)
    elif kind == "polars":
        import polars as pl

        frame = value.to_frame() if isinstance(value, pl.Series) else value
        table = frame.to_arrow()
    else:
        table = pa.Table.from_batches([value]) if isinstance(value, pa.RecordBatch) else value
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_ipc(ipc: bytes) -> Any:
    import pyarrow as pa

    table = pa.ipc.open_stream(ipc).read_all()
    if table.schema.metadata and b"pandas" in table.schema.metadata:
        return table.to_pandas()
    return table


class Cache:
    """A cache in a directory (created if needed).

    ``default_ttl`` ("7d", "12h") and ``max_size`` ("10GiB") override ``cacheness.toml``
    and the ``CACHENESS_*`` environment variables. Usable as a context manager, which closes
    the cache (committing its catalog rows) on exit.
    """

    def __init__(self, dir: str | Any = ".cacheness", *, default_ttl: str | None = None,
                 max_size: str | None = None) -> None:
        self._native = _native.Cache(str(dir), default_ttl, max_size)

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, value: Any, *, ttl: str | None = None, description: str | None = None,
            **params: Any) -> str:
        """Store ``value`` under ``params``; returns the entry's key.

        NumPy arrays become Blosc2 arrays; pyarrow, pandas and polars tables become
        Parquet; bytes are stored as they are; dicts, lists, tuples, str, int, float, bool
        and None become an object. Any other type is a ``TypeError``.
        """
        import numpy as np

        if isinstance(value, np.ndarray):
            return self._native.put_array(value, params, ttl, description)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._native.put_bytes(bytes(value), params, ttl, description)
        kind = _table_kind(value)
        if kind is not None:
            return self._native.put_table_ipc(_to_ipc(value, kind), params, ttl, description)
        if isinstance(value, _OBJECT_TYPES):
            return self._native.put_object(value, params, ttl, description)
        raise TypeError(
            f"a value of type {type(value).__module__}.{type(value).__qualname__} cannot be "
            "stored: arrays, tables, bytes, dict, list, tuple, str, int, float, bool and None can")

    def get(self, **params: Any) -> Any:
        """The value stored under ``params``, or None on a miss (or an expired, invalid or
        damaged entry, which is removed)."""
        found = self._native.get(params)
        if found is None:
            return None
        data_type, value = found
        if data_type == "json":
            return json.loads(value)
        if data_type == "arrow_table":
            return _from_ipc(value)
        return value

    def exists(self, **params: Any) -> bool:
        """Whether a live entry is stored under ``params``."""
        return self._native.exists(params)

    def invalidate(self, **params: Any) -> bool:
        """Remove the entry under ``params``; whether there was one."""
        return self._native.invalidate(params)

    def touch(self, **params: Any) -> bool:
        """Renew the entry's TTL and access time; whether there was one."""
        return self._native.touch(params)

    def clear(self) -> int:
        """Remove every entry; how many there were."""
        return self._native.clear()

    def cleanup_expired(self) -> int:
        """Remove expired entries; how many."""
        return self._native.cleanup_expired()

    def list_entries(self, **filters: Any) -> list[dict[str, Any]]:
        """The live entries as dicts (key, data type, sizes, times, parameters), those whose
        parameters equal every filter given."""
        entries = json.loads(self._native.list_entries_json())
        return [e for e in entries
                if all(e.get("params", {}).get(k) == v for k, v in filters.items())]

    def stats(self) -> dict[str, Any]:
        """Entry counts, sizes, limits and this process's hits and misses."""
        return json.loads(self._native.stats_json())

    def verify(self) -> dict[str, Any]:
        """Check every catalog row against its payload; changes nothing."""
        return json.loads(self._native.verify_json())

    def repair(self) -> dict[str, Any]:
        """Fix what ``verify`` finds; what it found and did."""
        return json.loads(self._native.repair_json())

    def sql(self, query: str) -> Any:
        """The answer to a read-only SQL statement over the catalog (``cache_entries``) and
        cached tables, as a ``pyarrow.Table``."""
        import pyarrow as pa

        return pa.ipc.open_stream(self._native.sql_ipc(query)).read_all()

    def key(self, **params: Any) -> str:
        """The key ``params`` name."""
        return self._native.key(params)

    def flush(self) -> None:
        """Commit pending catalog rows to Delta (puts are durable before this)."""
        self._native.flush()

    def close(self) -> None:
        """Commit pending catalog rows and close; later calls raise ``CacheError``."""
        self._native.close()
