//! Where a cache's shared files live: a local directory, or a prefix in an object store
//! (`s3://`, `gs://`, `az://`/`abfs://`/`abfss://`), reached through `object_store`.
//!
//! A [`Location`] is the one type every shared file goes through: payloads, the
//! `cache_entries` Delta table, custom metadata tables and pull-through tables. A local
//! directory keeps its fast path (plain files, rename, mmap: `docs/ARCHITECTURE.md`); a remote
//! location is an [`ObjectStore`] rooted at the bucket plus the prefix inside it.
//!
//! Credentials and endpoints come from the usual environment variables (`AWS_*`, `GOOGLE_*`,
//! `AZURE_*`, as `object_store`'s `from_env` builders read them), overridden by explicit
//! options (the same keys, e.g. `aws_endpoint`, `aws_allow_http`; see `docs/SCALE.md`).
//!
//! The stores themselves are built by [`crate::object_stores`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{Result, StorageError};
use crate::io::on_io;
use crate::object_stores::{build_store, register};

/// URL schemes that name an object store.
pub const REMOTE_SCHEMES: [&str; 7] = ["s3", "s3a", "gs", "az", "adl", "abfs", "abfss"];

/// Where a cache's shared files live.
#[derive(Clone)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// A prefix in an object store.
    Remote(Remote),
}

/// A prefix in an object store, with the options it was opened with.
#[derive(Clone)]
pub struct Remote {
    /// The URL of the prefix, ending in `/`.
    url: Url,
    /// The store, rooted at the bucket (or container).
    store: Arc<dyn ObjectStore>,
    /// The prefix inside the bucket (no leading or trailing `/`).
    prefix: ObjectPath,
    /// Options given explicitly (they override the environment).
    options: HashMap<String, String>,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.label())
    }
}

impl Location {
    /// Whether `text` names an object store (`s3://…` and the other [`REMOTE_SCHEMES`]).
    pub fn is_remote_url(text: &str) -> bool {
        text.split_once("://").is_some_and(|(scheme, _)| {
            REMOTE_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
        })
    }

