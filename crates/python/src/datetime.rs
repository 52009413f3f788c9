//! Python dates and datetimes as days and microseconds since the Unix epoch, both ways: what
//! key parameters (`Value::Date`, `Value::Timestamp`) and a pull-through table's range ticks
//! are made of. Integer arithmetic throughout (no float rounding); a naive datetime is read as
//! UTC, so a value never depends on the machine's time zone.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days from 0001-01-01 (ordinal 1) to 1970-01-01: `date(1970, 1, 1).toordinal()`.
const EPOCH_ORDINAL: i64 = 719_163;

/// A point in time a Python value names.
pub enum When {
    /// A `datetime`: microseconds since the epoch, UTC.
    Instant(i64),
    /// A `date`: days since 1970-01-01.
    Day(i64),
}

/// The `datetime` module's `datetime`, `date`, `timedelta` types and `timezone.utc`.
fn module(py: Python<'_>) -> PyResult<[&Bound<'_, PyAny>; 4]> {
    static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let utc = UTC.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?
                .unbind(),
        )
    })?;
    Ok([
        DATETIME.import(py, "datetime", "datetime")?.as_any(),
        DATE.import(py, "datetime", "date")?.as_any(),
        TIMEDELTA.import(py, "datetime", "timedelta")?.as_any(),
        utc.bind(py),
    ])
}

/// The point in time `v` names, if it is a `datetime` or a `date` (or a subclass, such as
/// `pandas.Timestamp`, truncated to microseconds).
pub fn when(v: &Bound<'_, PyAny>) -> PyResult<Option<When>> {
    let py = v.py();
    let [datetime, date, _, utc] = module(py)?;
    if v.is_instance(datetime)? {
        let aware = !v.getattr("tzinfo")?.is_none() && !v.call_method0("utcoffset")?.is_none();
        let epoch = match aware {
            true => datetime.call1((1970, 1, 1, 0, 0, 0, 0, utc))?,
            false => datetime.call1((1970, 1, 1))?,
        };
        let delta = v.call_method1("__sub__", (epoch,))?;
        if delta.is(py.NotImplemented()) {
            return Err(PyTypeError::new_err(format!(
                "the datetime {} has no instant",
                v.repr()?
            )));
        }
        let days: i64 = delta.getattr("days")?.extract()?;
        let seconds: i64 = delta.getattr("seconds")?.extract()?;
        let micros: i64 = delta.getattr("microseconds")?.extract()?;
        return Ok(Some(When::Instant(
            days * MICROS_PER_DAY + seconds * 1_000_000 + micros,
        )));
    }
    if v.is_instance(date)? {
        let ordinal: i64 = v.call_method0("toordinal")?.extract()?;
        return Ok(Some(When::Day(ordinal - EPOCH_ORDINAL)));
    }
    Ok(None)
}

/// The `datetime.date` of `days` since 1970-01-01.
pub fn date(py: Python<'_>, days: i64) -> PyResult<Bound<'_, PyAny>> {
    let [_, date, _, _] = module(py)?;
    date.call_method1("fromordinal", (days + EPOCH_ORDINAL,))
}

/// The UTC `datetime` of `micros` since the epoch.
pub fn instant(py: Python<'_>, micros: i64) -> PyResult<Bound<'_, PyAny>> {
    let [datetime, _, timedelta, utc] = module(py)?;
    let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("microseconds", micros)?;
    epoch.call_method1("__add__", (timedelta.call((), Some(&kwargs))?,))
}
