//! One error type for the whole API (`cacheness::Error`): the layers' errors are causes of one
//! variant each, an `std::io::Error` converts with `?`, and what failed is named.

use std::error::Error as _;

use cacheness::{Error, FormatError, Serde, blocking::Cache, params};

/// Code of the caller's that mixes its own file reads with the cache: `?` works on both.
fn load_and_cache(cache: &Cache, file: &std::path::Path) -> cacheness::Result<usize> {
    let bytes = std::fs::read(file)?;
    cache.put(&bytes, &params!(file = file.display().to_string()))?;
    Ok(bytes.len())
}

#[test]
fn an_io_error_converts_and_keeps_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c")).unwrap();
    let err = load_and_cache(&cache, &dir.path().join("missing")).unwrap_err();
    let Error::OtherIo(io) = &err else {
        panic!("expected OtherIo, got {err:?}");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let cause = err.source().expect("the io error is the cause");
    assert!(
        cause.downcast_ref::<std::io::Error>().is_some(),
        "{cause:?}"
    );

    std::fs::write(dir.path().join("there"), b"abc").unwrap();
    assert_eq!(
        load_and_cache(&cache, &dir.path().join("there")).unwrap(),
        3
    );
}

#[test]
fn a_format_error_is_one_variant_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let p = params!(run = 1);
    let key = cache.put(&Serde(vec![1u8, 2]), &p).unwrap();
    let err = cache.get::<Vec<u8>>(&p).unwrap_err();
    match &err {
        Error::Format(FormatError::WrongType {
            key: k,
            stored,
            requested,
        }) => {
            assert_eq!(k, &key);
            assert_eq!(stored, "object");
            assert_eq!(requested, "bytes");
        }
        other => panic!("expected a wrong-type error, got {other:?}"),
    }
    assert!(err.to_string().contains(key.as_str()), "{err}");

    let bad = cache.get::<Serde<u8>>(&params!(path = "x")).unwrap_err();
    assert!(
        matches!(bad, Error::Format(FormatError::InvalidParamName { ref name, .. }) if name == "path"),
        "{bad:?}"
    );
}
