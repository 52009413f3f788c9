//! Pull-through tables over a real PostgreSQL server, started by the test in a temporary
//! directory (Debian's `postgresql` package; `.ci/run` installs it): gaps fetched by a
//! parameterized query, results identical to the source's, keys bound not spliced, clear
//! errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use cacheness_pull::postgres::PostgresFetcher;
use cacheness_pull::table::RangeSettings;
use cacheness_pull::{
    FetchRequest, Fetcher, PullProvider, PullTable, RangeKind, Settings, SharedFetcher, from_fn,
};
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::arrow::util::pretty::pretty_format_batches;
use deltalake::datafusion::prelude::SessionContext;

/// A PostgreSQL server of our own, stopped on drop.
struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The directory of `initdb` and `pg_ctl`: Debian keeps them out of `PATH`. Without
/// PostgreSQL the tests are skipped with a message, except under CI (`CI` set), where they
/// fail: `.ci/run` installs it.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|b| b.join("initdb").exists());
    versions.sort();
    let missing = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                   apt-get install postgresql (.ci/run does)";
    match versions.pop() {
        Some(bin) => Some(bin),
        None if std::env::var_os("CI").is_some() => panic!("{missing}"),
        None => {
            eprintln!("\n*** SKIPPED: {missing} ***\n");
            None
        }
    }
}

/// Run a server program, as the `postgres` user when we are root (the server refuses root).
fn run_pg(bin: &Path, program: &str, args: &[&str]) {
    let root = std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let exe = bin.join(program);
    let out = if root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&exe)
            .args(args)
            .output()
    } else {
        Command::new(&exe).args(args).output()
    }
    .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    /// Start a server; `None` (the test skips) where PostgreSQL is not installed.
    fn start() -> Option<Server> {
        let bin = bin_dir()?;
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        run_pg(
            &bin,
            "initdb",
            &["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        let log = dir.path().join("log");
        run_pg(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(Server { dir, bin, port })
    }

    fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        run_pg(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

/// `prices(symbol, day, close, volume, note)`: every weekday of January 2024 for AAPL and MSFT,
/// none from Jan 15 to Jan 17 (a market holiday).
async fn seed(conninfo: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE prices (symbol text, day date, close float8, volume int4, amount numeric);
             INSERT INTO prices
             SELECT s, d::date, 100 + extract(day from d) + length(s), 1000 * extract(day from d), 1.5
             FROM unnest(ARRAY['AAPL', 'MSFT']) s,
                  generate_series('2024-01-01'::date, '2024-01-31'::date, '1 day') d
             WHERE extract(isodow from d) < 6 AND d NOT BETWEEN '2024-01-15' AND '2024-01-17';",
        )
        .await
        .unwrap();
    client
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("close", DataType::Float64, true),
        Field::new("volume", DataType::Int64, true),
    ]))
}

const QUERY: &str = "SELECT symbol, day, close, volume FROM prices \
                     WHERE symbol = $1 AND day >= $2 AND day < $3";

type Log = Arc<Mutex<Vec<String>>>;

/// `fetcher`, logging each request as `KEY first..last`.
fn logged(fetcher: PostgresFetcher, log: Log) -> SharedFetcher {
    let fetcher = Arc::new(fetcher);
    SharedFetcher::new(from_fn(move |req: FetchRequest<String>| {
        let d = |t: i64| RangeKind::Date.text(t);
        log.lock().unwrap().push(format!(
            "{} {}..{}",
            req.key,
            d(req.interval.start),
            d(req.interval.end - 1)
        ));
        let fetcher = fetcher.clone();
        async move { fetcher.fetch(&req).await }
    }))
}

fn take(log: &Log) -> Vec<String> {
    let mut l = std::mem::take(&mut *log.lock().unwrap());
    l.sort();
    l
}

async fn session(server: &Server, query: &str, root: &Path, log: Log) -> SessionContext {
    let settings = Settings::for_timeseries(
        "symbol",
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Date,
            granularity: 1,
        },
    );
    let table = PullTable::create(root, "prices", schema(), settings)
        .await
        .unwrap();
    let fetcher =
        PostgresFetcher::new(&server.conninfo(), query, schema(), Some(RangeKind::Date)).unwrap();
    let provider = PullProvider::new(Arc::new(table), logged(fetcher, log))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("prices", Arc::new(provider)).unwrap();
    ctx
}

