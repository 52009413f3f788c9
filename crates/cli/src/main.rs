//! The `cacheness` command-line tool.
//!
//! `main.rs` holds the arguments and dispatch; the library (`cacheness_cli`: [`input`] reads
//! what `put` caches, [`npy`] converts arrays to and from `.npy`, [`progress`] draws progress
//! on a terminal) holds what reads outside input; [`list`] filters and sorts `ls`, [`output`]
//! writes query results, [`params`] types `-p name=value`, [`table`] manages pull-through
//! tables, and [`demo`] is `cacheness demo`.

/// `println!` through [`output::stdout`]: a closed pipe is an error the command returns (and
/// `main` exits quietly), not a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut $crate::output::stdout(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod demo;
mod list;
mod output;
mod params;
mod table;

pub use cacheness_cli::{CliResult, input, npy, progress};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cacheness::CacheKey;
use cacheness::streamed::StreamedPayload;
use clap::{Parser, Subcommand};

/// A disk cache for data and ML work, built as a small data lake.
#[derive(Parser, Debug)]
#[command(name = "cacheness", version, about, long_about = None)]
struct Cli {
    /// Cache directory (default: $CACHENESS_DIR, else ./.cacheness).
    #[arg(long, global = true, env = "CACHENESS_DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Cache a 1M-row table, a 10M-element array, a struct and a JSON document, read each back,
    /// verify it bit for bit, and show the catalog. Uses a fresh temporary directory unless
    /// --dir is given.
    Demo,
    /// List the live entries, one JSON object per line; filter by key parameters and data
    /// type, sort, limit. (For any other condition, use `cacheness sql`.)
    Ls {
        /// Only entries with this key parameter (`name=value`, typed as for `get`); repeat to
        /// require several.
        #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Only entries of this data type (arrow_table, ndarray, object, bytes, json).
        #[arg(long = "type", value_name = "DATA_TYPE")]
        data_type: Option<String>,
        /// Only entries put with this name (`put --name`).
        #[arg(long)]
        name: Option<String>,
        /// Sort by this field.
        #[arg(long, value_enum, default_value = "created-at")]
        sort: list::SortBy,
        /// Sort largest or latest first.
        #[arg(long)]
        desc: bool,
        /// Show at most this many entries.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Cache a file: tables from .parquet, .csv or .jsonl, arrays from .npy, a JSON document
    /// from .json, anything else (or `-`, standard input) as bytes. Prints the entry's key.
    Put {
        /// The file to cache (`-` for standard input).
        file: PathBuf,
        /// A key parameter, `name=value` or `name:type=value`; repeat for each parameter.
        #[arg(
            short = 'p',
            long = "param",
            value_name = "NAME=VALUE",
            required = true
        )]
        params: Vec<String>,
        /// How to read the input (default: by extension).
        #[arg(long = "as", value_enum, default_value = "auto")]
        input: input::InputFormat,
        /// A description stored with the entry.
        #[arg(long, short)]
        description: Option<String>,
        /// Time to live, e.g. `90s`, `30m`, `12h`, `7d`, `1h 30m` (default: the cache's).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<Duration>,
        /// Name the entry: a table is then queryable as `cacheness sql "SELECT * FROM NAME"`
        /// (lower-case letters, digits and _; the newest entry of a name answers).
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the catalog's history: one row per Delta version (time, operation, files and rows
    /// added and removed), newest first.
    History {
        /// Show at most this many versions.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        answer: output::AnswerArgs,
    },
    /// Show entry counts, sizes, limits, evictions (all processes, by reason) and this
    /// process's counters as JSON.
    Stats,
    /// Commit pending catalog rows to Delta.
    Flush,
    /// Remove one entry (payload and catalog row). Exits 3 when there is no such entry.
    Invalidate {
        #[command(flatten)]
        entry: EntryArg,
    },
    /// Remove expired entries (payloads and catalog rows) and commit; prints how many.
    Cleanup,
    /// Run an eviction pass now: recount the payload files and, past `max_size_bytes` or
    /// `max_entries` (cacheness.toml, CACHENESS_*), evict the least recently used down to the
    /// low watermark; prints what it did as JSON.
    Evict,
    /// Maintain the catalog now: compact data files, checkpoint, delete old log files, vacuum
    /// (also automatic every 100 commits); prints what it did as JSON.
    Compact,
    /// Check every catalog row against its payload and every payload file against the catalog;
    /// prints one JSON object per problem, changes nothing, and exits 4 if it found any.
    Verify,
    /// Fix what `verify` finds (rows follow their payloads, orphans are indexed, corrupt and
    /// stale files removed; unknown files are left) and print a JSON summary.
    Repair,
    /// Remove every entry of the cache.
    Clear {
        /// Confirm: without it, nothing is removed.
        #[arg(long)]
        yes: bool,
    },
    /// Run a SQL statement over the cache (tables and syntax: docs/SQL.md), e.g.
    /// `cacheness sql "SELECT cache_key, stored_bytes FROM cache_entries WHERE model = 'xgboost'"`.
    Sql {
        /// The statement.
        query: String,
        #[command(flatten)]
        answer: output::AnswerArgs,
    },
    /// Pull-through tables: create, list, show coverage, invalidate (docs/PULL_THROUGH.md).
    /// Query them with `cacheness sql`.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Write an entry's value in its natural format: tables as Parquet, arrays as .b2nd (the
    /// checked payload files themselves) or .npy, objects and JSON as JSON text, bytes as they
    /// are. Exits 3 when there is no such entry.
    Get {
        #[command(flatten)]
        entry: EntryArg,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Arrays as `b2nd` (the payload) or `npy` (NumPy). Default: `npy` when --output ends
        /// in .npy, else `b2nd`.
        #[arg(long, value_enum)]
        array_format: Option<ArrayFormat>,
    },
}

