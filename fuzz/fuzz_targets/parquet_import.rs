//! `cacheness put x.parquet`: the importer answers any bytes with a table or an error.
#![no_main]
use cacheness_cli::input::{InputFormat, table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = table(data.to_vec(), InputFormat::Parquet, "fuzz.parquet");
});
