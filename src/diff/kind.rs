//! A kind of IAM object as one unit of code. What the rest of iamspec must know about users, roles, groups and
//! managed policies besides their diff (how a spec takes ownership of one, what proves a live one unchanged, what
//! an earlier create left behind, whose access a change to one reaches, where the spec declares it) is a required
//! method of [`Kind`], implemented next to the kind's diff: `user.rs`, `role.rs`, `group.rs`, `policies.rs`.
//! [`of`] is the one list of kinds. Adding a kind is a [`TargetKind`] variant, its module and one line in [`of`];
//! the compiler names every other place that must learn it.

use std::collections::BTreeMap;

use super::ownership::Right;
use super::DiffOptions;
use crate::model::Account;
use crate::plan::{Op, TargetKind};
use crate::spec::Spec;

/// What iamspec must know about one kind of object, apart from its diff.
pub trait Kind: Sync {
    /// Which kind this is.
    fn kind(&self) -> TargetKind;

    /// The spec's top-level section that declares objects of this kind (`users`, `roles`, ...).
    fn section(&self) -> &'static str;

    /// Whether the spec declares an object of exactly this name.
    fn declared(&self, spec: &Spec, name: &str) -> bool;

    /// The ownership strategy: what an apply of `spec` may do to each object of this kind in `live` (scoped by
    /// `opts` like the plan), handed to `grant` by name. The guard is filled by the same rules the diff uses, so a
    /// plan and the executor never disagree about who owns what.
    fn rights(
        &self,
        spec: &Spec,
        live: &Account,
        opts: &DiffOptions,
        grant: &mut dyn FnMut(&str, Right),
    );

    /// The live object's state a saved plan is proven against (serialised), or `None` when it does not exist.
    /// It holds everything the re-derived plan depends on.
    fn live_state(&self, live: &Account, name: &str) -> Option<String>;

    /// After `op`, this kind's create, met EntityAlreadyExists: whether the object in `live` is exactly what `op`
    /// makes, as an earlier attempt whose response was lost (or another apply of the same spec by `owner`) would
    /// have left it. Anything else is never written to.
    fn made_by(&self, live: &Account, op: &Op, owner: &str) -> Existing;

    /// Whose access a change to an object of this kind reaches.
    fn reach(&self) -> Reach;

    /// Whether objects of this kind hold access keys: their keys are listed after a change, and an apply settles on
    /// them (IAM is eventually consistent); `--user` names them.
    fn holds_access_keys(&self) -> bool;
}

/// The one list of kinds.
#[must_use]
pub fn of(kind: TargetKind) -> &'static dyn Kind {
    match kind {
        TargetKind::User => &super::user::UserKind,
        TargetKind::Policy => &super::policies::PolicyKind,
        TargetKind::Role => &super::role::RoleKind,
        TargetKind::Group => &super::group::GroupKind,
    }
}

/// Every kind, in [`TargetKind`] order.
pub fn all() -> impl Iterator<Item = &'static dyn Kind> {
    TargetKind::ALL.into_iter().map(of)
}

/// What a create found already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// What the create makes: the create is done.
    Same,
    /// Something else: never written to.
    Differs,
    /// The same object if its tags, which the account read does not carry for managed policies, are these.
    SameIfTagged {
        /// The object's ARN, whose tags are read.
        arn: String,
        /// The tags it must carry, exactly.
        tags: BTreeMap<String, String>,
    },
}

impl From<bool> for Existing {
    fn from(same: bool) -> Self {
        if same {
            Self::Same
        } else {
            Self::Differs
        }
    }
}

