//! The command fetcher: an external program (a Python script, `curl`, anything) run once per
//! fetch, its standard output read as CSV, JSON, Parquet or Arrow. How CLI users plug in a
//! source.
//!
//! Arguments are templates: `{key}` is the key, `{start}` the first tick of the interval,
//! `{end}` the first tick after it and `{last}` the last tick in it, written as the range column
//! reads (`2024-01-05` for dates, RFC 3339 for timestamps, digits for integers). The program is
//! run directly, not through a shell, so a key cannot inject a command. A non-zero exit, a
//! timeout (the program is killed) or an answer that does not fit the schema fails the fetch,
//! naming the key and interval; the last lines of standard error are in the message.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::SchemaRef;

use crate::decode::{Format, decode};
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::interval::RangeKind;

/// Runs a program per fetch.
#[derive(Debug, Clone)]
pub struct CommandFetcher {
    /// The program (found on `PATH` when it has no `/`).
    pub program: String,
    /// Its argument templates.
    pub args: Vec<String>,
    /// The format of its standard output.
    pub format: Format,
    /// The table's columns.
    pub schema: SchemaRef,
    /// How ticks are written into the arguments.
    pub kind: RangeKind,
    /// The longest a run may take.
    pub timeout: Duration,
    /// The table's key columns, for `{key.NAME}` placeholders (empty: only `{key}`).
    pub key_columns: Vec<String>,
}

impl CommandFetcher {
    /// The arguments of one fetch.
    pub fn render(&self, req: &FetchRequest<String>) -> Vec<String> {
        self.args
            .iter()
            .map(|a| req.render(a, self.kind, &self.key_columns, |s| s.to_string()))
            .collect()
    }

    fn run(&self, req: &FetchRequest<String>) -> Result<Vec<u8>, FetchError> {
        let fail = |why: String| FetchError::of(req, why);
        let mut child = Command::new(&self.program)
            .args(self.render(req))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run {:?}: {e}", self.program)))?;
        // Drain both pipes on threads, so a chatty program never blocks on a full pipe.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "{:?} timed out after {:?} and was killed",
                        self.program, self.timeout
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(format!("waiting for {:?}: {e}", self.program))),
            }
        };
        let out = stdout.join().unwrap_or_default();
        let err = stderr.join().unwrap_or_default();
        if !status.success() {
            let text = String::from_utf8_lossy(&err);
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(fail(format!(
                "{:?} exited with {status}: {}",
                self.program,
                tail.join(" / ")
            )));
        }
        Ok(out)
    }
}

impl Fetcher<String> for CommandFetcher {
    async fn fetch(&self, req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
        let (me, request) = (self.clone(), req.clone());
        let bytes = tokio::task::spawn_blocking(move || me.run(&request))
            .await
            .map_err(|e| FetchError::of(req, e))??;
        decode(bytes, self.format, &self.schema).map_err(|e| FetchError::of(req, e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::arrow::array::AsArray;
    use deltalake::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;
    use crate::interval::Interval;

    fn fetcher(script: &str, timeout_ms: u64) -> CommandFetcher {
        CommandFetcher {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                script.into(),
                "sh".into(),
                "{key}".into(),
                "{start}".into(),
                "{last}".into(),
            ],
            format: Format::Csv,
            schema: Arc::new(Schema::new(vec![
                Field::new("symbol", DataType::Utf8, false),
                Field::new("day", DataType::Int64, false),
            ])),
            kind: RangeKind::Integer,
            timeout: Duration::from_millis(timeout_ms),
            key_columns: Vec::new(),
        }
    }

    fn req(key: &str, a: i64, b: i64) -> FetchRequest<String> {
        FetchRequest {
            key: key.into(),
            interval: Interval::new(a, b).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_program_answers_one_fetch_with_csv() {
        // One row per day from $2 to $3 for key $1.
        let f = fetcher(
            r#"echo symbol,day; i=$2; while [ $i -le $3 ]; do echo "$1,$i"; i=$((i+1)); done"#,
            5_000,
        );
        let b = f.fetch(&req("AAPL", 5, 8)).await.unwrap();
        let days: Vec<i64> = b.column(1).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(days, [5, 6, 7]);
    }

    #[tokio::test]
    async fn failures_name_the_key_the_interval_and_the_reason() {
        let f = fetcher("echo 'upstream said no' >&2; exit 3", 5_000);
        let err = f.fetch(&req("MSFT", 1, 3)).await.unwrap_err().to_string();
        assert!(
            err.contains("MSFT") && err.contains("[1, 3)") && err.contains("upstream said no"),
            "{err}"
        );
        let slow = fetcher("sleep 5", 200);
        let started = Instant::now();
        let err = slow.fetch(&req("k", 1, 2)).await.unwrap_err().to_string();
        assert!(err.contains("timed out"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "killed, not waited for"
        );
        let bad = fetcher("echo symbol,day; echo A,notanumber", 5_000);
        let err = bad.fetch(&req("k", 1, 2)).await.unwrap_err().to_string();
        assert!(err.contains("CSV"), "{err}");
    }

    #[tokio::test]
    async fn a_hostile_key_is_one_argument_not_a_command() {
        let f = fetcher(r#"echo symbol,day; echo "$1,1""#, 5_000);
        let b = f.fetch(&req("x; rm -rf /", 1, 2)).await;
        // The key reached the program as text; CSV quoting aside, nothing ran.
        let b = b.unwrap();
        assert_eq!(b.column(0).as_string::<i32>().value(0), "x; rm -rf /");
    }
}
