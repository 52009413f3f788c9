"""The ancestor's entry point, for a migration in an afternoon: ``cacheness(CacheConfig(...))``
with its argument names and defaults (a 24-hour TTL, 2,000 MB, ``./cache``), returning a
:class:`cacheness.Cache`. docs/PYTHON.md has the table from the ancestor's calls to ours."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from . import Cache

# Settings of the ancestor's CacheConfig that have no counterpart here: the catalog is always
# Delta, every entry is signed and checked, and there is no memory layer to configure.
_IGNORED = frozenset({
    "metadata_backend", "metadata_backend_options", "sqlite_db_file", "enable_metadata",
    "verify_cache_integrity", "store_full_metadata", "store_cache_key_params",
    "enable_cache_stats", "auto_cleanup_expired", "cleanup_on_init", "create_cache_dir",
    "temp_dir", "enable_memory_cache", "memory_cache_type", "memory_cache_maxsize",
    "memory_cache_ttl_seconds", "memory_cache_stats", "delete_invalid_signatures",
})


def legacy_ttl(hours: float | None, seconds: float | None) -> str | None:
    """The ancestor's TTL in hours or seconds (seconds win when both are given) as this
    package writes a TTL ("86400s"), or None when neither is given."""
    if seconds is None and hours is not None:
        seconds = hours * 3600
    return None if seconds is None else f"{seconds}s"


@dataclasses.dataclass
class CacheConfig:
    """The ancestor's configuration, by its names. ``default_ttl_hours`` and
    ``default_ttl_seconds`` (the latter wins when both are given; None: no expiry),
    ``max_cache_size_mb`` (MiB; None: no limit), ``enable_dill_fallback`` (here: pickle, so
    ``allow_pickle``). The ancestor's other settings are accepted and ignored with a warning
    that says why (``**legacy``)."""

    cache_dir: str = "./cache"
    default_ttl_hours: float | None = 24
    default_ttl_seconds: float | None = None
    max_cache_size_mb: float | None = 2000
    enable_dill_fallback: bool = False
    legacy: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __init__(self, cache_dir: str = "./cache", default_ttl_hours: float | None = 24,
                 default_ttl_seconds: float | None = None,
                 max_cache_size_mb: float | None = 2000, enable_dill_fallback: bool = False,
                 **legacy: Any) -> None:
        unknown = set(legacy) - _IGNORED
        if unknown:
            raise TypeError(f"CacheConfig got unknown settings: {sorted(unknown)}")
        if legacy:
            warnings.warn(
                f"CacheConfig settings {sorted(legacy)} have no effect in this version: the "
                "catalog is always Delta Lake, every entry is signed and checked, and there "
                "is no in-memory layer (docs/PYTHON.md, migration)", DeprecationWarning,
                stacklevel=2)
        self.cache_dir = cache_dir
        self.default_ttl_hours = default_ttl_hours
        self.default_ttl_seconds = default_ttl_seconds
        self.max_cache_size_mb = max_cache_size_mb
        self.enable_dill_fallback = enable_dill_fallback
        self.legacy = legacy

    def ttl(self) -> str | None:
        """The default TTL as this package writes it ("86400s"), or None."""
        return legacy_ttl(self.default_ttl_hours, self.default_ttl_seconds)

    def max_size(self) -> str | None:
        """The size limit as this package writes it ("2000MiB"), or None."""
        return None if self.max_cache_size_mb is None else f"{self.max_cache_size_mb}MiB"


def cacheness(config: CacheConfig | None = None, **settings: Any) -> Cache:
    """Open a cache the ancestor's way: ``cacheness(CacheConfig(cache_dir=..., ...))`` or
    ``cacheness(cache_dir=..., ...)``; the ancestor's defaults apply."""
    if config is None:
        config = CacheConfig(**settings)
    elif settings:
        raise TypeError("give a CacheConfig or settings, not both")
    return Cache(config.cache_dir, default_ttl=config.ttl(), max_size=config.max_size(),
                 allow_pickle=config.enable_dill_fallback)
