//! An IAM emulator over an in-memory [`LocalAccount`]: it answers like IAM (EntityAlreadyExists, NoSuchEntity,
//! DeleteConflict, LimitExceeded, case-insensitive names, key and policy-version quotas).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, ErrorKind, NewAccessKey, Outcome, ReadScope, Secret};
use crate::model::{AccessKey, Account, Group, KeyStatus, KeyUse, ManagedPolicy, Role, User};
use crate::plan::Op;
use crate::policy::{ACCESS_KEY_LIMIT, DEFAULT_ATTACHED_LIMIT, INLINE_USER_LIMIT, TAG_LIMIT};

/// The marker value of the `iamspec_local_account` field.
pub const LOCAL_FORMAT: u32 = 1;

/// The account a new local file gets.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// The file's content: one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalAccount {
    /// Format marker; a file without it is not ours.
    pub iamspec_local_account: u32,
    /// The account id.
    pub account_id: String,
    /// Users with their keys and dependents.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Groups that exist.
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// Customer-managed policy ARNs that exist (AWS-managed ARNs always exist).
    #[serde(default)]
    pub policies: BTreeSet<String>,
    /// Attached-policy quota per user.
    #[serde(default = "default_attached")]
    pub max_attached_policies: usize,
    /// Counter for access key ids.
    #[serde(default)]
    pub next_key: u64,
    /// Customer-managed policies iamspec manages, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed: BTreeMap<String, ManagedPolicy>,
    /// Roles, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Role>,
    /// Groups with policies (those iamspec creates or marks), by name; `groups` holds bare ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_groups: BTreeMap<String, Group>,
}

fn default_attached() -> usize {
    DEFAULT_ATTACHED_LIMIT
}

impl Default for LocalAccount {
    fn default() -> Self {
        Self::new(DEFAULT_ACCOUNT_ID)
    }
}

/// TagUser / TagRole: adds or overwrites, within IAM's limit of tags per entity.
fn add_tags(
    have: &mut crate::model::Tags,
    tags: &BTreeMap<String, String>,
    op: &Op,
    noun: &str,
) -> Result<(), BackendError> {
    let after: BTreeSet<&String> = have.keys().chain(tags.keys()).collect();
    if after.len() > TAG_LIMIT {
        return Err(err(
            ErrorKind::LimitExceeded,
            op,
            format!("a {noun} can have at most {TAG_LIMIT} tags"),
        ));
    }
    have.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(())
}

fn err(kind: ErrorKind, op: &Op, message: impl Into<String>) -> BackendError {
    BackendError::new(kind, op.api_name(), message).on(op.target_name())
}

impl LocalAccount {
    /// An empty account.
    #[must_use]
    pub fn new(account_id: &str) -> Self {
        Self {
            iamspec_local_account: LOCAL_FORMAT,
            account_id: account_id.to_owned(),
            users: BTreeMap::new(),
            groups: BTreeSet::new(),
            policies: BTreeSet::new(),
            max_attached_policies: DEFAULT_ATTACHED_LIMIT,
            next_key: 0,
            managed: BTreeMap::new(),
            roles: BTreeMap::new(),
            managed_groups: BTreeMap::new(),
        }
    }

