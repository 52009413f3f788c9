//! Whole-file content hashes that live inside the file they cover.
//!
//! Each payload format carries a *hash slot*: the 41 ASCII bytes `xxh3-128:` + 32 hex digits,
//! stored in the format's own metadata (Parquet key-value metadata, the Blosc2 vlmeta, the
//! object container header). The content hash is XXH3-128 over the **whole file** with the slot
//! filled by the placeholder `xxh3-128:000…0`. Writing: encode with the placeholder, hash, patch
//! the slot. Checking: find the slot holding the expected value, hash with the placeholder
//! substituted, compare. Every byte of the file is covered, and no format library is needed to
//! check it.

use xxhash_rust::xxh3::Xxh3;

/// The slot's prefix.
pub const SLOT_PREFIX: &[u8; 9] = b"xxh3-128:";
/// Length of a slot: prefix plus 32 hex digits.
pub const SLOT_LEN: usize = 41;
/// The placeholder a slot holds while the file is hashed.
pub const PLACEHOLDER: &[u8; SLOT_LEN] = b"xxh3-128:00000000000000000000000000000000";

/// Where a format keeps its slot, which decides the search direction.
#[derive(Debug, Clone, Copy)]
pub enum SlotAt {
    /// Metadata at the front (our object container).
    Front,
    /// Metadata at the end (Parquet footer, Blosc2 frame trailer).
    Back,
}

fn find(buf: &[u8], needle: &[u8], at: SlotAt) -> Option<usize> {
    match at {
        SlotAt::Front => memchr::memmem::find(buf, needle),
        SlotAt::Back => memchr::memmem::rfind(buf, needle),
    }
}

fn hash_with_placeholder(buf: &[u8], pos: usize) -> u128 {
    let mut h = Xxh3::new();
    h.update(&buf[..pos]);
    h.update(PLACEHOLDER);
    h.update(&buf[pos + SLOT_LEN..]);
    h.digest128()
}

/// The 32-hex-digit text of a hash.
pub fn hash_hex(h: u128) -> String {
    format!("{h:032x}")
}

/// Hash an encoded file that holds the placeholder and patch the slot with the hash.
/// Returns the hash, or `None` if the placeholder is missing.
pub fn seal(buf: &mut [u8], at: SlotAt) -> Option<String> {
    let pos = find(buf, PLACEHOLDER, at)?;
    let hex = hash_hex(hash_with_placeholder(buf, pos));
    buf[pos + SLOT_PREFIX.len()..pos + SLOT_LEN].copy_from_slice(hex.as_bytes());
    Some(hex)
}

/// Where the file's hash slot starts: the first (`Front`) or last (`Back`) `xxh3-128:`.
pub fn slot_position(buf: &[u8], at: SlotAt) -> Option<usize> {
    find(buf, SLOT_PREFIX, at)
}

/// Find the file's hash slot (the first or last `xxh3-128:` followed by 32 hex digits, as the
/// format keeps it), and check the whole file against the hash it holds. Returns the hash when
/// the file is intact. This needs no format library, so damaged bytes never reach a decoder.
pub fn check(buf: &[u8], at: SlotAt) -> Option<String> {
    let pos = slot_position(buf, at)?;
    let hex = buf.get(pos + SLOT_PREFIX.len()..pos + SLOT_LEN)?;
    if !hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    (hash_hex(hash_with_placeholder(buf, pos)) == hex).then(|| hex.to_string())
}

/// The hash digits from slot text, if well-formed.
pub fn parse_slot(text: &str) -> Option<&str> {
    let hex = text.strip_prefix("xxh3-128:")?;
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(data: &[u8], at: SlotAt) -> Vec<u8> {
        match at {
            SlotAt::Front => [b"head".as_slice(), PLACEHOLDER, data].concat(),
            SlotAt::Back => [data, PLACEHOLDER, b"tail".as_slice()].concat(),
        }
    }

    proptest! {
        #[test]
        fn any_flipped_byte_is_detected(data in proptest::collection::vec(any::<u8>(), 0..300),
                                        flip in any::<prop::sample::Index>(), back in any::<bool>()) {
            let at = if back { SlotAt::Back } else { SlotAt::Front };
            let mut buf = file(&data, at);
            let hex = seal(&mut buf, at).unwrap();
            prop_assert_eq!(check(&buf, at), Some(hex.clone()));
            let i = flip.index(buf.len());
            buf[i] ^= 0x01;
            prop_assert_eq!(check(&buf, at), None);
        }
    }

    #[test]
    fn truncation_and_missing_slot_fail() {
        let mut buf = file(b"some data", SlotAt::Back);
        let hex = seal(&mut buf, SlotAt::Back).unwrap();
        assert_eq!(check(&buf, SlotAt::Back), Some(hex.clone()));
        assert_eq!(check(&buf[..buf.len() - 1], SlotAt::Back), None);
        assert_eq!(check(b"no slot here", SlotAt::Back), None);
        assert!(seal(&mut b"no placeholder".to_vec(), SlotAt::Front).is_none());
        assert_eq!(parse_slot(&format!("xxh3-128:{hex}")), Some(hex.as_str()));
    }
}
