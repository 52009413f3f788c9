//! The parts of the `cacheness` command-line tool that read outside input, as a library so
//! that fuzz targets (`fuzz/`) and tests can reach them: [`input`] reads what `cacheness put`
//! caches (CSV, JSON lines and Parquet become Arrow tables), [`npy`] converts arrays from and
//! to NumPy `.npy`, and [`progress`] draws progress on a terminal. The binary (`main.rs`) holds
//! the commands.

#![warn(missing_docs)]

pub mod input;
pub mod npy;
pub mod progress;

/// What commands return: errors are printed and exit 1.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;
