//! The published on-disk spec of Cacheness: how a key is derived from parameters, and what the
//! bytes of a payload file are. Everything another implementation (the Python package, a
//! reader in another language) must agree on byte for byte lives here, with the golden
//! vectors that pin it (`tests/data/`); nothing here knows where files live, and nothing here
//! needs tokio or DataFusion.
//!
//! - [`keys`]: named, typed [`Params`] and the key spec (XXH3-64 over a canonical encoding;
//!   `docs/KEYS.md`): Rust values as parameters ([`keys::param`]), files and directory trees
//!   keyed by content ([`keys::content`]), arrays and Arrow tables keyed by their values
//!   ([`keys::data_digest`]).
//! - [`codec`]: the [`Cacheable`] trait (sealed) and the payload formats: Parquet for Arrow
//!   tables, Blosc2 `.b2nd` for arrays, a documented container for serde values, bytes and
//!   JSON (`docs/FORMATS.md`); [`EntryMeta`], the metadata every payload carries.
//! - [`seal`]: the whole-file XXH3-128 content hash stored inside each payload.
//! - [`signing`]: signing keys, the payload MAC, the entry HMAC and the outboard tree that
//!   lets a part of a large payload be checked alone (`docs/SECURITY.md`).
//! - [`buffers`]: large payload buffers, advised huge pages; [`parallel`]: work spread over
//!   the cores (the codecs' columns, the MAC's leaves).
//! - [`error`]: [`Error`], which names the key, file or value at fault, and [`Invalid`], the
//!   reason a text or file is not what it should be.
//!
//! The store (`cacheness-store`) puts these bytes in files and checks them on every read: a
//! decoder here is only ever given bytes whose signature and content hash passed.

#![warn(missing_docs)]

pub mod buffers;
pub mod codec;
pub mod error;
pub mod keys;
pub mod parallel;
pub mod seal;
pub mod signing;

pub use codec::array::Element;
pub use codec::object::RawObject;
pub use codec::{Cacheable, CodecOptions, DataType, EntryMeta, Format, Serde};
pub use error::{Error, Invalid, Result};
pub use keys::{CacheKey, Params, Value};
pub use signing::SigningKey;
