//! Signed entries: every payload carries a signature made with a secret key, checked on every
//! read before any format decoder sees the bytes (`docs/SECURITY.md`).
//!
//! A signature has two parts, both keyed by the cache's 32-byte signing key `K`:
//!
//! - the **payload MAC**, keyed with `M = blake3::derive_key("cacheness 2026 payload mac v1", K)`,
//!   over the whole payload file with its signature slot holding the placeholder: HMAC-SHA256
//!   for files shorter than [`SMALL_FILE`] bytes (faster on a few hundred bytes), keyed BLAKE3
//!   for the others (8 GB/s per core, and split across cores for large files). It covers every
//!   byte, the entry metadata inside the file included, and needs no format library, so a
//!   payload nobody with the key wrote never reaches a decoder (the Blosc2 one is C).
//! - the **entry HMAC**: HMAC-SHA256 with `K` over the entry's fields as the catalog has them
//!   ([`Record`]: key, data type, format, sizes, content hash, times, description, name) and the
//!   payload MAC. A catalog row carries the same signature, so a row can be checked alone, and a
//!   payload against its row.
//!
//! The signature slot (`crate::seal`) holds `cnsig1:<key id>:<payload MAC>:<entry HMAC>`; the key
//! id (16 hex digits derived from `K`) tells "signed with another key" from "altered".
//!
//! Keys come from a file (by default `<root>/signing.key`, created with 32 random bytes and mode
//! 0600), an environment variable, or are made per process ([`SigningKey`]).

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use blake3::hazmat::{HasherExt, Mode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::parallel::{self, on_threads};
use crate::seal::{self, SIGNATURE_LEN, SIGNATURE_PLACEHOLDER, SIGNATURE_PREFIX, SlotAt};

/// Length of a signing key in bytes.
pub const KEY_LEN: usize = 32;
/// The key file's name under the cache root, when no other source is configured.
pub const DEFAULT_KEY_FILE: &str = "signing.key";
/// Files shorter than this are MAC'd with HMAC-SHA256, longer ones with keyed BLAKE3.
pub const SMALL_FILE: usize = 2048;
/// Files at least this large are MAC'd on several threads, in subtrees of [`LEAF`] bytes
/// (BLAKE3's tree makes the result the same as on one thread).
const PARALLEL_MIN: usize = 4 << 20;
/// The subtree size hashed by one task of a parallel MAC (a power of two of BLAKE3 chunks).
const LEAF: usize = 1 << 20;
/// The leaf size of an outboard tree: the unit a ranged read fetches and checks.
pub const OUTBOARD_LEAF: usize = 256 << 10;
/// Payloads at least this large get an outboard tree on an object store.
pub const OUTBOARD_MIN: usize = 8 << 20;
/// An outboard tree's first bytes; then the file's length (u64, little-endian) and 32 bytes per
/// leaf.
const OUTBOARD_MAGIC: &[u8; 8] = b"cntree1\n";

/// Where the signing key comes from.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum SigningKey {
    /// `<root>/signing.key`, created if missing.
    #[default]
    Default,
    /// A key file at this path (64 hex digits), created if missing.
    File(PathBuf),
    /// The environment variable of this name holds the key (64 hex digits).
    Env(String),
    /// A random key made when the cache is opened, for this process only: other processes
    /// (and this one after a restart) see the entries as signed with another key.
    InMemory,
    /// This key.
    Bytes([u8; KEY_LEN]),
}

impl SigningKey {
    /// The key file this source reads (and creates when it is missing), for the cache at
    /// `root`; `None` for keys that are not files.
    pub fn file(&self, root: &Path) -> Option<PathBuf> {
        match self {
            SigningKey::Default => Some(root.join(DEFAULT_KEY_FILE)),
            SigningKey::File(path) => Some(path.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Default => write!(f, "Default"),
            SigningKey::File(p) => write!(f, "File({})", p.display()),
            SigningKey::Env(v) => write!(f, "Env({v})"),
            SigningKey::InMemory => write!(f, "InMemory"),
            SigningKey::Bytes(_) => write!(f, "Bytes(<secret>)"),
        }
    }
}

impl SigningKey {
    /// Parse a key source as written in the environment (`CACHENESS_SIGNING_KEY`): `default`,
    /// `in-memory`, `file:<path>`, `env:<VARIABLE>`, or the key itself as 64 hex digits.
    pub fn parse(spec: &str) -> std::result::Result<SigningKey, crate::error::Invalid> {
        let spec = spec.trim();
        if let Some(key) = parse_hex_key(spec) {
            return Ok(SigningKey::Bytes(key));
        }
        match spec {
            "default" => Ok(SigningKey::Default),
            "in-memory" => Ok(SigningKey::InMemory),
            _ => {
                if let Some(path) = spec.strip_prefix("file:").filter(|p| !p.is_empty()) {
                    Ok(SigningKey::File(PathBuf::from(path)))
                } else if let Some(var) = spec.strip_prefix("env:").filter(|v| !v.is_empty()) {
                    Ok(SigningKey::Env(var.to_string()))
                } else {
                    Err(format!(
                        "{spec:?} is not default, in-memory, file:<path>, env:<VARIABLE> or a \
                         64-hex-digit key"
                    )
                    .into())
                }
            }
        }
    }
}

/// Why `text` is not a key of 64 hex digits: its length, or its first character that is not
/// a hex digit.
fn not_a_key(text: &str) -> String {
    let chars = text.chars().count();
    match text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        Some((i, c)) if chars == 2 * KEY_LEN => format!(
            "it holds 64 characters, but {c:?} (at byte {i}) is not a hex digit: a key is 64 \
             hex digits (0-9, a-f)"
        ),
        _ => format!("it holds {chars} characters, expected a key of 64 hex digits"),
    }
}