    /// Whether a group of this name exists (bare or with policies), case-insensitively.
    fn group_exists(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.eq_ignore_ascii_case(name))
            || self
                .managed_groups
                .keys()
                .any(|g| g.eq_ignore_ascii_case(name))
    }

    fn group_mut(&mut self, op: &Op) -> Result<&mut Group, BackendError> {
        let name = op.target_name();
        // A bare group gains policies: it moves to the groups with policies, as it is.
        if let Some(bare) = self
            .groups
            .iter()
            .find(|g| g.eq_ignore_ascii_case(name))
            .cloned()
        {
            self.groups.remove(&bare);
            self.managed_groups.insert(
                bare.clone(),
                Group {
                    name: bare,
                    ..Group::default()
                },
            );
        }
        let key = self
            .managed_groups
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("the group with name {name} cannot be found"),
                )
            })?;
        Ok(self.managed_groups.get_mut(&key).expect("key just found"))
    }

    /// The group operations, as IAM answers them.
    fn apply_group(&mut self, op: &Op) -> Result<(), BackendError> {
        match op {
            Op::CreateGroup { group, path } => {
                if self.group_exists(group) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("group with name {group} already exists"),
                    ));
                }
                self.managed_groups.insert(
                    group.clone(),
                    Group {
                        name: group.clone(),
                        path: path.clone(),
                        ..Group::default()
                    },
                );
            }
            Op::MarkGroup { document, .. } => {
                self.group_mut(op)?.inline_policies.insert(
                    crate::model::GROUP_OWNER_POLICY.to_owned(),
                    document.clone(),
                );
            }
            Op::PutGroupPolicy {
                policy_name,
                document,
                ..
            } => {
                self.group_mut(op)?
                    .inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            Op::DeleteGroupPolicy { policy_name, .. } => {
                if self
                    .group_mut(op)?
                    .inline_policies
                    .remove(policy_name)
                    .is_none()
                {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the group policy with name {policy_name} cannot be found"),
                    ));
                }
            }
            Op::AttachGroupPolicy { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist or is not attachable"),
                    ));
                }
                self.group_mut(op)?
                    .attached_policies
                    .insert(policy_arn.clone());
            }
            Op::DetachGroupPolicy { policy_arn, .. } => {
                if !self.group_mut(op)?.attached_policies.remove(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} is not attached"),
                    ));
                }
            }
            Op::RemoveGroupMember { group, user } => {
                let key = self.key_of(user).ok_or_else(|| {
                    err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the user with name {user} cannot be found"),
                    )
                })?;
                let u = self.users.get_mut(&key).expect("key just found");
                let before = u.groups.len();
                u.groups.retain(|g| !g.eq_ignore_ascii_case(group));
                if u.groups.len() == before {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("{user} is not in {group}"),
                    ));
                }
            }
            Op::DeleteGroup { group } => {
                if self
                    .users
                    .values()
                    .any(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
                {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a group with members",
                    ));
                }
                let g = self.group_mut(op)?;
                g.inline_policies.remove(crate::model::GROUP_OWNER_POLICY);
                if !g.inline_policies.is_empty() || !g.attached_policies.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a group with policies",
                    ));
                }
                let name = g.name.clone();
                self.managed_groups.remove(&name);
            }
            _ => unreachable!("apply_group is given group operations only"),
        }
        Ok(())
    }

    fn role_mut(&mut self, op: &Op) -> Result<&mut Role, BackendError> {
        let name = op.target_name();
        let key = self
            .roles
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("the role with name {name} cannot be found"),
                )
            })?;
        Ok(self.roles.get_mut(&key).expect("key just found"))
    }

    /// The role operations, as IAM answers them.
    fn apply_role(&mut self, op: &Op) -> Result<(), BackendError> {
        match op {
            Op::CreateRole {
                role,
                path,
                trust,
                tags,
                permissions_boundary,
                ..
            } => {
                if self.roles.keys().any(|k| k.eq_ignore_ascii_case(role)) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("role with name {role} already exists"),
                    ));
                }
                if tags.len() > TAG_LIMIT {
                    return Err(err(ErrorKind::LimitExceeded, op, "too many tags"));
                }
                self.roles.insert(
                    role.clone(),
                    Role {
                        name: role.clone(),
                        path: path.clone(),
                        arn: Some(format!("arn:aws:iam::{}:role{path}{role}", self.account_id)),
                        tags: tags.clone().into(),
                        trust: trust.clone(),
                        inline_policies: BTreeMap::new(),
                        attached_policies: BTreeSet::new(),
                        permissions_boundary: permissions_boundary.clone(),
                        instance_profiles: Vec::new(),
                    },
                );
            }
            Op::TagRole { tags, .. } | Op::AdoptRole { tags, .. } => {
                add_tags(&mut self.role_mut(op)?.tags, tags, op, "role")?;
            }
            Op::UntagRole { keys, .. } => {
                let r = self.role_mut(op)?;
                for k in keys {
                    r.tags.remove(k);
                }
            }
            Op::UpdateAssumeRolePolicy { document, .. } => {
                self.role_mut(op)?.trust = document.clone();
            }
            // The duration itself is not part of the model (IAM's account read omits it): the tag records it.
            Op::UpdateRole { .. } => {
                self.role_mut(op)?;
            }
            Op::PutRolePolicy {
                policy_name,
                document,
                ..
            } => {
                self.role_mut(op)?
                    .inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            Op::DeleteRolePolicy { policy_name, .. } => {
                if self
                    .role_mut(op)?
                    .inline_policies
                    .remove(policy_name)
                    .is_none()
                {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the role policy with name {policy_name} cannot be found"),
                    ));
                }
            }
            Op::AttachRolePolicy { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist or is not attachable"),
                    ));
                }
                self.role_mut(op)?
                    .attached_policies
                    .insert(policy_arn.clone());
            }
            Op::DetachRolePolicy { policy_arn, .. } => {
                if !self.role_mut(op)?.attached_policies.remove(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} is not attached"),
                    ));
                }
            }
            Op::PutRolePermissionsBoundary { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist"),
                    ));
                }
                self.role_mut(op)?.permissions_boundary = Some(policy_arn.clone());
            }
            Op::DeleteRolePermissionsBoundary { .. } => {
                if self.role_mut(op)?.permissions_boundary.take().is_none() {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        "the role has no permissions boundary",
                    ));
                }
            }
            Op::DeleteRole { .. } => {
                let r = self.role_mut(op)?;
                if !r.inline_policies.is_empty() || !r.attached_policies.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a role with policies",
                    ));
                }
                let name = r.name.clone();
                self.roles.remove(&name);
            }
            _ => unreachable!("apply_role is given role operations only"),
        }
        Ok(())
    }

    pub(super) fn key_of(&self, name: &str) -> Option<String> {
        if self.users.contains_key(name) {
            return Some(name.to_owned());
        }
        self.users
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
    }

    fn user_mut(&mut self, op: &Op) -> Result<&mut User, BackendError> {
        let key = self.key_of(op.target_name()).ok_or_else(|| {
            err(
                ErrorKind::NoSuchEntity,
                op,
                format!("the user with name {} cannot be found", op.target_name()),
            )
        })?;
        Ok(self.users.get_mut(&key).expect("key just found"))
    }

    fn policy_exists(&self, arn: &str) -> bool {
        arn.starts_with("arn:aws:iam::aws:policy/")
            || self.policies.contains(arn)
            || self.managed.values().any(|p| p.arn == arn)
    }

    fn managed_mut(&mut self, op: &Op, arn: &str) -> Result<&mut ManagedPolicy, BackendError> {
        self.managed
            .values_mut()
            .find(|p| p.arn == arn)
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("policy {arn} does not exist"),
                )
            })
    }

    /// The credential report IAM would give for this account now (the columns iamspec reads, and the rest as
    /// IAM names them), for tests of the report's path.
    #[must_use]
    pub fn credential_report(&self) -> String {
        use crate::model::{KeyStatus, KeyUse};
        let mut out = String::from(
            "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,\
             password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,\
             access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,\
             access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,\
             access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,\
             cert_2_active,cert_2_last_rotated\n",
        );
        for u in self.users.values() {
            let mut keys: Vec<_> = u.access_keys.iter().collect();
            keys.sort_by_key(|k| k.created);
            let slot = |i: usize| match keys.get(i) {
                Some(k) => format!(
                    "{},{},{},N/A,N/A",
                    k.status == KeyStatus::Active,
                    crate::drift::rfc3339(k.created),
                    match k.last_used {
                        Some(KeyUse::At(t)) => crate::drift::rfc3339(t),
                        Some(KeyUse::Never) | None => "N/A".to_owned(),
                    }
                ),
                None => "false,N/A,N/A,N/A,N/A".to_owned(),
            };
            out.push_str(&format!(
                "{},arn:aws:iam::{}:user{}{},N/A,false,N/A,N/A,N/A,false,{},{},false,N/A,false,N/A\n",
                u.name,
                self.account_id,
                u.path,
                u.name,
                slot(0),
                slot(1)
            ));
        }
        out
    }

    /// The account as a plan sees it: keys only for owned users in `scope`, no dependents.
    #[must_use]
    pub fn view(&self, scope: &ReadScope) -> Account {
        let users = self
            .users
            .values()
            .map(|u| {
                let mut u = u.clone();
                let wanted = scope.key_users.contains(&u.name.to_ascii_lowercase());
                if wanted {
                    // The file knows every key's use: a key it records no use of was never used.
                    for k in &mut u.access_keys {
                        k.last_used.get_or_insert(KeyUse::Never);
                    }
                } else {
                    u.access_keys.clear();
                }
                u.dependents = None;
                (u.name.clone(), u)
            })
            .collect();
        // The account read returns no policy tags; they are read one policy at a time, as on AWS.
        let policies = self
            .managed
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    ManagedPolicy {
                        tags: None,
                        ..p.clone()
                    },
                )
            })
            .collect();
        Account {
            users,
            policies,
            roles: self.roles.clone(),
            groups: self.all_groups(),
        }
    }

    /// Every group by name, with its policies (bare groups have none).
    #[must_use]
    pub fn all_groups(&self) -> BTreeMap<String, Group> {
        let mut groups = self.managed_groups.clone();
        for bare in &self.groups {
            groups.entry(bare.clone()).or_insert_with(|| Group {
                name: bare.clone(),
                ..Group::default()
            });
        }
        groups
    }

    /// The tags of the managed policy `arn` (ListPolicyTags).
    ///
    /// # Errors
    /// NoSuchEntity when there is no such policy.
    pub fn policy_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, BackendError> {
        self.managed
            .values()
            .find(|p| p.arn == arn)
            .map(|p| p.tags.clone().unwrap_or_default())
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::NoSuchEntity,
                    "ListPolicyTags",
                    format!("policy {arn} does not exist"),
                )
                .on(arn)
            })
    }

    /// Applies one operation as IAM would. `now` stamps new keys; `rng` makes their ids and secrets.
    ///
    /// # Errors
    /// IAM's errors for the operation.
    pub fn apply(
        &mut self,
        op: &Op,
        now: i64,
        rng: &mut impl Rng,
    ) -> Result<Outcome, BackendError> {
        match op {
            Op::CreateRole { .. }
            | Op::TagRole { .. }
            | Op::AdoptRole { .. }
            | Op::UntagRole { .. }
            | Op::UpdateAssumeRolePolicy { .. }
            | Op::UpdateRole { .. }
            | Op::PutRolePolicy { .. }
            | Op::DeleteRolePolicy { .. }
            | Op::AttachRolePolicy { .. }
            | Op::DetachRolePolicy { .. }
            | Op::PutRolePermissionsBoundary { .. }
            | Op::DeleteRolePermissionsBoundary { .. }
            | Op::DeleteRole { .. } => self.apply_role(op)?,
            Op::CreateGroup { .. }
            | Op::MarkGroup { .. }
            | Op::PutGroupPolicy { .. }
            | Op::DeleteGroupPolicy { .. }
            | Op::AttachGroupPolicy { .. }
            | Op::DetachGroupPolicy { .. }
            | Op::RemoveGroupMember { .. }
            | Op::DeleteGroup { .. } => self.apply_group(op)?,
            Op::CreateUser {
                user,
                path,
                tags,
                permissions_boundary,
            } => {
                if self.key_of(user).is_some() {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("user with name {user} already exists"),
                    ));
                }
                if tags.len() > TAG_LIMIT {
                    return Err(err(ErrorKind::LimitExceeded, op, "too many tags"));
                }
                let mut u = User::new(user.clone(), path.clone());
                u.arn = Some(format!(
                    "arn:aws:iam::{}:user{}{}",
                    self.account_id, path, user
                ));
                u.tags = tags.clone().into();
                u.permissions_boundary = permissions_boundary.clone();
                u.dependents = Some(Box::default());
                self.users.insert(user.clone(), u);
            }
            Op::TagUser { tags, .. } | Op::AdoptUser { tags, .. } => {
                add_tags(&mut self.user_mut(op)?.tags, tags, op, "user")?;
            }
            Op::UntagUser { keys, .. } => {
                let u = self.user_mut(op)?;
                for k in keys {
                    u.tags.remove(k);
                }
            }
            Op::PutUserPolicy {
                policy_name,
                document,
                ..
            } => {
                let u = self.user_mut(op)?;
                let others: usize = u
                    .inline_policies
                    .iter()
                    .filter(|(k, _)| *k != policy_name)
                    .map(|(_, d)| d.size())
                    .sum();
                if others + document.size() > INLINE_USER_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!(
                            "maximum policy size of {INLINE_USER_LIMIT} bytes exceeded for user {}",
                            u.name
                        ),
                    ));
                }
                u.inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            Op::DeleteUserPolicy { policy_name, .. } => {
                let u = self.user_mut(op)?;
                if u.inline_policies.remove(policy_name).is_none() {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the user policy with name {policy_name} cannot be found"),
                    ));
                }
            }
            Op::AttachUserPolicy { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist or is not attachable"),
                    ));
                }
                let limit = self.max_attached_policies;
                let u = self.user_mut(op)?;
                if !u.attached_policies.contains(policy_arn) && u.attached_policies.len() >= limit {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!("cannot exceed quota for PoliciesPerUser: {limit}"),
                    ));
                }
                u.attached_policies.insert(policy_arn.clone());
            }
            Op::DetachUserPolicy { policy_arn, .. } => {
                let u = self.user_mut(op)?;
                if !u.attached_policies.remove(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} was not found"),
                    ));
                }
            }
            Op::AddUserToGroup { group, .. } => {
                if !self.group_exists(group) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the group with name {group} cannot be found"),
                    ));
                }
                self.user_mut(op)?.groups.insert(group.clone());
            }
            Op::RemoveUserFromGroup { group, .. } => {
                if !self.user_mut(op)?.groups.remove(group) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the user is not in group {group}"),
                    ));
                }
            }
            Op::PutUserPermissionsBoundary { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist"),
                    ));
                }
                self.user_mut(op)?.permissions_boundary = Some(policy_arn.clone());
            }
            Op::DeleteUserPermissionsBoundary { .. } => {
                self.user_mut(op)?.permissions_boundary = None;
            }
            Op::CreateAccessKey { .. } => {
                self.next_key += 1;
                let n = self.next_key;
                let u = self.user_mut(op)?;
                if u.access_keys.len() >= ACCESS_KEY_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!("cannot exceed quota for AccessKeysPerUser: {ACCESS_KEY_LIMIT}"),
                    ));
                }
                const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
                let suffix: String = (0..12)
                    .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
                    .collect();
                let id = format!("AKIA{n:04}{suffix}");
                const B64: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let secret: String = (0..40)
                    .map(|_| B64[rng.random_range(0..B64.len())] as char)
                    .collect();
                u.access_keys.push(AccessKey {
                    id: id.clone(),
                    status: KeyStatus::Active,
                    created: now,
                    last_used: None,
                });
                return Ok(Outcome::AccessKey(NewAccessKey {
                    user: u.name.clone(),
                    id,
                    secret: Secret::new(secret),
                    created: now,
                }));
            }
            Op::UpdateAccessKey { key_id, status, .. } => {
                let u = self.user_mut(op)?;
                let key = u
                    .access_keys
                    .iter_mut()
                    .find(|k| &k.id == key_id)
                    .ok_or_else(|| {
                        err(
                            ErrorKind::NoSuchEntity,
                            op,
                            format!("the access key with id {key_id} cannot be found"),
                        )
                    })?;
                key.status = *status;
            }
            Op::DeleteAccessKey { key_id, .. } | Op::DeleteUndeliveredKey { key_id, .. } => {
                let u = self.user_mut(op)?;
                let before = u.access_keys.len();
                u.access_keys.retain(|k| &k.id != key_id);
                if u.access_keys.len() == before {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the access key with id {key_id} cannot be found"),
                    ));
                }
            }
            Op::DeleteLoginProfile { .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                if !std::mem::take(&mut d.login_profile) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        "login profile cannot be found",
                    ));
                }
            }
            Op::DeactivateMfaDevice { serial, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.mfa_devices, serial)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "MFA device not found"))?;
            }
            Op::DeleteSigningCertificate { certificate_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.signing_certificates, certificate_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "certificate not found"))?;
            }
            Op::DeleteSshPublicKey { key_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.ssh_public_keys, key_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "SSH key not found"))?;
            }
            Op::DeleteServiceSpecificCredential { credential_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.service_credentials, credential_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "credential not found"))?;
            }
            Op::CreatePolicy {
                policy,
                path,
                document,
                description,
                tags,
            } => {
                if self.managed.contains_key(policy) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("a policy called {policy} already exists"),
                    ));
                }
                if document.size() > crate::policy::MANAGED_POLICY_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        "cannot exceed quota for PolicySize: 6144",
                    ));
                }
                let arn = format!("arn:aws:iam::{}:policy{path}{policy}", self.account_id);
                self.managed.insert(
                    policy.clone(),
                    ManagedPolicy {
                        name: policy.clone(),
                        path: path.clone(),
                        arn,
                        description: description.clone(),
                        document: document.clone(),
                        default_version: "v1".into(),
                        other_versions: Vec::new(),
                        tags: Some(tags.clone()),
                    },
                );
            }
            Op::AdoptPolicy {
                policy_arn, tags, ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                p.tags
                    .get_or_insert_with(BTreeMap::new)
                    .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Op::CreatePolicyVersion {
                policy_arn,
                document,
                ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                if p.other_versions.len() + 1 >= 5 {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        "cannot exceed quota for PolicyVersionsPerPolicy: 5",
                    ));
                }
                let next = std::iter::once(&p.default_version)
                    .chain(&p.other_versions)
                    .filter_map(|v| v.trim_start_matches('v').parse::<u32>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let old = std::mem::replace(&mut p.default_version, format!("v{next}"));
                p.other_versions.push(old);
                p.document = document.clone();
            }
            Op::DeletePolicyVersion {
                policy_arn,
                version_id,
                ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                remove_item(&mut p.other_versions, version_id).ok_or_else(|| {
                    err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("version {version_id} not found"),
                    )
                })?;
            }
            Op::DeletePolicy {
                policy_arn,
                versions,
                ..
            } => {
                if self
                    .users
                    .values()
                    .any(|u| u.attached_policies.contains(policy_arn))
                    || self
                        .roles
                        .values()
                        .any(|r| r.attached_policies.contains(policy_arn))
                    || self
                        .managed_groups
                        .values()
                        .any(|g| g.attached_policies.contains(policy_arn))
                {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a policy attached to entities",
                    ));
                }
                let p = self.managed_mut(op, policy_arn)?;
                for v in versions {
                    let _ = remove_item(&mut p.other_versions, v);
                }
                if !p.other_versions.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a policy with non-default versions",
                    ));
                }
                let name = p.name.clone();
                self.managed.remove(&name);
            }
            Op::DeleteUser { .. } => {
                let u = self.user_mut(op)?;
                let d = u.dependents.clone().unwrap_or_default();
                let blocker = if !u.access_keys.is_empty() {
                    Some("access keys")
                } else if !u.inline_policies.is_empty() {
                    Some("inline policies")
                } else if !u.attached_policies.is_empty() {
                    Some("attached policies")
                } else if !u.groups.is_empty() {
                    Some("group memberships")
                } else if d.login_profile {
                    Some("a login profile")
                } else if !d.mfa_devices.is_empty() {
                    Some("MFA devices")
                } else if !d.signing_certificates.is_empty() {
                    Some("signing certificates")
                } else if !d.ssh_public_keys.is_empty() {
                    Some("SSH public keys")
                } else if !d.service_credentials.is_empty() {
                    Some("service-specific credentials")
                } else {
                    None
                };
                if let Some(b) = blocker {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        format!("cannot delete entity, must remove {b} first"),
                    ));
                }
                let name = u.name.clone();
                self.users.remove(&name);
            }
        }
        Ok(Outcome::Done)
    }
}

