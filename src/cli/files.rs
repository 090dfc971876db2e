//! What a command reads and writes: input files (bounded), the spec (validated and checked against its own
//! guardrails before any backend exists), output files and stdout (a closed pipe is an error, never a panic).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::args::{ColorChoice, Global};
use super::{output, print_diagnostics, CliError};
use crate::spec::{self, Loaded, Spec};

/// Reads an input file: a regular file of at most [`crate::fileio::MAX_FILE_BYTES`].
pub(super) fn read_text(path: &Path) -> Result<String, CliError> {
    crate::fileio::read_bounded(path, crate::fileio::MAX_FILE_BYTES).map_err(|problem| {
        CliError::Read {
            path: path.display().to_string(),
            problem,
        }
    })
}

pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::fileio::write_atomic(path, bytes).map_err(|source| CliError::Io {
        action: "write",
        path: path.display().to_string(),
        source,
    })
}

/// Writes to stdout and flushes, so a closed pipe is an error to report, never a panic.
pub(super) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

pub(super) fn stdout_error(source: std::io::Error) -> CliError {
    CliError::Io {
        action: "write",
        path: "stdout".into(),
        source,
    }
}

/// Reads and validates the spec; prints warnings.
pub(super) fn load_spec(path: &Path, color: ColorChoice) -> Result<(Loaded, String), CliError> {
    let text = read_text(path)?;
    let loaded = load_spec_text(path, &text, color)?;
    Ok((loaded, text))
}

/// Validates spec text read from `path`; prints warnings.
/// The spec loaded and checked against its own guardrails: a spec whose principals break one is refused like an
/// invalid one, before any AWS call; where the evaluator cannot decide it is a warning.
pub(super) fn checked_spec(file: &str, text: &str) -> Result<Loaded, spec::Diagnostics> {
    let mut loaded = spec::load(file, text)?;
    let breaches = crate::guardrails::spec_findings(&loaded.spec);
    if !breaches.is_empty() {
        let found = spec::locate(file, text, breaches);
        if found.has_errors() {
            return Err(found);
        }
        loaded.warnings.source = found.source.clone();
        loaded.warnings.items.extend(found.items);
        loaded.warnings.items.sort_by_key(|d| d.pos.offset);
    }
    Ok(loaded)
}

/// Validates spec text read from `path`; prints warnings.
pub(super) fn load_spec_text(
    path: &Path,
    text: &str,
    color: ColorChoice,
) -> Result<Loaded, CliError> {
    let loaded = checked_spec(&path.display().to_string(), text).map_err(CliError::Spec)?;
    if !loaded.warnings.items.is_empty() {
        print_diagnostics(&loaded.warnings, output::stderr_style(color).color);
    }
    Ok(loaded)
}

/// `--user` names, lower-cased; `None` when the whole spec is in scope.
pub(super) fn only(users: &[String]) -> Option<BTreeSet<String>> {
    (!users.is_empty()).then(|| users.iter().map(|u| u.to_ascii_lowercase()).collect())
}

/// The spec, read and validated before any backend exists: an invalid spec makes no AWS call.
pub(super) struct SpecInput {
    pub(super) spec: Spec,
    pub(super) text: String,
}

pub(super) fn spec_input(path: &Path, g: &Global) -> Result<SpecInput, CliError> {
    let (loaded, text) = load_spec(path, g.color)?;
    Ok(SpecInput {
        spec: loaded.spec,
        text,
    })
}
