//! The lint rules behind validation's warnings, and their acknowledgement: each warning names its rule
//! (`[broad-bucket-pattern]`), and `lint: { allow: [RULE, ...] }` on the spec, a user, role or group, or a grant
//! accepts it there, as clippy's `#[allow]` does. A rule is a type, so an unknown name is an error, never a silent
//! allow of nothing.

use serde::{Deserialize, Serialize};

/// A lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lint {
    /// `prune: true` with nothing declared: apply deletes everything the owner owns.
    PruneEverything,
    /// `compliance: cis` and a user with permissions of its own.
    CisDirectPermissions,
    /// A prefix without a trailing `/` also covers `prefix-other/...`.
    PrefixWithoutSlash,
    /// `access: full` (s3:*).
    FullAccess,
    /// KMS keys on a grant that reads and writes no objects.
    KmsKeysUnused,
    /// An action that takes no resource, granted on `*`.
    ResourcelessAction,
    /// `s3:*` among explicit actions.
    S3Star,
    /// A wildcard action that includes permissions-management actions.
    WildcardPermissionsManagement,
    /// A grant on every bucket (`*`).
    EveryBucket,
    /// A bucket pattern, which also matches buckets created later.
    BroadBucketPattern,
    /// A legacy bucket name (capitals, `_`).
    LegacyBucketName,
}

impl Lint {
    /// Every rule.
    pub const ALL: [Self; 11] = [
        Self::PruneEverything,
        Self::CisDirectPermissions,
        Self::PrefixWithoutSlash,
        Self::FullAccess,
        Self::KmsKeysUnused,
        Self::ResourcelessAction,
        Self::S3Star,
        Self::WildcardPermissionsManagement,
        Self::EveryBucket,
        Self::BroadBucketPattern,
        Self::LegacyBucketName,
    ];

    /// The name warnings show and `lint.allow` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::PruneEverything => "prune-everything",
            Self::CisDirectPermissions => "cis-direct-permissions",
            Self::PrefixWithoutSlash => "prefix-without-slash",
            Self::FullAccess => "full-access",
            Self::KmsKeysUnused => "kms-keys-unused",
            Self::ResourcelessAction => "resourceless-action",
            Self::S3Star => "s3-star",
            Self::WildcardPermissionsManagement => "wildcard-permissions-management",
            Self::EveryBucket => "every-bucket",
            Self::BroadBucketPattern => "broad-bucket-pattern",
            Self::LegacyBucketName => "legacy-bucket-name",
        }
    }

    /// What the rule warns about, for reports that list rules (SARIF).
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::PruneEverything => {
                "`prune: true` with nothing declared: apply deletes everything the owner owns."
            }
            Self::CisDirectPermissions => {
                "`compliance: cis` and a user with permissions of its own instead of through groups (CIS 1.15)."
            }
            Self::PrefixWithoutSlash => {
                "A prefix without a trailing `/` also covers `prefix-other/...`."
            }
            Self::FullAccess => "`access: full` grants s3:* on the bucket and its objects.",
            Self::KmsKeysUnused => "KMS keys on a grant that reads and writes no objects.",
            Self::ResourcelessAction => "An action that takes no resource, granted on `*`.",
            Self::S3Star => "`s3:*` among explicit actions.",
            Self::WildcardPermissionsManagement => {
                "A wildcard action that includes permissions-management actions (bucket policies, ACLs)."
            }
            Self::EveryBucket => "A grant on every bucket (`*`).",
            Self::BroadBucketPattern => {
                "A bucket pattern, which also matches buckets created later."
            }
            Self::LegacyBucketName => "A legacy bucket name (capitals, `_`).",
        }
    }

    /// The rule of a name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// `lint:` on the spec, a user, role or group, or a grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLint {
    /// Rules whose warnings are accepted here (and below): they are not shown, and `validate -v` lists them.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Lint::ALL.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Lint::ALL.len());
        for l in Lint::ALL {
            assert_eq!(Lint::from_name(l.name()), Some(l));
        }
        assert_eq!(Lint::from_name("nope"), None);
    }
}
