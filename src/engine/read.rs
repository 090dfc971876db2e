//! Reading the live account a command needs: access keys (from the credential report where it answers), the
//! dependents of prune candidates, the keys of imported users. The diff decides what they mean.

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use crate::backend::{Backend, BackendError, ReadScope};
use crate::credential_report::CredentialReport;
use crate::diff::{diff, key_users, policy_tag_reads, prune_candidates, DiffOptions};
use crate::import::{selected, ImportOptions};
use crate::model::Account;
use crate::plan::Plan;
use crate::spec::Spec;

/// How a plan reads access keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyRead {
    /// From the account's credential report where its row is exactly what iamspec recorded; ListAccessKeys for
    /// the other users, and for every user the plan changes (the default).
    #[default]
    Report,
    /// ListAccessKeys for every user that declares keys (`--fresh-keys`): no report lag.
    Fresh,
}

/// The users whose keys a plan of `spec` needs: those that declare keys, within the plan's `--user` scope (lower-cased).
fn wanted_keys(spec: &Spec, opts: &DiffOptions) -> BTreeSet<String> {
    key_users(spec)
        .into_iter()
        .filter(|name| opts.in_scope(name))
        .collect()
}

/// What a plan of `spec` must read: keys of the users [`wanted_keys`] names, unless they come from the report.
#[must_use]
pub fn scope(spec: &Spec, opts: &DiffOptions, keys: KeyRead) -> ReadScope {
    ReadScope {
        owner: spec.owner.clone(),
        key_users: match keys {
            KeyRead::Fresh => wanted_keys(spec, opts),
            KeyRead::Report => BTreeSet::new(),
        },
    }
}

/// Reads the live view a plan of `spec` needs and makes the plan. Keys come from the credential report where it
/// answers; every user the plan changes whose keys came from it is read again (ListAccessKeys) and the plan made
/// again, so a write is never decided on report data, which may be hours old.
///
/// # Errors
/// Backend errors, and the diff's.
pub async fn planned<B: Backend>(
    backend: &B,
    spec: &Spec,
    opts: &DiffOptions,
    keys: KeyRead,
) -> Result<(Account, Plan), Error> {
    let (live, plan, _) = planned_with_report(backend, spec, opts, keys).await?;
    Ok((live, plan))
}