fn remove_item(items: &mut Vec<String>, item: &str) -> Option<()> {
    let i = items.iter().position(|x| x == item)?;
    items.remove(i);
    Some(())
}

/// CreateUser of an untagged user at `/`, for tests.
#[cfg(test)]
pub(crate) fn op_create(name: &str) -> Op {
    Op::CreateUser {
        user: name.into(),
        path: "/".into(),
        tags: BTreeMap::new(),
        permissions_boundary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        let mut a = LocalAccount::default();
        let mut rng = rand::rng();
        a.apply(&op_create("Alice"), 0, &mut rng).unwrap();
        let e = a.apply(&op_create("alice"), 0, &mut rng).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyExists);
    }

    #[test]
    fn delete_conflict_until_dependents_are_gone() {
        let mut a = LocalAccount::default();
        let mut rng = rand::rng();
        a.apply(&op_create("bob"), 0, &mut rng).unwrap();
        let Outcome::AccessKey(k) = a
            .apply(&Op::CreateAccessKey { user: "bob".into() }, 0, &mut rng)
            .unwrap()
        else {
            panic!("no key")
        };
        let e = a
            .apply(&Op::DeleteUser { user: "bob".into() }, 0, &mut rng)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::DeleteConflict);
        a.apply(
            &Op::DeleteAccessKey {
                user: "bob".into(),
                key_id: k.id,
            },
            0,
            &mut rng,
        )
        .unwrap();
        a.apply(&Op::DeleteUser { user: "bob".into() }, 0, &mut rng)
            .unwrap();
        assert!(a.users.is_empty());
    }

    #[test]
    fn key_limit() {
        let mut a = LocalAccount::default();
        let mut rng = rand::rng();
        a.apply(&op_create("k"), 0, &mut rng).unwrap();
        for _ in 0..2 {
            a.apply(&Op::CreateAccessKey { user: "k".into() }, 0, &mut rng)
                .unwrap();
        }
        let e = a
            .apply(&Op::CreateAccessKey { user: "k".into() }, 0, &mut rng)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
    }
}
