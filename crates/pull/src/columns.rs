//! A table's columns as text (`symbol:str,day:date,price:float`, what the CLI's
//! `table create --columns` and the Python package's `columns=` give), and the kind of its
//! range column.

use std::sync::Arc;

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::interval::RangeKind;

/// `name:type,...` as a schema.
pub fn parse_columns(text: &str) -> Result<SchemaRef, String> {
    let mut fields = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, ty) = part
            .split_once(':')
            .ok_or_else(|| format!("column {part:?} is not name:type"))?;
        let t = match ty.trim() {
            "str" | "string" | "text" => DataType::Utf8,
            "int" | "int64" | "i64" => DataType::Int64,
            "int32" | "i32" => DataType::Int32,
            "float" | "float64" | "f64" => DataType::Float64,
            "float32" | "f32" => DataType::Float32,
            "bool" => DataType::Boolean,
            "date" => DataType::Date32,
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            other => {
                return Err(format!(
                    "column {name}: unknown type {other:?} (str, int, int32, float, float32, \
                     bool, date, timestamp)"
                ));
            }
        };
        fields.push(Field::new(name.trim(), t, true));
    }
    if fields.is_empty() {
        return Err("no columns".into());
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// What kind of range column `column` of `schema` is: a date, a timestamp or an integer.
pub fn range_kind(schema: &Schema, column: &str) -> Result<RangeKind, String> {
    let field = schema
        .field_with_name(column)
        .map_err(|_| format!("the range column {column} is not among the columns"))?;
    Ok(match field.data_type() {
        DataType::Date32 => RangeKind::Date,
        DataType::Timestamp(..) => RangeKind::Timestamp,
        t if t.is_integer() => RangeKind::Integer,
        t => {
            return Err(format!(
                "the range column {column} is {t}: use date, timestamp or int"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_parse_with_clear_errors() {
        let s = parse_columns("symbol:str, day:date,price:float").unwrap();
        assert_eq!(s.field(1).data_type(), &DataType::Date32);
        let err = parse_columns("a:decimal").unwrap_err();
        assert!(err.contains("column a") && err.contains("decimal"), "{err}");
        assert!(parse_columns("a").unwrap_err().contains("name:type"));
    }

    #[test]
    fn range_columns_are_dates_timestamps_or_integers() {
        let s = parse_columns("k:str,d:date,t:timestamp,i:int32,f:float").unwrap();
        assert_eq!(range_kind(&s, "d"), Ok(RangeKind::Date));
        assert_eq!(range_kind(&s, "t"), Ok(RangeKind::Timestamp));
        assert_eq!(range_kind(&s, "i"), Ok(RangeKind::Integer));
        assert!(
            range_kind(&s, "f")
                .unwrap_err()
                .contains("use date, timestamp or int")
        );
        assert!(
            range_kind(&s, "nope")
                .unwrap_err()
                .contains("not among the columns")
        );
    }
}
