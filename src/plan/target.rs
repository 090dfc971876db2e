//! What a change acts on. A target is a type, not a string: consumers match on its kind, and when a kind is added
//! (roles, groups) the compiler lists every place that must learn it.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The IAM object a change (or a notice) is about.
///
/// JSON: `{"kind": "user", "name": "alice"}`, `{"kind": "policy", "name": "team-read"}`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    /// An IAM user, by name.
    User(String),
    /// A customer-managed policy, by name (a shared policy of the spec, or a user's own in `policy_mode: managed`).
    Policy(String),
    /// An IAM role, by name.
    Role(String),
    /// An IAM group, by name.
    Group(String),
}

/// The kinds of targets, for code that cares about the kind only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    /// [`Target::User`].
    User,
    /// [`Target::Policy`].
    Policy,
    /// [`Target::Role`].
    Role,
    /// [`Target::Group`].
    Group,
}

impl TargetKind {
    /// Every kind, in order. A kind added to the enum stops the build in [`Self::position`] until it is listed
    /// here too.
    pub const ALL: [Self; 4] = [Self::User, Self::Policy, Self::Role, Self::Group];

    /// Where the kind sits in [`Self::ALL`].
    #[must_use]
    pub const fn position(self) -> usize {
        match self {
            Self::User => 0,
            Self::Policy => 1,
            Self::Role => 2,
            Self::Group => 3,
        }
    }

    /// The kind in a sentence: "user", "managed policy", "role", "group".
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Policy => "managed policy",
            Self::Role => "role",
            Self::Group => "group",
        }
    }
}

impl Target {
    /// The IAM name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::User(name) | Self::Policy(name) | Self::Role(name) | Self::Group(name) => name,
        }
    }

    /// The kind.
    #[must_use]
    pub fn kind(&self) -> TargetKind {
        match self {
            Self::User(_) => TargetKind::User,
            Self::Policy(_) => TargetKind::Policy,
            Self::Role(_) => TargetKind::Role,
            Self::Group(_) => TargetKind::Group,
        }
    }

    /// The target in a sentence that must name its kind: `user alice`; the other kinds' text form already does
    /// (`role/media`).
    #[must_use]
    pub fn named(&self) -> String {
        match self {
            Self::User(name) => format!("user {name}"),
            Self::Policy(_) | Self::Role(_) | Self::Group(_) => self.to_string(),
        }
    }

    /// The key under which IAM considers two targets the same object: the kind and the ASCII-lower-cased name
    /// (IAM compares user and policy names case-insensitively).
    #[must_use]
    pub fn folded(&self) -> (TargetKind, String) {
        (self.kind(), self.name().to_ascii_lowercase())
    }
}

/// How people read a target: a user by its name, anything else as `kind/name` (`policy/team-read`).
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(name) => f.write_str(name),
            Self::Policy(name) => write!(f, "policy/{name}"),
            Self::Role(name) => write!(f, "role/{name}"),
            Self::Group(name) => write!(f, "group/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_in_all_at_its_position() {
        for (i, kind) in TargetKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.position(), i);
        }
    }

    #[test]
    fn json_form_is_kind_and_name() {
        let t = Target::Policy("team-read".into());
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"kind":"policy","name":"team-read"}"#
        );
        let back: Target = serde_json::from_str(r#"{"kind":"user","name":"alice"}"#).unwrap();
        assert_eq!(back, Target::User("alice".into()));
        assert!(serde_json::from_str::<Target>(r#"{"kind":"bucket","name":"x"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Target::Role("media".into())).unwrap(),
            r#"{"kind":"role","name":"media"}"#
        );
    }

    #[test]
    fn a_user_and_a_policy_of_one_name_are_different_targets() {
        let u = Target::User("Shared".into());
        let p = Target::Policy("shared".into());
        assert_ne!(u.folded(), p.folded());
        assert_eq!(u.folded(), Target::User("shared".into()).folded());
        assert_eq!(p.to_string(), "policy/shared");
        assert_eq!(u.to_string(), "Shared");
    }
}
