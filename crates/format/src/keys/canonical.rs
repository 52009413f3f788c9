//! The canonical encoding of key parameters and the key derived from it (spec: `docs/KEYS.md`).
//!
//! ```text
//! encoding := "cnk1" u32le(count) { u32le(len(name)) name value }*   (sorted by name bytes)
//! value    := 0x00                          null
//!           | 0x01 u8(0|1)                  bool
//!           | 0x02 i64le                    integer in i64 range
//!           | 0x03 u64le                    integer above i64::MAX
//!           | 0x04 u64le(bits)              float (-0.0 -> 0.0, NaN -> 0x7ff8000000000000)
//!           | 0x05 u64le(len) utf8          string (no normalisation)
//!           | 0x06 u64le(len) bytes         bytes
//!           | 0x07 i32le                    date (days since 1970-01-01)
//!           | 0x08 i64le                    timestamp (µs since the epoch, UTC)
//!           | 0x09 u64le(count) value*      list
//!           | 0x0a u64le(count) { u64le(len) utf8 value }*   map, sorted by key bytes
//!           | 0x0b u8(kind) u128be          content digest (kind 1 file, 2 dir, 3 array, 4 table)
//! key      := lower-case hex of XXH3-64(encoding), 16 digits
//! ```

use std::collections::BTreeMap;

use super::value::{Digest, DigestKind, Value};

/// The first bytes of every canonical encoding (spec version 1).
pub const MAGIC: &[u8; 4] = b"cnk1";
const CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;
/// Nesting deeper than this is refused when decoding (a guard against hostile input).
const MAX_DEPTH: usize = 64;

/// Append the canonical encoding of one value.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0x00),
        Value::Bool(b) => {
            out.push(0x01);
            out.push(u8::from(*b));
        }
        Value::Int(i) => {
            out.push(0x02);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => encode_value(&Value::Int(i), out),
            Err(_) => {
                out.push(0x03);
                out.extend_from_slice(&u.to_le_bytes());
            }
        },
        Value::Float(f) => {
            out.push(0x04);
            let bits = if f.is_nan() {
                CANONICAL_NAN
            } else if *f == 0.0 {
                0
            } else {
                f.to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
        Value::Str(s) => {
            out.push(0x05);
            encode_len_bytes(s.as_bytes(), out);
        }
        Value::Bytes(b) => {
            out.push(0x06);
            encode_len_bytes(b, out);
        }
        Value::Date(d) => {
            out.push(0x07);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::Timestamp(t) => {
            out.push(0x08);
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::List(items) => {
            out.push(0x09);
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                encode_value(item, out);
            }
        }
        Value::Map(map) => {
            out.push(0x0a);
            out.extend_from_slice(&(map.len() as u64).to_le_bytes());
            // BTreeMap<String, _> iterates in byte order of the keys.
            for (k, v) in map {
                encode_len_bytes(k.as_bytes(), out);
                encode_value(v, out);
            }
        }
        Value::Digest(d) => {
            out.push(0x0b);
            out.push(d.kind.code());
            out.extend_from_slice(&d.hash.to_be_bytes());
        }
    }
}

fn encode_len_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

/// Encode named parameters (already sorted by name, as a `BTreeMap` keeps them).
pub fn encode_params(params: &BTreeMap<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + params.len() * 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for (name, value) in params {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        encode_value(value, &mut out);
    }
    out
}

/// Why bytes are not a canonical parameter encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical parameter encoding: {0}")]
pub struct DecodeError(pub String);

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| DecodeError(format!("truncated at byte {}", self.pos)))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u64(&mut self) -> Result<usize, DecodeError> {
        let n = u64::from_le_bytes(self.array()?);
        let n = usize::try_from(n).map_err(|_| DecodeError("length overflows".into()))?;
        if n > self.bytes.len() - self.pos {
            return Err(DecodeError(format!(
                "length {n} at byte {} exceeds input",
                self.pos
            )));
        }
        Ok(n)
    }

    fn string(&mut self, n: usize) -> Result<String, DecodeError> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| DecodeError(format!("invalid UTF-8 before byte {}", self.pos)))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("nested too deeply".into()));
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00 => Value::Null,
            0x01 => match self.take(1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(DecodeError(format!("bool byte {b}"))),
            },
            0x02 => Value::Int(i64::from_le_bytes(self.array()?)),
            0x03 => Value::UInt(u64::from_le_bytes(self.array()?)),
            0x04 => Value::Float(f64::from_bits(u64::from_le_bytes(self.array()?))),
            0x05 => {
                let n = self.len_u64()?;
                Value::Str(self.string(n)?)
            }
            0x06 => {
                let n = self.len_u64()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            0x07 => Value::Date(i32::from_le_bytes(self.array()?)),
            0x08 => Value::Timestamp(i64::from_le_bytes(self.array()?)),
            0x09 => {
                let n = self.len_u64()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::List(items)
            }
            0x0a => {
                let n = self.len_u64()?;
                let mut map = BTreeMap::new();
                for _ in 0..n {
                    let kl = self.len_u64()?;
                    let k = self.string(kl)?;
                    let v = self.value(depth + 1)?;
                    map.insert(k, v);
                }
                Value::Map(map)
            }
            0x0b => {
                let code = self.take(1)?[0];
                let kind = DigestKind::from_code(code)
                    .ok_or_else(|| DecodeError(format!("unknown digest kind {code}")))?;
                Value::Digest(Digest {
                    kind,
                    hash: u128::from_be_bytes(self.array()?),
                })
            }
            t => {
                return Err(DecodeError(format!(
                    "unknown tag 0x{t:02x} at byte {}",
                    self.pos - 1
                )));
            }
        })
    }
}

/// Decode a canonical encoding back into named parameters. Bytes that are not exactly the
/// canonical encoding of what they decode to (wrong order, duplicate names, non-canonical floats,
/// trailing bytes) are refused.
pub fn decode_params(bytes: &[u8]) -> Result<BTreeMap<String, Value>, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != MAGIC {
        return Err(DecodeError("bad magic".into()));
    }
    let count = u32::from_le_bytes(r.array()?) as usize;
    let mut params = BTreeMap::new();
    for _ in 0..count {
        let n = u32::from_le_bytes(r.array()?) as usize;
        let name = r.string(n)?;
        let value = r.value(0)?;
        params.insert(name, value);
    }
    if r.pos != bytes.len() {
        return Err(DecodeError(format!(
            "{} trailing bytes",
            bytes.len() - r.pos
        )));
    }
    if encode_params(&params) != bytes {
        return Err(DecodeError("encoding is not canonical".into()));
    }
    Ok(params)
}
