//! A check of a Parquet file's footer before parquet-rs decodes it.
//!
//! The footer is Thrift (compact protocol). parquet-rs reserves memory for every list the
//! footer declares before reading its elements, and for every schema element's
//! `num_children`, so a 29-byte file that declares a list of billions of elements makes it ask
//! for 154 GB, and the process aborts (found by the `parquet_import` fuzz target). [`check`]
//! walks the footer's structure with the field types of the Parquet format, without decoding
//! it into anything, and refuses:
//!
//! - a list count larger than the bytes left (every element takes at least one byte), a
//!   string longer than what is left, nesting deeper than [`MAX_DEPTH`];
//! - a schema element claiming more children than the schema has elements;
//! - a field whose declared Thrift type is not the one the format gives it: parquet-rs reads
//!   a known field by the type it expects, whatever the file declares, so a walk by the
//!   declared types would lose step with it (the fuzz target's second find: a schema declared
//!   as a string, read by parquet-rs as a list).
//!
//! Fields the format does not define are skipped by their declared type, as parquet-rs skips
//! them.

use crate::error::Invalid;

/// The deepest nesting of structs and containers accepted (Parquet's own footers nest a few
/// levels; a schema is a flat list of elements).
pub const MAX_DEPTH: usize = 64;

/// Check the footer of the Parquet file `file`: `Err` says what is wrong with it. A file too
/// short to have a footer passes (parquet-rs refuses it cleanly).
pub fn check(file: &[u8]) -> Result<(), Invalid> {
    let Some(tail) = file.len().checked_sub(8).map(|at| &file[at..]) else {
        return Ok(());
    };
    if &tail[4..] != b"PAR1" {
        return Ok(());
    }
    let len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    let Some(start) = (file.len() - 8).checked_sub(len) else {
        return Ok(()); // a length past the start: parquet-rs says so
    };
    let mut reader = Reader {
        bytes: &file[start..file.len() - 8],
        at: 0,
        schema_len: 0,
    };
    reader
        .walk_struct(FILE_META_DATA, 0)
        .map_err(|e| Invalid(format!("the Parquet footer is malformed: {e}")))
}

/// Where the footer of the Parquet file `file` (`len` bytes) lies, with its length and magic:
/// the last bytes of the file, which its key-value metadata is part of.
pub fn footer_range(file: &std::fs::File, len: u64) -> Result<std::ops::Range<u64>, Invalid> {
    use std::os::unix::fs::FileExt;
    let mut tail = [0u8; 8];
    let at = len
        .checked_sub(8)
        .ok_or("it is too short to be a Parquet file")?;
    file.read_exact_at(&mut tail, at)
        .map_err(|e| format!("cannot read its footer: {e}"))?;
    if &tail[4..] != b"PAR1" {
        return Err("it does not end with the Parquet magic".into());
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    let start = at
        .checked_sub(footer)
        .ok_or("its footer is longer than the file")?;
    Ok(start..len)
}

/// [`check`] of a Parquet file on disk, reading only its footer.
pub fn check_file(file: &std::fs::File) -> Result<(), Invalid> {
    use std::os::unix::fs::FileExt;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read it: {e}"))?
        .len();
    let Ok(range) = footer_range(file, len) else {
        return Ok(()); // not a footer: parquet-rs says so
    };
    let mut footer = vec![0u8; (range.end - range.start) as usize];
    file.read_exact_at(&mut footer, range.start)
        .map_err(|e| format!("cannot read its footer: {e}"))?;
    check(&footer)
}

/// Whether a compact-protocol type code is a boolean's.
fn is_bool(kind: u8) -> bool {
    kind == 1 || kind == 2
}

/// A container of booleans: no Parquet footer holds one, and parquet-rs skips its elements
/// without reading the byte each takes, so from there it would read another structure than
/// this walk (the `parquet_import` fuzz target's third find: a set of eleven booleans in an
/// unknown field, after which parquet-rs reserved 180 GB).
fn booleans(at: usize) -> String {
    format!("a container of booleans before byte {at}, which no Parquet footer holds")
}

/// A zigzag-encoded integer's value.
fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A position in the footer's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The number of elements of the schema, once read.
    schema_len: u64,
}

