//! Whole-file content hashes that live inside the file they cover, and where a file keeps its
//! signature.
//!
//! Each payload format carries a *hash slot*: the 41 ASCII bytes `xxh3-128:` + 32 hex digits,
//! stored in the format's own metadata (Parquet key-value metadata, the Blosc2 vlmeta, the
//! object container header). Right after it (within [`SIGNATURE_WITHIN`] bytes) comes the
//! *signature slot* ([`SIGNATURE_LEN`] bytes starting `cnsig1:`, filled by
//! [`crate::signing`]). The content hash is XXH3-128 over the **whole file** with both slots
//! holding their placeholders (`xxh3-128:000…0` and `cnsig1:000…`). Writing: encode with the
//! placeholders, hash, patch the hash slot, then sign. Checking: find the slots, hash with the
//! placeholders substituted, compare. Every byte of the file is covered, and no format library
//! is needed to check it. Payloads written before signatures existed have no signature slot;
//! their hash is over the file with the hash slot alone substituted.

use std::ops::Range;

use xxhash_rust::xxh3::Xxh3;

/// The slot's prefix.
pub const SLOT_PREFIX: &[u8; 9] = b"xxh3-128:";
/// Length of a slot: prefix plus 32 hex digits.
pub const SLOT_LEN: usize = 41;
/// The placeholder a slot holds while the file is hashed.
pub const PLACEHOLDER: &[u8; SLOT_LEN] = b"xxh3-128:00000000000000000000000000000000";

/// The signature slot's prefix.
pub const SIGNATURE_PREFIX: &[u8; 7] = b"cnsig1:";
/// Length of a signature slot: `cnsig1:` + key id (16 hex) + `:` + payload MAC (64 hex) + `:`
/// + HMAC (64 hex).
pub const SIGNATURE_LEN: usize = 153;
/// The placeholder a signature slot holds until the file is signed.
pub const SIGNATURE_PLACEHOLDER: &[u8; SIGNATURE_LEN] = b"cnsig1:0000000000000000:\
0000000000000000000000000000000000000000000000000000000000000000:\
0000000000000000000000000000000000000000000000000000000000000000";
/// The signature slot starts at most this many bytes after the end of the hash slot (the
/// formats' own framing between the two values: a map key, a Thrift field, a vlmeta entry).
/// Looking only there means text in a description can never be taken for a slot.
pub const SIGNATURE_WITHIN: usize = 96;

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

/// Where a file's slots start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// The hash slot.
    pub hash: usize,
    /// The signature slot, if the file has one.
    pub signature: Option<usize>,
}

impl Slots {
    /// The slots as (position, placeholder) pairs, in file order.
    pub fn masks(&self) -> impl Iterator<Item = (usize, &'static [u8])> {
        std::iter::once((self.hash, PLACEHOLDER.as_slice())).chain(
            self.signature
                .map(|p| (p, SIGNATURE_PLACEHOLDER.as_slice())),
        )
    }
}

/// Find a file's slots: the hash slot (the first or last `xxh3-128:`, as the format keeps it)
/// and the signature slot right after it. Both lie wholly inside the file.
pub fn locate(buf: &[u8], at: SlotAt) -> Option<Slots> {
    let hash = slot_position(buf, at).filter(|p| p + SLOT_LEN <= buf.len())?;
    let from = hash + SLOT_LEN;
    let to = (from + SIGNATURE_WITHIN + SIGNATURE_LEN).min(buf.len());
    let signature = memchr::memmem::find(&buf[from..to], SIGNATURE_PREFIX)
        .map(|i| from + i)
        .filter(|p| p + SIGNATURE_LEN <= buf.len());
    Some(Slots { hash, signature })
}

