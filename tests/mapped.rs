//! Mapped gets (`get_array_mapped`): arrays stored as is are views of their payload file,
//! checked first; every other array comes back decoded, equal to what was put; a view outlives
//! the replacement or removal of its entry with its values unchanged.

use crate::common;

use cacheness::codec::array::{Element, MappedArray};
use cacheness::deps::ndarray::{Array, Array0, Array1, Array2, Array3, ArrayD, IxDyn};
use cacheness::{CacheConfig, blocking::Cache, params};

use crate::common::xorshift as bits;

/// `n` elements of random bits (stored as is when 4 MiB or more).
fn noise<T>(n: usize, seed: u64, from: impl Fn(u64) -> T) -> Vec<T> {
    let mut next = bits(seed);
    (0..n).map(|_| from(next())).collect()
}

/// Random bits as a float64 of any exponent but the top one (no NaNs or infinities).
fn float64(x: u64) -> f64 {
    f64::from_bits(x >> 2)
}

/// Random bits as a float32, as [`float64`].
fn float32(x: u64) -> f32 {
    f32::from_bits((x >> 34) as u32)
}

/// Put `a`, get it mapped: the same values and shape, a view where `zero_copy` says so.
fn check<T, D>(cache: &Cache, a: &Array<T, D>, name: &str, zero_copy: bool) -> MappedArray<T>
where
    T: Element + PartialEq + std::fmt::Debug,
    D: cacheness::deps::ndarray::Dimension,
    Array<T, D>: cacheness::Cacheable,
{
    let p = params!(array = name);
    cache.put(a, &p).unwrap();
    let got = cache
        .get_array_mapped::<T>(&p)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap();
    assert_eq!(got.is_zero_copy(), zero_copy, "{name}");
    assert_eq!(got.shape(), a.shape(), "{name}");
    assert!(
        got.view() == a.view().into_dyn(),
        "{name}: the values differ"
    );
    got
}

#[test]
fn arrays_stored_as_is_are_views_of_their_file_and_others_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    // Every numeric element type, 4 MiB or more of random bits: stored as is, one chunk.
    let n = 1 << 20;
    macro_rules! every_type {
        ($($t:ty, $len:expr, $seed:literal, $from:expr;)*) => {$(
            let a = Array1::from(noise($len, $seed, $from));
            check::<$t, _>(&cache, &a, stringify!($t), true);
        )*};
    }
    every_type! {
        f64, n, 1, float64;
        f32, 2 * n, 2, float32;
        i64, n, 3, |x| x as i64;
        u64, n, 4, |x| x;
        i32, n, 5, |x| x as i32;
        u32, n, 6, |x| x as u32;
        i16, 4 * n, 7, |x| x as i16;
        u16, 4 * n, 8, |x| x as u16;
        i8, 8 * n, 9, |x| x as i8;
        u8, 8 * n, 10, |x| x as u8;
    }
    // Shapes: rows that only a small block divides (a prime count), rows wider than a block,
    // three dimensions, and a non-contiguous (transposed) array.
    let prime = 1_048_573;
    let a = Array1::from(noise(prime, 11, float64));
    check(&cache, &a, "prime_rows", true);
    let wide = Array2::from_shape_vec((4, 700_001), noise(4 * 700_001, 12, |x| x as u32));
    check(&cache, &wide.unwrap(), "wide_rows", true);
    let cube = Array3::from_shape_vec((64, 128, 130), noise(64 * 128 * 130, 13, float64));
    check(&cache, &cube.unwrap(), "cube", true);
    let t = Array2::from_shape_vec((1000, 1100), noise(1_100_000, 14, float64)).unwrap();
    check(&cache, &t.clone().reversed_axes(), "transposed", true);
    // Data that compresses is decoded, and so are arrays with nothing to view: empty, 0-d.
    // (One element is in the test below: C-Blosc2 stores a chunk too small to compress as a
    // plain copy, viewed or not as the header's length happens to align it.)
    let runs = Array1::from_iter((0..3_000_000i32).map(|i| i / 100 % 999));
    check(&cache, &runs, "runs", false);
    check(&cache, &Array2::<f64>::zeros((0, 5)), "empty", false);
    check(&cache, &Array0::from_elem((), 3.5f64), "zero_d", false);
    // A mapped get is a get: a miss is None, a wrong element type an error naming both.
    assert!(
        cache
            .get_array_mapped::<f64>(&params!(array = "absent"))
            .unwrap()
            .is_none()
    );
    let err = cache
        .get_array_mapped::<i32>(&params!(array = "f64"))
        .unwrap_err();
    assert!(err.to_string().contains("float64"), "{err}");
    // The ordinary get of an array stored as is (copied out of the mapped file) is checked
    // the same: the values, another element type, another number of dimensions.
    let back: Array3<f64> = cache.get(&params!(array = "cube")).unwrap().unwrap();
    assert_eq!(back.shape(), &[64, 128, 130]);
    let err = cache
        .get::<Array1<i64>>(&params!(array = "f64"))
        .unwrap_err();
    assert!(err.to_string().contains("float64"), "{err}");
    let err = cache
        .get::<Array2<f64>>(&params!(array = "f64"))
        .unwrap_err();
    assert!(err.to_string().contains("1 dims"), "{err}");
    let stats = cache.stats().unwrap();
    assert_eq!(stats.misses, 1);
    assert!(stats.hits >= 17, "{stats:?}");
    // The view and an owned copy agree.
    let got = cache
        .get_array_mapped::<f64>(&params!(array = "cube"))
        .unwrap()
        .unwrap();
    let view: ArrayD<f64> = got.view().to_owned();
    assert_eq!(got.into_owned(), view);
}

