//! Parts of cached arrays (`get_array_slice`): every slice equals the same slice of the whole
//! array, across Blosc2 chunk boundaries and chunk grids of several dimensions; slices that do
//! not fit are errors naming the entry.

// One range per dimension: one-element arrays of ranges are one-dimensional slices.
#![allow(clippy::single_range_in_vec_init)]

use cacheness::deps::ndarray::{Array, ArrayD, IxDyn, SliceInfoElem};
use cacheness::{Error, FormatError, blocking::Cache, params};
use proptest::prelude::*;

/// The same part of `a`, cut by ndarray.
fn cut<T: Clone>(a: &ArrayD<T>, ranges: &[std::ops::Range<usize>]) -> ArrayD<T> {
    let info: Vec<SliceInfoElem> = ranges
        .iter()
        .map(|r| SliceInfoElem::Slice {
            start: r.start as isize,
            end: Some(r.end as isize),
            step: 1,
        })
        .collect();
    a.slice(info.as_slice()).to_owned()
}

fn array(shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f64 * 0.5).collect()).unwrap()
}

#[test]
fn slices_across_chunks_equal_slices_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    // 3 × 2 Mi float64s: chunks of 1 × 1 Mi (8 MiB), a 3 × 2 grid of them.
    let wide = array(&[3, 2 << 20]);
    cache.put(&wide, &params!(a = "wide")).unwrap();
    let edge = 1 << 20;
    for ranges in [
        vec![0..3, 0..(2 << 20)],
        vec![1..2, edge - 5..edge + 5],
        vec![0..3, edge..edge + 1],
        vec![2..3, (2 << 20) - 3..(2 << 20)],
        vec![1..1, 0..10],
    ] {
        let part = cache
            .get_array_slice::<f64>(&params!(a = "wide"), &ranges)
            .unwrap()
            .unwrap();
        assert_eq!(part, cut(&wide, &ranges), "{ranges:?}");
    }
    // Bools are checked as a whole get checks them; other element types too.
    let flags = Array::from_shape_fn((40, 7), |(i, j)| (i + j) % 3 == 0).into_dyn();
    cache.put(&flags, &params!(a = "flags")).unwrap();
    let part = cache
        .get_array_slice::<bool>(&params!(a = "flags"), &[5..20, 2..7])
        .unwrap()
        .unwrap();
    assert_eq!(part, cut(&flags, &[5..20, 2..7]));
    assert_eq!(
        cache
            .get_array_slice::<bool>(&params!(a = "missing"), &[0..1])
            .unwrap(),
        None
    );
}

#[test]
fn slices_that_do_not_fit_are_errors_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let p = params!(a = 1);
    let key = cache.put(&array(&[4, 5]), &p).unwrap();
    for (ranges, says) in [
        (vec![0..4], "2 dimensions, the slice 1"),
        (vec![0..5, 0..5], "dimension 0 has 4 elements; 0..5"),
        #[allow(clippy::reversed_empty_ranges)]
        (vec![0..4, 3..2], "dimension 1 has 5 elements; 3..2"),
    ] {
        match cache.get_array_slice::<f64>(&p, &ranges) {
            Err(e @ Error::Format(FormatError::InvalidSlice { .. })) => {
                let text = e.to_string();
                assert!(text.contains(key.as_str()) && text.contains(says), "{text}");
            }
            other => panic!("{ranges:?}: {other:?}"),
        }
    }
    assert!(matches!(
        cache.get_array_slice::<i32>(&p, &[0..1, 0..1]),
        Err(Error::Format(FormatError::WrongType { .. }))
    ));
    cache.put(&cacheness::Serde(1u8), &params!(a = 2)).unwrap();
    assert!(matches!(
        cache.get_array_slice::<f64>(&params!(a = 2), &[0..1]),
        Err(Error::Format(FormatError::WrongType { .. }))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_slice_equals_the_slice_of_the_whole(
        shape in proptest::collection::vec(1usize..9, 1..4),
        picks in proptest::collection::vec((0usize..9, 0usize..9), 3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let a = array(&shape).mapv(|x| x as i64);
        cache.put(&a, &params!(p = 1)).unwrap();
        let ranges: Vec<_> = shape
            .iter()
            .zip(&picks)
            .map(|(&n, &(x, y))| (x % (n + 1)).min(y % (n + 1))..(x % (n + 1)).max(y % (n + 1)))
            .collect();
        let part = cache.get_array_slice::<i64>(&params!(p = 1), &ranges).unwrap().unwrap();
        prop_assert_eq!(part, cut(&a, &ranges));
    }
}