/// A key from its text: 64 hex digits, either case, surrounding white space ignored (the
/// format of key files and of `CACHENESS_SIGNING_KEY`).
pub fn parse_hex_key(text: &str) -> Option<[u8; KEY_LEN]> {
    crate::keys::unhex_lower(text.trim().to_ascii_lowercase().as_bytes())
}

fn key_error(source: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::SigningKey {
        source_name: source.into(),
        reason: reason.into(),
    }
}

/// Read a key file, or create it (32 random bytes as hex, mode 0600) if it does not exist.
/// Two processes creating it at once agree on one key: the file appears whole or not at all,
/// and the loser reads the winner's.
fn load_or_create_file(path: &Path) -> Result<[u8; KEY_LEN]> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => return key_from_file(path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(key_error(name, format!("cannot read it: {e}"))),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| key_error(&name, format!("no randomness: {e}")))?;
    // tempfile creates its files with mode 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    writeln!(tmp, "{}", crate::keys::hex(&key)).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(key),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            key_from_file(path, &bytes)
        }
        Err(e) => Err(Error::io(path, e.error)),
    }
}

fn key_from_file(path: &Path, bytes: &[u8]) -> Result<[u8; KEY_LEN]> {
    let name = path.display().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o006 != 0 {
            return Err(key_error(
                name,
                format!(
                    "anyone on the machine can read or replace it (mode {:o}); \
                     run chmod 600 (or 640 to share it with a group)",
                    mode & 0o777
                ),
            ));
        }
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| key_error(&name, "it is not text (expected 64 hex digits)"))?;
    parse_hex_key(text).ok_or_else(|| key_error(&name, not_a_key(text.trim())))
}

/// A signature as a slot or catalog column holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Id of the key that made it.
    pub key_id: [u8; 8],
    /// The payload MAC.
    pub mac: [u8; 32],
    /// The entry HMAC.
    pub hmac: [u8; 32],
}

impl Signature {
    /// Parse `cnsig1:<16 hex>:<64 hex>:<64 hex>`.
    pub fn parse(text: &[u8]) -> Option<Signature> {
        let rest = text.strip_prefix(SIGNATURE_PREFIX.as_slice())?;
        if text.len() != SIGNATURE_LEN || rest[16] != b':' || rest[81] != b':' {
            return None;
        }
        Some(Signature {
            key_id: crate::keys::unhex_lower(&rest[..16])?,
            mac: crate::keys::unhex_lower(&rest[17..81])?,
            hmac: crate::keys::unhex_lower(&rest[82..])?,
        })
    }

    /// The slot text.
    pub fn text(&self) -> String {
        use crate::keys::hex;
        format!(
            "cnsig1:{}:{}:{}",
            hex(&self.key_id),
            hex(&self.mac),
            hex(&self.hmac)
        )
    }
}

/// The entry fields an HMAC covers, as the catalog row has them. The payload's own metadata
/// (canonical parameters, type details) is covered by the payload MAC, which the HMAC covers.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The entry's key.
    pub key: &'a str,
    /// Its data type name.
    pub data_type: &'a str,
    /// Its format name.
    pub format: &'a str,
    /// Size of the value in memory.
    pub raw_bytes: u64,
    /// Size of the payload file.
    pub stored_bytes: u64,
    /// The content hash (32 hex digits).
    pub content_hash: &'a str,
    /// When it was written (µs since the epoch).
    pub created_at: i64,
    /// When it expires (µs since the epoch).
    pub expires_at: Option<i64>,
    /// The description.
    pub description: Option<&'a str>,
    /// The entry name.
    pub name: Option<&'a str>,
}

impl<'a> Record<'a> {
    /// The bytes the HMAC is computed over (`docs/SECURITY.md`, "Signature format"): a
    /// domain tag, then each field as `0x00` (absent) or `0x01`, a u32 big-endian length and
    /// the UTF-8 text (numbers in decimal), then the 32-byte payload MAC.
    fn feed(&self, mac: &[u8; 32], out: &mut impl Mac) {
        out.update(b"cacheness-entry-v1\0");
        let mut field = |v: Option<&str>| match v {
            None => out.update(&[0]),
            Some(s) => {
                out.update(&[1]);
                out.update(&(s.len() as u32).to_be_bytes());
                out.update(s.as_bytes());
            }
        };
        let mut num = Decimal(String::with_capacity(20));
        field(Some(self.key));
        field(Some(self.data_type));
        field(Some(self.format));
        field(Some(num.of(self.raw_bytes)));
        field(Some(num.of(self.stored_bytes)));
        field(Some(self.content_hash));
        field(Some(num.of(self.created_at)));
        match self.expires_at {
            Some(e) => field(Some(num.of(e))),
            None => field(None),
        }
        field(self.description);
        field(self.name);
        out.update(mac);
    }
}

