//! Tampering: each way of altering a signed cache is detected and never served
//! (`docs/SECURITY.md`). Bytes changed and re-hashed are in tests/fuzz.rs; random damage in
//! tests/integrity.rs.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cacheness::blocking::Cache;
use cacheness::catalog::CatalogOp;
use cacheness::deps::ndarray::Array1;
use cacheness::repair::ProblemKind;
use cacheness::{CacheConfig, Serde, SigningKey, params};
use cacheness_format::seal::{SIGNATURE_LEN, SIGNATURE_PLACEHOLDER, SlotAt};

fn config(dir: &Path) -> CacheConfig {
    common::files_only(dir).with_commit_interval(Duration::from_secs(3600))
}

fn payload(root: &Path, key: &str, ext: &str) -> PathBuf {
    root.join(format!("blobs/{}/{key}.{ext}", &key[..2]))
}

/// The signature slot of a payload file.
fn signature_slot(bytes: &[u8], at: SlotAt) -> std::ops::Range<usize> {
    let slots = cacheness_format::seal::locate(bytes, at).unwrap();
    let s = slots.signature.expect("signed");
    s..s + SIGNATURE_LEN
}

#[test]
fn a_swapped_signature_is_detected_and_the_payload_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let (a, b) = (params!(n = 1), params!(n = 2));
    let ka = cache.put(&Serde("alpha".to_string()), &a).unwrap();
    let kb = cache.put(&Serde("beta".to_string()), &b).unwrap();
    let (pa, pb) = (
        payload(dir.path(), &ka, "cnobj"),
        payload(dir.path(), &kb, "cnobj"),
    );
    let a_bytes = std::fs::read(&pa).unwrap();
    let mut b_bytes = std::fs::read(&pb).unwrap();
    let (sa, sb) = (
        signature_slot(&a_bytes, SlotAt::Front),
        signature_slot(&b_bytes, SlotAt::Front),
    );
    b_bytes[sb].copy_from_slice(&a_bytes[sa]);
    std::fs::write(&pb, &b_bytes).unwrap();
    // The content hash does not cover the signature slot: only the signature catches this.
    assert!(cacheness_format::seal::check(&b_bytes, SlotAt::Front).is_some());
    assert_eq!(cache.get::<Serde<String>>(&b).unwrap(), None);
    assert!(
        !pb.exists(),
        "removed (delete_invalid_signatures is on by default)"
    );
    let stats = cache.stats().unwrap();
    assert_eq!(
        (stats.invalid_signatures, stats.removed_invalid_signature),
        (1, 1)
    );
    assert_eq!(
        cache.get::<Serde<String>>(&a).unwrap(),
        Some(Serde("alpha".into()))
    );
}

#[test]
fn the_signature_is_checked_before_any_metadata_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(n = 1);
    let key = cache.put(&Serde(5u32), &p).unwrap();
    let path = payload(dir.path(), &key, "cnobj");
    let mut bytes = std::fs::read(&path).unwrap();
    // Garble the entry metadata in the container header (after both slots), then re-hash:
    // were it parsed first, this would be reported as a corrupt payload.
    let slot = signature_slot(&bytes, SlotAt::Front);
    for b in &mut bytes[slot.end + 8..slot.end + 40] {
        *b = 0xc1; // never valid MessagePack
    }
    let hash = cacheness_format::seal::locate(&bytes, SlotAt::Front)
        .unwrap()
        .hash;
    bytes[hash..hash + cacheness_format::seal::SLOT_LEN]
        .copy_from_slice(cacheness_format::seal::PLACEHOLDER);
    cacheness_format::seal::seal(&mut bytes, SlotAt::Front).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(cache.get::<Serde<u32>>(&p).unwrap(), None);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.invalid_signatures, stats.removed_corrupt), (1, 0));
}

