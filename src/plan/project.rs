//! The account as a plan leaves it: every operation's effect on what principals may do (policies, attachments,
//! membership, boundaries, trust) and on ownership (tags), applied to the live [`Account`] in plan order. Keys
//! and credentials do not change access and are left as they are. One exhaustive match: a new operation must say
//! what it does here.

use std::collections::BTreeMap;

use super::{Change, Op};
use crate::model::{Account, Group, ManagedPolicy, Role, User};

/// The entry of `map` named `name` ignoring case (IAM names are case-insensitive; the plan may spell them as the
/// spec does).
fn entry<'a, T>(map: &'a mut BTreeMap<String, T>, name: &str) -> Option<&'a mut T> {
    // The exact name first: the plan spells live objects as the account does, so the scan is for the odd one out.
    let key = if map.contains_key(name) {
        name.to_owned()
    } else {
        map.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone()
    };
    map.get_mut(&key)
}

fn remove<T>(map: &mut BTreeMap<String, T>, name: &str) {
    if map.remove(name).is_none() {
        if let Some(key) = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() {
            map.remove(&key);
        }
    }
}

/// `live` after `changes`, in the account `account_id` (for the ARNs of policies the plan creates).
#[must_use]
pub fn project(live: &Account, changes: &[Change], account_id: &str) -> Account {
    let mut a = live.clone();
    for change in changes {
        apply(&mut a, &change.op, account_id);
    }
    a
}

