//! The one top-level error type; `cli::main` is the only place it is printed.

use crate::backend::BackendError;
use crate::diff::Conflict;
use crate::spec::Diagnostics;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The spec is invalid (or has warnings under --strict).
    #[error("{} has {} error(s)", .0.file, .0.counts().0)]
    Spec(Diagnostics),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// An AWS or local-account call failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Spec users that iamspec may not write to.
    #[error("the spec conflicts with users iamspec does not own")]
    Conflicts(Vec<Conflict>),
    /// The credentials are for another account than the spec pins.
    #[error(
        "the spec is pinned to account {expected}, but the credentials are for account {actual}"
    )]
    WrongAccount {
        /// The spec's account_id.
        expected: String,
        /// The caller's account.
        actual: String,
    },
    /// The plan has more destructive changes than allowed.
    #[error("the plan has {count} destructive changes, more than --max-deletes {max}; nothing was changed")]
    TooManyDeletes {
        /// Destructive changes in the plan.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Apply needs confirmation and cannot ask.
    #[error("apply needs confirmation, and there is no terminal to ask on")]
    NeedsApproval,
    /// The user answered no.
    #[error("apply cancelled; nothing was changed")]
    Declined,
    /// Keys would be created with nowhere to put their secrets.
    #[error("the plan creates {0} access key(s), but no --secrets-dir or --encrypt-to was given; nothing was changed")]
    NoSecretsDestination(usize),
    /// A saved plan cannot be applied.
    #[error("saved plan {path} is stale: {reason}")]
    StalePlan {
        /// The plan file.
        path: String,
        /// What changed.
        reason: String,
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
    /// Anything else, with a message.
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// A hint for people, printed under the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Backend(e) => e.hint.clone(),
            Self::WrongAccount { .. } => {
                Some("check --profile / AWS_PROFILE, or the spec's account_id".into())
            }
            Self::TooManyDeletes { .. } => {
                Some("review the plan; raise --max-deletes if the deletions are intended".into())
            }
            Self::NeedsApproval => {
                Some("review with `iamspec plan`, then run apply with --auto-approve".into())
            }
            Self::NoSecretsDestination(_) => {
                Some("add --secrets-dir DIR (or --encrypt-to AGE_RECIPIENT)".into())
            }
            Self::StalePlan { .. } => {
                Some("run `iamspec plan --out FILE` again and review the new plan".into())
            }
            Self::ApplyFailed { .. } => {
                Some("fix the cause and run apply again: it converges from where it stopped".into())
            }
            _ => None,
        }
    }
}
