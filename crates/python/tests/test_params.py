"""Key parameters beyond the plain values: dates and instants, paths keyed by content, NumPy
arrays and scalars, and tables keyed by content: the keys Rust and the CLI give."""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

import cacheness

from conftest import REPO


def test_an_aware_datetime_is_its_instant_and_a_naive_one_reads_as_utc():
    utc = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    paris = dt.datetime(2024, 1, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    naive = dt.datetime(2024, 1, 1, 12, 0)
    assert cacheness.key(t=utc) == cacheness.key(t=paris) == cacheness.key(t=naive)
    assert cacheness.key(t=utc) != cacheness.key(t=utc + dt.timedelta(microseconds=1))
    # Before the epoch, to the microsecond (integer arithmetic, no float rounding).
    old = dt.datetime(1901, 3, 4, 5, 6, 7, 999_999)
    assert cacheness.key(t=old) != cacheness.key(t=old.replace(microsecond=999_998))
    assert cacheness.key(t=dt.date(2024, 1, 1)) != cacheness.key(t=naive)


def test_pandas_timestamps_key_as_datetimes_and_numpy_scalars_as_python_scalars():
    import pandas as pd

    t = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)
    assert cacheness.key(t=pd.Timestamp(t)) == cacheness.key(t=t)
    assert cacheness.key(x=np.float64(1.5)) == cacheness.key(x=1.5)
    assert cacheness.key(x=np.int32(7)) == cacheness.key(x=7)
    assert cacheness.key(x=np.bool_(True)) == cacheness.key(x=True)


def test_arrays_are_keyed_by_dtype_shape_and_values():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert cacheness.key(a=a) == cacheness.key(a=a.copy())
    assert cacheness.key(a=np.asfortranarray(a)) == cacheness.key(a=a), "layout is not content"
    assert cacheness.key(a=a) != cacheness.key(a=a.astype(np.float32))
    assert cacheness.key(a=a) != cacheness.key(a=a.reshape(3, 2))
    b = a.copy()
    b[1, 2] = 99
    assert cacheness.key(a=a) != cacheness.key(a=b)
    with pytest.raises(TypeError, match="complex128"):
        cacheness.key(a=np.zeros(2, dtype=np.complex128))


def test_tables_are_keyed_by_content_in_every_library_and_across_processes():
    import pandas as pd
    import polars as pl

    t = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", None]})
    assert cacheness.key(t=t) == cacheness.key(t=t.to_batches()[0])
    assert cacheness.key(t=t) != cacheness.key(t=t.slice(0, 1))
    frame = pl.DataFrame({"x": [1, 2, 3]})
    assert cacheness.key(t=frame) == cacheness.key(t=pl.DataFrame({"x": [1, 2, 3]}))
    assert cacheness.key(t=frame) != cacheness.key(t=pl.DataFrame({"x": [1, 2, 4]}))
    df = pd.DataFrame({"x": [1.0, 2.0]})
    code = ("import pandas as pd, cacheness; "
            "print(cacheness.key(t=pd.DataFrame({'x': [1.0, 2.0]})))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert other == cacheness.key(t=df), "stable across processes (no hash randomisation)"


def test_a_path_is_keyed_by_its_content_as_the_cli_keys_it(tmp_path, cache, cli):
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n")
    copy = tmp_path / "copy.csv"
    copy.write_text("x,y\n1,2\n")
    assert cache.key(data=data) == cache.key(data=copy) == cacheness.key(data=data)
    value = tmp_path / "value.bin"
    value.write_bytes(b"v")
    out = subprocess.run([cli, "--dir", str(tmp_path / "cache"), "put", str(value),
                          "-p", f"data=@{data}"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == cache.key(data=data)
    data.write_text("x,y\n1,3\n")
    assert cache.key(data=data) != cache.key(data=copy), "new content, new key"


def test_a_missing_path_is_an_error_naming_it(cache, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(cacheness.CacheError, match="nope.csv"):
        cache.key(data=missing)


def test_an_unsupported_parameter_type_names_it():
    with pytest.raises(TypeError, match='parameter "p".*set'):
        cacheness.key(p={1, 2})
    with pytest.raises(TypeError, match="object"):
        cacheness.key(p=object())


def test_a_readme_vector_path_in_the_repository_keys_the_same_in_two_caches(tmp_path):
    path = REPO / "tests" / "data" / "key_vectors.json"
    with cacheness.Cache(tmp_path / "a") as a, cacheness.Cache(tmp_path / "b") as b:
        assert a.key(f=path) == b.key(f=path) == cacheness.key(f=pathlib.Path(str(path)))
