//! The live side of `can` and `who-can`: the account's users, their groups' policies and the documents of the
//! managed policies attached to them (customer-managed ones come with the account read, others are fetched).

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use crate::authz::{from_live, UserPolicies};
use crate::backend::{Backend, ReadScope};
use crate::plan::{Target, TargetKind};

/// The policies of every live user and role (or of those in `only`, compared as IAM does, by kind and
/// case-insensitive name).
///
/// # Errors
/// Backend errors.
pub async fn live_principals<B: Backend>(
    backend: &B,
    only: Option<&BTreeSet<(TargetKind, String)>>,
) -> Result<Vec<UserPolicies>, Error> {
    let mut live = backend.read(&ReadScope::default()).await?;
    if let Some(only) = only {
        live.users
            .retain(|name, _| only.contains(&Target::User(name.clone()).folded()));
        live.roles
            .retain(|name, _| only.contains(&Target::Role(name.clone()).folded()));
    }
    let groups = if live.users.values().any(|u| !u.groups.is_empty()) {
        backend.read_groups().await?
    } else {
        BTreeMap::new()
    };
    let customer: BTreeSet<&str> = live.policies.values().map(|p| p.arn.as_str()).collect();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for r in live.roles.values() {
        wanted.extend(r.attached_policies.iter().cloned());
        wanted.extend(r.permissions_boundary.iter().cloned());
    }
    for u in live.users.values() {
        wanted.extend(u.attached_policies.iter().cloned());
        wanted.extend(u.permissions_boundary.iter().cloned());
        for g in u.groups.iter().filter_map(|g| groups.get(g)) {
            wanted.extend(g.attached_policies.iter().cloned());
        }
    }
    wanted.retain(|arn| !customer.contains(arn.as_str()));
    let arns: Vec<String> = wanted.into_iter().collect();
    let documents = backend.policy_documents(&arns).await?;
    Ok(from_live(&live, &groups, &documents))
}
