//! Names users give to things that become SQL tables: custom metadata tables and named cached
//! tables. One rule for both, so every such name is a safe directory name and an unquoted SQL
//! identifier, and none can shadow the built-in tables.

use crate::error::{CatalogError, Result};

/// Names that are taken: the built-in tables and the journal directory under the catalog.
const RESERVED: [&str; 3] = ["cache_entries", "cache_history", "journal"];

/// Check a table name: 1 to 63 characters `[a-z0-9_]`, starting with a letter or `_`, not
/// `cache_entries`, `cache_history`, `journal` nor any other name starting with `cache_`.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(CatalogError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    let first_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    if name.is_empty() || name.len() > 63 {
        return bad("must be 1 to 63 characters");
    }
    if !first_ok
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return bad("use lower-case letters, digits and _, starting with a letter or _");
    }
    if RESERVED.contains(&name) || name.starts_with("cache_") {
        return bad("names starting with cache_ and `journal` are reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn names_are_safe_identifiers_and_reserved_ones_are_refused() {
        for ok in ["ml_experiments", "_x", "a1", "runs_2026"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Ml",
            "1abc",
            "../x",
            "a b",
            "a;drop",
            "cache_entries",
            "cache_mine",
            "journal",
            "é",
            &"a".repeat(64),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
