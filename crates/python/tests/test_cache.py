"""The Python API against the real native module: round trips, keys, errors, and interop with
the real `cacheness` binary."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pyarrow as pa
import pytest

import cacheness

from conftest import REPO

OBJECTS = [
    {"a": 1, "b": [1.5, "x", None, True], "nested": {"k": b"\x00\xff"}},
    [1, 2, 3],
    "text é",
    -(2**63),
    2**64 - 1,
    0.1,
    True,
    None,
    b"",
    {},
]


@pytest.mark.parametrize("value", OBJECTS, ids=lambda v: type(v).__name__)
def test_objects_round_trip(cache, value):
    cache.put(value, model="m", case=repr(value))
    assert cache.get(model="m", case=repr(value)) == value
    assert type(cache.get(model="m", case=repr(value))) is type(value)


def test_a_tuple_comes_back_a_tuple_nested_ones_as_lists_and_the_cli_reads_an_array(
        cache, tmp_path, cli):
    cache.put((1, "a", (2, 3), {"k": (4,)}), t=1)
    got = cache.get(t=1)
    assert type(got) is tuple and got == (1, "a", [2, 3], {"k": [4]})
    assert cache.touch(t=1) and type(cache.get(t=1)) is tuple, "a touch keeps the fact"
    cache.put([1, "a"], t=2)
    assert type(cache.get(t=2)) is list
    cache.flush()
    out = subprocess.run([cli, "--dir", str(tmp_path / "cache"), "get", "-p", "t=1"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == [1, "a", [2, 3], {"k": [4]}]


def test_bytes_are_stored_as_they_are(cache):
    data = bytes(range(256)) * 300
    cache.put(data, name="blob")
    assert cache.get(name="blob") == data
    assert cache.list_entries()[0]["data_type"] == "bytes"


def test_a_miss_is_none_and_a_stored_none_is_a_hit(cache):
    assert cache.get(model="absent") is None
    assert not cache.exists(model="absent")
    cache.put(None, model="none")
    assert cache.exists(model="none")


DTYPES = ["float64", "float32", "int64", "int32", "int16", "int8",
          "uint64", "uint32", "uint16", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_arrays_of_every_dtype_round_trip(cache, dtype):
    rng = np.random.default_rng(7)
    a = (rng.integers(0, 100, size=(3, 4, 5)) % (2 if dtype == "bool" else 100)).astype(dtype)
    cache.put(a, dtype=dtype)
    b = cache.get(dtype=dtype)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda: np.asfortranarray(np.arange(24.0).reshape(4, 6)),
    lambda: np.arange(100.0)[::3],
    lambda: np.arange(24).reshape(4, 6).T,
    lambda: np.array(3.5),
    lambda: np.zeros((0, 5), dtype=np.int32),
], ids=["fortran", "strided", "transposed", "0-d", "empty"])
def test_arrays_of_any_layout_round_trip(cache, make):
    a = make()
    cache.put(a, case="layout")
    b = cache.get(case="layout")
    assert b.shape == a.shape and b.dtype == a.dtype
    np.testing.assert_array_equal(a, b)
    # Fortran order (a transposed array is in it) comes back in it; the rest in C order.
    fortran = a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous
    assert (b.flags.f_contiguous, b.flags.c_contiguous) == (True, False) if fortran \
        else b.flags.c_contiguous
    cache.touch(case="layout")  # rewrites the payload: the fact is kept
    again = cache.get(case="layout").flags
    assert (again.f_contiguous, again.c_contiguous) == \
        (b.flags.f_contiguous, b.flags.c_contiguous)


def test_an_unsupported_dtype_is_a_type_error_naming_it(cache):
    with pytest.raises(TypeError, match="complex128"):
        cache.put(np.zeros(3, dtype=np.complex128), x=1)


def test_pyarrow_tables_round_trip(cache):
    t = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", None, "c"]})
    cache.put(t, dataset="train")
    assert cache.get(dataset="train").equals(t)
    batch = t.to_batches()[0]
    cache.put(batch, dataset="batch")
    back = cache.get(dataset="batch")
    assert isinstance(back, pa.RecordBatch) and back.equals(batch)


def test_an_unsupported_type_is_a_type_error_naming_it(cache):
    class Thing:
        pass

    with pytest.raises(TypeError, match="Thing"):
        cache.put(Thing(), x=1)
    with pytest.raises(TypeError, match="set"):
        cache.put({"inside": {1, 2}}, x=1)
    with pytest.raises(TypeError, match='parameter "p".*set'):
        cache.put(1, p={1})
    assert cache.list_entries() == []


def test_a_value_that_contains_itself_is_refused(cache):
    loop: list = []
    loop.append(loop)
    with pytest.raises(TypeError, match="deeper"):
        cache.put(loop, x=1)


def _vector_params(params, tmp_path):
    """A golden vector's parameters as Python values: the tagged ones as the values the Rust
    test (tests/keys.rs) keys: a date, an instant, a file and a tree, an array, a table."""
    import datetime as dt

    def content(tag):
        tmp_path.mkdir(parents=True, exist_ok=True)
        (tmp_path / "train.csv").write_bytes(b"x,y\n1,2\n")
        (tmp_path / "sub").mkdir(exist_ok=True)
        (tmp_path / "sub" / "b.bin").write_bytes(bytes([0, 1, 2]))
        if tag == "$file":
            return tmp_path / "train.csv"
        if tag == "$dir":
            return tmp_path
        if tag == "$array":
            return np.arange(6, dtype=np.float64).reshape(2, 3)
        # As Rust's `RecordBatch::try_from_iter`: a column without nulls is not nullable.
        schema = pa.schema([pa.field("id", pa.int64(), nullable=False),
                            pa.field("name", pa.string())])
        return pa.table({"id": [1, 2], "name": ["a", None]}, schema=schema)

    def convert(v):
        if isinstance(v, dict) and len(v) == 1:
            (tag, x), = v.items()
            if tag == "$float":
                return float(x)
            if tag == "$bytes":
                return bytes.fromhex(x)
            if tag == "$date":
                return dt.date.fromisoformat(x)
            if tag == "$timestamp":
                return dt.datetime.fromisoformat(x)
            if tag.startswith("$"):
                return content(tag)
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        return v
    return convert(params)


def test_keys_match_every_golden_vector(tmp_path, cache):
    vectors = json.loads((REPO / "tests/data/key_vectors.json").read_text())
    for v in vectors:
        params = _vector_params(v["params"], tmp_path / v["name"])
        assert cacheness.key(**params) == v["key"], v["name"]
        assert cache.key(**params) == v["key"], v["name"]
    assert len(vectors) == 24


def test_ints_and_floats_are_different_keys_and_bool_is_not_int():
    assert cacheness.key(x=1) != cacheness.key(x=1.0)
    assert cacheness.key(x=True) != cacheness.key(x=1)
    assert cacheness.key(x=(1, 2)) == cacheness.key(x=[1, 2])
    assert cacheness.key(a=1, b=2) == cacheness.key(b=2, a=1)


def test_invalidate_touch_clear_and_stats(cache):
    for i in range(3):
        cache.put({"i": i}, i=i)
    assert cache.stats()["entries"] == 3
    assert cache.touch(i=0)
    assert cache.invalidate(i=1)
    assert not cache.invalidate(i=1)
    assert cache.get(i=1) is None
    assert len(cache.list_entries()) == 2
    assert cache.clear() == 2
    assert cache.list_entries() == []


def test_ttl_expires_an_entry(cache, tmp_path):
    cache.put("short", ttl="1ms", k="ttl")
    import time
    time.sleep(0.01)
    assert cache.get(k="ttl") is None
    with pytest.raises(ValueError, match="ttl"):
        cache.put("x", ttl="soon", k="bad")


def test_a_size_limit_evicts_the_least_recently_used_entries(tmp_path):
    import time

    blobs = [np.random.default_rng(i).bytes(200_000) for i in range(6)]  # files, not small
    with cacheness.Cache(tmp_path / "c", max_size="1MiB") as cache:
        for i in range(5):  # 1.0 MB: within the limit
            cache.put(blobs[i], i=i)
            time.sleep(0.02)  # apart by more than the file times' resolution
        assert cache.get(i=0) == blobs[0]  # read: now the most recently used of the five
        time.sleep(0.02)
        cache.put(blobs[5], i=5)  # past the limit: evicts down to 80 % of it, oldest first
        assert [i for i in range(6) if cache.exists(i=i)] == [0, 3, 4, 5]
        assert all(cache.get(i=i) == blobs[i] for i in (0, 3, 4, 5))
        stats = cache.stats()
        assert stats["evicted_for_size"] == 2 and stats["entries"] == 4, stats
        assert stats["stored_bytes"] <= 0.8 * 1024 * 1024, stats
        assert len(cache.list_entries()) == 4


def test_sql_answers_with_a_pyarrow_table(cache):
    cache.put({"score": 0.9}, model="xgboost", dataset="train")
    cache.put({"score": 0.8}, model="lgbm", dataset="train")
    cache.flush()
    t = cache.sql("SELECT cache_key FROM cache_entries WHERE model = 'xgboost'")
    assert isinstance(t, pa.Table)
    assert t.column("cache_key").to_pylist() == [cache.key(model="xgboost", dataset="train")]
    with pytest.raises(cacheness.CacheError):
        cache.sql("DROP TABLE cache_entries")


def test_verify_finds_nothing_wrong_in_a_fresh_cache(cache):
    cache.put([1, 2], a=1)
    cache.flush()
    report = cache.verify()
    assert report.get("problems", []) == [], report


def test_a_closed_cache_raises_cache_error(tmp_path):
    c = cacheness.Cache(tmp_path / "c")
    c.put(1, a=1)
    c.close()
    with pytest.raises(cacheness.CacheError):
        c.put(2, a=2)
    # The put before the close is there for the next process.
    assert cacheness.Cache(tmp_path / "c").get(a=1) == 1


def test_a_python_put_is_read_by_the_cli(tmp_path, cli):
    root = tmp_path / "c"
    with cacheness.Cache(root) as c:
        c.put({"answer": 42}, model="xgboost", version=3)
    out = subprocess.run([cli, "--dir", str(root), "get", "-p", "model=xgboost", "-p", "version=3"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == {"answer": 42}
    rows = subprocess.run([cli, "--dir", str(root), "sql",
                           "SELECT model FROM cache_entries"],
                          check=True, capture_output=True, text=True).stdout
    assert "xgboost" in rows


def test_a_cli_put_is_read_by_python(tmp_path, cli):
    root = tmp_path / "c"
    subprocess.run([cli, "--dir", str(root), "put", "-", "-p", "model=cli", "-p", "n=1"],
                   input=b"raw bytes from the CLI", check=True, capture_output=True)
    with cacheness.Cache(root) as c:
        assert c.get(model="cli", n=1) == b"raw bytes from the CLI"


def test_parameter_names_and_dict_keys_must_be_str(cache):
    with pytest.raises(TypeError, match="a dict key in a key parameter must be a str, not int"):
        cache.put(1, p={1: "a"})
    with pytest.raises(TypeError, match="a parameter name must be a str"):
        cache._native.put_object(1, {2: "a"})


def test_pandas_frames_come_back_as_pandas_with_their_index(cache):
    import pandas as pd
    df = pd.DataFrame({"x": [1.5, 2.5, None], "s": ["a", "b", "c"]},
                      index=pd.Index([10, 20, 30], name="id"))
    cache.put(df, dataset="pandas")
    back = cache.get(dataset="pandas")
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, df)


def test_polars_and_pandas_series_and_frames_come_back_as_what_went_in(cache):
    import pandas as pd
    import polars as pl

    frame = pl.DataFrame({"x": [1, 2, None], "s": ["a", "b", "c"]})
    cache.put(frame, v="polars-frame")
    back = cache.get(v="polars-frame")
    assert isinstance(back, pl.DataFrame) and back.equals(frame)
    series = pl.Series("price", [1.5, 2.5])
    cache.put(series, v="polars-series")
    back = cache.get(v="polars-series")
    assert isinstance(back, pl.Series) and back.equals(series) and back.name == "price"
    for s in (pd.Series([1, 2, 3], name="n", index=[5, 6, 7]), pd.Series(["a", "b"])):
        cache.put(s, v="pandas-series")
        back = cache.get(v="pandas-series")
        assert isinstance(back, pd.Series)
        pd.testing.assert_series_equal(back, s)


def test_pandas_dtypes_come_back_categorical_tz_aware_nullable_and_string(cache):
    import pandas as pd

    df = pd.DataFrame({
        "cat": pd.Categorical(["a", "b", "a"], categories=["b", "a", "unused"], ordered=True),
        "when": pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Paris"),
        "n": pd.array([1, None, 3], dtype="Int64"),
        "s": pd.array(["x", None, "z"], dtype="string"),
        "f": [0.5, float("nan"), 1.5],
    }, index=pd.Index(["r1", "r2", "r3"], name="row"))
    cache.put(df, frame="dtypes")
    back = cache.get(frame="dtypes")
    pd.testing.assert_frame_equal(back, df)
    assert str(back["when"].dt.tz) == "Europe/Paris"
    assert back["cat"].cat.ordered and list(back["cat"].cat.categories) == ["b", "a", "unused"]
