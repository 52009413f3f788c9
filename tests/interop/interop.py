"""Interop tests: other engines read what the Rust side wrote, without our code.

Run by .ci/run in a venv with requirements.txt:
    python tests/interop/interop.py path/to/cacheness

The `cacheness` binary (the Rust side) fills a fresh cache; then the deltalake package, DuckDB,
Polars, pyarrow and python-blosc2 read its catalog and payloads, and each answer is compared
with the Rust side's (`cacheness sql`, `cacheness get`) or with the data that was put.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import blosc2
import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

BIN = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="cacheness-interop-")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
ROOT = os.path.join(WORK, "cache")
CATALOG = os.path.join(ROOT, "catalog", "cache_entries")
checks = []


def cli(*args, stdin=None):
    """Run `cacheness --dir ROOT args...`; return stdout (bytes). Fails the test on error."""
    p = subprocess.run([BIN, "--dir", ROOT, *args], input=stdin, capture_output=True)
    if p.returncode != 0:
        raise AssertionError(f"cacheness {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
    return p.stdout


def sql_rows(query):
    """`cacheness sql --format json` as a list of dicts."""
    out = cli("sql", "--format", "json", query).decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def check(name, ok, detail=""):
    checks.append(name)
    if not ok:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok  {name}")


def payload_path(key):
    rows = sql_rows(f"SELECT path FROM cache_entries WHERE cache_key = '{key}'")
    assert len(rows) == 1, rows
    return os.path.join(ROOT, rows[0]["path"])


# --- The Rust side fills a cache -----------------------------------------------------------
rng = np.random.default_rng(7)
n = 50_000
table = pa.table(
    {
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "symbol": pa.array(rng.choice(["AAPL", "MSFT", "GOOG"], n)),
        "price": pa.array(rng.normal(100, 5, n)),
        "when": pa.array(np.arange(n, dtype=np.int64) * 1_000_000 + 1_795_000_000_000_000, type=pa.timestamp("us", tz="UTC")),
        "flag": pa.array(rng.random(n) > 0.5),
    }
)
src_parquet = os.path.join(WORK, "prices.parquet")
pq.write_table(table, src_parquet)  # written by pyarrow, cached by `cacheness put`
table_key = cli("put", src_parquet, "-p", "model=xgboost", "-p", "epochs=10", "-p", "kind=table", "--name", "prices").decode().strip()

arrays = {
    "f64_2d": rng.normal(size=(300, 40)),
    # 8 MiB of random floats: past the probe's size, stored at Blosc2 level 0 (docs/FORMATS.md).
    "f64_random_8mib": rng.normal(size=(1024, 1024)),
    "i32_3d": rng.integers(-1000, 1000, size=(8, 9, 10), dtype=np.int32),
    "bool_1d": rng.random(1001) > 0.3,
    "u16_1d": rng.integers(0, 60000, size=5000, dtype=np.uint16),
}
array_keys = {}
for name, arr in arrays.items():
    path = os.path.join(WORK, f"{name}.npy")
    np.save(path, arr)
    array_keys[name] = cli("put", path, "-p", f"array={name}", "-p", "model=lgbm").decode().strip()

for epochs in (5, 20, 40):
    cli("put", "-", "--as", "json", "-p", "model=xgboost", "-p", f"epochs={epochs}", stdin=json.dumps({"epochs": epochs}).encode())
cli("put", "-", "-p", "model=catboost", "-p", "epochs=20", stdin=b"raw bytes")
cli("flush")

# --- deltalake + DuckDB: the same rows as `cacheness sql` ------------------------------------
dt = DeltaTable(CATALOG)
catalog = dt.to_pyarrow_dataset()
con = duckdb.connect()
con.register("cache_entries", catalog)
q = "SELECT cache_key, epochs FROM cache_entries WHERE model = 'xgboost' ORDER BY cache_key"
duck = [tuple(r) for r in con.execute(q).fetchall()]
ours = [(r["cache_key"], r["epochs"]) for r in sql_rows(q)]
check("deltalake+DuckDB WHERE model='xgboost' equals cacheness sql", duck == ours and len(duck) == 4, f"{duck} vs {ours}")
agg = "SELECT data_type, count(*) AS n, sum(stored_bytes) AS s FROM cache_entries GROUP BY data_type ORDER BY data_type"
duck = [tuple(r) for r in con.execute(agg).fetchall()]
ours = [(r["data_type"], r["n"], r["s"]) for r in sql_rows(agg)]
check("deltalake+DuckDB aggregate equals cacheness sql", duck == ours, f"{duck} vs {ours}")

# --- Polars reads the catalog ------------------------------------------------------------------
df = pl.read_delta(CATALOG)
ours = sorted(r["cache_key"] for r in sql_rows("SELECT cache_key FROM cache_entries"))
check("pl.read_delta sees every entry", sorted(df["cache_key"].to_list()) == ours and df.height == len(arrays) + 5, f"{df.height} rows")
row = df.filter(pl.col("cache_key") == table_key).row(0, named=True)
check("pl.read_delta typed parameter columns", row["model"] == "xgboost" and row["epochs"] == 10 and row["data_type"] == "arrow_table", str(row))

# --- pyarrow and DuckDB read a cached table's payload ----------------------------------------
path = payload_path(table_key)
back = pq.read_table(path)
check("pyarrow reads the table payload with equal values and types", back.equals(table), f"{back.schema} vs {table.schema}")
duck = con.execute(f"SELECT count(*), sum(id), sum(price), count(*) FILTER (WHERE flag) FROM read_parquet('{path}')").fetchone()
want = (n, int(table["id"].to_numpy().sum()), float(np.sum(table["price"].to_numpy())), int(np.sum(table["flag"].to_numpy())))
check("DuckDB read_parquet of the payload", duck[:2] == want[:2] and abs(duck[2] - want[2]) < 1e-6 and duck[3] == want[3], f"{duck} vs {want}")
theirs = con.execute(f"SELECT symbol, count(*) FROM read_parquet('{path}') GROUP BY symbol ORDER BY symbol").fetchall()
ours = sql_rows(f"SELECT symbol, count(*) AS n FROM cached_table('{table_key}') GROUP BY symbol ORDER BY symbol")
check("DuckDB on the payload equals cached_table in cacheness sql", [tuple(r) for r in theirs] == [(r["symbol"], r["n"]) for r in ours], f"{theirs} vs {ours}")

# A named table: DuckDB finds its payload through the catalog's entry_name, as docs/INTEROP.md shows.
(rel,) = con.execute("SELECT path FROM cache_entries WHERE entry_name = 'prices' ORDER BY created_at DESC LIMIT 1").fetchone()
theirs = con.execute(f"SELECT symbol, sum(id) FROM read_parquet('{os.path.join(ROOT, rel)}') GROUP BY symbol ORDER BY symbol").fetchall()
ours = sql_rows("SELECT symbol, sum(id) AS s FROM prices GROUP BY symbol ORDER BY symbol")
check("DuckDB via entry_name equals the named table in cacheness sql", [tuple(r) for r in theirs] == [(r["symbol"], r["s"]) for r in ours] and rel.endswith(f"{table_key}.parquet"), f"{theirs} vs {ours}")

# --- `cacheness put` of a pyarrow Parquet file round-trips through `cacheness get` -------------
out = os.path.join(WORK, "back.parquet")
cli("get", "-p", "model=xgboost", "-p", "epochs=10", "-p", "kind=table", "-o", out)
check("pyarrow Parquet -> cacheness put -> cacheness get round-trips", pq.read_table(out).equals(table))

# --- python-blosc2 opens the arrays' .b2nd payloads ------------------------------------------
for name, arr in arrays.items():
    path = payload_path(array_keys[name])
    b = blosc2.open(path)
    got = b[()] if b.ndim == 0 else b[:]
    check(
        f"python-blosc2 opens {name} (.b2nd) with equal values, dtype and shape",
        path.endswith(".b2nd") and got.dtype == arr.dtype and got.shape == arr.shape and np.array_equal(got, arr),
        f"{got.dtype} {got.shape} vs {arr.dtype} {arr.shape}",
    )
    npy_out = os.path.join(WORK, f"{name}.back.npy")
    cli("get", "--key", array_keys[name], "-o", npy_out)
    back = np.load(npy_out)
    check(f"numpy loads cacheness get -o {name}.npy", back.dtype == arr.dtype and np.array_equal(back, arr))

# --- The same cache on S3 (moto's server on loopback): deltalake, DuckDB and Polars read the catalog
# from the bucket, pyarrow reads a payload from it -----------------------------------------------
import socket
import time
import urllib.request

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
moto = subprocess.Popen(
    [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
atexit.register(moto.kill)
endpoint = f"http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/interop", method="PUT"))
        break
    except OSError:
        time.sleep(0.1)
S3_ENV = {
    "AWS_ENDPOINT_URL": endpoint,
    "AWS_ALLOW_HTTP": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}
S3_URL = "s3://interop/team/cache"


def s3_cli(host, *args):
    """Run `cacheness --dir S3_URL args...` as host `host` (its own local state)."""
    env = dict(os.environ, **S3_ENV, CACHENESS_LOCAL_STATE=os.path.join(WORK, f"host-{host}"))
    p = subprocess.run([BIN, "--dir", S3_URL, *args], capture_output=True, env=env)
    if p.returncode != 0:
        raise AssertionError(f"cacheness {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
    return p.stdout


s3_table_key = s3_cli("a", "put", src_parquet, "-p", "model=xgboost", "-p", "kind=table").decode().strip()
for epochs in (5, 20):
    s3_cli("b", "put", os.path.join(WORK, "f64_2d.npy"), "-p", "model=lgbm", "-p", f"epochs={epochs}")
s3_cli("a", "flush")
s3_cli("b", "flush")
opts = {k.lower(): v for k, v in S3_ENV.items()}
s3_dt = DeltaTable(f"{S3_URL}/catalog/cache_entries", storage_options=opts)
s3_con = duckdb.connect()
s3_con.register("cache_entries", s3_dt.to_pyarrow_dataset())
q = "SELECT model, count(*) AS n FROM cache_entries GROUP BY model ORDER BY model"
duck = [tuple(r) for r in s3_con.execute(q).fetchall()]
ours = [tuple(json.loads(line).values()) for line in s3_cli("c", "sql", "--format", "json", q).decode().splitlines()]
check("deltalake reads the catalog from S3 and DuckDB queries it (two hosts' rows)", duck == ours == [("lgbm", 2), ("xgboost", 1)], f"{duck} vs {ours}")
df = pl.read_delta(f"{S3_URL}/catalog/cache_entries", storage_options=opts)
check("pl.read_delta reads the catalog from S3", df.height == 3 and s3_table_key in df["cache_key"].to_list(), f"{df.height} rows")
(rel,) = s3_con.execute(f"SELECT path FROM cache_entries WHERE cache_key = '{s3_table_key}'").fetchone()
import pyarrow.fs as pafs
s3fs = pafs.S3FileSystem(access_key="testing", secret_key="testing", endpoint_override=endpoint, scheme="http", region="us-east-1")
remote = pq.read_table(f"interop/team/cache/{rel}", filesystem=s3fs)
check("pyarrow reads a cached table's payload from S3", remote.equals(table))

print(f"interop: {len(checks)} checks passed")
