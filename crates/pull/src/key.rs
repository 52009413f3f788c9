//! A row's key as one text: the value of the key column for a table with one, a JSON array of
//! the values (`["AAPL","XNAS"]`) for a table with several. Fetch requests, the coverage
//! record and the lookup index all use this text; fetchers get the parts back by column.

use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::DataType;

use cacheness_format::Invalid;

/// The key text of `parts` (one per key column, in order).
pub fn encode<S: AsRef<str>>(parts: &[S]) -> String {
    match parts {
        [one] => one.as_ref().to_string(),
        many => serde_json::Value::Array(
            many.iter()
                .map(|p| serde_json::Value::String(p.as_ref().to_string()))
                .collect(),
        )
        .to_string(),
    }
}

/// The parts of key text `key` of a table with `columns` key columns.
pub fn decode(key: &str, columns: usize) -> Result<Vec<String>, Invalid> {
    if columns <= 1 {
        return Ok(vec![key.to_string()]);
    }
    let parts: Vec<String> = serde_json::from_str(key).map_err(|e| {
        Invalid(format!(
            "key {key:?} is not a JSON array of {columns} strings: {e}"
        ))
    })?;
    if parts.len() != columns {
        return Err(format!(
            "key {key:?} has {} parts, the table {columns} key columns",
            parts.len()
        )
        .into());
    }
    Ok(parts)
}

/// Each row's key text from `columns` of `batch` (`None` where a key column is null).
pub fn of_rows(batch: &RecordBatch, columns: &[String]) -> Result<Vec<Option<String>>, Invalid> {
    let texts = columns
        .iter()
        .map(|c| {
            let column = batch
                .column_by_name(c)
                .ok_or_else(|| Invalid(format!("the rows have no key column {c}")))?;
            cast(column, &DataType::Utf8).map_err(|e| Invalid(format!("key column {c}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let texts: Vec<_> = texts.iter().map(|t| t.as_string::<i32>()).collect();
    Ok((0..batch.num_rows())
        .map(|i| {
            let parts = texts
                .iter()
                .map(|t| t.is_valid(i).then(|| t.value(i)))
                .collect::<Option<Vec<&str>>>()?;
            Some(encode(&parts))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_keys_are_their_value_and_several_round_trip() {
        assert_eq!(encode(&["AAPL"]), "AAPL");
        assert_eq!(encode(&["[x]"]), "[x]");
        let k = encode(&["AAPL", "X\"N,AS"]);
        assert_eq!(decode(&k, 2).unwrap(), ["AAPL", "X\"N,AS"]);
        assert_eq!(decode("[x]", 1).unwrap(), ["[x]"]);
        assert!(decode(&k, 3).unwrap_err().0.contains("2 parts"));
        assert!(decode("AAPL", 2).is_err());
    }
}
