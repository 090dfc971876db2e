//! Ownership: which live objects a spec may write to (the owner tag, `adopt`, case-insensitive names), the
//! case-insensitive name index both sides are matched through, and the [`Guard`] the executor checks every
//! operation against.

use std::collections::{HashMap, HashSet};

use super::DiffOptions;
use crate::model::{Account, User, OWNER_TAG};
use crate::plan::{Op, Target, TargetKind};
use crate::spec::{Spec, SpecUser};

/// One spec object that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The spec object.
    pub target: Target,
    /// What is wrong.
    pub message: String,
    /// How to resolve it.
    pub help: String,
}

/// Whether the spec user `su` may be written to as the live user `have`: `Ok(true)` when iamspec owns it,
/// `Ok(false)` when the spec adopts it, a [`Conflict`] otherwise.
pub(super) fn check_owner(spec: &Spec, su: &SpecUser, have: &User) -> Result<bool, Conflict> {
    if have.name != su.name {
        return Err(Conflict {
            target: Target::User(su.name.clone()),
            message: format!(
                "spec user `{}` matches live user `{}`: IAM user names are case-insensitive",
                su.name, have.name
            ),
            help: format!("rename the spec entry to `{}`", have.name),
        });
    }
    if have.is_owned_by(&spec.owner) {
        return Ok(true);
    }
    if let Some(other) = have.tags.get(OWNER_TAG) {
        // `adopt: {from_owner}` takes it from that owner only.
        if su.adopt_from.as_deref() == Some(other.as_str()) {
            return Ok(false);
        }
        return Err(Conflict {
            target: Target::User(su.name.clone()),
            message: format!(
                "user `{}` is owned by `{other}`, not `{}`",
                su.name, spec.owner
            ),
            help: from_owner_help("user", other),
        });
    }
    if let Some(from) = &su.adopt_from {
        return Err(Conflict {
            target: Target::User(su.name.clone()),
            message: format!(
                "user `{}` has no owner, but the spec takes it over from `{from}` only",
                su.name
            ),
            help: "use `adopt: true` for an object without an owner".into(),
        });
    }
    if !su.adopt {
        return Err(Conflict {
            target: Target::User(su.name.clone()),
            message: format!(
                "user `{}` exists but is not owned by iamspec (no tag {OWNER_TAG}={})",
                su.name, spec.owner
            ),
            help: "add `adopt: true` to the user to take it over (the plan will tag it)".into(),
        });
    }
    Ok(false)
}

/// Why an adoption change is in the plan: taking an unowned object, or moving one from its owner.
pub(super) fn adoption_reason(from: Option<&str>, how: &str) -> String {
    match from {
        Some(old) => format!("adopt: {{from_owner: {old}}}; taken over from that owner"),
        None => format!("adopt: true; {how} takes ownership"),
    }
}

/// What to do about an object of another owner: two specs never manage one object, but a team split or rename
/// moves it on purpose.
pub(super) fn from_owner_help(noun: &str, other: &str) -> String {
    format!("two specs must not manage one {noun}: remove it from one of them, or, to move it to this spec, write `adopt: {{from_owner: {other}}}` on it")
}

/// Spec user names, matched case-insensitively as IAM does; lookups must not be linear scans (accounts hold up
/// to 5,000 users, organisations' specs 100,000).
pub(super) fn spec_names(spec: &Spec) -> HashSet<Caseless<'_>> {
    spec.users.iter().map(|u| Caseless(&u.name)).collect()
}

/// Live users by name, case-insensitively.
pub(super) fn live_index(live: &Account) -> HashMap<Caseless<'_>, &User> {
    live.users
        .values()
        .map(|u| (Caseless(&u.name), u))
        .collect()
}

/// A user name compared and hashed as IAM compares names: ignoring ASCII case. Matching 100,000 names this way
/// costs no lower-cased copies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caseless<'a>(pub(super) &'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl std::hash::Hash for Caseless<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // IAM names are at most 64 bytes: one block, lower-cased on the stack, in the usual case.
        let mut block = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(block.len()) {
            let block = &mut block[..chunk.len()];
            block.copy_from_slice(chunk);
            block.make_ascii_lowercase();
            state.write(block);
        }
        state.write_u8(0xff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_ascii_case_only() {
        let long = "a".repeat(70);
        let names = ["Alice", "bob", long.as_str(), "Zoë"];
        let index: HashSet<Caseless<'_>> = names.iter().map(|n| Caseless(n)).collect();
        assert!(index.contains(&Caseless("ALICE")));
        assert!(index.contains(&Caseless("Bob")));
        assert!(index.contains(&Caseless(&long.to_ascii_uppercase())));
        assert!(index.contains(&Caseless("ZOë")));
        assert!(
            !index.contains(&Caseless("ZOË")),
            "only ASCII case folds (IAM names are ASCII)"
        );
        assert!(!index.contains(&Caseless("alic")));
        assert!(!index.contains(&Caseless(&"a".repeat(64))));
    }
}

