//! Where a large array's put and get go: each step of the cache's path alone (encode, seal,
//! sign, write, of which a put on disk does the last three in one pass, `sealing_write`;
//! read, verify, decode; and the map a mapped get makes instead of the read), timed on the
//! same array beside a copy into a fresh buffer. W2 reports it for its largest arrays, so a
//! reader can see which step bounds them.

use cacheness::codec::EncodeCtx;
use cacheness::deps::ndarray::Array1;
use cacheness::{Cacheable, CodecOptions, DataType, Element, EntryMeta};
use cacheness_format::seal::SlotAt;
use cacheness_format::signing::{Record, Signer};
use serde_json::json;

use crate::timing::{Samples, round};

const REPS: usize = 3;

fn ms(f: impl FnMut(usize)) -> f64 {
    round(Samples::collect(REPS, f).p50() / 1000.0)
}

/// The steps of a put and a get of `arr` in `dir`, medians in ms.
pub fn array<T: Element>(arr: &Array1<T>, dir: &std::path::Path) -> serde_json::Value {
    let meta = EntryMeta::bare("0123456789abcdef", DataType::Ndarray);
    let options = CodecOptions::default();
    let ctx = EncodeCtx {
        meta: &meta,
        options: &options,
        mappable: true,
    };
    let Ok(mut encoded) = arr.encode(&ctx) else {
        return json!({"error": "the array did not encode"});
    };
    let encode = ms(|_| {
        if let Ok(e) = arr.encode(&ctx) {
            encoded = e;
        }
    });
    let (stored_meta, _) = match cacheness::Format::B2nd.read_meta(&encoded.bytes, "phases") {
        Ok(m) => m,
        Err(e) => return json!({"error": e.to_string()}),
    };
    let signer = Signer::from_key(&[7; 32]);
    // A payload is sealed and signed once (its slots then hold the values): each rep seals
    // or signs a fresh copy, and only that is timed.
    let timed_on_copies = |of: &[u8], step: &mut dyn FnMut(&mut [u8]) -> bool| {
        let mut us = Vec::with_capacity(REPS);
        for _ in 0..REPS {
            let mut copy = of.to_vec();
            let t = std::time::Instant::now();
            let done = step(&mut copy);
            us.push(t.elapsed().as_secs_f64() * 1e6);
            if !done {
                return None;
            }
        }
        Some(round(Samples(us).p50() / 1000.0))
    };
    let Some(seal) = timed_on_copies(&encoded.bytes, &mut |b| {
        cacheness_format::seal::seal(b, SlotAt::Back).is_some()
    }) else {
        return json!({"error": "the payload has no hash slot"});
    };
    let Some(hash) = cacheness_format::seal::seal(&mut encoded.bytes, SlotAt::Back) else {
        return json!({"error": "the payload has no hash slot"});
    };
    let record = Record {
        key: &meta.key,
        data_type: "ndarray",
        format: "b2nd",
        raw_bytes: stored_meta.raw_bytes,
        stored_bytes: encoded.bytes.len() as u64,
        content_hash: &hash,
        created_at: 0,
        expires_at: None,
        description: None,
        name: None,
    };
    let Some(sign) = timed_on_copies(&encoded.bytes, &mut |b| {
        signer.sign(b, SlotAt::Back, &record).is_some()
    }) else {
        return json!({"error": "the payload has no signature slot"});
    };
    signer.sign(&mut encoded.bytes, SlotAt::Back, &record);
    let path = dir.join("phases.b2nd");
    let write = ms(|_| {
        std::fs::write(&path, &encoded.bytes).ok();
    });
    let mut read_back = Vec::new();
    let read = ms(|_| read_back = std::fs::read(&path).unwrap_or_default());
    let verify = ms(|_| {
        std::hint::black_box(signer.check_payload(&read_back, SlotAt::Back).is_ok());
    });
    // What a mapped get adds to the verification: the map, its pages read ahead.
    let map = ms(|_| {
        let file = std::fs::File::open(&path).ok();
        // SAFETY: the file is this function's own and nothing writes it while it is mapped.
        #[allow(unsafe_code)]
        let mapped =
            file.and_then(|f| unsafe { memmap2::MmapOptions::new().populate().map(&f) }.ok());
        std::hint::black_box(mapped.map(|m| m.len()));
    });
    let bytes = bytes::Bytes::from(read_back.clone());
    let decode = ms(|_| {
        std::hint::black_box(Array1::<T>::decode(bytes.clone(), &stored_meta).is_ok());
    });
    let copy = ms(|_| {
        std::hint::black_box(read_back.clone());
    });
    std::fs::remove_file(&path).ok();
    json!({
        "put": {"encode_ms": encode, "seal_ms": seal, "sign_ms": sign, "write_ms": write},
        "get": {"read_ms": read, "verify_ms": verify, "decode_ms": decode, "map_ms": map},
        "copy_into_fresh_vec_ms": copy,
    })
}
