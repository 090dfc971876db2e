//! Reading the live account a command needs: the scope (whose keys), the dependents of prune candidates, the
//! keys of imported users. Reads only; the diff decides what they mean.

use std::collections::BTreeMap;

use crate::backend::{Backend, BackendError, ReadScope};
use crate::diff::{key_users, policy_tag_reads, prune_candidates, DiffOptions};
use crate::import::{selected, ImportOptions};
use crate::model::Account;
use crate::spec::Spec;

/// What a plan of `spec` must read: keys of the spec users that declare them.
#[must_use]
pub fn scope(spec: &Spec) -> ReadScope {
    ReadScope {
        owner: spec.owner.clone(),
        key_users: key_users(spec),
    }
}

/// Reads the account, the tags of the managed policies whose ownership matters, and the dependents of prune
/// candidates: the full live view a diff needs.
///
/// # Errors
/// Backend errors.
pub async fn for_plan<B: Backend>(
    backend: &B,
    spec: &Spec,
    opts: &DiffOptions,
) -> Result<Account, BackendError> {
    let mut live = backend.read(&scope(spec)).await?;
    let arns = policy_tag_reads(spec, &live, opts);
    add_policy_tags(backend, &mut live, &arns).await?;
    let candidates = prune_candidates(spec, &live, opts);
    add_dependents(backend, &mut live, &candidates).await?;
    Ok(live)
}

/// Reads the tags of the policies `arns` into `live`.
///
/// # Errors
/// Backend errors.
pub async fn add_policy_tags<B: Backend>(
    backend: &B,
    live: &mut Account,
    arns: &[String],
) -> Result<(), BackendError> {
    if arns.is_empty() {
        return Ok(());
    }
    let mut tags = backend.read_policy_tags(arns).await?;
    for p in live.policies.values_mut() {
        if let Some(t) = tags.remove(&p.arn) {
            p.tags = Some(t);
        }
    }
    Ok(())
}

/// Reads the keys and dependents of `users` (about to be deleted) into `live`.
///
/// # Errors
/// Backend errors.
pub async fn add_dependents<B: Backend>(
    backend: &B,
    live: &mut Account,
    users: &[String],
) -> Result<(), BackendError> {
    if users.is_empty() {
        return Ok(());
    }
    for (name, (keys, deps)) in backend.read_dependents(users).await? {
        if let Some(user) = live.users.get_mut(&name) {
            user.access_keys = keys;
            user.dependents = Some(deps);
        }
    }
    Ok(())
}

/// Reads the account for `import`: every user, and the access keys of the users being imported (their number is
/// carried over).
///
/// # Errors
/// Backend errors.
pub async fn for_import<B: Backend>(
    backend: &B,
    opts: &ImportOptions,
) -> Result<(Account, BTreeMap<String, u32>), BackendError> {
    let mut live = backend.read(&ReadScope::default()).await?;
    let names: Vec<String> = selected(&live, opts)
        .iter()
        .map(|u| u.name.clone())
        .collect();
    for name in names {
        let keys = backend.list_access_keys(&name).await?;
        if let Some(u) = live.users.get_mut(&name) {
            u.access_keys = keys;
        }
    }
    // A role's session length is in its tag when iamspec made it; others need a look (GetRole).
    let untagged: Vec<String> = if opts.users.is_empty() {
        crate::import::selected_roles(&live, opts)
            .into_iter()
            .filter(|r| !r.tags.contains_key(crate::model::MAX_SESSION_TAG))
            .map(|r| r.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let sessions = if untagged.is_empty() {
        BTreeMap::new()
    } else {
        backend.role_sessions(&untagged).await?
    };
    Ok((live, sessions))
}