/// What an apply may do to one object, by the spec's ownership rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// In the spec, not in the account: the apply creates it (and may then write to it).
    Create,
    /// In the spec with `adopt: true`, live without an owner tag: the apply tags it, then writes to it.
    Adopt,
    /// Carries the owner tag and is in the spec: any write the spec asks for.
    Owned,
    /// Carries the owner tag, left the spec, `prune: true` with a pinned account: it may be emptied and deleted.
    Prune,
}

/// The right over a spec object given what the account holds under its name (case-insensitively): missing, it is
/// created; owned or adoptable by the kind's own check (`owned`), written; anything else, not touched.
pub(super) fn right_of<T>(
    have: Option<T>,
    owned: impl FnOnce(T) -> Result<bool, Conflict>,
) -> Option<Right> {
    match have {
        None => Some(Right::Create),
        Some(have) => match owned(have) {
            Ok(true) => Some(Right::Owned),
            Ok(false) => Some(Right::Adopt),
            Err(_) => None,
        },
    }
}

/// Why the guard refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused to {operation} on {target}: {reason}")]
pub struct Refusal {
    /// The object.
    pub target: Target,
    /// The API operation.
    pub operation: &'static str,
    /// Why.
    pub reason: String,
}

/// The executor's last line of defence: from the spec and a fresh read, which objects an apply may write to and
/// which it may delete. It refuses a write to anything that does not carry the owner tag (unless the operation
/// creates it, or adopts it as the spec says), and a deletion the spec's prune rules do not select, whatever plan
/// it is handed.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    owner: String,
    /// Under `delegate: true`, the boundary every principal must carry.
    boundary: Option<String>,
    /// What an apply may do to each object, by [`Target::folded`]: one map for every kind, so a kind's rights
    /// are found the way any other's are.
    rights: HashMap<(TargetKind, String), Right>,
}

impl Guard {
    /// The rights an apply of `spec` has over `live` (scoped like the plan by `opts`).
    #[must_use]
    pub fn new(spec: &Spec, live: &Account, opts: &DiffOptions) -> Self {
        let mut rights = HashMap::new();
        for kind in super::kind::all() {
            kind.rights(spec, live, opts, &mut |name, right| {
                rights.insert((kind.kind(), name.to_ascii_lowercase()), right);
            });
        }
        Self {
            owner: spec.owner.clone(),
            boundary: super::desired::boundary_arn(spec, opts.account_id.as_deref()),
            rights,
        }
    }