/// `cacheness table ...`.
#[derive(Subcommand, Debug)]
enum TableCommand {
    /// Create a pull-through table (or check that one exists with these settings); prints its
    /// settings as JSON.
    Create(Box<table::CreateArgs>),
    /// List the pull-through tables, one JSON object per line.
    Ls,
    /// Show what was fetched: one JSON object per fetched span (key, start, last, when, valid
    /// until).
    Coverage {
        /// The table.
        name: String,
        /// Only this key.
        #[arg(long)]
        key: Option<String>,
    },
    /// Forget what was fetched for a key (from --from to --last, inclusive; all of it without
    /// them): the next query fetches it again.
    Invalidate {
        /// The table.
        name: String,
        /// The key.
        #[arg(long)]
        key: String,
        /// The first tick to forget (a date, an RFC 3339 time or an integer).
        #[arg(long)]
        from: Option<String>,
        /// The last tick to forget.
        #[arg(long)]
        last: Option<String>,
    },
}

/// Which entry a command means: `--key K`, or its key parameters as `-p name=value` (typed as
/// in docs/CLI.md, so the CLI and the Rust API give the same key).
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct EntryArg {
    /// The entry's cache key (16 hex digits).
    #[arg(long)]
    key: Option<String>,
    /// A key parameter, `name=value` or `name:type=value` (type: str, int, float, bool), or
    /// `name=@path` (a file or directory keyed by its content); repeat for each parameter.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

impl EntryArg {
    /// The cache key these arguments name: `Err` for a malformed parameter (a usage error,
    /// exit 2); a malformed `--key` is an error (exit 1) that names it.
    fn key(&self, dir: &Path) -> CliResult<Result<CacheKey, Outcome>> {
        Ok(match &self.key {
            Some(k) => Ok(CacheKey::parse(k)?),
            None => params::params(&self.params, dir)
                .and_then(|p| p.key().map_err(|e| e.to_string()))
                .map_err(Outcome::Usage),
        })
    }
}

/// How `get` writes an array.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ArrayFormat {
    /// The Blosc2 payload file itself (python-blosc2 opens it).
    B2nd,
    /// A NumPy .npy file.
    Npy,
}

/// Exit code of `get` when the entry does not exist (0 ok, 1 error, 2 usage).
const EXIT_NOT_FOUND: u8 = 3;
/// Exit code of `verify` when it found problems.
const EXIT_PROBLEMS: u8 = 4;

/// What a command asks `main` to exit with.
enum Outcome {
    Done,
    NotFound,
    /// `verify` found problems (exit 4).
    Problems,
    /// A usage error clap cannot see (exit 2).
    Usage(String),
}

fn cache_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from(".cacheness"))
}

/// Close the cache after a command that changed it. What the command did is done and
/// journaled, so a failed catalog commit (a full disk) is a warning, not a failure: the rows
/// stay in the journal and the next process that opens the cache commits them.
fn close_after_write(cache: &cacheness::blocking::Cache) {
    if let Err(e) = cache.close() {
        eprintln!(
            "warning: done, and journaled, but the catalog commit failed ({e}); the next \
             process to open the cache commits it (or run `cacheness flush`)"
        );
    }
}

/// Refuse to write `output` inside the cache directory `root` (symbolic links resolved): the
/// cache's files (its signing key, payloads, catalog) change only through the cache.
fn outside_cache(root: &Path, output: &Path) -> CliResult<()> {
    let resolved = match output.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = match output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let parent = parent
                .canonicalize()
                .map_err(|e| format!("{}: {e}", output.display()))?;
            parent.join(output.file_name().unwrap_or_default())
        }
    };
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    if resolved.starts_with(&root) {
        return Err(format!(
            "refusing to write {}: it is inside the cache directory {}, whose files only the cache changes",
            output.display(),
            root.display()
        )
        .into());
    }
    Ok(())
}