/// Feed `buf[range]` to `update` in pieces, with each masked slot (position, placeholder; in
/// file order, inside `buf`) replaced by its placeholder.
pub fn feed_masked(
    buf: &[u8],
    masks: impl IntoIterator<Item = (usize, &'static [u8])>,
    range: Range<usize>,
    mut update: impl FnMut(&[u8]),
) {
    let mut at = range.start;
    for (pos, placeholder) in masks {
        let end = pos + placeholder.len();
        if end <= at || pos >= range.end {
            continue;
        }
        if pos > at {
            update(&buf[at..pos]);
        }
        let from = at.max(pos) - pos;
        let to = range.end.min(end) - pos;
        update(&placeholder[from..to]);
        at = range.end.min(end);
    }
    if at < range.end {
        update(&buf[at..range.end]);
    }
}

/// [`feed_masked`] over a file held as consecutive `pieces` (the file is their
/// concatenation; `masks` and `range` are positions in it): the same bytes are fed, in the
/// same order.
pub fn feed_pieces(
    pieces: &[&[u8]],
    masks: &[(usize, &'static [u8])],
    range: Range<usize>,
    mut update: impl FnMut(&[u8]),
) {
    let mut start = 0;
    for piece in pieces {
        let end = start + piece.len();
        let (lo, hi) = (range.start.max(start), range.end.min(end));
        if lo < hi {
            // Each mask's part that falls in this piece, at its place in the piece.
            let local = masks.iter().filter_map(|&(pos, placeholder)| {
                let (from, to) = (pos.max(start), (pos + placeholder.len()).min(end));
                (from < to).then(|| (from - start, &placeholder[from - pos..to - pos]))
            });
            feed_masked(piece, local, lo - start..hi - start, &mut update);
        }
        start = end;
    }
}

/// `buf` cut at the positions `cuts` (ascending, within it) into consecutive pieces.
#[cfg(test)]
pub(crate) fn cut_at<'a>(buf: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([buf.len()].iter()) {
        pieces.push(&buf[from..cut]);
        from = cut;
    }
    pieces
}

fn hash_with_placeholders(buf: &[u8], slots: &Slots) -> u128 {
    let mut h = Xxh3::new();
    feed_masked(buf, slots.masks(), 0..buf.len(), |piece| h.update(piece));
    h.digest128()
}

/// The 32-hex-digit text of a hash.
pub fn hash_hex(h: u128) -> String {
    format!("{h:032x}")
}

/// The slots of an encoded file that is not sealed yet: found where [`locate`] finds them,
/// and each holding its placeholder (the signature slot may be absent). `None` otherwise.
pub fn placeholders(buf: &[u8], at: SlotAt) -> Option<Slots> {
    let slots = locate(buf, at)?;
    slots
        .masks()
        .all(|(pos, placeholder)| buf.get(pos..pos + placeholder.len()) == Some(placeholder))
        .then_some(slots)
}

/// Hash a file whose hash slot holds its placeholder and patch the slot with the hash.
/// Returns the hash, or `None` if the placeholder is missing. The signature slot may hold a
/// signature already: the hash covers it as its placeholder either way.
pub fn seal(buf: &mut [u8], at: SlotAt) -> Option<String> {
    let slots = locate(buf, at)?;
    let pos = slots.hash;
    if buf.get(pos..pos + SLOT_LEN) != Some(PLACEHOLDER.as_slice()) {
        return None;
    }
    let hex = hash_hex(hash_with_placeholders(buf, &slots));
    buf[pos + SLOT_PREFIX.len()..pos + SLOT_LEN].copy_from_slice(hex.as_bytes());
    Some(hex)
}

/// Where the file's hash slot starts: the first (`Front`) or last (`Back`) `xxh3-128:`.
pub fn slot_position(buf: &[u8], at: SlotAt) -> Option<usize> {
    find(buf, SLOT_PREFIX, at)
}

/// Find the file's slots ([`locate`]) and check the whole file against the hash it holds.
/// Returns the hash when the file is intact. This needs no format library, so damaged bytes
/// never reach a decoder.
pub fn check(buf: &[u8], at: SlotAt) -> Option<String> {
    let slots = locate(buf, at)?;
    let pos = slots.hash;
    let hex = buf.get(pos + SLOT_PREFIX.len()..pos + SLOT_LEN)?;
    if !hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    (hash_hex(hash_with_placeholders(buf, &slots)) == hex).then(|| hex.to_string())
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

    #[test]
    fn a_signed_file_seals_again_to_the_same_hash_but_is_not_unsealed() {
        let unsigned = [
            b"data".as_slice(),
            PLACEHOLDER,
            b"--",
            SIGNATURE_PLACEHOLDER,
            b"end",
        ]
        .concat();
        assert!(placeholders(&unsigned, SlotAt::Back).is_some());
        let mut sealed = unsigned.clone();
        let hash = seal(&mut sealed, SlotAt::Back).unwrap();
        // Signed: the signature slot filled. Put the hash placeholder back and seal again.
        let slots = locate(&sealed, SlotAt::Back).unwrap();
        let sig = slots.signature.unwrap();
        let mut signed = sealed.clone();
        signed[sig + SIGNATURE_PREFIX.len()..sig + SIGNATURE_LEN].fill(b'7');
        assert!(placeholders(&signed, SlotAt::Back).is_none());
        signed[slots.hash..slots.hash + SLOT_LEN].copy_from_slice(PLACEHOLDER);
        assert_eq!(seal(&mut signed, SlotAt::Back), Some(hash.clone()));
        assert_eq!(check(&signed, SlotAt::Back), Some(hash));
        // A file whose hash slot is filled is not sealed twice.
        assert_eq!(seal(&mut signed, SlotAt::Back), None);
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

    proptest! {
        #[test]
        fn pieces_feed_what_one_buffer_feeds(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
            slot in any::<prop::sample::Index>(),
            range in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            at.sort_unstable();
            let pieces = cut_at(&data, &at);
            let masks: Vec<(usize, &'static [u8])> = match data.len() >= SLOT_LEN {
                true => vec![(slot.index(data.len() - SLOT_LEN + 1), PLACEHOLDER.as_slice())],
                false => Vec::new(),
            };
            let (a, b) = (range.0.index(data.len() + 1), range.1.index(data.len() + 1));
            let range = a.min(b)..a.max(b);
            let (mut whole, mut parts) = (Vec::new(), Vec::new());
            feed_masked(&data, masks.iter().copied(), range.clone(), |p| {
                whole.extend_from_slice(p)
            });
            feed_pieces(&pieces, &masks, range, |p| parts.extend_from_slice(p));
            prop_assert_eq!(whole, parts);
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
