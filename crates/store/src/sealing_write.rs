//! A large payload written to its file while its content hash and payload MAC are computed:
//! one pass over the encoded bytes instead of three (hash, MAC, write), with the hashing on a
//! second thread beside the write.
//!
//! Both digests cover the file as the seal and the signature define them (`docs/SECURITY.md`):
//! the content hash is XXH3-128 over the file with both slots holding their placeholders, and
//! the payload MAC is keyed BLAKE3 over the file with the hash slot filled and the signature
//! slot holding its placeholder. In a format whose slots sit at the end of the file (Parquet's
//! footer, the Blosc2 frame's trailer; [`SlotAt::Back`]) everything before the hash slot is
//! the same for both, so it is written and fed to both hashers at once. The short rest, from
//! the hash slot on, is finished in memory: hashed, its hash slot filled, MAC'd, signed, and
//! written last. The bytes on disk are exactly those [`seal::seal`] then
//! [`Signer::sign`] make in memory; only the number of passes differs.

use std::io::Write;
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use cacheness_catalog::CatalogRow;
use cacheness_format::seal::{self, SIGNATURE_LEN, SLOT_LEN, SLOT_PREFIX, SlotAt};
use cacheness_format::signing::Signer;

use crate::error::{Error, Result};

/// Payloads at least this large are written sealing ([`write_sealing`]): below it, a second
/// thread costs more than the passes it saves.
pub const SEALING_WRITE_MIN: usize = 4 << 20;

/// The piece both hashers take in turn: small enough that the second finds it in cache.
const PIECE: usize = 128 << 10;

/// Whether a payload of `len` bytes in a format whose slots are `at` is written sealing.
pub fn writes_sealing(len: usize, at: SlotAt) -> bool {
    len >= SEALING_WRITE_MIN && matches!(at, SlotAt::Back)
}

/// Write `buf`, an encoded payload whose slots ([`SlotAt::Back`]) hold their placeholders, to
/// `file` (new and empty; `path` names the payload in errors), sealed and signed: its hash
/// slot gets the content hash, and its signature slot the signature of the catalog row that
/// `row` makes from that hash. Returns the row with its signature. `buf` ends as the file.
pub fn write_sealing(
    buf: &mut [u8],
    file: &mut std::fs::File,
    path: &Path,
    signer: &Signer,
    row: impl FnOnce(String) -> CatalogRow,
) -> Result<CatalogRow> {
    let missing = || {
        Error::corrupt(
            format!("payload {}", path.display()),
            "the encoded file's slots do not hold their placeholders",
        )
    };
    let slots = seal::placeholders(buf, SlotAt::Back).ok_or_else(missing)?;
    let signature_at = slots.signature.ok_or_else(missing)? - slots.hash;
    let (head, tail) = buf.split_at_mut(slots.hash);
    let head: &[u8] = head;
    let (mut content, mut mac) = std::thread::scope(|s| {
        let hashing = s.spawn(|| {
            let (mut content, mut mac) = (Xxh3::new(), signer.streaming_mac());
            for piece in head.chunks(PIECE) {
                content.update(piece);
                mac.update(piece);
            }
            (content, mac)
        });
        let written = file.write_all(head);
        let digests = hashing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written.map(|()| digests)
    })
    .map_err(|e| Error::io(path, e))?;
    // The rest: hashed with both placeholders, MAC'd with the hash filled in.
    content.update(tail);
    let hash = seal::hash_hex(content.digest128());
    tail[SLOT_PREFIX.len()..SLOT_LEN].copy_from_slice(hash.as_bytes());
    mac.update(tail);
    let mut row = row(hash);
    let signature = signer.signature_text(*mac.finalize().as_bytes(), &row.record());
    tail[signature_at..signature_at + SIGNATURE_LEN].copy_from_slice(signature.as_bytes());
    file.write_all(tail).map_err(|e| Error::io(path, e))?;
    row.signature = Some(signature);
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog_row;
    use cacheness_format::codec::{Cacheable, CodecOptions, DataType, EncodeCtx, EntryMeta};
    use cacheness_format::keys::Params;
    use std::io::Read;

    /// An encoded array of `len` float64s (noise: stored as is, the layout a large put has).
    fn encoded(len: usize) -> (EntryMeta, Vec<u8>) {
        let meta = EntryMeta::bare("00112233445566778899aabbccddeeff", DataType::Ndarray);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let arr = ndarray::Array1::from_shape_fn(len, |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f64::from_bits(x >> 2)
        });
        let ctx = EncodeCtx {
            meta: &meta,
            options: &CodecOptions::default(),
            mappable: true,
        };
        let bytes = arr.encode(&ctx).map(|e| e.bytes.to_vec());
        (meta, bytes.unwrap_or_default())
    }

    fn row_of(meta: &EntryMeta, len: usize) -> impl Fn(String) -> CatalogRow + '_ {
        move |hash| {
            let format = cacheness_format::codec::Format::B2nd;
            catalog_row(meta, &Params::new(), format, 0, len as u64, hash, None)
        }
    }

    #[test]
    fn writes_the_bytes_sealing_then_signing_in_memory_makes() {
        let (meta, unsealed) = encoded(1 << 20);
        assert!(writes_sealing(unsealed.len(), SlotAt::Back));
        let signer = Signer::from_key(&[3; 32]);

        let mut in_memory = unsealed.clone();
        let hash = seal::seal(&mut in_memory, SlotAt::Back).unwrap();
        let mut expected_row = row_of(&meta, unsealed.len())(hash);
        let signature = signer
            .sign(&mut in_memory, SlotAt::Back, &expected_row.record())
            .unwrap();
        expected_row.signature = Some(signature);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.b2nd");
        let mut file = std::fs::File::create_new(&path).unwrap();
        let mut buf = unsealed.clone();
        let row = write_sealing(
            &mut buf,
            &mut file,
            &path,
            &signer,
            row_of(&meta, unsealed.len()),
        )
        .unwrap();
        drop(file);
        let mut on_disk = Vec::new();
        std::fs::File::open(&path)
            .unwrap()
            .read_to_end(&mut on_disk)
            .unwrap();
        assert!(
            on_disk == in_memory,
            "the file differs from the sealed bytes"
        );
        assert!(buf == in_memory);
        assert_eq!(row.content_hash, expected_row.content_hash);
        assert_eq!(row.signature, expected_row.signature);
        assert_eq!(seal::check(&on_disk, SlotAt::Back), Some(row.content_hash));
        assert!(signer.check_payload(&on_disk, SlotAt::Back).is_ok());
    }

    #[test]
    fn a_payload_already_sealed_is_refused_and_nothing_is_written() {
        let (meta, mut sealed) = encoded(1 << 20);
        seal::seal(&mut sealed, SlotAt::Back).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.b2nd");
        let mut file = std::fs::File::create_new(&path).unwrap();
        let signer = Signer::from_key(&[3; 32]);
        let len = sealed.len();
        let err = write_sealing(&mut sealed, &mut file, &path, &signer, row_of(&meta, len))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("placeholders") && err.contains("p.b2nd"),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
