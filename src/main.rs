//! The iamspec binary: parse arguments, run, print errors once, exit with a documented code.

use std::process::ExitCode;

// glibc's allocator spent about half of a 100,000-user plan in malloc/free (BENCHMARKS.md); mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(iamspec::cli::main())
}