/// Run `query` and write its answer in `format` to `output` or standard output.
fn sql_to(dir: Option<PathBuf>, query: &str, answer: &output::AnswerArgs) -> CliResult<Outcome> {
    let root = cache_dir(dir);
    let cache = cacheness::blocking::Cache::open(&root)?;
    if let Some(path) = &answer.output {
        outside_cache(&root, path)?;
    }
    let fetches = std::sync::Arc::new(progress::FetchProgress::new());
    let batches = cache.sql_observed(query, fetches.clone());
    fetches.finish();
    let batches = batches?;
    let (format, rows) = (answer.format, answer.max_rows);
    match &answer.output {
        Some(path) => {
            output::write_file_atomically(path, |file| output::write(&batches, format, rows, file))?
        }
        None => output::write(&batches, format, rows, &mut output::stdout())?,
    }
    Ok(Outcome::Done)
}

/// Write an entry's checked payload as its natural format.
fn write_value(
    key: &str,
    info: &cacheness::EntryInfo,
    bytes: bytes::Bytes,
    npy: bool,
    out: &mut dyn std::io::Write,
) -> CliResult<()> {
    let what = format!("payload of {key}");
    match info.data_type.as_str() {
        "object" => {
            let raw = cacheness::codec::object::payload(&bytes, key, info.raw_bytes)?;
            let value: serde_json::Value = rmp_serde::from_slice(&raw)
                .map_err(|e| format!("{what}: MessagePack does not convert to JSON: {e}"))?;
            serde_json::to_writer_pretty(&mut *out, &value)?;
            out.write_all(b"\n")?;
        }
        "json" => {
            out.write_all(&cacheness::codec::object::payload(
                &bytes,
                key,
                info.raw_bytes,
            )?)?;
            out.write_all(b"\n")?;
        }
        "bytes" => out.write_all(&cacheness::codec::object::payload(
            &bytes,
            key,
            info.raw_bytes,
        )?)?,
        "ndarray" if npy => {
            let (meta, _) = cacheness::Format::B2nd.read_meta(&bytes, &what)?;
            npy::write(bytes, &meta, out)?;
        }
        _ => out.write_all(&bytes)?,
    }
    Ok(())
}

