//! [`CacheKey`]: the key of an entry, as the API hands it out and takes it back.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The key of a cache entry: 16 lower-case hex digits, the XXH3-64 of the entry's canonical
/// parameters (`docs/KEYS.md`). A `put` returns one; every call that names an entry takes
/// either its parameters or its `CacheKey`.
///
/// A `CacheKey` is always well formed: one comes from parameters ([`crate::Params::key`]) or
/// from text through [`CacheKey::parse`], which refuses anything else, so a key that reaches
/// a file name is 16 hex digits. It reads as a `&str` (`Deref`) and compares with strings.
///
/// ```
/// use cacheness_format::{keys::CacheKey, params};
/// let key = params!(model = "xgboost").key()?;
/// assert_eq!(CacheKey::parse(key.as_str())?, key);
/// assert!(CacheKey::parse("../../etc/passwd").is_err());
/// # Ok::<(), cacheness_format::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of a canonical parameter encoding.
    pub fn of_canonical(encoding: &[u8]) -> CacheKey {
        CacheKey(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(encoding)))
    }

    /// A key given as text (a command line, a catalog row, a file name): refused with
    /// [`Error::InvalidKey`] unless it is 16 lower-case hex digits.
    pub fn parse(text: &str) -> Result<CacheKey> {
        if CacheKey::is_valid(text) {
            Ok(CacheKey(text.to_string()))
        } else {
            Err(Error::InvalidKey {
                key: text.to_string(),
            })
        }
    }

    /// Whether `text` is a well-formed key (16 lower-case hex digits). Only such keys ever
    /// reach a file path.
    pub fn is_valid(text: &str) -> bool {
        text.len() == 16
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// The key's 16 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for CacheKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CacheKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CacheKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<CacheKey> {
        CacheKey::parse(text)
    }
}

impl TryFrom<String> for CacheKey {
    type Error = Error;
    fn try_from(text: String) -> Result<CacheKey> {
        if CacheKey::is_valid(&text) {
            Ok(CacheKey(text))
        } else {
            Err(Error::InvalidKey { key: text })
        }
    }
}

impl From<CacheKey> for String {
    fn from(key: CacheKey) -> String {
        key.0
    }
}

impl PartialEq<str> for CacheKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for CacheKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for CacheKey {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<CacheKey> for String {
    fn eq(&self, other: &CacheKey) -> bool {
        *self == other.0
    }
}

impl PartialEq<CacheKey> for &str {
    fn eq(&self, other: &CacheKey) -> bool {
        *self == other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sixteen_lower_case_hex_digits_parse() {
        assert!(CacheKey::parse("0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789ABCDEF",
            "0123456789abcdeg",
            "../../etc/passwd",
            "0123456789abcde/",
        ] {
            assert!(
                matches!(CacheKey::parse(bad), Err(Error::InvalidKey { ref key }) if key == bad),
                "{bad:?}"
            );
            assert!(serde_json::from_str::<CacheKey>(&format!("{bad:?}")).is_err());
        }
    }

    #[test]
    fn a_key_round_trips_through_text_and_serde() {
        let key = CacheKey::of_canonical(b"x");
        assert_eq!(key.parse::<CacheKey>().unwrap(), key);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{key}\""));
        assert_eq!(serde_json::from_str::<CacheKey>(&json).unwrap(), key);
        assert_eq!(key, key.as_str());
        assert_eq!(key.len(), 16);
    }
}
