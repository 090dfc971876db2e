//! Engine errors: what can stop a plan or an apply before or around the executor.

use crate::backend::BackendError;
use crate::diff::{Conflict, Refusal};
use crate::engine::SavedPlanError;

/// Why the engine could not plan or apply.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS or local-account call failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Spec users that clash with live ones (not owned, another owner, a case-only difference).
    #[error("the spec conflicts with {} live user(s) or policies", .0.len())]
    Conflicts(Vec<Conflict>),
    /// `--user` names a user that is neither in the spec nor in the account.
    #[error("--user {name}: no such user in the spec or in the account")]
    UnknownUser {
        /// The name given.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
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
    /// Operations the ownership guard refuses: the plan writes to what this spec does not own.
    #[error("{} change(s) would write to objects this spec does not own or may not delete; nothing was changed", .0.len())]
    Refused(Vec<Refusal>),
    /// The plan has more destructive changes than allowed.
    #[error("the plan has {count} destructive changes, more than --max-deletes {max}; nothing was changed")]
    TooManyDeletes {
        /// Destructive changes in the plan.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Keys would be created with nowhere to put their secrets.
    #[error("the plan creates {0} access key(s), but no --secrets-dir or --encrypt-to was given; nothing was changed")]
    NoSecretsDestination(usize),
    /// Another apply holds the lock.
    #[error("another apply holds the lock {name}: {holder}")]
    Locked {
        /// The lock's name.
        name: String,
        /// What its holder text says.
        holder: String,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    /// A saved plan cannot be applied.
    #[error(transparent)]
    Saved(#[from] SavedPlanError),
    /// Managed policies the spec attaches that the account does not have (ARN, and the closest known one).
    #[error("the spec attaches {} managed polic{} the account does not have: {}", .0.len(), if .0.len() == 1 { "y" } else { "ies" }, .0.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", "))]
    UnknownPolicies(Vec<(String, Option<String>)>),
    /// The admin step cannot write the boundary.
    #[error("{0}")]
    Bootstrap(String),
    /// A many-account run has no account to work on.
    #[error(transparent)]
    Accounts(#[from] super::accounts::SelectError),
}

impl From<crate::diff::DiffError> for Error {
    fn from(e: crate::diff::DiffError) -> Self {
        match e {
            crate::diff::DiffError::Conflicts(c) => Self::Conflicts(c),
        }
    }
}

impl Error {
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
            Self::NoSecretsDestination(_) => {
                Some("add --secrets-dir DIR (or --encrypt-to AGE_RECIPIENT)".into())
            }
            Self::Saved(_) => {
                Some("run `iamspec plan --out FILE` again and review the new plan".into())
            }
            Self::Locked { .. } => Some(
                "wait for it (--lock-timeout 5m), or, if that run is gone, remove the lock with `iamspec force-unlock`"
                    .into(),
            ),
            Self::Interrupted => {
                Some("run apply again: it converges from where it stopped".into())
            }
            Self::Conflicts(_) => None,
            Self::UnknownUser { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "`iamspec validate` lists the spec's users; names are case-insensitive".into(),
            }),
            Self::Refused(_) => {
                Some("this is never expected of a plan iamspec made; report it".into())
            }
            Self::UnknownPolicies(missing) => Some(
                match missing.iter().find_map(|(_, s)| s.as_deref()) {
                    Some(s) => format!("did you mean {s}? nothing was changed"),
                    None => "check the ARNs under managed_policies; nothing was changed".into(),
                },
            ),
            Self::Accounts(super::accounts::SelectError::Unknown { suggestion, .. }) => {
                Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "--account takes a name under `accounts:` or a 12-digit id".into(),
                })
            }
            Self::Accounts(super::accounts::SelectError::Empty(_)) => Some(
                "check `accounts:`, `organization.exclude` and --account / --shard".into(),
            ),
            Self::Bootstrap(_) => Some(
                "the boundary is named by the spec's owner and path; README \"Running in CI\" explains the admin step"
                    .into(),
            ),
        }
    }
}