#[test]
fn payloads_swapped_between_two_keys_are_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let (a, b) = (params!(n = 1), params!(n = 2));
    let ka = cache.put(&Array1::from(vec![1.0f64; 100]), &a).unwrap();
    let kb = cache.put(&Array1::from(vec![2.0f64; 100]), &b).unwrap();
    let (pa, pb) = (
        payload(dir.path(), &ka, "b2nd"),
        payload(dir.path(), &kb, "b2nd"),
    );
    let (a_bytes, b_bytes) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    std::fs::write(&pa, &b_bytes).unwrap();
    std::fs::write(&pb, &a_bytes).unwrap();
    // Both are validly signed, by this cache's key: their own metadata names the other key.
    let report = cache.verify().unwrap();
    assert_eq!(report.problems.len(), 2, "{report:?}");
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::CorruptPayload && p.detail.contains("belongs to key")),
        "{report:?}"
    );
    assert_eq!(cache.get::<Array1<f64>>(&a).unwrap(), None);
    assert_eq!(cache.get::<Array1<f64>>(&b).unwrap(), None);
    assert_eq!(cache.get::<Array1<f64>>(&ka).unwrap(), None);
}

#[test]
fn a_changed_catalog_field_is_a_tampered_row_and_gets_ignore_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(model = "m");
    let key = cache
        .put_with(
            &Serde(7),
            &p,
            &cacheness::PutOptions::default().ttl(Duration::from_secs(3600)),
        )
        .unwrap();
    cache.flush().unwrap();
    let mut row = common::delta_rows(dir.path())
        .into_iter()
        .find(|r| r.cache_key == key)
        .unwrap();
    assert!(
        row.check_signature(cache.signer()).is_ok(),
        "a row as written verifies alone"
    );
    // Someone with write access to the catalog extends the entry's life.
    row.expires_at = row.expires_at.map(|e| e + 3_600_000_000 * 24 * 365);
    assert!(row.check_signature(cache.signer()).is_err());
    cache
        .catalog()
        .submit(CatalogOp::Put {
            row: Box::new(row),
            replaces: true,
        })
        .unwrap();
    cache.flush().unwrap();
    let report = cache.verify().unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!(report.problems[0].kind, ProblemKind::TamperedRow);
    assert!(
        report.problems[0].detail.contains("expires_at"),
        "{}",
        report.problems[0].detail
    );
    // Gets never read the catalog: the payload's signed expiry rules.
    let info = cache.info(&key).unwrap().unwrap();
    assert!(info.expires_at.unwrap() < chrono::Utc::now() + chrono::Duration::hours(2));
    cache.repair().unwrap();
    assert!(cache.verify().unwrap().is_clean());
    let row = common::delta_rows(dir.path())
        .into_iter()
        .find(|r| r.cache_key == key)
        .unwrap();
    assert!(row.check_signature(cache.signer()).is_ok());
}

#[test]
fn a_replaced_key_file_makes_every_entry_invalid_and_deletion_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let keys: Vec<cacheness::CacheKey> = (0..3)
        .map(|i| cache.put(&Serde(i), &params!(i = i)).unwrap())
        .collect();
    let old_id = cache.signer().key_id();
    cache.close().unwrap();
    drop(cache);
    let key_file = dir.path().join("signing.key");
    let original = std::fs::read(&key_file).unwrap();
    // Another key in its place (a deleted one is refused at open: cli/tests/hostile.rs): none
    // of the old entries verify.
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let cache = Cache::open_with(config(dir.path()).with_delete_invalid_signatures(false)).unwrap();
    assert_ne!(cache.signer().key_id(), old_id);
    for i in 0..3 {
        assert_eq!(cache.get::<Serde<i32>>(&params!(i = i)).unwrap(), None);
    }
    assert_eq!(cache.stats().unwrap().invalid_signatures, 3);
    let report = cache.verify().unwrap();
    assert_eq!(report.problems.len(), 3);
    for p in &report.problems {
        assert_eq!(p.kind, ProblemKind::InvalidSignature);
        assert!(
            p.detail.contains(&old_id),
            "names the other key: {}",
            p.detail
        );
    }
    cache.repair().unwrap();
    for k in &keys {
        assert!(
            payload(dir.path(), k, "cnobj").exists(),
            "kept: deletion is off"
        );
    }
    cache.close().unwrap();
    drop(cache);
    // Putting the right key back makes them readable again.
    std::fs::write(&key_file, &original).unwrap();
    let cache = common::open_files_quiet(dir.path());
    for i in 0..3 {
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = i)).unwrap(),
            Some(Serde(i))
        );
    }
}

