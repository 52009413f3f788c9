//! A real S3-compatible server on loopback for the object store tests: moto's server, from
//! PyPI. The first test to need it installs it into a venv (`$HOME/.cache/cacheness-moto`, or
//! the `moto_server` that `$CACHENESS_MOTO_SERVER` names); each test starts its own server on a
//! free port and stops it when the handle drops.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The moto version the tests are run against.
const MOTO: &str = "moto[server]==5.2.5";

/// The `moto_server` program, installed on first use.
fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("CACHENESS_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = PathBuf::from(home).join(".cache/cacheness-moto");
    let bin = venv.join("bin/moto_server");
    // One installer at a time across the test processes of a run.
    std::fs::create_dir_all(venv.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(venv.with_extension("lock")).unwrap();
    fs4::fs_std::FileExt::lock_exclusive(&lock).unwrap();
    if !bin.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "--disable-pip-version-check", MOTO])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "could not install {MOTO} into {}", venv.display());
    }
    bin
}

/// A running moto server with one bucket.
pub struct S3 {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
}

impl S3 {
    /// Start a server and create `bucket`.
    pub fn start(bucket: &str) -> S3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let s3 = S3 {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_string(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match s3.request("PUT", &format!("/{bucket}")) {
                Ok(200) => break,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                other => panic!("moto server on port {port} did not come up: {other:?}"),
            }
        }
        s3
    }

    /// One bodiless HTTP request; its status code.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut conn = TcpStream::connect(addr)?;
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut reply = String::new();
        conn.read_to_string(&mut reply)?;
        reply
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad reply: {reply:.80}")))
    }

    /// The URL of `prefix` in the bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The environment a process needs to reach the server (what users set for real S3).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The same settings as object store options (for `CacheConfig::with_storage_option`).
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint", self.endpoint.clone()),
            ("aws_allow_http", "true".into()),
            ("aws_access_key_id", "testing".into()),
            ("aws_secret_access_key", "testing".into()),
            ("aws_region", "us-east-1".into()),
        ]
    }

    /// Read an object of the bucket.
    pub fn get(&self, key: &str) -> Vec<u8> {
        use object_store::ObjectStoreExt;
        let store = self.client();
        let path = object_store::path::Path::from(key);
        runtime().block_on(async {
            store
                .get(&path)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        })
    }

    /// Write an object of the bucket, as a stranger with the bucket's credentials would.
    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        use object_store::ObjectStoreExt;
        let store = self.client();
        let path = object_store::path::Path::from(key);
        runtime().block_on(async { store.put(&path, bytes.into()).await.unwrap() });
    }

    /// Delete an object of the bucket (a missing one is no error), as a cleanup script would.
    pub fn delete(&self, key: &str) {
        use object_store::ObjectStoreExt;
        let store = self.client();
        let path = object_store::path::Path::from(key);
        runtime().block_on(async {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => panic!("deleting {key}: {e}"),
            }
        });
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .build()
            .unwrap()
    }

    /// The keys of every object under `prefix` (a ListObjectsV2 call, parsed crudely).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/{}?list-type=2&prefix={prefix}", self.bucket);
            if let Some(t) = &token {
                let t: String = t
                    .chars()
                    .map(|c| match c {
                        'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' => c.to_string(),
                        other => format!("%{:02X}", other as u32),
                    })
                    .collect();
                path.push_str(&format!("&continuation-token={t}"));
            }
            let mut conn = TcpStream::connect(addr).unwrap();
            write!(
                conn,
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).unwrap();
            keys.extend(between_all(&reply, "<Key>", "</Key>"));
            token = between_all(
                &reply,
                "<NextContinuationToken>",
                "</NextContinuationToken>",
            )
            .into_iter()
            .next();
            if token.is_none() {
                return keys;
            }
        }
    }
}

fn between_all(text: &str, open: &str, close: &str) -> Vec<String> {
    text.split(open)
        .skip(1)
        .filter_map(|s| s.split_once(close).map(|(v, _)| v.to_string()))
        .collect()
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
