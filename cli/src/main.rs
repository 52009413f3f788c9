//! The `cacheness` command-line tool.

mod demo;

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
}

fn cache_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from(".cacheness"))
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Demo => demo::run(cli.dir),
        Command::Ls => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            for e in cache.list_entries()? {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(())
        }
        Command::Stats => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            println!("{}", serde_json::to_string_pretty(&cache.stats()?)?);
            Ok(())
        }
        Command::Flush => {
            let cache = cacheness::blocking::Cache::open(cache_dir(cli.dir))?;
            cache.flush()?;
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
