//! Arguments of the table functions: constant expressions, evaluated once while planning.

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::Schema;
use deltalake::datafusion::catalog::Session;
use deltalake::datafusion::common::{DFSchema, ScalarValue, plan_err};
use deltalake::datafusion::error::Result as DfResult;
use deltalake::datafusion::logical_expr::ColumnarValue;
use deltalake::datafusion::prelude::Expr;

/// The value of a constant argument (a literal, or an expression of literals such as
/// `TIMESTAMP '2026-11-24 10:00:00'` or `now() - INTERVAL '1 hour'`).
pub fn constant(
    function: &str,
    position: usize,
    expr: &Expr,
    session: &dyn Session,
) -> DfResult<ScalarValue> {
    if let Expr::Literal(value, _) = expr {
        return Ok(value.clone());
    }
    let physical = session.create_physical_expr(expr.clone(), &DFSchema::empty())?;
    let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
    match physical.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(v)) => Ok(v),
        Ok(ColumnarValue::Array(a)) if a.len() == 1 => ScalarValue::try_from_array(&a, 0),
        _ => plan_err!("{function}: argument {position} ({expr}) must be a constant"),
    }
}

/// The text of a string argument, if it is one.
pub fn text(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}
