//! The one namespace of the managed-policy names iamspec makes: a user's and a role's own policy
//! (`policy_mode: managed`), the spec's shared policies, the apply lock and the permissions boundary. Every derived name is made here, and
//! [`Namespace`] refuses a second source of the same name (IAM compares policy names case-insensitively), so a user
//! `role-x` and a role `x`, or a user `lock-team` and the lock of owner `team`, can never share a policy.

use std::collections::HashMap;
use std::fmt;

/// The prefix every derived name starts with.
const PREFIX: &str = "iamspec-";

/// Prefix of the apply lock's policy name (`iamspec-lock-<owner>`): never planned, reported, pruned or written
/// by the executor.
pub const LOCK_POLICY_PREFIX: &str = "iamspec-lock-";

/// IAM's limit on a policy name.
const NAME_LIMIT: usize = 128;

/// The managed policy a user's grants go to in `policy_mode: managed`.
#[must_use]
pub fn user_policy(user: &str) -> String {
    format!("{PREFIX}{user}")
}

/// The managed policy a role's grants go to in `policy_mode: managed`.
#[must_use]
pub fn role_policy(role: &str) -> String {
    format!("{PREFIX}role-{role}")
}

/// Prefix of the permissions boundary's policy name (`iamspec-boundary-<owner>`): written only by the admin step
/// (`iamspec bootstrap --apply`), never planned, reported or pruned.
pub const BOUNDARY_POLICY_PREFIX: &str = "iamspec-boundary-";

/// The permissions boundary every user and role of a `delegate: true` spec carries.
#[must_use]
pub fn boundary_policy(owner: &str) -> String {
    owned_name(BOUNDARY_POLICY_PREFIX, owner, NAME_LIMIT)
}

/// Whether a managed policy name is the boundary's.
#[must_use]
pub fn is_boundary_policy(name: &str) -> bool {
    starts_with_folded(name, BOUNDARY_POLICY_PREFIX)
}

/// Whether a managed policy name is one of iamspec's own (a lock or a boundary): never planned, reported, pruned
/// or written by an apply.
#[must_use]
pub fn is_reserved(name: &str) -> bool {
    is_lock_policy(name) || is_boundary_policy(name)
}

fn starts_with_folded(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether a managed policy name is an apply lock's.
#[must_use]
pub fn is_lock_policy(name: &str) -> bool {
    starts_with_folded(name, LOCK_POLICY_PREFIX)
}

/// The lock's policy name for `owner`: `iamspec-lock-<owner>` (two owners never share a lock by accident).
#[must_use]
pub fn lock_policy(owner: &str) -> String {
    owned_name(LOCK_POLICY_PREFIX, owner, NAME_LIMIT)
}

/// The STS session name of a many-account run, seen in CloudTrail: `iamspec-<owner>`, within STS's 64 characters.
#[must_use]
pub fn session_name(owner: &str) -> String {
    owned_name("iamspec-", owner, 64)
}

/// `prefix` + `owner`, with characters IAM refuses in names replaced and a short hash of the owner appended when
/// anything was replaced, cut to `limit`.
fn owned_name(prefix: &str, owner: &str, limit: usize) -> String {
    let safe: String = owner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("{prefix}{safe}");
    if safe != owner {
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(owner.as_bytes()));
        name.truncate(limit - 9);
        name.push('-');
        name.push_str(&hash[..8]);
    }
    name.truncate(limit);
    name
}

/// What a managed policy name was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A policy under the spec's `policies`.
    Shared(String),
    /// A user's own policy (`policy_mode: managed`).
    User(String),
    /// A role's own policy (`policy_mode: managed`).
    Role(String),
    /// The apply lock of an owner.
    Lock(String),
    /// The permissions boundary of an owner's principals (`delegate: true`).
    Boundary(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shared(name) => write!(f, "shared policy `{name}`"),
            Self::User(name) => write!(f, "the own policy of user `{name}` (policy_mode: managed)"),
            Self::Role(name) => write!(f, "the own policy of role `{name}` (policy_mode: managed)"),
            Self::Lock(owner) => write!(f, "the apply lock of owner `{owner}`"),
            Self::Boundary(owner) => write!(f, "the permissions boundary of owner `{owner}`"),
        }
    }
}

/// Why a name cannot be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// Another source made the same name first.
    Taken(Source),
    /// The name is in the part of the namespace iamspec keeps for its locks and boundaries.
    Reserved,
}

/// The names claimed so far, keyed case-insensitively.
#[derive(Debug, Default)]
pub struct Namespace {
    taken: HashMap<String, Source>,
}

impl Namespace {
    /// A namespace holding the apply lock and the boundary of `owner`.
    #[must_use]
    pub fn new(owner: &str) -> Self {
        let mut taken = HashMap::new();
        taken.insert(
            lock_policy(owner).to_ascii_lowercase(),
            Source::Lock(owner.to_owned()),
        );
        taken.insert(
            boundary_policy(owner).to_ascii_lowercase(),
            Source::Boundary(owner.to_owned()),
        );
        Self { taken }
    }

    /// Claims `name` for `source`.
    ///
    /// # Errors
    /// [`Clash::Taken`] naming the earlier source, or [`Clash::Reserved`] for a name in the locks' part.
    pub fn claim(&mut self, name: &str, source: Source) -> Result<(), Clash> {
        let key = name.to_ascii_lowercase();
        if let Some(first) = self.taken.get(&key) {
            return Err(Clash::Taken(first.clone()));
        }
        if is_reserved(name) {
            return Err(Clash::Reserved);
        }
        self.taken.insert(key, source);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_are_valid_iam_names_and_distinct_per_owner() {
        assert_eq!(lock_policy("web-platform"), "iamspec-lock-web-platform");
        let spaced = lock_policy("web platform");
        assert!(spaced.starts_with("iamspec-lock-web-platform-"), "{spaced}");
        assert_ne!(spaced, lock_policy("web:platform"));
        let long = lock_policy(&"x ".repeat(200));
        assert!(long.len() <= NAME_LIMIT);
        assert!(long
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)));
    }

    #[test]
    fn a_user_role_x_and_a_role_x_cannot_share_a_policy() {
        let mut ns = Namespace::new("web");
        assert_eq!(
            ns.claim(&role_policy("x"), Source::Role("x".into())),
            Ok(())
        );
        assert_eq!(
            ns.claim(&user_policy("Role-X"), Source::User("Role-X".into())),
            Err(Clash::Taken(Source::Role("x".into())))
        );
    }

    #[test]
    fn a_user_cannot_take_the_lock_or_its_part_of_the_namespace() {
        let mut ns = Namespace::new("team");
        assert_eq!(
            ns.claim(&user_policy("lock-team"), Source::User("lock-team".into())),
            Err(Clash::Taken(Source::Lock("team".into())))
        );
        assert_eq!(
            ns.claim(
                &user_policy("lock-other"),
                Source::User("lock-other".into())
            ),
            Err(Clash::Reserved)
        );
        assert!(is_lock_policy("IAMSPEC-LOCK-x"));
        assert!(!is_lock_policy("iamspec-loc"));
    }
}