/// Decimal text of numbers, reusing one buffer (no allocation per field on the read path).
struct Decimal(String);

impl Decimal {
    fn of(&mut self, v: impl std::fmt::Display) -> &str {
        use std::fmt::Write;
        self.0.clear();
        let _ = write!(self.0, "{v}"); // writing to a String cannot fail
        &self.0
    }
}

/// Why a payload or row has no valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unverified {
    /// It carries no signature (written before signing existed, or by a tool without the key).
    Unsigned,
    /// Its signature slot does not parse.
    Malformed,
    /// It was signed with another key (its id).
    OtherKey(String),
    /// It was signed with this key, but its bytes or fields have changed since.
    Mismatch,
}

impl std::fmt::Display for Unverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unverified::Unsigned => write!(f, "it is not signed"),
            Unverified::Malformed => write!(f, "its signature is malformed"),
            Unverified::OtherKey(id) => write!(f, "it was signed with another key (id {id})"),
            Unverified::Mismatch => write!(f, "its signature does not match its contents"),
        }
    }
}

/// Signs and checks entries with one key.
#[derive(Clone)]
pub struct Signer {
    key_id: [u8; 8],
    mac_key: [u8; 32],
    /// HMAC-SHA256 keyed with `mac_key` (the payload MAC of small files), ready to clone.
    small_mac: Hmac<Sha256>,
    /// HMAC-SHA256 keyed with the key itself (the entry HMAC), ready to clone.
    hmac: Hmac<Sha256>,
    /// The key of [`Signer::mac`] (files of the cache other than payloads).
    aux_key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(key id {})", self.key_id())
    }
}

