//! The iamspec binary: parse arguments, run, print errors once, exit with a documented code.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(iamspec::cli::main())
}
