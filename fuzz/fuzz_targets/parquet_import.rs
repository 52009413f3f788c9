//! `cacheness put x.parquet`: the importer answers any bytes with batches or an error.
//!
//! As `cacheness put` does, the batches are read one at a time and dropped; at most 64 are
//! read. A Parquet file of a few hundred bytes can honestly declare billions of rows (one
//! run-length-encoded value repeated): importing it takes as long as writing them, in bounded
//! memory, which is no finding (the first 10-minute run collected every batch, as
//! `input::table` does, and ran out of memory on such a file).
#![no_main]
use cacheness_cli::input::{InputFormat, TableSource, open_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = TableSource::Memory(data.to_vec());
    if let Ok(input) = open_table(source, InputFormat::Parquet, "fuzz.parquet") {
        for batch in input.batches.take(64) {
            if batch.is_err() {
                break;
            }
        }
    }
});