fn run(cli: Cli) -> CliResult<Outcome> {
    match cli.command {
        Command::Get {
            entry,
            output,
            array_format,
        } => {
            let key = match entry.key(&cache_dir(cli.dir.clone()))? {
                Ok(k) => k,
                Err(usage) => return Ok(usage),
            };
            let root = cache_dir(cli.dir);
            let cache = cacheness::blocking::Cache::open(&root)?;
            if let Some(path) = &output {
                outside_cache(&root, path)?;
            }
            let npy = array_format.unwrap_or_else(|| {
                let ext = output.as_deref().and_then(Path::extension);
                match ext.and_then(|e| e.to_str()) {
                    Some(e) if e.eq_ignore_ascii_case("npy") => ArrayFormat::Npy,
                    _ => ArrayFormat::B2nd,
                }
            }) == ArrayFormat::Npy;
            let spinner = progress::spinner(&format!("reading entry {key}"));
            let Some((info, payload)) = cache.payload_streamed(&key)? else {
                spinner.finish_and_clear();
                return Ok(Outcome::NotFound);
            };
            let write = |out: &mut dyn std::io::Write| -> CliResult<()> {
                match payload {
                    StreamedPayload::Whole(bytes) => write_value(&key, &info, bytes, npy, out)?,
                    StreamedPayload::Bytes(mut value) => {
                        std::io::copy(&mut value, out)
                            .map_err(|e| format!("reading entry {key}: {e}"))?;
                    }
                }
                Ok(out.flush()?)
            };
            match &output {
                Some(path) => output::write_file_atomically(path, write)?,
                None => write(&mut output::stdout())?,
            }
            spinner.finish_and_clear();
            Ok(Outcome::Done)
        }
        Command::Put {
            file,
            params,
            input,
            description,
            ttl,
            name,
        } => {
            let params = match params::params(&params, &cache_dir(cli.dir.clone())) {
                Ok(p) => p,
                Err(usage) => return Ok(Outcome::Usage(usage)),
            };
            let opts = cacheness::PutOptions {
                description,
                ttl,
                name,
                ..Default::default()
            };
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let key = input::put(&cache, &file, input, &params, &opts)?;
            outln!("{key}")?;
            close_after_write(&cache);
            Ok(Outcome::Done)
        }
        Command::History { limit, answer } => {
            let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
            let query = format!("SELECT * FROM cache_history ORDER BY version DESC{limit}");
            sql_to(cli.dir, &query, &answer)
        }
        Command::Demo => demo::run(cli.dir).map(|()| Outcome::Done),
        Command::Table { command } => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let root = cache.pull_tables_root();
            match command {
                TableCommand::Create(args) => {
                    let settings = table::create(&root, &args)?;
                    outln!("{}", serde_json::to_string_pretty(&settings)?)?;
                }
                TableCommand::Ls => table::list(&root)?,
                TableCommand::Coverage { name, key } => {
                    table::coverage(&root, &name, key.as_deref())?
                }
                TableCommand::Invalidate {
                    name,
                    key,
                    from,
                    last,
                } => table::invalidate(&root, &name, &key, from.as_deref(), last.as_deref())?,
            }
            Ok(Outcome::Done)
        }
        Command::Ls {
            params,
            data_type,
            name,
            sort,
            desc,
            limit,
        } => {
            let params = match params::params(&params, &cache_dir(cli.dir.clone())) {
                Ok(p) => p,
                Err(usage) => return Ok(Outcome::Usage(usage)),
            };
            let query = list::Query {
                params,
                data_type,
                name,
                sort,
                descending: desc,
                limit,
            };
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let mut out = output::stdout();
            for e in list::select(cache.list_entries()?, &query) {
                serde_json::to_writer(&mut out, &e)?;
                std::io::Write::write_all(&mut out, b"\n")?;
            }
            Ok(Outcome::Done)
        }
        Command::Stats => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            outln!("{}", serde_json::to_string_pretty(&cache.stats()?)?)?;
            Ok(Outcome::Done)
        }
        Command::Sql { query, answer } => sql_to(cli.dir, &query, &answer),
        Command::Invalidate { entry } => {
            let key = match entry.key(&cache_dir(cli.dir.clone()))? {
                Ok(k) => k,
                Err(usage) => return Ok(usage),
            };
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let removed = cache.invalidate(&key)?;
            close_after_write(&cache);
            Ok(if removed {
                Outcome::Done
            } else {
                Outcome::NotFound
            })
        }
        Command::Clear { yes } => {
            if !yes {
                return Ok(Outcome::Usage(
                    "clear removes every entry: add --yes to confirm".into(),
                ));
            }
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let n = cache.clear()?;
            close_after_write(&cache);
            outln!("removed {n} entries")?;
            Ok(Outcome::Done)
        }
        Command::Flush => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            cache.flush()?;
            Ok(Outcome::Done)
        }
        Command::Verify => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let report = cache.verify()?;
            cache.close()?;
            let mut out = output::stdout();
            for problem in &report.problems {
                serde_json::to_writer(&mut out, problem)?;
                std::io::Write::write_all(&mut out, b"\n")?;
            }
            eprintln!(
                "{} rows, {} payload files, {} problems",
                report.rows,
                report.payloads,
                report.problems.len()
            );
            Ok(if report.is_clean() {
                Outcome::Done
            } else {
                Outcome::Problems
            })
        }
        Command::Repair => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let report = cache.repair()?;
            cache.close()?;
            let summary = serde_json::json!({
                "rows": report.found.rows,
                "payloads": report.found.payloads,
                "problems": report.found.problems.len(),
                "rows_deleted": report.rows_deleted,
                "rows_written": report.rows_written,
                "files_removed": report.files_removed,
                "left_alone": report.found.problems.iter()
                    .filter(|p| matches!(
                        p.kind,
                        cacheness::repair::ProblemKind::UnknownFile
                            | cacheness::repair::ProblemKind::ForeignDirectory
                    ))
                    .map(|p| p.path.clone())
                    .collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&summary)?)?;
            Ok(Outcome::Done)
        }
        Command::Compact => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let report = cache.maintain()?;
            cache.close()?;
            outln!("{}", serde_json::to_string_pretty(&report)?)?;
            Ok(Outcome::Done)
        }
        Command::Evict => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let report = cache.evict()?;
            cache.close()?;
            outln!("{}", serde_json::to_string_pretty(&report)?)?;
            Ok(Outcome::Done)
        }
        Command::Cleanup => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let n = cache.cleanup_expired()?;
            close_after_write(&cache);
            outln!("removed {n} expired entries")?;
            Ok(Outcome::Done)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NotFound) => {
            eprintln!("not found");
            ExitCode::from(EXIT_NOT_FOUND)
        }
        Ok(Outcome::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Ok(Outcome::Problems) => ExitCode::from(EXIT_PROBLEMS),
        // The reader of standard output went away (`cacheness sql ... | head`): what it read
        // was right, and there is nobody left to tell.
        Err(_) if output::pipe_closed() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
