//! Work that one process of all hosts at a time should do (compacting a Delta table): a lock
//! file on a local disk, a time-bounded lease object on an object store.
//!
//! A lease is a small JSON object (`{"holder", "expires_at_ms"}`) created with put-if-absent.
//! A host that finds it held skips the work. One that finds it expired takes it over with a
//! conditional overwrite (`If-Match` on the ETag it read), so two hosts never both take over the
//! same stale lease. The holder deletes it when done; a crashed holder's lease expires after its
//! time to live. Clocks of the hosts must agree to well within that time (minutes).

use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::io::on_io;
use crate::location::{Location, Remote, store_err};
use crate::lockfile::LockFile;

/// A held guard; released when dropped (a lease object is deleted, best effort).
pub enum Guard {
    /// A lock file on a local disk.
    Local(LockFile),
    /// A lease object on an object store.
    Remote(Box<Lease>),
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Guard::Local(l) => write!(f, "Guard::Local({l:?})"),
            Guard::Remote(l) => write!(f, "Guard::Remote({})", l.path),
        }
    }
}

/// A held lease object.
pub struct Lease {
    remote: Remote,
    path: ObjectPath,
    released: bool,
}

impl Guard {
    /// Release the guard now (for a lease: delete the object and wait for it).
    pub async fn release(self) {
        if let Guard::Remote(mut lease) = self {
            if let Err(e) = on_io(lease.delete()).await {
                tracing::debug!(lease = %lease.path, "releasing a lease (it will expire): {e}");
            }
            lease.released = true;
        }
    }
}

#[derive(Serialize, Deserialize)]
struct LeaseBody {
    holder: String,
    expires_at_ms: i64,
}

/// Take the guard named `name` (a file or object in `dir`) if nobody holds it; `None` if
/// somebody does. A lease lasts `ttl` unless released sooner.
pub async fn try_acquire(dir: &Location, name: &str, ttl: Duration) -> Result<Option<Guard>> {
    match dir {
        Location::Local(d) => {
            dir.create_dir_all()?;
            Ok(LockFile::try_acquire(&d.join(name))?.map(Guard::Local))
        }
        Location::Remote(r) => Ok(try_lease(r, name, ttl)
            .await?
            .map(|l| Guard::Remote(Box::new(l)))),
    }
}

async fn try_lease(remote: &Remote, name: &str, ttl: Duration) -> Result<Option<Lease>> {
    let store = remote.store().clone();
    let path = remote.path(name);
    let err = store_err(remote.url_of(name));
    let now = chrono::Utc::now().timestamp_millis();
    let body = serde_json::to_vec(&LeaseBody {
        holder: uuid::Uuid::new_v4().to_string(),
        expires_at_ms: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
    })
    .unwrap_or_default();
    let at = path.clone();
    let taken = on_io(async move {
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match store.put_opts(&at, body.clone().into(), create).await {
            Ok(_) => return Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        let held = match store.get(&at).await {
            Ok(h) => h,
            // Released between the two requests: leave the work to the next attempt.
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let version = UpdateVersion {
            e_tag: held.meta.e_tag.clone(),
            version: held.meta.version.clone(),
        };
        let expired = match serde_json::from_slice::<LeaseBody>(&held.bytes().await?) {
            Ok(b) => b.expires_at_ms < now,
            Err(_) => true, // not a lease we can read: take it over
        };
        if !expired {
            return Ok(false);
        }
        let update = PutOptions {
            mode: PutMode::Update(version),
            ..Default::default()
        };
        match store.put_opts(&at, body.into(), update).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(err)?;
    Ok(taken.then(|| Lease {
        remote: remote.clone(),
        path,
        released: false,
    }))
}

impl Lease {
    /// The request that deletes the lease object.
    fn delete(
        &self,
    ) -> impl std::future::Future<Output = object_store::Result<()>> + Send + 'static {
        let (store, path) = (self.remote.store().clone(), self.path.clone());
        async move { store.delete(&path).await }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let delete = self.delete();
        // Best effort, without waiting: an undeleted lease expires.
        let _ = std::thread::Builder::new()
            .name("cacheness-lease".into())
            .spawn(move || {
                let _ = crate::io::wait(on_io(delete));
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_guard_is_held_by_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let at = Location::Local(dir.path().to_path_buf());
        let first = try_acquire(&at, "x.lock", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(first.is_some());
        assert!(
            try_acquire(&at, "x.lock", Duration::from_secs(60))
                .await
                .unwrap()
                .is_none()
        );
        drop(first);
        assert!(
            try_acquire(&at, "x.lock", Duration::from_secs(60))
                .await
                .unwrap()
                .is_some()
        );
    }
}