#[test]
fn at_level_zero_every_array_is_stored_as_is_and_viewed() {
    // blosc2_level = 0 stores every array as is: small ones, bools, one element.
    let dir = tempfile::tempdir().unwrap();
    let mut config = CacheConfig::new(dir.path());
    config.codec.blosc2_level = 0;
    let cache = Cache::open_with(config).unwrap();
    check(&cache, &Array1::from_elem(1, 42u16), "one", true);
    let flags = Array2::from_shape_fn((300, 7), |(i, j)| (i * j) % 3 == 0);
    check(&cache, &flags, "flags", true);
    let small = ArrayD::from_shape_vec(IxDyn(&[3, 1, 5]), (0..15).collect::<Vec<i64>>());
    check(&cache, &small.unwrap(), "small", true);
    // Still nothing to view in an empty or 0-d array.
    check(&cache, &Array1::<f32>::zeros(0), "empty", false);
    check(&cache, &Array0::from_elem((), 1u8), "zero_d", false);
}

#[test]
fn a_view_outlives_the_replacement_and_removal_of_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let p = params!(array = "weights");
    let first = Array1::from(noise(1 << 20, 21, float64));
    let second = Array1::from(noise(1 << 20, 22, float64));
    cache.put(&first, &p).unwrap();
    let before = cache.get_array_mapped::<f64>(&p).unwrap().unwrap();
    assert!(before.is_zero_copy());

    // Replaced (a new file renamed over the old one): the view keeps the old values, a new
    // get sees the new ones.
    cache.put(&second, &p).unwrap();
    assert!(before.view() == first.view().into_dyn());
    let after = cache.get_array_mapped::<f64>(&p).unwrap().unwrap();
    assert!(after.view() == second.view().into_dyn());

    // Invalidated, cleared, evicted (files unlinked): the views still read, unchanged.
    assert!(cache.invalidate(&p).unwrap());
    assert!(cache.get_array_mapped::<f64>(&p).unwrap().is_none());
    cache.put(&first, &p).unwrap();
    let third = cache.get_array_mapped::<f64>(&p).unwrap().unwrap();
    cache.clear().unwrap();
    assert!(common::payload_files(dir.path()).is_empty());
    let sum = |m: &MappedArray<f64>| m.view().iter().map(|v| v.to_bits() as u128).sum::<u128>();
    let bit_sum = |a: &Array1<f64>| a.iter().map(|v| v.to_bits() as u128).sum::<u128>();
    assert_eq!(sum(&before), bit_sum(&first));
    assert_eq!(sum(&after), bit_sum(&second));
    assert_eq!(sum(&third), bit_sum(&first));
    // The views are values like any other: sent to another thread, they read there.
    let handle = std::thread::spawn(move || sum(&after));
    assert_eq!(handle.join().unwrap(), bit_sum(&second));
}

#[test]
fn an_expired_array_is_a_miss_for_the_mapped_get_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let p = params!(array = "short");
    let a = Array1::from(noise(1 << 20, 41, float64));
    let ttl = std::time::Duration::from_millis(300);
    let put_at = std::time::Instant::now();
    cache
        .put_with(&a, &p, &cacheness::PutOptions::default().ttl(ttl))
        .unwrap();
    let live = cache.get_array_mapped::<f64>(&p).unwrap();
    // On a loaded machine the TTL may pass before the get: only then may it be a miss.
    if put_at.elapsed() < ttl {
        assert!(live.is_some_and(|m| m.is_zero_copy()));
    }
    std::thread::sleep(ttl.saturating_sub(put_at.elapsed()) + std::time::Duration::from_millis(50));
    assert!(cache.get_array_mapped::<f64>(&p).unwrap().is_none());
    assert!(common::payload_files(dir.path()).is_empty());
    assert_eq!(cache.stats().unwrap().removed_expired, 1);
}

#[test]
fn a_flipped_byte_in_a_mapped_payload_is_a_miss_removed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let a = Array1::from(noise(1 << 20, 31, float64));
    // Both gets of an array stored as is read the mapped file: the view, and the ordinary
    // get's one copy out of it.
    let places = [0.0, 0.001, 0.5, 0.999, 1.0];
    let gets = places
        .iter()
        .map(|_| true)
        .chain(places.iter().map(|_| false));
    for (i, (at, mapped)) in places.iter().cycle().zip(gets).enumerate() {
        let p = params!(array = "tampered", at = i as i64);
        let key = cache.put(&a, &p).unwrap();
        let path = common::payload_files(dir.path())
            .into_iter()
            .find(|f| f.to_string_lossy().contains(key.as_str()))
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let pos = ((bytes.len() - 1) as f64 * at) as usize;
        bytes[pos] ^= 0x08;
        std::fs::write(&path, &bytes).unwrap();
        let served = match mapped {
            true => cache.get_array_mapped::<f64>(&p).unwrap().is_some(),
            false => cache.get::<Array1<f64>>(&p).unwrap().is_some(),
        };
        assert!(!served, "byte {pos} flipped was served (mapped: {mapped})");
        assert!(!path.exists(), "byte {pos}: the payload was left");
        let stats = cache.stats().unwrap();
        assert_eq!(
            stats.removed_corrupt + stats.removed_invalid_signature,
            i as u64 + 1
        );
    }
}