/// [`planned`], with when the credential report the plan's keys partly came from was generated (`None` when no
/// key came from one, or IAM did not say): what a drift report is as of, for keys.
///
/// # Errors
/// Backend errors, and the diff's.
pub async fn planned_with_report<B: Backend>(
    backend: &B,
    spec: &Spec,
    opts: &DiffOptions,
    keys: KeyRead,
) -> Result<(Account, Plan, Option<i64>), Error> {
    let (mut live, from_report, generated) = for_plan(backend, spec, opts, keys).await?;
    let generated = generated.filter(|_| !from_report.is_empty());
    let plan = diff(spec, &live, opts)?;
    let changed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| crate::diff::kind::of(c.target.kind()).holds_access_keys())
        .filter_map(|c| live.find_user(c.target.name()).map(|u| u.name.clone()))
        .filter(|name| from_report.contains(name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if changed.is_empty() {
        return Ok((live, plan, generated));
    }
    tracing::debug!(
        users = changed.len(),
        "listing the keys of changed users read from the credential report"
    );
    add_keys(backend, spec, &mut live, &changed).await?;
    let plan = diff(spec, &live, opts)?;
    Ok((live, plan, generated))
}

/// Reads the account, the tags of the managed policies whose ownership matters, the dependents of prune
/// candidates, and the keys of the users that declare them: the full live view a diff needs. Returns it with the
/// users whose keys came from the credential report, and when that report was generated.
///
/// # Errors
/// Backend errors.
pub async fn for_plan<B: Backend>(
    backend: &B,
    spec: &Spec,
    opts: &DiffOptions,
    keys: KeyRead,
) -> Result<(Account, BTreeSet<String>, Option<i64>), BackendError> {
    let wanted = wanted_keys(spec, opts);
    let listed_by_read = keys == KeyRead::Fresh || wanted.is_empty();
    let (live, report) = if listed_by_read {
        (
            backend.read(&scope(spec, opts, KeyRead::Fresh)).await?,
            None,
        )
    } else {
        // The report is generated while the account is read: its wait costs no extra time.
        let (live, report) = futures_util::future::join(
            backend.read(&scope(spec, opts, KeyRead::Report)),
            backend.credential_report(),
        )
        .await;
        (live?, report?)
    };
    let mut live = live;
    let mut from_report = BTreeSet::new();
    let generated = report.as_ref().and_then(CredentialReport::generated);
    if let Some(report) = report {
        let mut to_list = Vec::new();
        for u in live.users.values_mut() {
            if !wanted.contains(&u.name.to_ascii_lowercase()) {
                continue;
            }
            match report.keys_of(u) {
                Some(keys) => {
                    u.access_keys = keys;
                    from_report.insert(u.name.clone());
                }
                None => to_list.push(u.name.clone()),
            }
        }
        tracing::debug!(
            from_report = from_report.len(),
            listed = to_list.len(),
            "access keys matched to the credential report"
        );
        add_keys(backend, spec, &mut live, &to_list).await?;
    } else {
        let users: Vec<String> = live
            .users
            .values()
            .filter(|u| wanted.contains(&u.name.to_ascii_lowercase()))
            .map(|u| u.name.clone())
            .collect();
        if listed_by_read {
            add_key_uses(backend, spec, &mut live, &users).await?;
        } else {
            // No report here (or none to be had): every key user's keys are listed, as with --fresh-keys.
            add_keys(backend, spec, &mut live, &users).await?;
        }
    }
    let arns = policy_tag_reads(spec, &live, opts);
    add_policy_tags(backend, &mut live, &arns).await?;
    let candidates = prune_candidates(spec, &live, opts);
    add_dependents(backend, &mut live, &candidates).await?;
    Ok((live, from_report, generated))
}

/// Lists the keys of `users` (exact names) into `live`, with the last use where it decides something.
async fn add_keys<B: Backend>(
    backend: &B,
    spec: &Spec,
    live: &mut Account,
    users: &[String],
) -> Result<(), BackendError> {
    if users.is_empty() {
        return Ok(());
    }
    let mut listed = backend.list_keys_of(users).await?;
    for name in users {
        if let Some(u) = live.users.get_mut(name) {
            u.access_keys = listed.remove(name).unwrap_or_default();
        }
    }
    add_key_uses(backend, spec, live, users).await
}

/// Reads when keys of `users` were last used, where that decides something and is not known yet: a key without a
/// delivery record (a lost secret is deleted, someone's key kept) and every key of a user whose spec sets
/// `max_unused_days`. One GetAccessKeyLastUsed each, and only for those.
async fn add_key_uses<B: Backend>(
    backend: &B,
    spec: &Spec,
    live: &mut Account,
    users: &[String],
) -> Result<(), BackendError> {
    let judged: BTreeSet<String> = spec
        .users
        .iter()
        .filter(|u| u.access_keys.is_some_and(|k| k.max_unused_days.is_some()))
        .map(|u| u.name.to_ascii_lowercase())
        .collect();
    let ids: Vec<String> = users
        .iter()
        .filter_map(|name| live.users.get(name))
        .flat_map(|u| {
            let all = judged.contains(&u.name.to_ascii_lowercase());
            let unrecorded: BTreeSet<&str> = u.unrecorded_keys().map(|k| k.id.as_str()).collect();
            u.access_keys
                .iter()
                .filter(move |k| {
                    k.last_used.is_none() && (all || unrecorded.contains(k.id.as_str()))
                })
                .map(|k| k.id.clone())
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let uses = backend.keys_last_used(&ids).await?;
    for name in users {
        if let Some(u) = live.users.get_mut(name) {
            for k in &mut u.access_keys {
                if let Some(used) = uses.get(&k.id) {
                    k.last_used = Some(*used);
                }
            }
        }
    }
    Ok(())
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
            user.dependents = Some(Box::new(deps));
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
