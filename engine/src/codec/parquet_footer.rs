//! A check of a Parquet file's footer before parquet-rs decodes it.
//!
//! The footer is Thrift (compact protocol). parquet-rs reserves memory for every list the
//! footer declares before reading its elements, so a 29-byte file that declares a list of
//! billions of elements makes it ask for 154 GB, and the process aborts (found by the
//! `parquet_import` fuzz target). Every element of a Thrift list takes at least one byte, so a
//! count larger than the bytes left cannot be honest: [`check`] walks the footer's structure,
//! without decoding it into anything, and refuses such a count, a string longer than what is
//! left, or nesting deeper than [`MAX_DEPTH`], before parquet-rs sees the file.

/// The deepest nesting of structs and containers accepted (Parquet's own footers nest a few
/// levels; a schema is a flat list of elements).
pub const MAX_DEPTH: usize = 64;

/// Check the footer of the Parquet file `file`: `Err` says what is wrong with it. A file too
/// short to have a footer passes (parquet-rs refuses it cleanly).
pub fn check(file: &[u8]) -> Result<(), String> {
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
    };
    reader
        .skip_struct(0)
        .map_err(|e| format!("the Parquet footer is malformed: {e}"))
}

/// A position in the footer's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("it ends early, at byte {}", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
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
        ))
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if n > self.left() as u64 {
            return Err(format!(
                "a value of {n} bytes at byte {} is longer than the {} bytes left",
                self.at,
                self.left()
            ));
        }
        self.at += n as usize;
        Ok(())
    }

    /// A container's element count, which cannot exceed the bytes left.
    fn count(&mut self, n: u64) -> Result<u64, String> {
        if n > self.left() as u64 {
            return Err(format!(
                "a list of {n} elements at byte {} cannot fit in the {} bytes left",
                self.at,
                self.left()
            ));
        }
        Ok(n)
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
        }
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(()); // STOP
            }
            if header >> 4 == 0 {
                self.varint()?; // a field id given in full (zigzag i16)
            }
            self.skip_value(header & 0x0f, depth)?;
        }
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), String> {
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
                self.skip_elements(header & 0x0f, n, depth)
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let n = self.count(n)?;
                let types = self.byte()?;
                for _ in 0..n {
                    self.skip_element(types >> 4, depth)?;
                    self.skip_element(types & 0x0f, depth)?;
                }
                Ok(())
            }
            12 => self.skip_struct(depth + 1),
            other => Err(format!("unknown Thrift type {other} at byte {}", self.at)),
        }
    }

    fn skip_elements(&mut self, kind: u8, n: u64, depth: usize) -> Result<(), String> {
        for _ in 0..n {
            self.skip_element(kind, depth)?;
        }
        Ok(())
    }

    /// An element of a container: booleans take a byte there.
    fn skip_element(&mut self, kind: u8, depth: usize) -> Result<(), String> {
        match kind {
            1 | 2 => self.skip(1),
            kind => self.skip_value(kind, depth + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::array::{Int64Array, RecordBatch, StringArray};
    use deltalake::parquet::arrow::ArrowWriter;
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
        assert!(e.contains("cannot fit") || e.contains("longer than"), "{e}");
        // Not a footer at all: left to parquet-rs.
        assert_eq!(check(b"PAR1"), Ok(()));
        assert_eq!(check(b"no parquet here"), Ok(()));
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
