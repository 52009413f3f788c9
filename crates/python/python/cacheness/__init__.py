"""Cacheness: a disk cache for data and ML work, built as a small data lake.

Values are keyed by parameters (``cache.put(value, model="xgboost", version=3)``); NumPy arrays
are stored as Blosc2 arrays, tables (pyarrow, pandas, polars) as Parquet, and dicts, lists,
strings, numbers and bytes in a signed container. Every entry is a row of a Delta Lake catalog
that ``cache.sql(...)`` queries. See docs/PYTHON.md.
"""

from __future__ import annotations

import json
from typing import Any

from . import _native, _tables
from ._native import (
    CacheClosedError,
    CacheError,
    CatalogError,
    ConfigError,
    FormatError,
    KeyParams,
    SqlError,
    StorageError,
)

__all__ = [
    "Cache", "CacheClosedError", "CacheConfig", "CacheError", "CacheInfo", "CatalogError",
    "ConfigError", "FormatError", "KeyParams", "PullTable", "SqlError", "StorageError", "cached",
    "cacheness", "key",
]
__version__: str = _native.__version__

_OBJECT_TYPES = (dict, list, tuple, str, int, float, bool, type(None))
_PLAIN_TYPES = frozenset(_OBJECT_TYPES)


def key(**params: Any) -> str:
    """The key (16 hex digits) that ``params`` name: the key Rust's ``params!`` and the CLI's
    ``-p`` give for the same parameters."""
    return _native.key_of(params)


def _decode(found: tuple[str, Any]) -> Any:
    """The Python value of what the native get found: ``(data_type, value)``."""
    data_type, value = found
    if data_type == "json":
        return json.loads(value)
    if data_type == "arrow_table":
        return _tables.from_stream(value)
    return value


class Cache:
    """A cache in a directory (created if needed).

    ``default_ttl`` ("7d", "12h") and ``max_size`` ("10GiB") override ``cacheness.toml``
    and the ``CACHENESS_*`` environment variables. Usable as a context manager, which closes
    the cache (committing its catalog rows) on exit.
    """

    def __init__(self, dir: str | Any = ".cacheness", *, default_ttl: str | None = None,
                 max_size: str | None = None, allow_pickle: bool = False) -> None:
        self._native = _native.Cache(str(dir), default_ttl, max_size, allow_pickle)

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, value: Any, *, ttl: str | None = None, description: str | None = None,
            **params: Any) -> str:
        """Store ``value`` under ``params``; returns the entry's key.

        NumPy arrays become Blosc2 arrays; pyarrow, pandas and polars tables become
        Parquet; bytes are stored as they are; dicts, lists, tuples, str, int, float, bool
        and None become an object. Any other type is a ``TypeError``, unless the cache was
        opened with ``allow_pickle=True``: then it is pickled into the signed container.
        """
        return self._put(value, params, ttl, description)

    def _put(self, value: Any, params: dict[str, Any] | KeyParams, ttl: str | None,
             description: str | None) -> str:
        kind = type(value)
        if kind in _PLAIN_TYPES:  # the common case first: a small object
            return self._native.put_object(value, params, ttl, description)
        if kind.__module__ == "numpy" or kind.__module__.startswith("numpy."):
            import numpy as np

            if isinstance(value, np.ndarray):
                return self._native.put_array(value, params, ttl, description)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._native.put_bytes(bytes(value), params, ttl, description)
        table = _tables.table_kind(value)
        if table is not None:
            stream = _tables.to_stream(value, table)
            return self._native.put_table_stream(stream, params, ttl, description)
        if isinstance(value, _OBJECT_TYPES) or self.allow_pickle:
            return self._native.put_object(value, params, ttl, description)
        raise TypeError(
            f"a value of type {type(value).__module__}.{type(value).__qualname__} cannot be "
            "stored: arrays, tables, bytes, dict, list, tuple, str, int, float, bool and None "
            "can; open the cache with allow_pickle=True to store other objects pickled")

    @property
    def allow_pickle(self) -> bool:
        """Whether other objects are stored pickled (and unpickled on a get)."""
        return self._native.allow_pickle

    def get(self, **params: Any) -> Any:
        """The value stored under ``params``, or None on a miss (or an expired, invalid or
        damaged entry, which is removed)."""
        found = self._native.get(params)
        return None if found is None else _decode(found)

    def get_with_metadata(self, **params: Any) -> tuple[Any, dict[str, Any]] | None:
        """``(value, metadata)`` of the entry under ``params``, or None on a miss. The
        metadata is the entry's catalog row: ``cache_key``, ``data_type``, ``params``,
        ``description``, sizes and times."""
        found = self._native.get_with_info(params)
        if found is None:
            return None
        data_type, value, info = found
        return _decode((data_type, value)), json.loads(info)

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
        return _tables.from_stream(self._native.sql_stream(query))

    def key(self, **params: Any) -> str:
        """The key ``params`` name."""
        return self._native.key(params)

    def flush(self) -> None:
        """Commit pending catalog rows to Delta (puts are durable before this)."""
        self._native.flush()

    def close(self) -> None:
        """Commit pending catalog rows and close; later calls raise ``CacheError``."""
        self._native.close()


from ._cached import CacheInfo, cached  # noqa: E402  (they use Cache)
from ._compat import CacheConfig, cacheness  # noqa: E402
from ._pull import PullTable  # noqa: E402