    /// Parse a cache location: an object store URL, a `file://` URL, or a local path.
    /// `options` are object store settings (credentials, endpoint) that override the
    /// environment; they are ignored for local paths.
    pub fn parse(text: &str, options: &HashMap<String, String>) -> Result<Self> {
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Location::Local(PathBuf::from(path)));
        }
        if !Self::is_remote_url(text) {
            return Ok(Location::Local(PathBuf::from(text)));
        }
        let bad = |message: String| StorageError::Location {
            location: text.to_string(),
            message,
        };
        let mut url = Url::parse(text).map_err(|e| bad(format!("not a valid URL: {e}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad(
                "the URL names no bucket (e.g. s3://bucket/prefix)".into()
            ));
        }
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        let (store, prefix) = build_store(&url, options).map_err(|e| bad(e.to_string()))?;
        register();
        Ok(Location::Remote(Remote {
            url,
            store,
            prefix,
            options: options.clone(),
        }))
    }

    /// The location of `rel` (a `/`-separated relative path) inside this one.
    pub fn join(&self, rel: &str) -> Self {
        match self {
            Location::Local(dir) => Location::Local(dir.join(rel)),
            Location::Remote(r) => {
                let rel = rel.trim_matches('/');
                let mut url = r.url.clone();
                url.set_path(&format!("{}{rel}/", r.url.path()));
                Location::Remote(Remote {
                    url,
                    store: r.store.clone(),
                    prefix: r.path(rel),
                    options: r.options.clone(),
                })
            }
        }
    }

    /// Read the small file `rel` (a settings file, a key) whole; `None` if there is none.
    pub async fn read_small(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Location::Local(dir) => {
                let file = dir.join(rel);
                match std::fs::read(&file) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(StorageError::io(file, e)),
                }
            }
            Location::Remote(r) => {
                let (store, path) = (r.store().clone(), r.path(rel));
                let got = on_io(async move {
                    match store.get(&path).await {
                        Ok(g) => g.bytes().await.map(|b| Some(b.to_vec())),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await;
                got.map_err(store_err(r.url_of(rel)))
            }
        }
    }

    /// Write the small file `rel` whole unless it exists: true if this call created it. On
    /// disk a rename that refuses to replace; on an object store a put-if-absent. So of
    /// processes or hosts creating it at once, exactly one succeeds and all read its bytes.
    pub async fn create_small(&self, rel: &str, bytes: Vec<u8>) -> Result<bool> {
        match self {
            Location::Local(dir) => {
                let file = dir.join(rel);
                let parent = file.parent().unwrap_or(dir);
                std::fs::create_dir_all(parent).map_err(|e| StorageError::io(parent, e))?;
                let mut tmp = tempfile::NamedTempFile::new_in(parent)
                    .map_err(|e| StorageError::io(parent, e))?;
                std::io::Write::write_all(&mut tmp, &bytes)
                    .map_err(|e| StorageError::io(&file, e))?;
                match tmp.persist_noclobber(&file) {
                    Ok(_) => Ok(true),
                    Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(StorageError::io(file, e.error)),
                }
            }
            Location::Remote(r) => {
                let (store, path) = (r.store().clone(), r.path(rel));
                let put = on_io(async move {
                    let create = object_store::PutOptions {
                        mode: object_store::PutMode::Create,
                        ..Default::default()
                    };
                    match store.put_opts(&path, bytes.into(), create).await {
                        Ok(_) => Ok(true),
                        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                        Err(e) => Err(e),
                    }
                })
                .await;
                put.map_err(store_err(r.url_of(rel)))
            }
        }
    }

    /// The location this one is directly inside (`None` at the top of a bucket or disk).
    pub fn parent(&self) -> Option<Self> {
        match self {
            Location::Local(dir) => dir.parent().map(|p| Location::Local(p.to_path_buf())),
            Location::Remote(r) => {
                let mut parts: Vec<_> = r.prefix.parts().collect();
                parts.pop()?;
                let prefix = ObjectPath::from_iter(parts);
                let mut url = r.url.clone();
                let path = url.path().trim_end_matches('/');
                let parent = match path.rsplit_once('/') {
                    Some((p, _)) => format!("{p}/"),
                    None => "/".to_string(),
                };
                url.set_path(&parent);
                Some(Location::Remote(Remote {
                    url,
                    store: r.store.clone(),
                    prefix,
                    options: r.options.clone(),
                }))
            }
        }
    }

    /// The local directory, if this is one.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            Location::Local(d) => Some(d),
            Location::Remote(_) => None,
        }
    }

    /// The object store prefix, if this is one.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Location::Local(_) => None,
            Location::Remote(r) => Some(r),
        }
    }

    /// How messages name it: the path or the URL.
    pub fn label(&self) -> String {
        match self {
            Location::Local(d) => d.display().to_string(),
            Location::Remote(r) => r.url.to_string(),
        }
    }

    /// The URL delta-rs opens a table at this location by.
    pub fn table_url(&self) -> Result<Url> {
        match self {
            Location::Local(dir) => {
                let path = dir.to_str().ok_or_else(|| StorageError::Location {
                    location: dir.display().to_string(),
                    message: "path is not valid UTF-8".into(),
                })?;
                deltalake::ensure_table_uri(path).map_err(|e| StorageError::Delta {
                    table: dir.display().to_string(),
                    source: Box::new(e),
                })
            }
            Location::Remote(r) => Ok(r.url.clone()),
        }
    }

    /// The storage options delta-rs is given for a table here.
    pub fn storage_options(&self) -> HashMap<String, String> {
        match self {
            Location::Local(_) => HashMap::new(),
            Location::Remote(r) => r.options.clone(),
        }
    }

    /// Create the directory (local) — object stores have no directories to create.
    pub fn create_dir_all(&self) -> Result<()> {
        match self {
            Location::Local(d) => std::fs::create_dir_all(d).map_err(|e| StorageError::io(d, e)),
            Location::Remote(_) => Ok(()),
        }
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Local(p.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Location::Local(p.clone())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Local(p)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Self {
        l.clone()
    }
}

impl Location {
    /// The Delta table at this location, loaded if it exists (version `None` if not: a
    /// table can then be created through it).
    pub async fn delta_table(&self) -> Result<deltalake::DeltaTable> {
        let url = self.table_url()?;
        deltalake::DeltaTable::try_from_url_with_storage_options(url, self.storage_options())
            .await
            .map_err(|e| StorageError::Delta {
                table: self.label(),
                source: Box::new(e),
            })
    }

    /// Whether a Delta table exists here (its `_delta_log` has an entry).
    pub async fn has_delta_log(&self) -> Result<bool> {
        match self {
            Location::Local(d) => Ok(d.join("_delta_log").is_dir()),
            Location::Remote(r) => {
                let store = r.store.clone();
                let log = r.path("_delta_log");
                let label = self.label();
                on_io(async move {
                    use futures::StreamExt;
                    match store.list(Some(&log)).next().await {
                        None => Ok(false),
                        Some(Ok(_)) => Ok(true),
                        Some(Err(e)) => Err(store_err(label)(e)),
                    }
                })
                .await
            }
        }
    }

    /// The names of the directories (common prefixes) directly inside this location; none
    /// if it does not exist.
    pub async fn child_dirs(&self) -> Result<Vec<String>> {
        match self {
            Location::Local(dir) => {
                let entries = match std::fs::read_dir(dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(StorageError::io(dir, e)),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| StorageError::io(dir, e))?;
                    if entry.path().is_dir()
                        && let Some(name) = entry.file_name().to_str()
                    {
                        names.push(name.to_string());
                    }
                }
                Ok(names)
            }
            Location::Remote(r) => {
                let store = r.store.clone();
                let prefix = r.prefix.clone();
                let listed = on_io(async move { store.list_with_delimiter(Some(&prefix)).await })
                    .await
                    .map_err(store_err(self.label()))?;
                Ok(listed
                    .common_prefixes
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string))
                    .collect())
            }
        }
    }
}

