//! Key parameters on the command line: `-p name=value`, typed so that the CLI and the Rust API
//! derive the same key for the same typed parameters (docs/CLI.md).
//!
//! Without a type, a value is a boolean if it is `true` or `false`, an integer if it parses as
//! one (64-bit signed, or unsigned above `i64::MAX`), a float if it parses as a finite decimal
//! number with a `.` or an exponent, and a string otherwise. `name:str=value`, `name:int=...`,
//! `name:float=...` and `name:bool=...` force the type (`-p id:str=007` keeps the text).
//!
//! `name=@path` keys a file or directory tree by its content, as a path argument of a
//! `#[cached]` function (docs/KEYS.md): `-p dataset=@data/train.csv`. A missing path is an
//! error; `name:str=@text` keeps the text.

use std::path::Path;

use cacheness::keys::{ContentHasher, MissingPath};
use cacheness::{Params, Value};

/// One parsed `-p` argument; `@path` values are hashed with `hasher`.
pub fn parse(arg: &str, hasher: &ContentHasher) -> Result<(String, Value), String> {
    let (lhs, text) = arg
        .split_once('=')
        .ok_or_else(|| format!("parameter {arg:?}: expected name=value"))?;
    let (name, ty) = match lhs.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (lhs, None),
    };
    let bad = |ty: &str| format!("parameter {name}: {text:?} is not a valid {ty}");
    let value = match ty {
        Some("str") => Value::Str(text.to_string()),
        Some("int") => text
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| text.parse::<u64>().map(Value::UInt))
            .map_err(|_| bad("integer"))?,
        Some("float") => Value::Float(text.parse::<f64>().map_err(|_| bad("float"))?),
        Some("bool") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("boolean (true or false)")),
        },
        Some(other) => {
            return Err(format!(
                "parameter {name}: unknown type {other:?} (str, int, float or bool)"
            ));
        }
        None => match text.strip_prefix('@') {
            Some(path) => hasher
                .path_value(Path::new(path), MissingPath::Error)
                .map_err(|e| format!("parameter {name}: {e}"))?,
            None => infer(text),
        },
    };
    Ok((name.to_string(), value))
}

fn infer(text: &str) -> Value {
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Int(i);
    }
    if let Ok(u) = text.parse::<u64>() {
        return Value::UInt(u);
    }
    let numeric = text.contains(['.', 'e', 'E'])
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    match text.parse::<f64>() {
        Ok(f) if numeric && f.is_finite() => Value::Float(f),
        _ => Value::Str(text.to_string()),
    }
}

/// All `-p` arguments as parameters; a name given twice is an error. `@path` values use the
/// stat cache of the cache in `dir`.
pub fn params(args: &[String], dir: &Path) -> Result<Params, String> {
    // `@path` values use the cache's hasher: its stat cache is authenticated with the cache's
    // signing key, so the cache is opened only when a path is given.
    let cache = if args.iter().any(|a| a.contains("=@")) {
        Some(cacheness::blocking::Cache::open(dir).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let in_memory = ContentHasher::in_memory();
    let hasher = cache.as_ref().map_or(&in_memory, |c| c.content_hasher());
    let mut seen = std::collections::HashSet::new();
    let mut p = Params::new();
    for arg in args {
        let (name, value) = parse(arg, hasher)?;
        if !seen.insert(name.clone()) {
            return Err(format!("parameter {name} is given twice"));
        }
        p = p.with(&name, value);
    }
    // A name the key spec refuses (a catalog column, a leading `_`, bad characters) is a
    // usage error like any other malformed parameter (exit 2), found before the cache opens.
    p.key().map_err(|e| e.to_string())?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_get_the_rust_api_types() {
        let cases = [
            ("a=10", Value::Int(10)),
            ("a=-3", Value::Int(-3)),
            ("a=18446744073709551615", Value::UInt(u64::MAX)),
            ("a=0.1", Value::Float(0.1)),
            ("a=1e3", Value::Float(1000.0)),
            ("a=true", Value::Bool(true)),
            ("a=xgboost", Value::Str("xgboost".into())),
            ("a=nan", Value::Str("nan".into())),
            ("a=1.2.3", Value::Str("1.2.3".into())),
            ("a=", Value::Str(String::new())),
            ("a=x=y", Value::Str("x=y".into())),
            ("a:str=10", Value::Str("10".into())),
            ("a:float=10", Value::Float(10.0)),
            ("a:int=7", Value::Int(7)),
            ("a:bool=false", Value::Bool(false)),
        ];
        let h = ContentHasher::in_memory();
        for (arg, want) in cases {
            assert_eq!(parse(arg, &h).unwrap(), ("a".to_string(), want), "{arg}");
        }
        for bad in ["a", "a:int=x", "a:bool=1", "a:date=1", "a:float=z"] {
            assert!(parse(bad, &h).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(params(&["a=1".into(), "a=2".into()], dir.path()).is_err());
    }

    #[test]
    fn at_paths_are_keyed_by_content_like_the_rust_api() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("train.csv");
        std::fs::write(&file, "x\n1\n").unwrap();
        let h = ContentHasher::in_memory();
        let (_, v) = parse(&format!("d=@{}", file.display()), &h).unwrap();
        let api = Params::new()
            .with_param("d", &file, &cacheness::keys::KeyContext::new(&h))
            .unwrap();
        assert_eq!(Some(&v), api.get("d"));
        let (_, literal) = parse("d:str=@train.csv", &h).unwrap();
        assert_eq!(literal, Value::Str("@train.csv".into()));
        let err = parse("d=@/no/such/file.csv", &h).unwrap_err();
        assert!(err.contains("/no/such/file.csv"), "{err}");
    }
}