#[test]
fn unsigned_payloads_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(n = 1);
    let key = cache.put(&Serde(vec![1u8, 2, 3]), &p).unwrap();
    let path = payload(dir.path(), &key, "cnobj");
    let mut bytes = std::fs::read(&path).unwrap();
    let slot = signature_slot(&bytes, SlotAt::Front);
    bytes[slot].copy_from_slice(SIGNATURE_PLACEHOLDER);
    std::fs::write(&path, &bytes).unwrap();
    assert!(cacheness_format::seal::check(&bytes, SlotAt::Front).is_some());
    cache.close().unwrap();
    drop(cache);

    let kept = Cache::open_with(config(dir.path()).with_delete_invalid_signatures(false)).unwrap();
    assert_eq!(kept.get::<Serde<Vec<u8>>>(&p).unwrap(), None);
    assert!(path.exists());
    kept.close().unwrap();
    drop(kept);

    let allowing = Cache::open_with(config(dir.path()).with_allow_unsigned_entries(true)).unwrap();
    assert_eq!(
        allowing.get::<Serde<Vec<u8>>>(&p).unwrap(),
        Some(Serde(vec![1, 2, 3]))
    );
    assert_eq!(allowing.info(&key).unwrap().unwrap().signature, None);
    allowing.close().unwrap();
    drop(allowing);

    let strict = common::open_files_quiet(dir.path());
    assert_eq!(strict.get::<Serde<Vec<u8>>>(&p).unwrap(), None);
    assert!(!path.exists(), "removed by default");
}

#[test]
fn signing_settings_are_refused_in_the_cache_directory_and_keys_are_per_source() {
    let dir = tempfile::tempdir().unwrap();
    for line in [
        "signing_key = \"in-memory\"",
        "allow_unsigned_entries = true",
        "delete_invalid_signatures = false",
    ] {
        std::fs::write(dir.path().join("cacheness.toml"), line).unwrap();
        let e = Cache::open_with(config(dir.path()))
            .unwrap_err()
            .to_string();
        let setting = line.split(' ').next().unwrap();
        assert!(e.contains("cacheness.toml") && e.contains(setting), "{e}");
    }
    std::fs::remove_file(dir.path().join("cacheness.toml")).unwrap();

    // A key file outside the root; a process-only key; a given key.
    let outside = tempfile::tempdir().unwrap();
    let key_path = outside.path().join("cache.key");
    let a =
        Cache::open_with(config(dir.path()).with_signing_key(SigningKey::File(key_path.clone())))
            .unwrap();
    let p = params!(n = 1);
    a.put(&Serde(1), &p).unwrap();
    assert!(key_path.exists());
    assert!(
        !dir.path().join("signing.key").exists(),
        "no key under the root"
    );
    let memory = Cache::open_with(
        config(dir.path())
            .with_signing_key(SigningKey::InMemory)
            .with_delete_invalid_signatures(false),
    )
    .unwrap();
    assert_eq!(memory.get::<Serde<i32>>(&p).unwrap(), None, "another key");
    memory.put(&Serde(2), &params!(n = 2)).unwrap();
    assert_eq!(
        memory.get::<Serde<i32>>(&params!(n = 2)).unwrap(),
        Some(Serde(2))
    );
    let hex = std::fs::read_to_string(&key_path).unwrap();
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex.trim()[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let given = Cache::open_with(
        config(dir.path()).with_signing_key(SigningKey::Bytes(bytes.try_into().unwrap())),
    )
    .unwrap();
    assert_eq!(given.get::<Serde<i32>>(&p).unwrap(), Some(Serde(1)));
    // A malformed key file is an error, never replaced.
    std::fs::write(&key_path, "not a key\n").unwrap();
    let e =
        Cache::open_with(config(dir.path()).with_signing_key(SigningKey::File(key_path.clone())))
            .unwrap_err()
            .to_string();
    assert!(e.contains("cache.key"), "{e}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), "not a key\n");
}
