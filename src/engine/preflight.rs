//! Refusals that must happen before any write: an operation the ownership guard refuses, too many destructive
//! changes, keys with nowhere to put their secrets.

use super::Error;
use crate::diff::{Guard, Refusal};
use crate::plan::{Op, Plan};

/// What an apply allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Destructive changes allowed (`--max-deletes`).
    pub max_deletes: usize,
    /// Whether new secrets have somewhere to go.
    pub has_secrets_destination: bool,
}

/// Refuses `plan` when `guard` refuses any of its operations or it breaks `limits`.
///
/// # Errors
/// [`Error::Refused`], [`Error::TooManyDeletes`] or [`Error::NoSecretsDestination`].
pub fn preflight(plan: &Plan, limits: &Limits, guard: &Guard) -> Result<(), Error> {
    let refused: Vec<Refusal> = plan
        .changes
        .iter()
        .filter_map(|c| guard.check(&c.op).err())
        .collect();
    if !refused.is_empty() {
        return Err(Error::Refused(refused));
    }
    let destructive = plan.destructive_count();
    if destructive > limits.max_deletes {
        return Err(Error::TooManyDeletes {
            count: destructive,
            max: limits.max_deletes,
        });
    }
    let keys = plan
        .changes
        .iter()
        .filter(|c| matches!(c.op, Op::CreateAccessKey { .. }))
        .count();
    if keys > 0 && !limits.has_secrets_destination {
        return Err(Error::NoSecretsDestination(keys));
    }
    Ok(())
}