impl Signer {
    /// A signer with this key.
    pub fn from_key(key: &[u8; KEY_LEN]) -> Signer {
        let id = blake3::derive_key("cacheness 2026 signing key id v1", key);
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&id[..8]);
        let mac_key = blake3::derive_key("cacheness 2026 payload mac v1", key);
        Signer {
            key_id,
            mac_key,
            small_mac: hmac_with(&mac_key),
            hmac: hmac_with(key),
            aux_key: blake3::derive_key("cacheness 2026 auxiliary file mac v1", key),
        }
    }

    /// A MAC of `bytes` for `purpose` (a fixed name, e.g. `"stat cache v1"`): for the cache's
    /// own files besides payloads, so whoever can write the directory but lacks the key cannot
    /// forge them (keyed BLAKE3 with a key derived for this use alone).
    pub fn mac(&self, purpose: &str, bytes: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.aux_key);
        h.update(&(purpose.len() as u64).to_le_bytes());
        h.update(purpose.as_bytes());
        h.update(bytes);
        *h.finalize().as_bytes()
    }

    /// Load (or create) the key `source` names, for the cache at `root`. A key file or
    /// variable that is unreadable, malformed or of the wrong length is an error, never
    /// replaced.
    pub fn load(source: &SigningKey, root: &Path) -> Result<Signer> {
        let key = match source {
            SigningKey::Default => load_or_create_file(&root.join(DEFAULT_KEY_FILE))?,
            SigningKey::File(path) => load_or_create_file(path)?,
            SigningKey::Env(var) => {
                let value = std::env::var(var)
                    .map_err(|e| key_error(format!("environment variable {var}"), e.to_string()))?;
                parse_hex_key(&value).ok_or_else(|| {
                    key_error(
                        format!("environment variable {var}"),
                        "it does not hold a key of 64 hex digits",
                    )
                })?
            }
            SigningKey::InMemory => {
                let mut key = [0u8; KEY_LEN];
                getrandom::fill(&mut key)
                    .map_err(|e| key_error("in-memory key", format!("no randomness: {e}")))?;
                key
            }
            SigningKey::Bytes(key) => *key,
        };
        Ok(Signer::from_key(&key))
    }

    /// The key's id (16 hex digits): shown in messages, never secret.
    pub fn key_id(&self) -> String {
        crate::keys::hex(&self.key_id)
    }

    /// The payload MAC of `buf` with the signature slot at `slot` masked.
    fn payload_mac(&self, buf: &[u8], slot: usize) -> [u8; 32] {
        self.payload_mac_of_pieces(&[buf], slot)
    }

    /// The payload MAC of the file that is the concatenation of `pieces`, with the signature
    /// slot at `slot` (a position in that file) masked.
    fn payload_mac_of_pieces(&self, pieces: &[&[u8]], slot: usize) -> [u8; 32] {
        let mask = [(slot, SIGNATURE_PLACEHOLDER.as_slice())];
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        if len < SMALL_FILE {
            let mut h = self.small_mac.clone();
            seal::feed_pieces(pieces, &mask, 0..len, |piece| h.update(piece));
            return h.finalize().into_bytes().into();
        }
        let hasher = |range: Range<usize>| {
            let mut h = blake3::Hasher::new_keyed(&self.mac_key);
            h.set_input_offset(range.start as u64);
            seal::feed_pieces(pieces, &mask, range, |piece| {
                h.update(piece);
            });
            h
        };
        let threads = match len >= PARALLEL_MIN {
            true => parallel::cores(),
            false => 1,
        };
        if threads < 2 {
            return *hasher(0..len).finalize().as_bytes();
        }
        // BLAKE3's tree: a subtree's left child covers the largest power-of-two number of
        // chunks that leaves the right child non-empty. Leaves of at most LEAF bytes (a power
        // of two of chunks) cut along that tree, so their chaining values merge exactly.
        let mut leaves = Vec::new();
        subtree_leaves(0..len, LEAF, &mut leaves);
        let cvs = on_threads(leaves.iter().collect(), threads, |r| {
            hasher(r.clone()).finalize_non_root()
        });
        self.root_of(&leaves, &cvs)
    }

    /// The payload MAC of a file (at least two leaves long) from its leaves' chaining values.
    fn root_of(&self, leaves: &[Range<usize>], cvs: &[[u8; 32]]) -> [u8; 32] {
        let mode = Mode::KeyedHash(&self.mac_key);
        let len = leaves.last().map_or(0, |r| r.end);
        let split = blake3::hazmat::left_subtree_len(len as u64) as usize;
        let left = leaves.partition_point(|r| r.start < split);
        let l = merge(&leaves[..left], &cvs[..left], mode);
        let r = merge(&leaves[left..], &cvs[left..], mode);
        *blake3::hazmat::merge_subtrees_root(&l, &r, mode).as_bytes()
    }

    /// The chaining value of the leaf of a payload MAC tree that starts at `start` and holds
    /// `bytes`, with the signature slot at `slot` (a file position) masked.
    fn leaf_cv(&self, start: usize, bytes: &[u8], slot: usize) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.mac_key);
        h.set_input_offset(start as u64);
        let end = start + bytes.len();
        let slot_end = slot + SIGNATURE_LEN;
        if slot_end <= start || slot >= end {
            h.update(bytes);
        } else {
            // The slot overlaps this leaf (it may begin in the previous one).
            let mut masked = bytes.to_vec();
            let from = slot.max(start);
            let to = slot_end.min(end);
            masked[from - start..to - start]
                .copy_from_slice(&SIGNATURE_PLACEHOLDER[from - slot..to - slot]);
            h.update(&masked);
        }
        h.finalize_non_root()
    }

    /// The outboard tree of a signed payload (`docs/SCALE.md`, "Ranged reads"): the chaining
    /// value of every [`OUTBOARD_LEAF`]-byte leaf of its payload MAC, so that a reader holding
    /// the signature can check any leaf alone. `None` for files below [`OUTBOARD_MIN`] or
    /// without a signature slot.
    pub fn outboard(&self, buf: &[u8], at: SlotAt) -> Option<Vec<u8>> {
        if buf.len() < OUTBOARD_MIN {
            return None;
        }
        let slot = seal::locate(buf, at)?.signature?;
        let leaves = outboard_leaves(buf.len() as u64);
        let cvs = on_threads(leaves.iter().collect(), parallel::cores(), |r| {
            self.leaf_cv(r.start, &buf[r.clone()], slot)
        });
        let mut out = Vec::with_capacity(OUTBOARD_MAGIC.len() + 8 + cvs.len() * 32);
        out.extend_from_slice(OUTBOARD_MAGIC);
        out.extend_from_slice(&(buf.len() as u64).to_le_bytes());
        for cv in &cvs {
            out.extend_from_slice(cv);
        }
        Some(out)
    }

    /// Check an outboard tree against a signature's payload MAC for a file of `len` bytes:
    /// the leaves' chaining values if it is that file's tree, `None` otherwise (another
    /// version's tree, damaged, or forged).
    pub fn check_outboard(&self, outboard: &[u8], len: u64, sig: &Signature) -> Option<Outboard> {
        let rest = outboard.strip_prefix(OUTBOARD_MAGIC.as_slice())?;
        let (stated, cvs) = rest.split_first_chunk::<8>()?;
        if u64::from_le_bytes(*stated) != len || len < OUTBOARD_MIN as u64 {
            return None;
        }
        let leaves = outboard_leaves(len);
        let (cvs, tail) = cvs.as_chunks::<32>();
        if !tail.is_empty() || cvs.len() != leaves.len() {
            return None;
        }
        // blake3::Hash compares in constant time.
        let root = blake3::Hash::from(self.root_of(&leaves, cvs));
        (root == blake3::Hash::from(sig.mac)).then(|| Outboard {
            leaves,
            cvs: cvs.to_vec(),
        })
    }

    /// Whether `bytes`, read at `leaf`'s place in a file whose signature slot is at `slot`,
    /// are that leaf as signed.
    pub fn check_leaf(&self, outboard: &Outboard, leaf: usize, bytes: &[u8], slot: usize) -> bool {
        let (Some(range), Some(cv)) = (outboard.leaves.get(leaf), outboard.cvs.get(leaf)) else {
            return false;
        };
        range.len() == bytes.len()
            && blake3::Hash::from(self.leaf_cv(range.start, bytes, slot)) == blake3::Hash::from(*cv)
    }

    fn entry_hmac(&self, record: &Record<'_>, mac: &[u8; 32]) -> Hmac<Sha256> {
        let mut h = self.hmac.clone();
        record.feed(mac, &mut h);
        h
    }

    /// Sign a sealed payload whose signature slot holds the placeholder: fill the slot and
    /// return the signature text (for the catalog row). `None` if the file has no slot.
    pub fn sign(&self, buf: &mut [u8], at: SlotAt, record: &Record<'_>) -> Option<String> {
        let slot = seal::locate(buf, at)?.signature?;
        if &buf[slot..slot + SIGNATURE_LEN] != SIGNATURE_PLACEHOLDER {
            return None;
        }
        let text = self.signature_text(self.payload_mac(buf, slot), record);
        buf[slot..slot + SIGNATURE_LEN].copy_from_slice(text.as_bytes());
        Some(text)
    }

    /// The signature slot text of a payload whose payload MAC is `mac`, for the entry
    /// `record`.
    pub fn signature_text(&self, mac: [u8; 32], record: &Record<'_>) -> String {
        let hmac = self.entry_hmac(record, &mac).finalize().into_bytes();
        Signature {
            key_id: self.key_id,
            mac,
            hmac: hmac.into(),
        }
        .text()
    }

    /// A hasher that computes the payload MAC of a file of at least [`SMALL_FILE`] bytes when
    /// fed the whole file in order, its signature slot holding the placeholder: the MAC of a
    /// payload too large to hold in memory, read or written in parts (`crate::streamed`).
    pub fn streaming_mac(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.mac_key)
    }

    /// Check a payload's bytes against its payload MAC (no format library involved). On
    /// success every byte is as the key's holder wrote it; the entry fields are checked next,
    /// with [`Signer::check_record`].
    pub fn check_payload(
        &self,
        buf: &[u8],
        at: SlotAt,
    ) -> std::result::Result<Signature, Unverified> {
        self.check_payload_pieces(&[buf], at)
    }

    /// [`Signer::check_payload`] of a file held as consecutive `pieces` whose slots lie in its
    /// last piece (a whole file is one piece; a Blosc2 frame's slots are in its trailer, so it
    /// may be cut before them): the bytes checked are exactly
    /// the pieces' bytes, so a caller that parses the pieces it owns after this check parses
    /// checked bytes, wherever the other pieces live.
    pub fn check_payload_pieces(
        &self,
        pieces: &[&[u8]],
        at: SlotAt,
    ) -> std::result::Result<Signature, Unverified> {
        let (last, before) = pieces.split_last().ok_or(Unverified::Unsigned)?;
        let offset: usize = before.iter().map(|p| p.len()).sum();
        let slots = seal::locate(last, at).ok_or(Unverified::Unsigned)?;
        let slot = slots.signature.ok_or(Unverified::Unsigned)?;
        self.check_mac(&last[slot..slot + SIGNATURE_LEN], || {
            self.payload_mac_of_pieces(pieces, offset + slot)
        })
    }

    /// Check a payload's signature slot text against its payload MAC, which `mac` computes
    /// (only if the slot holds a signature of this key).
    pub fn check_mac(
        &self,
        slot_text: &[u8],
        mac: impl FnOnce() -> [u8; 32],
    ) -> std::result::Result<Signature, Unverified> {
        if slot_text == SIGNATURE_PLACEHOLDER {
            return Err(Unverified::Unsigned); // written by a tool that does not sign
        }
        let sig = Signature::parse(slot_text).ok_or(Unverified::Malformed)?;
        if sig.key_id != self.key_id {
            return Err(Unverified::OtherKey(crate::keys::hex(&sig.key_id)));
        }
        // blake3::Hash compares in constant time.
        if blake3::Hash::from(mac()) != blake3::Hash::from(sig.mac) {
            return Err(Unverified::Mismatch);
        }
        Ok(sig)
    }

    /// Check the entry HMAC of a signature against the entry's fields.
    pub fn check_record(&self, sig: &Signature, record: &Record<'_>) -> bool {
        self.entry_hmac(record, &sig.mac)
            .verify_slice(&sig.hmac)
            .is_ok()
    }

    /// Check a signature against an entry's fields: made with this signer's key, and its
    /// entry HMAC matching `record` (a catalog row's `record()`).
    pub fn check_signature(
        &self,
        sig: &Signature,
        record: &Record<'_>,
    ) -> std::result::Result<(), Unverified> {
        if sig.key_id != self.key_id {
            return Err(Unverified::OtherKey(crate::keys::hex(&sig.key_id)));
        }
        if self.check_record(sig, record) {
            Ok(())
        } else {
            Err(Unverified::Mismatch)
        }
    }
}

fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// The leaves (at most `leaf` bytes each, a power of two of BLAKE3 chunks) of the BLAKE3
/// subtree over `range`, in order.
fn subtree_leaves(range: Range<usize>, leaf: usize, out: &mut Vec<Range<usize>>) {
    if range.len() <= leaf {
        out.push(range);
        return;
    }
    let split = range.start + blake3::hazmat::left_subtree_len(range.len() as u64) as usize;
    subtree_leaves(range.start..split, leaf, out);
    subtree_leaves(split..range.end, leaf, out);
}

/// The leaves of the outboard tree of a file of `len` bytes: every one [`OUTBOARD_LEAF`]
/// bytes long and starting at a multiple of it, but the last.
pub fn outboard_leaves(len: u64) -> Vec<Range<usize>> {
    let mut leaves = Vec::new();
    subtree_leaves(0..len as usize, OUTBOARD_LEAF, &mut leaves);
    leaves
}

/// An outboard tree checked against a signature: the leaves of the file and their chaining
/// values.
#[derive(Debug, Clone)]
pub struct Outboard {
    leaves: Vec<Range<usize>>,
    cvs: Vec<[u8; 32]>,
}

impl Outboard {
    /// The leaves that hold any byte of `range` (a range of file positions), in order.
    pub fn leaves_of(&self, range: Range<u64>) -> Range<usize> {
        let last = self.leaves.len();
        let first = (range.start / OUTBOARD_LEAF as u64) as usize;
        let end = range.end.div_ceil(OUTBOARD_LEAF as u64) as usize;
        first.min(last)..end.min(last)
    }

