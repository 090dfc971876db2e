//! The command line: argument parsing, one function per command, and the only place errors are printed.

mod access;
mod accounts;
mod apply;
mod args;
mod commands;
mod connect;
mod error;
pub mod exit;
mod files;
mod offline;
mod output;
mod run;

pub use args::{Cli, Command, Format, Global};
pub use error::CliError;
pub use run::main;
pub(crate) use run::print_diagnostics;