#[expect(
    clippy::too_many_lines,
    reason = "one arm per operation, exhaustive on purpose"
)]
fn apply(a: &mut Account, op: &Op, account_id: &str) {
    match op {
        Op::CreateUser {
            user,
            path,
            tags,
            permissions_boundary,
        } => {
            let mut u = User::new(user.clone(), path.clone());
            u.tags = tags.clone().into();
            u.permissions_boundary.clone_from(permissions_boundary);
            a.users.insert(user.clone(), u);
        }
        Op::PutUserPolicy {
            user,
            policy_name,
            document,
        } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
        }
        Op::DeleteUserPolicy { user, policy_name } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.inline_policies.remove(policy_name);
            }
        }
        Op::AttachUserPolicy { user, policy_arn } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.attached_policies.insert(policy_arn.clone());
            }
        }
        Op::DetachUserPolicy { user, policy_arn } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.attached_policies.remove(policy_arn);
            }
        }
        Op::AddUserToGroup { user, group } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.groups.insert(group.clone());
            }
        }
        Op::RemoveUserFromGroup { user, group } | Op::RemoveGroupMember { group, user } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.groups.retain(|g| !g.eq_ignore_ascii_case(group));
            }
        }
        Op::PutUserPermissionsBoundary { user, policy_arn } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.permissions_boundary = Some(policy_arn.clone());
            }
        }
        Op::DeleteUserPermissionsBoundary { user } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.permissions_boundary = None;
            }
        }
        Op::DeleteUser { user } => remove(&mut a.users, user),
        Op::CreatePolicy {
            policy,
            path,
            description,
            document,
            tags,
        } => {
            a.policies.insert(
                policy.clone(),
                ManagedPolicy {
                    name: policy.clone(),
                    path: path.clone(),
                    arn: format!("arn:aws:iam::{account_id}:policy{path}{policy}"),
                    description: description.clone(),
                    document: document.clone(),
                    default_version: "v1".to_owned(),
                    other_versions: Vec::new(),
                    tags: Some(tags.clone()),
                },
            );
        }
        Op::CreatePolicyVersion {
            policy, document, ..
        } => {
            if let Some(p) = entry(&mut a.policies, policy) {
                p.document = document.clone();
            }
        }
        Op::DeletePolicy { policy, .. } => remove(&mut a.policies, policy),
        Op::CreateRole {
            role,
            path,
            trust,
            tags,
            permissions_boundary,
            ..
        } => {
            a.roles.insert(
                role.clone(),
                Role {
                    name: role.clone(),
                    path: path.clone(),
                    arn: None,
                    tags: tags.clone().into(),
                    trust: trust.clone(),
                    inline_policies: BTreeMap::new(),
                    attached_policies: std::collections::BTreeSet::new(),
                    permissions_boundary: permissions_boundary.clone(),
                    instance_profiles: Vec::new(),
                },
            );
        }
        Op::UpdateAssumeRolePolicy { role, document } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.trust = document.clone();
            }
        }
        Op::PutRolePolicy {
            role,
            policy_name,
            document,
        } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
        }
        Op::DeleteRolePolicy { role, policy_name } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.inline_policies.remove(policy_name);
            }
        }
        Op::AttachRolePolicy { role, policy_arn } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.attached_policies.insert(policy_arn.clone());
            }
        }
        Op::DetachRolePolicy { role, policy_arn } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.attached_policies.remove(policy_arn);
            }
        }
        Op::PutRolePermissionsBoundary { role, policy_arn } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.permissions_boundary = Some(policy_arn.clone());
            }
        }
        Op::DeleteRolePermissionsBoundary { role } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.permissions_boundary = None;
            }
        }
        Op::DeleteRole { role, .. } => remove(&mut a.roles, role),
        Op::CreateGroup { group, path } => {
            a.groups.insert(
                group.clone(),
                Group {
                    name: group.clone(),
                    path: path.clone(),
                    ..Group::default()
                },
            );
        }
        Op::MarkGroup { group, document } => {
            if let Some(g) = entry(&mut a.groups, group) {
                g.inline_policies.insert(
                    crate::model::GROUP_OWNER_POLICY.to_owned(),
                    document.clone(),
                );
            }
        }
        Op::PutGroupPolicy {
            group,
            policy_name,
            document,
        } => {
            if let Some(g) = entry(&mut a.groups, group) {
                g.inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
        }
        Op::DeleteGroupPolicy { group, policy_name } => {
            if let Some(g) = entry(&mut a.groups, group) {
                g.inline_policies.remove(policy_name);
            }
        }
        Op::AttachGroupPolicy { group, policy_arn } => {
            if let Some(g) = entry(&mut a.groups, group) {
                g.attached_policies.insert(policy_arn.clone());
            }
        }
        Op::DetachGroupPolicy { group, policy_arn } => {
            if let Some(g) = entry(&mut a.groups, group) {
                g.attached_policies.remove(policy_arn);
            }
        }
        Op::DeleteGroup { group } => {
            remove(&mut a.groups, group);
            for u in a.users.values_mut() {
                u.groups.retain(|g| !g.eq_ignore_ascii_case(group));
            }
        }
        Op::TagUser { user, tags } | Op::AdoptUser { user, tags } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.tags
                    .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Op::UntagUser { user, keys } => {
            if let Some(u) = entry(&mut a.users, user) {
                u.tags.retain(|k, _| !keys.contains(k));
            }
        }
        Op::TagRole { role, tags } | Op::AdoptRole { role, tags } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.tags
                    .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Op::UntagRole { role, keys } => {
            if let Some(r) = entry(&mut a.roles, role) {
                r.tags.retain(|k, _| !keys.contains(k));
            }
        }
        Op::AdoptPolicy { policy, tags, .. } => {
            if let Some(p) = entry(&mut a.policies, policy) {
                p.tags
                    .get_or_insert_with(BTreeMap::new)
                    .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        // Credentials, old policy versions and session length: no change to what a principal may do or who owns it.
        Op::CreateAccessKey { .. }
        | Op::UpdateAccessKey { .. }
        | Op::DeleteAccessKey { .. }
        | Op::DeleteUndeliveredKey { .. }
        | Op::DeleteLoginProfile { .. }
        | Op::DeactivateMfaDevice { .. }
        | Op::DeleteSigningCertificate { .. }
        | Op::DeleteSshPublicKey { .. }
        | Op::DeleteServiceSpecificCredential { .. }
        | Op::DeletePolicyVersion { .. }
        | Op::UpdateRole { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};

    /// The projection is what apply makes: planning again against it finds nothing to do.
    #[test]
    fn planning_against_the_projection_finds_nothing_to_do() {
        let spec = "version: 1\naccount_id: \"123456789012\"\nowner: t\npolicies:\n  shared: {grants: [{buckets: [sss], access: read}]}\ngroups:\n  g: {grants: [{buckets: [mmm], access: write}], policies: [shared]}\nusers:\n  a: {groups: [g], grants: [{buckets: [bbb], access: read}], policies: [shared], tags: {team: x}}\nroles:\n  r: {trust: {account: \"123456789012\"}, policies: [shared], grants: [{buckets: [bbb], prefix: p/, access: write}]}\n";
        let loaded = crate::spec::load("s.yaml", spec).unwrap();
        let opts = DiffOptions {
            account_id: Some("123456789012".into()),
            ..DiffOptions::default()
        };
        let plan = diff(&loaded.spec, &Account::default(), &opts).unwrap();
        assert!(!plan.changes.is_empty());
        let after = project(&Account::default(), &plan.changes, "123456789012");
        let again = diff(&loaded.spec, &after, &opts).unwrap();
        assert_eq!(again.changes, [], "{:#?}", again.changes);
        // And taking it all away (prune) leaves nothing of it.
        let empty = crate::spec::load(
            "s.yaml",
            "version: 1\naccount_id: \"123456789012\"\nowner: t\nprune: true\n",
        )
        .unwrap();
        let gone = diff(&empty.spec, &after, &opts).unwrap();
        let bare = project(&after, &gone.changes, "123456789012");
        assert!(bare.users.is_empty() && bare.roles.is_empty(), "{bare:#?}");
    }
}
