//! The `cacheness` command-line tool.

mod demo;
mod output;
mod params;

use std::path::PathBuf;
use std::process::ExitCode;

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
    /// List the entries (one JSON object per line).
    Ls,
    /// Show entry counts, sizes, and this process's counters as JSON.
    Stats,
    /// Commit pending catalog rows to Delta.
    Flush,
    /// Remove one entry (payload and catalog row). Exits 3 when there is no such entry.
    Invalidate {
        #[command(flatten)]
        entry: EntryArg,
    },
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
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: output::Format,
        /// Write to this file instead of standard output (required for parquet).
        #[arg(long, short, required_if_eq("format", "parquet"))]
        output: Option<PathBuf>,
    },
    /// Write an entry's value in its natural format: tables as Parquet, arrays as .b2nd (the
    /// checked payload files themselves), objects and JSON as JSON text, bytes as they are.
    /// Exits 3 when there is no such entry.
    Get {
        #[command(flatten)]
        entry: EntryArg,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
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
    /// A key parameter, `name=value` or `name:type=value` (type: str, int, float, bool);
    /// repeat for each parameter.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

impl EntryArg {
    /// The cache key these arguments name; a malformed parameter is a usage error.
    fn key(&self) -> Result<String, Outcome> {
        match &self.key {
            Some(k) => Ok(k.clone()),
            None => params::params(&self.params)
                .and_then(|p| p.key().map_err(|e| e.to_string()))
                .map_err(Outcome::Usage),
        }
    }
}

/// Exit code of `get` when the entry does not exist (0 ok, 1 error, 2 usage).
const EXIT_NOT_FOUND: u8 = 3;

/// What a command asks `main` to exit with.
enum Outcome {
    Done,
    NotFound,
    /// A usage error clap cannot see (exit 2).
    Usage(String),
}

fn cache_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from(".cacheness"))
}

fn run(cli: Cli) -> Result<Outcome, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Get { entry, output } => {
            let key = match entry.key() {
                Ok(k) => k,
                Err(usage) => return Ok(usage),
            };
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let Some((info, bytes)) = cache.payload_by_key(&key)? else {
                return Ok(Outcome::NotFound);
            };
            let what = format!("payload of {key}");
            let out: Vec<u8> = match info.data_type.as_str() {
                "object" => {
                    let raw = cacheness::codec::object::payload(&bytes, &key, info.raw_bytes)?;
                    let value: serde_json::Value = rmp_serde::from_slice(&raw).map_err(|e| {
                        format!("{what}: MessagePack does not convert to JSON: {e}")
                    })?;
                    let mut v = serde_json::to_vec_pretty(&value)?;
                    v.push(b'\n');
                    v
                }
                "json" => {
                    let mut v = cacheness::codec::object::payload(&bytes, &key, info.raw_bytes)?;
                    v.push(b'\n');
                    v
                }
                "bytes" => cacheness::codec::object::payload(&bytes, &key, info.raw_bytes)?,
                _ => bytes.to_vec(),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?
                }
                None => std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?,
            }
            Ok(Outcome::Done)
        }
        Command::Demo => demo::run(cli.dir).map(|()| Outcome::Done),
        Command::Ls => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            for e in cache.list_entries()? {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(Outcome::Done)
        }
        Command::Stats => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            println!("{}", serde_json::to_string_pretty(&cache.stats()?)?);
            Ok(Outcome::Done)
        }
        Command::Sql {
            query,
            format,
            output,
        } => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let batches = cache.sql(&query)?;
            match output {
                Some(path) => {
                    let mut file = std::fs::File::create(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    output::write(&batches, format, &mut file)?;
                }
                None => output::write(&batches, format, &mut std::io::stdout().lock())?,
            }
            Ok(Outcome::Done)
        }
        Command::Invalidate { entry } => {
            let key = match entry.key() {
                Ok(k) => k,
                Err(usage) => return Ok(usage),
            };
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            let removed = cache.invalidate_key(&key)?;
            cache.close()?;
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
            cache.close()?;
            println!("removed {n} entries");
            Ok(Outcome::Done)
        }
        Command::Flush => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            cache.flush()?;
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
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
