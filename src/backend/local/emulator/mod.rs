//! An IAM emulator over an in-memory [`LocalAccount`]: it answers like IAM (EntityAlreadyExists, NoSuchEntity,
//! DeleteConflict, LimitExceeded, case-insensitive names, key and policy-version quotas). One file per kind of
//! object, each matching its own operations.

mod group;
mod policy;
mod role;
mod user;

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, ErrorKind, Outcome, ReadScope};
use crate::model::{Account, Group, KeyUse, ManagedPolicy, Role, User};
use crate::plan::{ByKind, Op};
use crate::policy::{DEFAULT_ATTACHED_LIMIT, TAG_LIMIT};

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

/// DeleteUserPolicy, DeleteRolePolicy, DeleteGroupPolicy: NoSuchEntity when the principal (a `noun`) had no inline
/// policy of that name.
fn inline_deleted(removed: bool, noun: &str, name: &str, op: &Op) -> Result<(), BackendError> {
    if removed {
        return Ok(());
    }
    Err(err(
        ErrorKind::NoSuchEntity,
        op,
        format!("the {noun} policy with name {name} cannot be found"),
    ))
}

/// Detach*Policy: NoSuchEntity when it was not attached.
fn detached(removed: bool, arn: &str, op: &Op) -> Result<(), BackendError> {
    if removed {
        return Ok(());
    }
    Err(err(
        ErrorKind::NoSuchEntity,
        op,
        format!("policy {arn} is not attached"),
    ))
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

    pub(super) fn key_of(&self, name: &str) -> Option<String> {
        if self.users.contains_key(name) {
            return Some(name.to_owned());
        }
        self.users
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
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
        match op.by_kind() {
            ByKind::User(u) => return self.apply_user(op, u, now, rng),
            ByKind::Policy(p) => self.apply_policy(op, p)?,
            ByKind::Role(r) => self.apply_role(op, r)?,
            ByKind::Group(g) => self.apply_group(op, g)?,
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