/// Whose access a change to an object reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The object is a principal: its own. `username` says whether its requests carry `aws:username`.
    Principal {
        /// Users' requests carry `aws:username`; roles' do not.
        username: bool,
    },
    /// The object's members' (a group).
    Members,
    /// The principals it is attached to, directly or through groups (a managed policy).
    Attached,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_under_its_own_name() {
        let kinds: Vec<TargetKind> = all().map(|k| k.kind()).collect();
        assert_eq!(kinds, TargetKind::ALL.to_vec());
        let mut sections: Vec<&str> = all().map(|k| k.section()).collect();
        sections.sort_unstable();
        sections.dedup();
        assert_eq!(sections.len(), TargetKind::ALL.len());
    }

    #[test]
    fn only_principals_are_asked_about_and_only_users_carry_a_username() {
        assert_eq!(
            of(TargetKind::User).reach(),
            Reach::Principal { username: true }
        );
        assert_eq!(
            of(TargetKind::Role).reach(),
            Reach::Principal { username: false }
        );
        assert_eq!(of(TargetKind::Group).reach(), Reach::Members);
        assert_eq!(of(TargetKind::Policy).reach(), Reach::Attached);
        let with_keys: Vec<TargetKind> = all()
            .filter(|k| k.holds_access_keys())
            .map(|k| k.kind())
            .collect();
        assert_eq!(with_keys, [TargetKind::User]);
    }

    #[test]
    fn a_create_of_another_kind_is_never_taken_for_this_one() {
        let live = Account::default();
        let create_group = Op::CreateGroup {
            group: "g".into(),
            path: "/".into(),
        };
        for kind in [TargetKind::User, TargetKind::Role, TargetKind::Policy] {
            assert_eq!(
                of(kind).made_by(&live, &create_group, "o"),
                Existing::Differs
            );
        }
    }

    /// A create that met EntityAlreadyExists is done only when what is there is what it makes; each kind says so
    /// over its own fields (the executor used to decide this in one match with a wildcard arm).
    #[test]
    fn each_kind_takes_only_what_its_create_makes_for_done() {
        let live: Account = serde_json::from_value(serde_json::json!({
            "users": {"u": {"name": "u", "path": "/p/", "tags": {"iamspec:owner": "o"}}},
            "groups": {
                "g": {"name": "g", "path": "/p/"},
                "busy": {"name": "busy", "path": "/p/"}
            },
            "policies": {"pol": {
                "name": "pol", "path": "/p/", "arn": "arn:aws:iam::123456789012:policy/p/pol",
                "document": {"Version": "2012-10-17", "Statement": []}, "default_version": "v1"
            }}
        }))
        .unwrap();
        let mut live = live;
        live.users
            .get_mut("u")
            .unwrap()
            .groups
            .insert("BUSY".into());
        let tags: BTreeMap<String, String> = [("iamspec:owner".into(), "o".into())].into();
        let create_user = |path: &str| Op::CreateUser {
            user: "U".into(),
            path: path.into(),
            tags: tags.clone(),
            permissions_boundary: None,
        };
        let user = of(TargetKind::User);
        assert_eq!(
            user.made_by(&live, &create_user("/p/"), "o"),
            Existing::Differs,
            "IAM names are case-insensitive, but a user of another case is not what this create makes"
        );
        let mut exact = create_user("/p/");
        if let Op::CreateUser { user, .. } = &mut exact {
            *user = "u".into();
        }
        assert_eq!(user.made_by(&live, &exact, "o"), Existing::Same);
        if let Op::CreateUser { path, .. } = &mut exact {
            *path = "/".into();
        }
        assert_eq!(user.made_by(&live, &exact, "o"), Existing::Differs);

        let group = of(TargetKind::Group);
        let create_group = |name: &str| Op::CreateGroup {
            group: name.into(),
            path: "/p/".into(),
        };
        assert_eq!(
            group.made_by(&live, &create_group("g"), "o"),
            Existing::Same
        );
        assert_eq!(
            group.made_by(&live, &create_group("busy"), "o"),
            Existing::Differs,
            "a group with a member was not made by this create"
        );

        let policy = of(TargetKind::Policy);
        let create_policy = |path: &str| Op::CreatePolicy {
            policy: "pol".into(),
            path: path.into(),
            description: None,
            document: crate::policy::PolicyDocument::parse(
                r#"{"Version":"2012-10-17","Statement":[]}"#,
            )
            .unwrap(),
            tags: tags.clone(),
        };
        assert_eq!(
            policy.made_by(&live, &create_policy("/p/"), "o"),
            Existing::SameIfTagged {
                arn: "arn:aws:iam::123456789012:policy/p/pol".into(),
                tags: tags.clone(),
            }
        );
        assert_eq!(
            policy.made_by(&live, &create_policy("/"), "o"),
            Existing::Differs
        );
    }
}