    /// The file positions of leaf `i`.
    pub fn leaf(&self, i: usize) -> Option<Range<usize>> {
        self.leaves.get(i).cloned()
    }

    /// How many leaves the file has.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the file has no leaves (never, for a checked outboard).
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }
}

/// The chaining value of the non-root subtree made of `leaves`, whose values are `cvs`.
fn merge(leaves: &[Range<usize>], cvs: &[[u8; 32]], mode: Mode<'_>) -> [u8; 32] {
    if cvs.len() <= 1 {
        return cvs.first().copied().unwrap_or_default();
    }
    let (start, end) = (leaves[0].start, leaves[leaves.len() - 1].end);
    let split = start + blake3::hazmat::left_subtree_len((end - start) as u64) as usize;
    let left = leaves.partition_point(|r| r.start < split);
    blake3::hazmat::merge_subtrees_non_root(
        &merge(&leaves[..left], &cvs[..left], mode),
        &merge(&leaves[left..], &cvs[left..], mode),
        mode,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(data: &[u8]) -> Vec<u8> {
        [
            data,
            seal::PLACEHOLDER.as_slice(),
            b"..",
            SIGNATURE_PLACEHOLDER.as_slice(),
            b"tail",
        ]
        .concat()
    }

    fn record(hash: &str, len: usize) -> Record<'_> {
        Record {
            key: "0123456789abcdef",
            data_type: "bytes",
            format: "cnobj",
            raw_bytes: 3,
            stored_bytes: len as u64,
            content_hash: hash,
            created_at: 1,
            expires_at: None,
            description: Some("d"),
            name: None,
        }
    }

    fn signed(signer: &Signer, data: &[u8]) -> (Vec<u8>, String) {
        let mut buf = file(data);
        let hash = seal::seal(&mut buf, SlotAt::Back).unwrap();
        let len = buf.len();
        signer
            .sign(&mut buf, SlotAt::Back, &record(&hash, len))
            .unwrap();
        (buf, hash)
    }

    #[test]
    fn the_parallel_mac_equals_keyed_blake3() {
        let signer = Signer::from_key(&[7; 32]);
        for len in [
            SMALL_FILE,
            PARALLEL_MIN,
            PARALLEL_MIN + 1,
            PARALLEL_MIN + LEAF + 1024 * 5 + 7,
            3 * PARALLEL_MIN + 12345,
        ] {
            let mut buf: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let slot = len - SIGNATURE_LEN - 10;
            buf[slot..slot + SIGNATURE_LEN].copy_from_slice(SIGNATURE_PLACEHOLDER);
            let expected = blake3::keyed_hash(&signer.mac_key, &buf);
            buf[slot] = b'x'; // the slot is masked: its content does not count
            assert_eq!(
                signer.payload_mac(&buf, slot),
                *expected.as_bytes(),
                "{len}"
            );
        }
    }

    #[test]
    fn a_file_checked_in_pieces_is_checked_as_a_whole() {
        let signer = Signer::from_key(&[5; 32]);
        for len in [100, SMALL_FILE + 10, 3 * PARALLEL_MIN + 12345] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let (buf, _) = signed(&signer, &data);
            let tail = len; // the last piece starts at the hash slot
            for cuts in [vec![0, tail], vec![len / 3, tail], vec![7, len / 2, tail]] {
                let pieces = seal::cut_at(&buf, &cuts);
                assert!(signer.check_payload_pieces(&pieces, SlotAt::Back).is_ok());
                // A byte changed in any piece fails.
                for (i, piece) in pieces.iter().enumerate() {
                    if piece.is_empty() {
                        continue;
                    }
                    let mut changed = piece.to_vec();
                    changed[piece.len() / 2] ^= 1;
                    let mut altered = pieces.clone();
                    altered[i] = &changed;
                    assert!(
                        signer.check_payload_pieces(&altered, SlotAt::Back).is_err(),
                        "{len}: piece {i} of {cuts:?}"
                    );
                }
            }
            // Slots not in the last piece: not checked there (the caller reads it whole).
            let early = [&buf[..buf.len() - 10], &buf[buf.len() - 10..]];
            assert_eq!(
                signer.check_payload_pieces(&early, SlotAt::Back),
                Err(Unverified::Unsigned)
            );
        }
    }

    #[test]
    fn an_outboard_checks_each_leaf_alone_and_only_for_its_file() {
        let signer = Signer::from_key(&[3; 32]);
        // Not a multiple of a leaf; the slot straddles a leaf boundary.
        let len = OUTBOARD_MIN + 3 * OUTBOARD_LEAF + 777;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        let boundary = 5 * OUTBOARD_LEAF;
        let head = &data[..boundary - 60 - seal::SLOT_LEN - 2];
        let mut buf = [
            head,
            seal::PLACEHOLDER.as_slice(),
            b"..",
            SIGNATURE_PLACEHOLDER.as_slice(),
            &data[boundary..],
        ]
        .concat();
        let hash = seal::seal(&mut buf, SlotAt::Back).unwrap();
        let n = buf.len();
        signer
            .sign(&mut buf, SlotAt::Back, &record(&hash, n))
            .unwrap();
        let sig = signer.check_payload(&buf, SlotAt::Back).unwrap();
        let slot = seal::locate(&buf, SlotAt::Back).unwrap().signature.unwrap();
        assert!(slot < boundary && slot + SIGNATURE_LEN > boundary);
        let tree = signer.outboard(&buf, SlotAt::Back).unwrap();
        let ob = signer
            .check_outboard(&tree, buf.len() as u64, &sig)
            .unwrap();
        assert_eq!(ob.len(), buf.len().div_ceil(OUTBOARD_LEAF));
        for i in 0..ob.len() {
            let r = ob.leaf(i).unwrap();
            assert!(signer.check_leaf(&ob, i, &buf[r.clone()], slot), "leaf {i}");
            let mut bad = buf[r.clone()].to_vec();
            let at = (i * 9973) % bad.len();
            bad[at] ^= 1;
            // A flipped byte fails, unless it lies in the (masked) signature slot.
            let in_slot = (slot..slot + SIGNATURE_LEN).contains(&(r.start + at));
            assert_eq!(signer.check_leaf(&ob, i, &bad, slot), in_slot, "leaf {i}");
            assert!(!signer.check_leaf(&ob, (i + 1) % ob.len(), &buf[r], slot));
        }
        assert_eq!(ob.leaves_of(0..1), 0..1);
        assert_eq!(
            ob.leaves_of(OUTBOARD_LEAF as u64 - 1..OUTBOARD_LEAF as u64 + 1),
            0..2
        );
        assert_eq!(
            ob.leaves_of(buf.len() as u64 - 1..buf.len() as u64),
            ob.len() - 1..ob.len()
        );
        // Another length, another file's signature, another key, a cut tree: refused.
        assert!(
            signer
                .check_outboard(&tree, buf.len() as u64 + 1, &sig)
                .is_none()
        );
        let (other, _) = signed(&signer, &data[1..]);
        let other_sig = signer.check_payload(&other, SlotAt::Back).unwrap();
        assert!(
            signer
                .check_outboard(&tree, buf.len() as u64, &other_sig)
                .is_none()
        );
        let stranger = Signer::from_key(&[4; 32]);
        assert!(
            stranger
                .check_outboard(&tree, buf.len() as u64, &sig)
                .is_none()
        );
        assert!(
            signer
                .check_outboard(&tree[..tree.len() - 1], buf.len() as u64, &sig)
                .is_none()
        );
        let mut forged = tree.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(
            signer
                .check_outboard(&forged, buf.len() as u64, &sig)
                .is_none()
        );
        // Small files have no tree.
        let (small, _) = signed(&signer, &data[..OUTBOARD_LEAF]);
        assert!(signer.outboard(&small, SlotAt::Back).is_none());
    }

    proptest! {
        #[test]
        fn any_flipped_byte_fails_the_signature(data in proptest::collection::vec(any::<u8>(), 0..300),
                                                 flip in any::<prop::sample::Index>()) {
            let signer = Signer::from_key(&[1; 32]);
            let (mut buf, hash) = signed(&signer, &data);
            let sig = signer.check_payload(&buf, SlotAt::Back).unwrap();
            prop_assert!(signer.check_record(&sig, &record(&hash, buf.len())));
            prop_assert_eq!(seal::check(&buf, SlotAt::Back), Some(hash.clone()));
            let slots = seal::locate(&buf, SlotAt::Back).unwrap();
            let slot = slots.signature.unwrap();
            let i = flip.index(buf.len());
            buf[i] ^= 0x01;
            let verdict = signer.check_payload(&buf, SlotAt::Back);
            if (slot..slot + SIGNATURE_LEN).contains(&i) {
                // The slot itself: its MAC, key id or HMAC no longer match.
                let rec = record(&hash, buf.len());
                prop_assert!(verdict.is_err() || !signer.check_record(&verdict.unwrap(), &rec));
            } else if (slots.hash..slots.hash + seal::SLOT_LEN).contains(&i) {
                // The hash slot: covered by the MAC, or no longer found at all.
                prop_assert!(verdict.is_err());
            } else {
                // Any other byte: the payload MAC alone catches it, before any parsing.
                prop_assert_eq!(verdict, Err(Unverified::Mismatch));
            }
        }
    }

    #[test]
    fn fields_other_keys_and_missing_slots_are_told_apart() {
        let signer = Signer::from_key(&[1; 32]);
        let (buf, hash) = signed(&signer, b"payload");
        let sig = signer.check_payload(&buf, SlotAt::Back).unwrap();
        let rec = record(&hash, buf.len());
        assert!(signer.check_record(&sig, &rec));
        for changed in [
            Record {
                description: None,
                ..rec
            },
            Record {
                expires_at: Some(5),
                ..rec
            },
            Record {
                name: Some("d"),
                ..rec
            },
            Record {
                raw_bytes: 4,
                ..rec
            },
            Record {
                key: "0123456789abcdee",
                ..rec
            },
        ] {
            assert!(!signer.check_record(&sig, &changed), "{changed:?}");
        }
        let other = Signer::from_key(&[2; 32]);
        assert_eq!(
            other.check_payload(&buf, SlotAt::Back),
            Err(Unverified::OtherKey(signer.key_id()))
        );
        let mut unsigned = file(b"payload");
        seal::seal(&mut unsigned, SlotAt::Back).unwrap();
        assert_eq!(
            signer.check_payload(&unsigned, SlotAt::Back),
            Err(Unverified::Unsigned),
            "a slot left at its placeholder"
        );
        let mut malformed = buf.clone();
        let slot = seal::locate(&malformed, SlotAt::Back)
            .unwrap()
            .signature
            .unwrap();
        malformed[slot + 10] = b'g';
        assert_eq!(
            signer.check_payload(&malformed, SlotAt::Back),
            Err(Unverified::Malformed)
        );
        let mut legacy = [b"data".as_slice(), seal::PLACEHOLDER].concat();
        seal::seal(&mut legacy, SlotAt::Back).unwrap();
        assert_eq!(
            signer.check_payload(&legacy, SlotAt::Back),
            Err(Unverified::Unsigned)
        );
        assert_eq!(
            Signature::parse(sig.text().as_bytes()),
            Some(sig.clone()),
            "text round trip"
        );
    }

    #[test]
    fn key_sources_parse_and_bad_key_files_are_errors() {
        let hex64 = "ab".repeat(32);
        assert_eq!(SigningKey::parse(&hex64), Ok(SigningKey::Bytes([0xab; 32])));
        assert_eq!(SigningKey::parse("in-memory"), Ok(SigningKey::InMemory));
        assert_eq!(
            SigningKey::parse("file:/k"),
            Ok(SigningKey::File("/k".into()))
        );
        assert_eq!(SigningKey::parse("env:K"), Ok(SigningKey::Env("K".into())));
        assert!(SigningKey::parse("file:").is_err());
        assert!(SigningKey::parse("abc").is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/k.key");
        let a = Signer::load(&SigningKey::File(path.clone()), dir.path()).unwrap();
        let b = Signer::load(&SigningKey::File(path.clone()), dir.path()).unwrap();
        assert_eq!(a.key_id(), b.key_id(), "the created key is read back");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Signer::load(&SigningKey::File(path.clone()), dir.path()).unwrap_err();
            assert!(e.to_string().contains("chmod 600"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "abcd\n").unwrap();
        let e = Signer::load(&SigningKey::File(path.clone()), dir.path()).unwrap_err();
        assert!(e.to_string().contains("k.key"), "{e}");
        assert!(e.to_string().contains("64 hex digits"), "{e}");
        let e = Signer::load(
            &SigningKey::Env("CACHENESS_TEST_UNSET_KEY_VAR".into()),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("CACHENESS_TEST_UNSET_KEY_VAR"),
            "{e}"
        );
    }
}
