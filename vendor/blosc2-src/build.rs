//! Builds c-blosc2 as a static library, as blosc2-src 0.1.4 does, with three changes:
//!
//! - SIMD shuffles by the *target*, chosen at run time: the original asked
//!   `cfg!(target_feature = "avx2")` of the build script itself (compiled for the host, without
//!   AVX2), so the AVX2 shuffles were never built. Here, on x86 and x86_64, the two AVX2 files are
//!   compiled alone with `-mavx2` and `SHUFFLE_AVX2_ENABLED` is defined for the rest, which is
//!   compiled for the baseline: c-blosc2's dispatcher (`shuffle.c`) asks the CPU (cpuid, and
//!   the OS's XSAVE state) on first use and takes AVX2 only where it is present. This is how
//!   c-blosc2's own CMake build does it. SSE2 is part of x86_64's baseline.
//! - zstd comes from `zstd-sys` (one zstd in the binary, the one the `zstd` crate uses), not
//!   from a second bundled copy.
//! - Build facts are read from `CARGO_CFG_*` (the target), never from `cfg!` (the host).

use std::env;
use std::fs;
use std::path::Path;

fn c_files(folder: &str, skip: &[&str]) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("cannot list {folder}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !skip.contains(&name)
        })
        .collect();
    files.sort();
    files
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=c-blosc2");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let msvc = env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "msvc");
    let x86 = arch == "x86_64" || arch == "x86";
    let zstd_include = env::var("DEP_ZSTD_INCLUDE").expect("zstd-sys publishes its headers");

    let configure = |build: &mut cc::Build| {
        build
            .include("c-blosc2/include")
            .include("c-blosc2/internal-complibs/lz4-1.10.0")
            .define("HAVE_LZ4", None)
            .define("HAVE_ZSTD", None)
            .define("ZDICT_STATIC_LINKING_ONLY", None)
            .warnings(false);
        for dir in zstd_include.split(';').filter(|d| !d.is_empty()) {
            build.include(Path::new(dir));
        }
        if x86 {
            build.define("SHUFFLE_SSE2_ENABLED", "1");
            build.define("SHUFFLE_AVX2_ENABLED", "1");
            if !msvc && arch == "x86" {
                build.flag("-msse2");
            }
        }
    };

    let avx2_files = ["shuffle-avx2.c", "bitshuffle-avx2.c"];
    if x86 {
        // Only these two files may hold AVX2 instructions; they run only when the dispatcher
        // has found AVX2 on the CPU.
        let mut avx2 = cc::Build::new();
        configure(&mut avx2);
        avx2.flag(if msvc { "/arch:AVX2" } else { "-mavx2" });
        for f in avx2_files {
            avx2.file(Path::new("c-blosc2/blosc").join(f));
        }
        avx2.compile("blosc2_avx2");
    }

    let mut build = cc::Build::new();
    configure(&mut build);
    let skip: &[&str] = if x86 { &avx2_files } else { &[] };
    build.files(c_files("c-blosc2/blosc", skip));
    build.files(c_files("c-blosc2/internal-complibs/lz4-1.10.0", &[]));
    build.compile("blosc2");
}
