"""Tables of pyarrow, pandas and polars as Arrow C streams (`__arrow_c_stream__` capsules),
the form in which they cross into the native module and back without copying their columns."""

from __future__ import annotations

import json
from typing import Any


def table_kind(value: Any) -> str | None:
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


# The schema metadata entry that says which Python type a table was, so that it comes back
# as that type (pandas' own metadata says how to rebuild its index and dtypes).
_ORIGIN = b"cacheness.python"


class _Stream:
    """A stream capsule the native module made, as an object of the protocol for pyarrow."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.capsule


def to_stream(value: Any, kind: str) -> Any:
    """The Arrow stream capsule of a table or series of ``kind``, marked with its Python
    type."""
    import pyarrow as pa

    origin: dict[str, Any] = {"type": f"{kind}.{type(value).__name__}"}
    if kind == "pandas":
        import pandas as pd

        if isinstance(value, pd.Series):
            origin["name"] = value.name
            value = value.to_frame(name="series" if value.name is None else value.name)
        origin["categories"] = _category_orders(value)
        table = pa.Table.from_pandas(value, preserve_index=True)
    elif kind == "polars":
        import polars as pl

        if isinstance(value, pl.Series):
            value = value.to_frame()
        table = value.to_arrow()
    else:
        table = pa.Table.from_batches([value]) if isinstance(value, pa.RecordBatch) else value
    metadata = dict(table.schema.metadata or {})
    metadata[_ORIGIN] = json.dumps(origin).encode()
    return table.replace_schema_metadata(metadata).__arrow_c_stream__()


def _category_orders(frame: Any) -> list[list[Any]]:
    """``[column position, categories]`` of each categorical column whose categories JSON
    can hold: Parquet keeps the values and ``ordered`` but not the order of the categories
    (nor unused ones)."""
    import pandas as pd

    orders = []
    for i, (_, column) in enumerate(frame.items()):
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = column.cat.categories.tolist()
            try:
                if json.loads(json.dumps(categories)) == categories:
                    orders.append([i, categories])
            except (TypeError, ValueError):
                pass
    return orders


def _restore_category_orders(frame: Any, orders: list[list[Any]]) -> Any:
    import pandas as pd

    for i, categories in orders:
        if i < frame.shape[1] and isinstance(frame.dtypes.iloc[i], pd.CategoricalDtype):
            column = frame.iloc[:, i]
            if set(column.cat.categories) <= set(categories):
                frame.isetitem(i, column.cat.set_categories(categories,
                                                            ordered=column.cat.ordered))
    return frame


def from_stream(capsule: Any) -> Any:
    """The table a stream capsule holds, as the Python type it was put as: pandas and polars
    frames and series, pyarrow tables and record batches (a table written by Rust or the
    CLI comes back as a ``pyarrow.Table``)."""
    import pyarrow as pa

    table = pa.table(_Stream(capsule))
    metadata = dict(table.schema.metadata or {})
    try:
        origin = json.loads(metadata.pop(_ORIGIN, b"{}"))
    except ValueError:
        origin = {}
    kind = origin.get("type") if isinstance(origin, dict) else None
    if kind is None and b"pandas" in metadata:
        kind = "pandas.DataFrame"
    table = table.replace_schema_metadata(metadata or None)
    if kind in ("pandas.DataFrame", "pandas.Series"):
        frame = _restore_category_orders(table.to_pandas(), origin.get("categories") or [])
        if kind == "pandas.Series":
            series = frame.iloc[:, 0]
            series.name = origin.get("name")
            return series
        return frame
    if kind in ("polars.DataFrame", "polars.Series"):
        import polars as pl

        frame = pl.from_arrow(table)
        return frame.to_series(0) if kind == "polars.Series" else frame
    if kind == "pyarrow.RecordBatch":
        return table.combine_chunks().to_batches()[0] if table.num_rows else \
            pa.RecordBatch.from_pylist([], schema=table.schema)
    return table


def table_stream(value: Any) -> Any:
    """The stream capsule of a pyarrow, pandas or polars table or series; None for anything
    else. (The native module calls it to key a table parameter by its content.)"""
    kind = table_kind(value)
    return None if kind is None else to_stream(value, kind)
