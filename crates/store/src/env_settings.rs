//! Settings from `CACHENESS_*` environment variables, read through serde from the one
//! declaration of the settings ([`crate::config::Settings`]): each field is read from the
//! variable named after it (`max_entries` from `CACHENESS_MAX_ENTRIES`), so that no list of
//! variables can drift from the fields.
//!
//! Values are text, parsed into the field's type when serde asks for it: numbers as numbers,
//! booleans as `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`, anything else as text. An
//! error names the variable.

use serde::Deserialize;
use serde::de::{self, IntoDeserializer, Visitor};

/// The prefix of every variable.
const PREFIX: &str = "CACHENESS_";

/// Why reading the variables failed (the message names the variable).
#[derive(Debug)]
pub(crate) struct EnvError(pub(crate) String);

impl std::fmt::Display for EnvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EnvError {}

impl de::Error for EnvError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        EnvError(msg.to_string())
    }
}

/// The variable that sets `field`.
pub(crate) fn var_of(field: &str) -> String {
    format!("{PREFIX}{}", field.to_ascii_uppercase())
}

/// The field names of the struct `T`, as its `Deserialize` implementation declares them.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    /// A deserializer that only learns the field names it is asked for.
    struct Fields;
    #[derive(Debug)]
    enum Caught {
        Fields(&'static [&'static str]),
        Other,
    }
    impl std::fmt::Display for Caught {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names")
        }
    }
    impl std::error::Error for Caught {}
    impl de::Error for Caught {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Caught::Other
        }
    }
    impl<'de> de::Deserializer<'de> for Fields {
        type Error = Caught;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Caught> {
            Err(Caught::Other)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Caught> {
            Err(Caught::Fields(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    match T::deserialize(Fields) {
        Err(Caught::Fields(fields)) => fields,
        _ => &[],
    }
}

/// Deserialize `T` from the variables `get` answers, one per field of `T`.
pub(crate) fn from_env<T: de::DeserializeOwned>(
    get: impl Fn(&str) -> Option<String>,
) -> Result<T, EnvError> {
    let present: Vec<(&'static str, Value)> = fields_of::<T>()
        .iter()
        .filter_map(|field| {
            let var = var_of(field);
            get(&var).map(|text| (*field, Value { var, text }))
        })
        .collect();
    T::deserialize(de::value::MapDeserializer::new(present.into_iter()))
}

/// The text of one variable, parsed into what serde asks for.
struct Value {
    var: String,
    text: String,
}

impl Value {
    fn parse<N: std::str::FromStr>(&self, what: &str) -> Result<N, EnvError> {
        self.text
            .trim()
            .parse()
            .map_err(|_| EnvError(format!("{}: {:?} is not {what}", self.var, self.text)))
    }

    fn boolean(&self) -> Result<bool, EnvError> {
        match self.text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(EnvError(format!(
                "{}: {:?} is not true or false",
                self.var, self.text
            ))),
        }
    }
}

impl<'de> IntoDeserializer<'de, EnvError> for Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// The number visitors: each parses the text as its type.
macro_rules! numbers {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
            visitor.$visit(self.parse::<$ty>("a valid number")?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = EnvError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        visitor.visit_string(self.text)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        visitor.visit_some(self)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        visitor.visit_bool(self.boolean()?)
    }

    numbers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        level: Option<u8>,
        on: Option<bool>,
        name: Option<String>,
        ratio: Option<f64>,
    }

    #[test]
    fn fields_become_variables_and_values_their_types() {
        assert_eq!(fields_of::<Sample>(), ["level", "on", "name", "ratio"]);
        let vars = [
            ("CACHENESS_LEVEL", "7"),
            ("CACHENESS_ON", "yes"),
            ("CACHENESS_RATIO", "0.5"),
            ("CACHENESS_OTHER", "ignored"),
        ];
        let get = |k: &str| {
            vars.iter()
                .find(|(v, _)| *v == k)
                .map(|(_, t)| t.to_string())
        };
        let s: Sample = from_env(get).unwrap();
        assert_eq!(
            s,
            Sample {
                level: Some(7),
                on: Some(true),
                name: None,
                ratio: Some(0.5),
            }
        );
        let e = from_env::<Sample>(|k| (k == "CACHENESS_LEVEL").then(|| "300".into()));
        assert!(e.unwrap_err().to_string().contains("CACHENESS_LEVEL"));
        let e = from_env::<Sample>(|k| (k == "CACHENESS_ON").then(|| "maybe".into()));
        assert!(e.unwrap_err().to_string().contains("CACHENESS_ON"));
    }
}
