//! NumPy `.npy` files in and out of the cache, for every element type the cache stores
//! (bool, int8–int64, uint8–uint64, float32, float64; either byte order on input).

use std::io::Write;

use cacheness::blocking::Cache;
use cacheness::{Cacheable, EntryMeta, Params, PutOptions};
use ndarray::ArrayD;
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::CliResult;

/// Run `$body` with `$t` bound to the Rust element type of the dtype named `$name` (our names:
/// `float64`, `int32`, `bool`, ...); `$other` otherwise.
macro_rules! for_element {
    ($name:expr, $t:ident => $body:expr, $other:ident => $fallback:expr) => {
        match $name {
            "bool" => {
                type $t = bool;
                $body
            }
            "int8" => {
                type $t = i8;
                $body
            }
            "int16" => {
                type $t = i16;
                $body
            }
            "int32" => {
                type $t = i32;
                $body
            }
            "int64" => {
                type $t = i64;
                $body
            }
            "uint8" => {
                type $t = u8;
                $body
            }
            "uint16" => {
                type $t = u16;
                $body
            }
            "uint32" => {
                type $t = u32;
                $body
            }
            "uint64" => {
                type $t = u64;
                $body
            }
            "float32" => {
                type $t = f32;
                $body
            }
            "float64" => {
                type $t = f64;
                $body
            }
            $other => $fallback,
        }
    };
}

/// Our dtype name for a NumPy type descriptor (`<f8`, `>i4`, `|b1`, ...).
fn dtype_of_descriptor(descr: &str) -> Option<&'static str> {
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    Some(match code {
        "b1" | "?" => "bool",
        "i1" => "int8",
        "i2" => "int16",
        "i4" => "int32",
        "i8" => "int64",
        "u1" => "uint8",
        "u2" => "uint16",
        "u4" => "uint32",
        "u8" => "uint64",
        "f4" => "float32",
        "f8" => "float64",
        _ => return None,
    })
}

/// Check that a header claiming `shape` of `descr` elements is followed by exactly `present`
/// bytes, before anything is allocated: a 200-byte file may claim 2**40 elements.
fn check_size(shape: &[usize], descr: &str, present: usize) -> Result<(), String> {
    let itemsize: usize = descr
        .trim_start_matches(['<', '>', '|', '='])
        .trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '?')
        .parse()
        .unwrap_or(1);
    let needed = shape
        .iter()
        .try_fold(itemsize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} holds more bytes than memory can address"))?;
    if needed != present {
        return Err(format!(
            "the header's shape {shape:?} of {descr} needs {needed} bytes of data, the file has {present}"
        ));
    }
    Ok(())
}

/// The dtype (our name) of the array in a `.npy` file's bytes, once its header is read and
/// the data is checked to be exactly what the header claims: only then may it be decoded.
fn checked_dtype(bytes: &[u8], what: &str) -> Result<&'static str, String> {
    let bad = |e: &dyn std::fmt::Display| format!("{what}: not a readable .npy file: {e}");
    let mut body = bytes;
    let header = Header::from_reader(&mut body).map_err(|e| bad(&e))?;
    let descr = header.type_descriptor.to_string();
    let descr = descr.trim_matches(['\'', '"']);
    let Some(dtype) = dtype_of_descriptor(descr) else {
        return Err(format!(
            "{what}: NumPy dtype {descr} cannot be cached (bool, int8–int64, uint8–uint64, float32, float64)"
        ));
    };
    check_size(&header.shape, descr, body.len()).map_err(|e| bad(&e))?;
    Ok(dtype)
}

/// Check and decode the array in a `.npy` file's bytes without caching it (what `put` does
/// before its put; for fuzzing and tests): the element count, or why the file is refused.
pub fn decode(bytes: &[u8], what: &str) -> CliResult<usize> {
    let dtype = checked_dtype(bytes, what)?;
    for_element!(dtype, T => {
        let array = ArrayD::<T>::read_npy(bytes)
            .map_err(|e| format!("{what}: not a readable .npy file: {e}"))?;
        Ok(array.len())
    }, other => Err(format!("{what}: unsupported dtype {other}").into()))
}

/// Put the array in a `.npy` file's bytes; returns the key.
pub fn put(
    cache: &Cache,
    bytes: &[u8],
    what: &str,
    params: &Params,
    opts: &PutOptions,
) -> CliResult<cacheness::CacheKey> {
    let dtype = checked_dtype(bytes, what)?;
    for_element!(dtype, T => {
        let array = ArrayD::<T>::read_npy(bytes)
            .map_err(|e| format!("{what}: not a readable .npy file: {e}"))?;
        Ok(cache.put_with(&array, params, opts)?)
    }, other => Err(format!("{what}: unsupported dtype {other}").into()))
}

/// Write a cached array (its checked payload and metadata) as a `.npy` file.
pub fn write(payload: bytes::Bytes, meta: &EntryMeta, out: &mut dyn Write) -> CliResult<()> {
    let dtype = meta
        .info
        .get("dtype")
        .and_then(|d| d.as_str())
        .unwrap_or_default()
        .to_string();
    let key = &meta.key;
    for_element!(dtype.as_str(), T => {
        let array = <ArrayD<T> as Cacheable>::decode(payload, meta)?;
        array
            .write_npy(out)
            .map_err(|e| format!("writing entry {key} as .npy: {e}").into())
    }, other => Err(format!("entry {key}: array dtype {other:?} has no .npy form").into()))
}

#[cfg(test)]
mod tests {
    use super::{check_size, decode, dtype_of_descriptor};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A `.npy` importer given arbitrary bytes after the magic (a header claiming any
        /// shape and dtype, any data) answers with an array or an error, never a panic, and
        /// decodes only what passed the size check.
        #[test]
        fn npy_import_never_panics(
            descr in prop::sample::select(vec!["<f8", ">i4", "|b1", "|u1", "<c16", "x"]),
            shape in proptest::collection::vec(0usize..1 << 20, 0..4),
            huge in any::<bool>(),
            data in proptest::collection::vec(any::<u8>(), 0..256),
            noise in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            if huge {
                dims.push((1u64 << 62).to_string());
            }
            let mut header = format!(
                "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}",
                dims.join(", ")
            );
            header.push_str(&String::from_utf8_lossy(&noise));
            header.push('\n');
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(&data);
            let _ = decode(&bytes, "fuzz.npy");
        }
    }

    #[test]
    fn claimed_sizes_must_match_the_bytes_present() {
        assert!(check_size(&[3, 2], "<f8", 48).is_ok());
        assert!(
            check_size(&[1 << 40], "<f8", 80)
                .unwrap_err()
                .contains("needs")
        );
        assert!(check_size(&[0, 1 << 62], "<f8", 0).is_ok());
        assert!(
            check_size(&[1 << 62, 8], "<f8", 0)
                .unwrap_err()
                .contains("address")
        );
        assert!(check_size(&[2], "|b1", 2).is_ok());
        assert!(check_size(&[], "<i4", 4).is_ok());
    }

    #[test]
    fn descriptors_map_to_dtypes_by_kind_and_size() {
        assert_eq!(dtype_of_descriptor("<f8"), Some("float64"));
        assert_eq!(dtype_of_descriptor(">f4"), Some("float32"));
        assert_eq!(dtype_of_descriptor("<i8"), Some("int64"));
        assert_eq!(dtype_of_descriptor("|u1"), Some("uint8"));
        assert_eq!(dtype_of_descriptor("|b1"), Some("bool"));
        assert_eq!(dtype_of_descriptor("<c16"), None);
        assert_eq!(dtype_of_descriptor("<U10"), None);
    }
}
