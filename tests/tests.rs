//! The integration tests of the `cacheness` crate, in one test binary, so that a build links
//! DataFusion and deltalake into one test executable rather than one per file (ripgrep's
//! layout). One module per area; `common` holds the helpers they share (and `cacheness-test-support` those the
//! other crates' tests share too). Run one area
//! with a filter: `cargo test --workspace --test tests model::`.

mod common;

use cacheness_test_support::s3;

mod async_api;
mod catalog;
mod errors;
mod eviction;
mod formats;
mod full_disk;
mod functions;
mod fuzz;
mod garbage;
mod integrity;
mod keys;
mod lifecycle;
mod maintenance;
mod mapped;
mod memo;
mod metadata;
mod migration;
mod model;
mod object_store;
mod processes;
mod repair;
mod security;
mod slices;
mod small_entries;
mod sql;
mod streamed;
mod truth;