    /// A guard that allows everything, for tests of the executor's other duties.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn allow_all() -> Self {
        Self {
            owner: String::new(),
            boundary: None,
            rights: HashMap::new(),
        }
    }

    /// The owner whose objects this guard lets an apply write.
    #[must_use]
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether `op` may be sent.
    ///
    /// # Errors
    /// A [`Refusal`] saying why not.
    pub fn check(&self, op: &Op) -> Result<(), Refusal> {
        let target = op.target();
        // The lock's and the boundary's names belong to the lock's own calls and the admin step, which never pass
        // through here: a plan that writes to one, or attaches one, is forged or derived a colliding name.
        let lock_named = op
            .attaches()
            .map(|arn| arn.rsplit('/').next().unwrap_or_default())
            .into_iter()
            .chain(match &target {
                Target::Policy(name) => Some(name.as_str()),
                Target::User(_) | Target::Role(_) | Target::Group(_) => None,
            })
            .any(crate::names::is_reserved);
        if lock_named {
            return Err(Refusal {
                target,
                operation: op.api_name(),
                reason: "the name is the apply lock's: only the lock itself is written there"
                    .into(),
            });
        }
        if self.owner.is_empty() {
            return Ok(());
        }
        let right = self.rights.get(&target.folded()).copied();
        let refuse = |reason: &str| Refusal {
            target: target.clone(),
            operation: op.api_name(),
            reason: reason.to_owned(),
        };
        // Delegated: no principal without the boundary, none with another, and it never goes.
        let delegated = format!(
            "under delegate: true every principal carries the boundary {}, and only it",
            self.boundary.as_deref().unwrap_or_default()
        );
        let owner_tag_ok = |tags: &std::collections::BTreeMap<String, String>| {
            tags.get(OWNER_TAG).is_none_or(|v| *v == self.owner)
        };
        match op {
            Op::CreateGroup { .. } => {
                if right != Some(Right::Create) {
                    return Err(refuse("it is not a spec object missing from the account"));
                }
            }
            Op::MarkGroup { document, .. } => {
                if !matches!(right, Some(Right::Create | Right::Adopt)) {
                    return Err(refuse(
                        "only a group this apply creates or adopts is marked",
                    ));
                }
                if *document != crate::model::group_owner_marker(&self.owner) {
                    return Err(refuse("the marker must name this spec's owner"));
                }
            }
            Op::PutGroupPolicy { policy_name, .. } | Op::DeleteGroupPolicy { policy_name, .. }
                if policy_name == crate::model::GROUP_OWNER_POLICY =>
            {
                return Err(refuse(
                    "the owner marker is only written by marking and removed by DeleteGroup",
                ));
            }
            Op::RemoveGroupMember { .. } => {
                if !matches!(right, Some(Right::Owned | Right::Adopt | Right::Prune)) {
                    return Err(refuse(
                        "members are removed only from groups carrying this spec's owner marker",
                    ));
                }
            }
            Op::DeleteGroup { .. } => {
                if right != Some(Right::Prune) {
                    return Err(refuse(
                        "only owned groups that left the spec are emptied and deleted, with prune: true and a pinned account_id",
                    ));
                }
            }
            Op::PutGroupPolicy { .. }
            | Op::DeleteGroupPolicy { .. }
            | Op::AttachGroupPolicy { .. }
            | Op::DetachGroupPolicy { .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner marker"));
                }
            }
            Op::CreateUser {
                tags,
                permissions_boundary,
                ..
            }
            | Op::CreateRole {
                tags,
                permissions_boundary,
                ..
            } => {
                if right != Some(Right::Create) {
                    return Err(refuse("it is not a spec object missing from the account"));
                }
                if tags.get(OWNER_TAG) != Some(&self.owner) {
                    return Err(refuse("it would be created without this spec's owner tag"));
                }
                if self.boundary.is_some() && *permissions_boundary != self.boundary {
                    return Err(refuse(&delegated));
                }
            }
            Op::CreatePolicy { tags, .. } => {
                if right != Some(Right::Create) {
                    return Err(refuse("it is not a spec object missing from the account"));
                }
                if tags.get(OWNER_TAG) != Some(&self.owner) {
                    return Err(refuse("it would be created without this spec's owner tag"));
                }
            }
            Op::PutUserPermissionsBoundary { policy_arn, .. }
            | Op::PutRolePermissionsBoundary { policy_arn, .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner tag"));
                }
                if self.boundary.as_ref().is_some_and(|b| b != policy_arn) {
                    return Err(refuse(&delegated));
                }
            }
            Op::DeleteUserPermissionsBoundary { .. } | Op::DeleteRolePermissionsBoundary { .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner tag"));
                }
                if self.boundary.is_some() {
                    return Err(refuse(&delegated));
                }
            }
            Op::AdoptUser { tags, .. }
            | Op::AdoptPolicy { tags, .. }
            | Op::AdoptRole { tags, .. } => {
                if right != Some(Right::Adopt) {
                    return Err(refuse("the spec does not adopt it, or it is not unowned"));
                }
                if tags.get(OWNER_TAG) != Some(&self.owner) {
                    return Err(refuse("adoption must set this spec's owner tag"));
                }
            }
            Op::DeleteUser { .. } | Op::DeletePolicy { .. } | Op::DeleteRole { .. } => {
                if right != Some(Right::Prune) {
                    return Err(refuse(
                        "only owned objects that left the spec are deleted, with prune: true and a pinned account_id",
                    ));
                }
            }
            Op::DeleteLoginProfile { .. }
            | Op::DeactivateMfaDevice { .. }
            | Op::DeleteSigningCertificate { .. }
            | Op::DeleteSshPublicKey { .. }
            | Op::DeleteServiceSpecificCredential { .. } => {
                if right != Some(Right::Prune) {
                    return Err(refuse(
                        "credentials are removed only from users being pruned",
                    ));
                }
            }
            Op::TagUser { tags, .. } | Op::TagRole { tags, .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner tag"));
                }
                if !owner_tag_ok(tags) {
                    return Err(refuse("it would hand the object to another owner"));
                }
            }
            Op::UntagUser { keys, .. } | Op::UntagRole { keys, .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner tag"));
                }
                if keys.iter().any(|k| k == OWNER_TAG) {
                    return Err(refuse("the owner tag is never removed"));
                }
            }
            Op::PutUserPolicy { .. }
            | Op::DeleteUserPolicy { .. }
            | Op::AttachUserPolicy { .. }
            | Op::DetachUserPolicy { .. }
            | Op::AddUserToGroup { .. }
            | Op::RemoveUserFromGroup { .. }
            | Op::CreateAccessKey { .. }
            | Op::UpdateAccessKey { .. }
            | Op::DeleteAccessKey { .. }
            | Op::DeleteUndeliveredKey { .. }
            | Op::UpdateAssumeRolePolicy { .. }
            | Op::UpdateRole { .. }
            | Op::PutRolePolicy { .. }
            | Op::DeleteRolePolicy { .. }
            | Op::AttachRolePolicy { .. }
            | Op::DetachRolePolicy { .. } => {
                if right.is_none() {
                    return Err(refuse("it does not carry this spec's owner tag"));
                }
            }
            Op::CreatePolicyVersion { .. } | Op::DeletePolicyVersion { .. } => {
                if !matches!(right, Some(Right::Owned | Right::Adopt)) {
                    return Err(refuse(
                        "it is not a spec policy carrying this spec's owner tag",
                    ));
                }
            }
        }
        Ok(())
    }
}