/// The type of a field or list element, as the Parquet format defines it.
#[derive(Clone, Copy)]
enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    /// A string or binary.
    Binary,
    List(&'static Ty),
    Struct(&'static [Field]),
    /// FileMetaData's schema: a list of schema elements, whose length bounds `Children`.
    Schema(&'static Ty),
    /// A schema element's `num_children` (an i32).
    Children,
}

impl Ty {
    /// Its compact-protocol type code (a boolean field's is 1 or 2: its value).
    fn code(self) -> u8 {
        match self {
            Ty::Bool => 1,
            Ty::I8 => 3,
            Ty::I16 => 4,
            Ty::I32 | Ty::Children => 5,
            Ty::I64 => 6,
            Ty::Double => 7,
            Ty::Binary => 8,
            Ty::List(_) | Ty::Schema(_) => 9,
            Ty::Struct(_) => 12,
        }
    }

    fn is_bool(self) -> bool {
        matches!(self, Ty::Bool)
    }
}

/// A field: its id and type.
type Field = (i16, Ty);

// The structs of a Parquet footer (parquet-format's parquet.thrift, as parquet-rs reads it).
const EMPTY: &[Field] = &[];
const E: Ty = Ty::Struct(EMPTY);
const DECIMAL: &[Field] = &[(1, Ty::I32), (2, Ty::I32)];
const TIME_UNIT: &[Field] = &[(1, E), (2, E), (3, E)];
const TIME: &[Field] = &[(1, Ty::Bool), (2, Ty::Struct(TIME_UNIT))];
const INTEGER: &[Field] = &[(1, Ty::I8), (2, Ty::Bool)];
const VARIANT: &[Field] = &[(1, Ty::I8)];
const GEOMETRY: &[Field] = &[(1, Ty::Binary)];
const GEOGRAPHY: &[Field] = &[(1, Ty::Binary), (2, Ty::I32)];
const LOGICAL_TYPE: &[Field] = &[
    (1, E),
    (2, E),
    (3, E),
    (4, E),
    (5, Ty::Struct(DECIMAL)),
    (6, E),
    (7, Ty::Struct(TIME)),
    (8, Ty::Struct(TIME)),
    (10, Ty::Struct(INTEGER)),
    (11, E),
    (12, E),
    (13, E),
    (14, E),
    (15, E),
    (16, Ty::Struct(VARIANT)),
    (17, Ty::Struct(GEOMETRY)),
    (18, Ty::Struct(GEOGRAPHY)),
];
const SCHEMA_ELEMENT: &[Field] = &[
    (1, Ty::I32),
    (2, Ty::I32),
    (3, Ty::I32),
    (4, Ty::Binary),
    (5, Ty::Children),
    (6, Ty::I32),
    (7, Ty::I32),
    (8, Ty::I32),
    (9, Ty::I32),
    (10, Ty::Struct(LOGICAL_TYPE)),
];
const STATISTICS: &[Field] = &[
    (1, Ty::Binary),
    (2, Ty::Binary),
    (3, Ty::I64),
    (4, Ty::I64),
    (5, Ty::Binary),
    (6, Ty::Binary),
    (7, Ty::Bool),
    (8, Ty::Bool),
];
const PAGE_ENCODING_STATS: &[Field] = &[(1, Ty::I32), (2, Ty::I32), (3, Ty::I32)];
const KEY_VALUE: &[Field] = &[(1, Ty::Binary), (2, Ty::Binary)];
const SIZE_STATISTICS: &[Field] = &[
    (1, Ty::I64),
    (2, Ty::List(&Ty::I64)),
    (3, Ty::List(&Ty::I64)),
];
const BOUNDING_BOX: &[Field] = &[
    (1, Ty::Double),
    (2, Ty::Double),
    (3, Ty::Double),
    (4, Ty::Double),
    (5, Ty::Double),
    (6, Ty::Double),
    (7, Ty::Double),
    (8, Ty::Double),
];
const GEOSPATIAL_STATISTICS: &[Field] = &[(1, Ty::Struct(BOUNDING_BOX)), (2, Ty::List(&Ty::I32))];
const COLUMN_META_DATA: &[Field] = &[
    (1, Ty::I32),
    (2, Ty::List(&Ty::I32)),
    (3, Ty::List(&Ty::Binary)),
    (4, Ty::I32),
    (5, Ty::I64),
    (6, Ty::I64),
    (7, Ty::I64),
    (8, Ty::List(&Ty::Struct(KEY_VALUE))),
    (9, Ty::I64),
    (10, Ty::I64),
    (11, Ty::I64),
    (12, Ty::Struct(STATISTICS)),
    (13, Ty::List(&Ty::Struct(PAGE_ENCODING_STATS))),
    (14, Ty::I64),
    (15, Ty::I32),
    (16, Ty::Struct(SIZE_STATISTICS)),
    (17, Ty::Struct(GEOSPATIAL_STATISTICS)),
];
const COLUMN_KEY: &[Field] = &[(1, Ty::List(&Ty::Binary)), (2, Ty::Binary)];
const COLUMN_CRYPTO: &[Field] = &[(1, E), (2, Ty::Struct(COLUMN_KEY))];
const COLUMN_CHUNK: &[Field] = &[
    (1, Ty::Binary),
    (2, Ty::I64),
    (3, Ty::Struct(COLUMN_META_DATA)),
    (4, Ty::I64),
    (5, Ty::I32),
    (6, Ty::I64),
    (7, Ty::I32),
    (8, Ty::Struct(COLUMN_CRYPTO)),
    (9, Ty::Binary),
];
const SORTING_COLUMN: &[Field] = &[(1, Ty::I32), (2, Ty::Bool), (3, Ty::Bool)];
const ROW_GROUP: &[Field] = &[
    (1, Ty::List(&Ty::Struct(COLUMN_CHUNK))),
    (2, Ty::I64),
    (3, Ty::I64),
    (4, Ty::List(&Ty::Struct(SORTING_COLUMN))),
    (5, Ty::I64),
    (6, Ty::I64),
    (7, Ty::I16),
];
const AES: &[Field] = &[(1, Ty::Binary), (2, Ty::Binary), (3, Ty::Bool)];
const ENCRYPTION_ALGORITHM: &[Field] = &[(1, Ty::Struct(AES)), (2, Ty::Struct(AES))];
const FILE_META_DATA: &[Field] = &[
    (1, Ty::I32),
    (2, Ty::Schema(&Ty::Struct(SCHEMA_ELEMENT))),
    (3, Ty::I64),
    (4, Ty::List(&Ty::Struct(ROW_GROUP))),
    (5, Ty::List(&Ty::Struct(KEY_VALUE))),
    (6, Ty::Binary),
    (7, Ty::List(&Ty::Struct(EMPTY_UNION))),
    (8, Ty::Struct(ENCRYPTION_ALGORITHM)),
    (9, Ty::Binary),
];
/// ColumnOrder: a union of one empty struct.
const EMPTY_UNION: &[Field] = &[(1, E)];

impl Reader<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, Invalid> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("it ends early, at byte {}", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Invalid> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!(
            "a variable-length integer runs past 64 bits at byte {}",
            self.at
        )
        .into())
    }

    fn skip(&mut self, n: u64) -> Result<(), Invalid> {
        if n > self.left() as u64 {
            return Err(format!(
                "a value of {n} bytes at byte {} is longer than the {} bytes left",
                self.at,
                self.left()
            )
            .into());
        }
        self.at += n as usize;
        Ok(())
    }

    /// A container's element count, which cannot exceed the bytes left.
    fn count(&mut self, n: u64) -> Result<u64, Invalid> {
        if n > self.left() as u64 {
            return Err(format!(
                "a list of {n} elements at byte {} cannot fit in the {} bytes left",
                self.at,
                self.left()
            )
            .into());
        }
        Ok(n)
    }

    /// The next field of a struct: its id and type, or `None` at the struct's end. `last` is
    /// the previous field's id (ids are given as a delta from it, or in full).
    fn field(&mut self, last: &mut i64) -> Result<Option<(i64, u8)>, Invalid> {
        let header = self.byte()?;
        if header == 0 {
            return Ok(None); // STOP
        }
        *last = match header >> 4 {
            0 => zigzag(self.varint()?), // a field id given in full
            delta => *last + i64::from(delta),
        };
        Ok(Some((*last, header & 0x0f)))
    }

    /// A struct whose fields the format defines as `fields`.
    fn walk_struct(&mut self, fields: &[Field], depth: usize) -> Result<(), Invalid> {
        if depth > MAX_DEPTH {
            return Err(format!("it nests deeper than {MAX_DEPTH} levels").into());
        }
        let mut last = 0;
        while let Some((id, kind)) = self.field(&mut last)? {
            match fields.iter().find(|f| i64::from(f.0) == id) {
                Some(&(_, ty)) if ty.code() != kind && !(ty.is_bool() && kind == 2) => {
                    return Err(format!(
                        "field {id} before byte {} has Thrift type {kind}, where the Parquet \
                         format has type {}",
                        self.at,
                        ty.code()
                    )
                    .into());
                }
                Some(&(_, ty)) => self.walk_value(ty, depth)?,
                None => self.skip_value(kind, depth)?,
            }
        }
        Ok(())
    }

    /// A value of a field of type `ty` (a boolean field carries its value in its type).
    fn walk_value(&mut self, ty: Ty, depth: usize) -> Result<(), Invalid> {
        match ty {
            Ty::Bool => Ok(()),
            Ty::Children => {
                let children = zigzag(self.varint()?);
                if children < 0 || children.unsigned_abs() >= self.schema_len {
                    return Err(format!(
                        "a schema element claims {children} children in a schema of {} \
                         elements",
                        self.schema_len
                    )
                    .into());
                }
                Ok(())
            }
            Ty::List(element) | Ty::Schema(element) => {
                let header = self.byte()?;
                let n = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let n = self.count(n)?;
                let kind = header & 0x0f;
                if n > 0 && kind != element.code() && !(element.is_bool() && kind == 2) {
                    return Err(format!(
                        "a list before byte {} holds Thrift type {kind}, where the Parquet \
                         format has type {}",
                        self.at,
                        element.code()
                    )
                    .into());
                }
                if matches!(ty, Ty::Schema(_)) {
                    self.schema_len = n;
                }
                for _ in 0..n {
                    match element {
                        Ty::Bool => self.skip(1)?,
                        other => self.walk_value(*other, depth + 1)?,
                    }
                }
                Ok(())
            }
            Ty::Struct(fields) => self.walk_struct(fields, depth + 1),
            other => self.skip_value(other.code(), depth),
        }
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), Invalid> {
        match kind {
            1 | 2 => Ok(()), // a boolean field carries its value in its type
            3 => self.skip(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                let n = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let n = self.count(n)?;
                if n > 0 && is_bool(header & 0x0f) {
                    return Err(booleans(self.at).into());
                }
                self.skip_elements(header & 0x0f, n, depth)
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let n = self.count(n)?;
                let types = self.byte()?;
                if is_bool(types >> 4) || is_bool(types & 0x0f) {
                    return Err(booleans(self.at).into());
                }
                for _ in 0..n {
                    self.skip_element(types >> 4, depth)?;
                    self.skip_element(types & 0x0f, depth)?;
                }
                Ok(())
            }
            12 => self.walk_struct(EMPTY, depth + 1),
            other => Err(format!("unknown Thrift type {other} at byte {}", self.at).into()),
        }
    }

    fn skip_elements(&mut self, kind: u8, n: u64, depth: usize) -> Result<(), Invalid> {
        for _ in 0..n {
            self.skip_element(kind, depth)?;
        }
        Ok(())
    }

    /// An element of a container: booleans take a byte there.
    fn skip_element(&mut self, kind: u8, depth: usize) -> Result<(), Invalid> {
        match kind {
            1 | 2 => self.skip(1),
            kind => self.skip_value(kind, depth + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    fn parquet() -> Vec<u8> {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
            (
                "name",
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as _,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }

    #[test]
    fn real_footers_pass_and_impossible_counts_are_refused() {
        assert_eq!(check(&parquet()), Ok(()));
        // The fuzz target's find: a footer declaring a list far longer than the file.
        let crash = [
            0xff, 0x1c, 0x1c, 0x1c, 0x1c, 0x28, 0x96, 0x96, 0x96, 0x01, 0x2d, 0x00, 0x00, 0x24,
            0xfc, 0xdc, 0xb9, 0x9b, 0xff, 0x05, 0x41, 0x14, 0x00, 0x00, 0x00, 0x50, 0x41, 0x52,
            0x31,
        ];
        let e = check(&crash).unwrap_err();
        assert!(e.0.contains("Thrift type"), "{e}");
        // Not a footer at all: left to parquet-rs.
        assert_eq!(check(b"PAR1"), Ok(()));
        assert_eq!(check(b"no parquet here"), Ok(()));
    }

    #[test]
    fn a_schema_element_cannot_claim_more_children_than_the_schema_holds() {
        assert_eq!(check(&parquet()), Ok(()), "real schemas pass");
        // The fuzz target's second find: parquet-rs reserved memory for a schema element's
        // claimed children and aborted.
        let crash = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/parquet_children_claim.parquet"
        ))
        .unwrap();
        let e = check(&crash).unwrap_err();
        assert!(e.0.contains("has Thrift type 8"), "{e}");
        // The same claim, declared with the right types.
        let footer = |children: u8| {
            let mut f = vec![0x15, 0x02, 0x19, 0x1c, 0x48, 0x01, b'a', 0x15];
            f.push(children * 2); // zigzag
            f.extend([0x00, 0x00]);
            let mut file = b"PAR1".to_vec();
            file.extend(&f);
            file.extend((f.len() as u32).to_le_bytes());
            file.extend(b"PAR1");
            file
        };
        // The third find: booleans in a container, which parquet-rs skips as taking no bytes.
        let crash = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/parquet_boolean_set.parquet"
        ))
        .unwrap();
        let e = check(&crash).unwrap_err();
        assert!(e.0.contains("container of booleans"), "{e}");
        let e = check(&footer(60)).unwrap_err();
        assert!(e.0.contains("claims 60 children in a schema of 1"), "{e}");
        assert_eq!(check(&footer(0)), Ok(()));
        // A list of counts that cannot fit.
        let mut many = b"PAR1".to_vec();
        let f = [0x29, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0x00];
        many.extend(f);
        many.extend((f.len() as u32).to_le_bytes());
        many.extend(b"PAR1");
        assert!(check(&many).unwrap_err().0.contains("cannot fit"));
    }

    #[test]
    fn every_truncation_of_a_footer_is_refused_or_left_to_parquet_rs() {
        let file = parquet();
        let len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
        let footer_start = file.len() - 8 - len as usize;
        for cut in footer_start..file.len() - 8 {
            // Shorten the footer's bytes but keep the length word: what remains is checked.
            let mut bad = file[..cut].to_vec();
            bad.extend_from_slice(&((cut - footer_start) as u32).to_le_bytes());
            bad.extend_from_slice(b"PAR1");
            let _ = check(&bad); // never panics
        }
    }
}