/// An object store error on `location` (an object or prefix URL), as a storage error.
pub fn store_err(location: impl std::fmt::Display) -> impl Fn(object_store::Error) -> StorageError {
    move |source| StorageError::ObjectStore {
        location: location.to_string(),
        source: Box::new(source),
    }
}

impl Remote {
    /// The URL of `rel` under the prefix (for messages).
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}{}", self.url, rel.trim_start_matches('/'))
    }

    /// The URL of the prefix (ends in `/`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The store, rooted at the bucket.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object path of `rel` (a `/`-separated relative path) under the prefix.
    pub fn path(&self, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |p, part| p.clone().join(part))
    }

    /// The prefix inside the bucket.
    pub fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_urls_are_local() {
        let none = HashMap::new();
        let l = Location::parse("/tmp/x", &none).unwrap();
        assert_eq!(l.local_dir(), Some(Path::new("/tmp/x")));
        let f = Location::parse("file:///tmp/y", &none).unwrap();
        assert_eq!(f.local_dir(), Some(Path::new("/tmp/y")));
        assert!(!Location::is_remote_url("relative/dir"));
        assert!(Location::is_remote_url("S3://bucket/p"));
    }

    #[test]
    fn remote_locations_join_paths_under_their_prefix() {
        let opts = HashMap::from([
            ("aws_region".to_string(), "us-east-1".to_string()),
            ("aws_endpoint".to_string(), "http://127.0.0.1:1".to_string()),
            ("aws_allow_http".to_string(), "true".to_string()),
        ]);
        let l = Location::parse("s3://bucket/team/cache", &opts).unwrap();
        let r = l.remote().unwrap();
        assert_eq!(r.url().as_str(), "s3://bucket/team/cache/");
        assert_eq!(
            r.path("blobs/ab/x.parquet").as_ref(),
            "team/cache/blobs/ab/x.parquet"
        );
        let t = l.join("catalog/cache_entries");
        assert_eq!(
            t.table_url().unwrap().as_str(),
            "s3://bucket/team/cache/catalog/cache_entries/"
        );
        assert_eq!(
            t.remote().unwrap().prefix().as_ref(),
            "team/cache/catalog/cache_entries"
        );
        assert_eq!(t.storage_options(), opts);
        let back = t.parent().unwrap().parent().unwrap();
        assert_eq!(
            back.remote().unwrap().url().as_str(),
            "s3://bucket/team/cache/"
        );
        assert_eq!(back.remote().unwrap().prefix().as_ref(), "team/cache");
    }

    #[test]
    fn gcs_and_azure_urls_open_with_their_settings() {
        let gcs = HashMap::from([("google_skip_signature".to_string(), "true".to_string())]);
        let g = Location::parse("gs://bucket/team/cache", &gcs).unwrap();
        assert_eq!(g.remote().unwrap().prefix().as_ref(), "team/cache");
        let azure = HashMap::from([
            ("azure_storage_account_name".to_string(), "acct".to_string()),
            ("azure_storage_account_key".to_string(), "a2V5".to_string()),
        ]);
        for url in [
            "az://container/cache",
            "abfss://container@acct.dfs.core.windows.net/cache",
        ] {
            let a = Location::parse(url, &azure).unwrap();
            assert_eq!(a.remote().unwrap().prefix().as_ref(), "cache", "{url}");
        }
    }

    #[test]
    fn a_url_without_a_bucket_is_refused_naming_it() {
        let e = Location::parse("s3:///nobucket", &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("s3:///nobucket"), "{e}");
    }
}
