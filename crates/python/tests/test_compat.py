"""The ancestor's entry point, get_with_metadata, and the exception hierarchy."""

from __future__ import annotations

import pytest

import cacheness


def test_the_ancestor_entry_point_opens_a_cache_with_its_names_and_defaults(tmp_path):
    config = cacheness.CacheConfig(cache_dir=str(tmp_path / "c"), default_ttl_hours=1,
                                   max_cache_size_mb=5)
    assert config.ttl() == "3600s" and config.max_size() == "5MiB"
    cache = cacheness.cacheness(config)
    cache.put({"results": [1, 2, 3]}, model="xgboost", dataset="customer_data", version="1.0")
    assert cache.get(model="xgboost", dataset="customer_data", version="1.0") == {
        "results": [1, 2, 3]}
    stats = cache.stats()
    assert stats["max_size_bytes"] == 5 * 1024 * 1024, stats
    (entry,) = cache.list_entries()
    assert entry["expires_at"] is not None, "the 1-hour TTL applies"
    cache.close()
    defaults = cacheness.CacheConfig()
    assert (defaults.cache_dir, defaults.ttl(), defaults.max_size()) == \
        ("./cache", "86400s", "2000MiB")
    assert cacheness.CacheConfig(default_ttl_hours=None).ttl() is None


def test_settings_without_a_counterpart_warn_and_unknown_ones_fail(tmp_path):
    with pytest.warns(DeprecationWarning, match="metadata_backend"):
        cacheness.CacheConfig(cache_dir=str(tmp_path), metadata_backend="sqlite")
    with pytest.raises(TypeError, match="nonsense"):
        cacheness.CacheConfig(nonsense=1)
    with cacheness.cacheness(cache_dir=str(tmp_path / "k"), enable_dill_fallback=True) as c:
        assert c.allow_pickle


def test_get_with_metadata_gives_the_value_and_its_catalog_row(cache):
    assert cache.get_with_metadata(x=1) is None
    key = cache.put([1, 2], x=1, description="two numbers")
    value, meta = cache.get_with_metadata(x=1)
    assert value == [1, 2]
    assert meta["cache_key"] == key
    assert meta["description"] == "two numbers"
    assert meta["data_type"] == "object"
    assert meta["params"] == {"x": 1}


def test_errors_are_subclasses_of_cache_error_by_kind(tmp_path, cache):
    for cls in (cacheness.CacheClosedError, cacheness.StorageError, cacheness.CatalogError,
                cacheness.SqlError, cacheness.FormatError, cacheness.ConfigError):
        assert issubclass(cls, cacheness.CacheError)
    with pytest.raises(cacheness.SqlError, match="(?i)read-only|not allowed|only"):
        cache.sql("DROP TABLE cache_entries")
    with pytest.raises(cacheness.SqlError, match="no_such_table"):
        cache.sql("SELECT * FROM no_such_table")
    closed = cacheness.Cache(tmp_path / "closed")
    closed.close()
    with pytest.raises(cacheness.CacheClosedError, match="closed"):
        closed.put(1, x=1)
    with pytest.raises(cacheness.StorageError, match="nope.csv"):
        cache.key(data=tmp_path / "nope.csv")
