//! Object stores for remote locations, and the factories that make delta-rs open them.
//!
//! Credentials and endpoints come from the usual environment variables (`AWS_*`, `GOOGLE_*`,
//! `AZURE_*`, as `object_store`'s `from_env` builders read them), overridden by explicit
//! options. Every request runs on the IO runtime ([`crate::io`]).
//!
//! Delta commits on a remote location use the object store's put-if-absent
//! (`PutMode::Create`: on S3 the `If-None-Match: *` conditional write), so commits from
//! several hosts never overwrite each other and no lock service is needed. [`register`]
//! installs the factories that make delta-rs open such URLs with those settings.
//!
//! The S3, GCS and Azure backends are always compiled: delta-rs's kernel enables all three
//! features of `object_store` itself, so leaving them out of this crate would save nothing.

use std::collections::HashMap;
use std::sync::{Arc, Once};

use deltalake::logstore::{
    DeltaIOStorageBackend, IORuntime, LogStore, LogStoreFactory, ObjectStoreFactory,
    ObjectStoreRef, StorageConfig, default_logstore, logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use url::Url;

use crate::io::io_runtime;
use crate::location::REMOTE_SCHEMES;

/// Build the store for `url` (rooted at its bucket) and the path of its prefix. Settings come
/// from the environment, then `options`.
pub(crate) fn build_store(
    url: &Url,
    options: &HashMap<String, String>,
) -> std::result::Result<(Arc<dyn ObjectStore>, ObjectPath), object_store::Error> {
    let (scheme, path) = object_store::ObjectStoreScheme::parse(url)?;
    let path = ObjectPath::parse(path)?;
    let root = format!("{}://{}", url.scheme(), url.authority());
    // Every request runs on the IO runtime, whichever runtime (or plain thread) awaits it:
    // connection pools stay on one live runtime.
    macro_rules! with_options {
        ($builder:expr) => {{
            let mut builder = $builder.with_url(root.clone());
            for (k, v) in options {
                if let Ok(key) = k.to_ascii_lowercase().parse() {
                    builder = builder.with_config(key, v.clone());
                }
            }
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
            Arc::new(DeltaIOStorageBackend::new(
                store,
                IORuntime::RT(io_runtime().handle().clone()),
            )) as Arc<dyn ObjectStore>
        }};
    }
    use object_store::ObjectStoreScheme as S;
    let store = match scheme {
        S::AmazonS3 => with_options!(object_store::aws::AmazonS3Builder::from_env()),
        S::GoogleCloudStorage => {
            with_options!(object_store::gcp::GoogleCloudStorageBuilder::from_env())
        }
        S::MicrosoftAzure => with_options!(object_store::azure::MicrosoftAzureBuilder::from_env()),
        other => {
            return Err(object_store::Error::NotSupported {
                source: format!("{other:?} is not an object store a cache can live on").into(),
            });
        }
    };
    Ok((store, path))
}

/// Opens object store URLs for delta-rs with [`build_store`]'s settings.
struct StoreFactory;

impl ObjectStoreFactory for StoreFactory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, ObjectPath)> {
        let (store, path) = build_store(url, &config.raw).map_err(DeltaTableError::from)?;
        Ok((store, path))
    }
}

/// Commits with put-if-absent (delta-rs's default log store): on S3 a conditional write.
struct PutIfAbsentLogStores;

impl LogStoreFactory for PutIfAbsentLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Teach delta-rs to open the [`REMOTE_SCHEMES`] (once per process).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let stores: Arc<dyn ObjectStoreFactory> = Arc::new(StoreFactory);
        let logs: Arc<dyn LogStoreFactory> = Arc::new(PutIfAbsentLogStores);
        for scheme in REMOTE_SCHEMES {
            if let Ok(url) = Url::parse(&format!("{scheme}://")) {
                object_store_factories().insert(url.clone(), stores.clone());
                logstore_factories().insert(url, logs.clone());
            }
        }
    });
}