async fn sql(ctx: &SessionContext, q: &str) -> Result<Vec<RecordBatch>, String> {
    let df = ctx.sql(q).await.map_err(|e| e.to_string())?;
    df.collect().await.map_err(|e| e.to_string())
}

fn days(symbol: &str, a: &str, b: &str) -> String {
    format!(
        "SELECT symbol, day, close, volume FROM prices WHERE symbol = '{symbol}' \
         AND day BETWEEN DATE '{a}' AND DATE '{b}' ORDER BY day"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_source_is_asked_only_for_gaps_and_answers_like_itself() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = seed(&server.conninfo()).await;
    let root = tempfile::tempdir().unwrap();
    let log: Log = Arc::default();
    let ctx = session(&server, QUERY, root.path(), log.clone()).await;

    sql(&ctx, &days("AAPL", "2024-01-01", "2024-01-10"))
        .await
        .unwrap();
    assert_eq!(take(&log), ["AAPL 2024-01-01..2024-01-10"]);
    sql(&ctx, &days("AAPL", "2024-01-05", "2024-01-20"))
        .await
        .unwrap();
    assert_eq!(take(&log), ["AAPL 2024-01-11..2024-01-20"]);
    // The holiday (no rows) was asked once and is covered.
    let r = sql(&ctx, &days("AAPL", "2024-01-15", "2024-01-17"))
        .await
        .unwrap();
    assert_eq!(r.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    assert!(take(&log).is_empty());

    // The same answer as the server gives directly.
    let cached = sql(&ctx, &days("AAPL", "2024-01-01", "2024-01-20"))
        .await
        .unwrap();
    let direct = client
        .query(
            "SELECT symbol, to_char(day, 'YYYY-MM-DD'), close, volume::int8 FROM prices \
             WHERE symbol = 'AAPL' AND day BETWEEN '2024-01-01' AND '2024-01-20' ORDER BY day",
            &[],
        )
        .await
        .unwrap();
    let direct: Vec<String> = direct
        .iter()
        .map(|r| {
            format!(
                "| {} | {} | {:.1} | {} |",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, f64>(2),
                r.get::<_, i64>(3)
            )
        })
        .collect();
    let text = pretty_format_batches(&cached).unwrap().to_string();
    let cached: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| AAPL"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(cached.len(), 12, "weekdays but the holiday: {text}");
    assert_eq!(cached, direct);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_bound_not_spliced_and_failures_say_what_to_fix() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = seed(&server.conninfo()).await;
    let root = tempfile::tempdir().unwrap();
    let log: Log = Arc::default();
    let ctx = session(&server, QUERY, root.path(), log.clone()).await;
    let hostile = "x'; DROP TABLE prices; --";
    let q = format!(
        "SELECT * FROM prices WHERE symbol = '{}' AND day BETWEEN DATE '2024-01-01' AND DATE '2024-01-02'",
        hostile.replace('\'', "''")
    );
    let r = sql(&ctx, &q).await.unwrap();
    assert_eq!(r.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    let n: i64 = client
        .query_one("SELECT count(*) FROM prices", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0, "the table is still there");

    // A column Arrow is not read as here: the error says to cast it.
    let root = tempfile::tempdir().unwrap();
    let numeric = "SELECT symbol, day, amount AS close, volume FROM prices \
                   WHERE symbol = $1 AND day >= $2 AND day < $3";
    let ctx = session(&server, numeric, root.path(), log.clone()).await;
    let err = sql(&ctx, &days("AAPL", "2024-01-01", "2024-01-02"))
        .await
        .unwrap_err();
    assert!(
        err.contains("AAPL")
            && err.contains("column \"close\" is numeric")
            && err.contains("::float8"),
        "{err}"
    );
    // A broken query names the server's complaint, and nothing is covered.
    let root = tempfile::tempdir().unwrap();
    let ctx = session(
        &server,
        "SELECT * FROM nowhere WHERE $1 = $1",
        root.path(),
        log.clone(),
    )
    .await;
    let err = sql(&ctx, &days("AAPL", "2024-01-01", "2024-01-02"))
        .await
        .unwrap_err();
    assert!(err.contains("relation \"nowhere\" does not exist"), "{err}");
}
