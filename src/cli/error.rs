//! The one top-level error type; `cli::main` is the only place it is printed.

use crate::backend::BackendError;
use crate::engine::{self, SavedPlanError};
use crate::spec::Diagnostics;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The spec is invalid.
    #[error("{} has {} error(s)", .0.file, .0.counts().0)]
    Spec(Diagnostics),
    /// The command line asks something impossible (an unknown action, a malformed value).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// `validate --strict` found warnings.
    #[error("{file}: {count} warning(s) under --strict")]
    StrictWarnings {
        /// The spec file.
        file: String,
        /// How many warnings.
        count: usize,
    },
    /// An input file could not be read (missing, not a regular file, too large, not UTF-8).
    #[error("read {path}: {problem}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        problem: crate::fileio::ReadError,
    },
    /// A file could not be written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A document could not be serialised.
    #[error("serialise {what}: {source}")]
    Json {
        /// What was being serialised.
        what: &'static str,
        /// Why it failed.
        source: serde_json::Error,
    },
    /// The engine refused or failed (backend errors, conflicts, wrong account, preflight).
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// A command needs confirmation and cannot ask.
    #[error("{command} needs confirmation: there is no terminal to ask on, and stdin did not answer `yes`")]
    NeedsApproval {
        /// The command.
        command: &'static str,
        /// The flag that confirms in advance.
        flag: &'static str,
    },
    /// The user answered no.
    #[error("apply cancelled; nothing was changed")]
    Declined,
    /// A saved plan cannot be applied.
    #[error("saved plan {path} cannot be applied: {reason}")]
    SavedPlan {
        /// The plan file.
        path: String,
        /// Why.
        reason: SavedPlanError,
    },
    /// Some changes failed or were not started.
    #[error("apply failed: {done} done, {failed} failed, {not_started} not started")]
    ApplyFailed {
        /// Changes done.
        done: usize,
        /// Changes failed.
        failed: usize,
        /// Changes not started.
        not_started: usize,
    },
    /// Accounts of a many-account run failed (each named above, with its error).
    #[error("{failed} of {total} account(s) failed{}", if *.stopped { "; nothing was applied in any account" } else { "" })]
    Accounts {
        /// Accounts that failed.
        failed: usize,
        /// Accounts in the run.
        total: usize,
        /// Whether the apply stopped before writing anywhere.
        stopped: bool,
    },
}

impl From<BackendError> for CliError {
    fn from(e: BackendError) -> Self {
        Self::Engine(engine::Error::Backend(e))
    }
}

impl CliError {
    /// A hint for people, printed under the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Engine(e) => e.hint(),
            Self::Usage { hint, .. } => Some(hint.clone()),
            Self::NeedsApproval {
                command: "apply",
                flag,
            } => Some(format!(
                "review with `iamspec plan`, then run apply with {flag} (or pipe `yes` to it)"
            )),
            Self::NeedsApproval { command, flag } => Some(format!(
                "pipe `yes` to it (`echo yes | iamspec {command} ...`), or run `iamspec {command} {flag}` to confirm in advance"
            )),
            Self::SavedPlan {
                reason: SavedPlanError::SpecMissing(_),
                ..
            } => Some(
                "the path is the one recorded in the plan, relative to where it was made: run apply there, or pass the spec with -f"
                    .into(),
            ),
            Self::SavedPlan { .. } => {
                Some("run `iamspec plan --out FILE` again and review the new plan".into())
            }
            Self::Read { path, problem } if problem.is_not_found() => {
                Some(if path == "iamspec.yaml" {
                    "-f defaults to iamspec.yaml in the current directory; give your spec with -f FILE (examples/ has \
                 some to start from)"
                    .into()
                } else {
                    "check the path; relative paths start at the current directory".into()
                })
            }
            Self::Accounts { stopped: true, .. } => Some(
                "fix them, narrow the run with --account, or apply to the others with --continue-on-error".into(),
            ),
            Self::Accounts { .. } => {
                Some("fix them and run again; the accounts that succeeded converge to no changes".into())
            }
            Self::ApplyFailed { .. } => {
                Some("fix the cause and run apply again: it converges from where it stopped".into())
            }
            _ => None,
        }
    }
}
