//! Making a plan: the account check (before any other call), the read the spec needs, the diff.

use std::collections::BTreeSet;

use super::{read, Error};
use crate::backend::Backend;
use crate::diff::{diff, DiffOptions, Guard};
use crate::model::Account;
use crate::plan::Plan;
use crate::spec::Spec;

/// A plan with what it was made from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The caller's account.
    pub account_id: String,
    /// The live state the plan was made against.
    pub live: Account,
    /// The plan.
    pub plan: Plan,
    /// The options it was made with.
    pub opts: DiffOptions,
    /// What an apply of it may write, from the same read: the executor checks every operation against it.
    pub guard: Guard,
}

/// GetCallerIdentity before any other call; refuses an account other than the spec's pinned one.
///
/// # Errors
/// [`Error::WrongAccount`], or the backend's error.
pub async fn checked_account<B: Backend>(
    backend: &B,
    expected: Option<&str>,
) -> Result<String, Error> {
    let actual = backend.account_id().await?;
    match expected {
        Some(expected) if expected != actual => Err(Error::WrongAccount {
            expected: expected.to_owned(),
            actual,
        }),
        _ => Ok(actual),
    }
}

/// Plans `spec` against the live account: limited to `only` (lower-cased user names) when given, key ages as of
/// `now`.
///
/// # Errors
/// A wrong account, conflicts with users iamspec does not own, backend errors.
pub async fn plan<B: Backend>(
    backend: &B,
    spec: &Spec,
    only: Option<BTreeSet<String>>,
    now: i64,
) -> Result<Planned, Error> {
    let account_id = checked_account(backend, spec.account_id.as_deref()).await?;
    plan_in(backend, spec, account_id, only, now).await
}

/// [`plan`] in an account already checked with [`checked_account`].
///
/// # Errors
/// Conflicts with users iamspec does not own, backend errors.
pub async fn plan_in<B: Backend>(
    backend: &B,
    spec: &Spec,
    account_id: String,
    only: Option<BTreeSet<String>>,
    now: i64,
) -> Result<Planned, Error> {
    let opts = DiffOptions {
        now,
        only,
        account_id: Some(account_id.clone()),
    };
    let live = read::for_plan(backend, spec, &opts).await?;
    let plan = diff(spec, &live, &opts)?;
    let guard = Guard::new(spec, &live, &opts);
    Ok(Planned {
        account_id,
        live,
        plan,
        opts,
        guard,
    })
}
