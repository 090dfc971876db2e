//! The account model both sides share: what the spec wants and what IAM has are both an [`Account`].
//!
//! Backends convert their own types (the local JSON file, AWS SDK shapes) into these at the boundary, and policy
//! documents are canonicalised on the way in, so desired and live compare with plain equality.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::policy::PolicyDocument;
use crate::sorted::{SortedMap, SortedSet};

/// The tag key that marks a user as owned by iamspec; its value is the spec's `owner`.
pub const OWNER_TAG: &str = "iamspec:owner";

/// Set when iamspec starts managing a user's keys (seconds since the epoch): keys created after it without a
/// delivery tag were made by iamspec and their secret never delivered.
pub const KEYS_SINCE_TAG: &str = "iamspec:keys-since";

/// Prefix of the per-key record, `iamspec:key:<AccessKeyId>=delivered@<created>`, set right after the secret is
/// stored (see [`KeyRecord`]).
pub const KEY_TAG_PREFIX: &str = "iamspec:key:";

/// What iamspec recorded of one access key in the user's tag `iamspec:key:<id>`: what the key is to iamspec, and
/// its creation time, which is what lets a credential report (key slots without ids) be matched to the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRecord {
    /// What the key is to iamspec.
    pub mark: KeyMark,
    /// Its creation time (seconds since the epoch); `None` in records written before iamspec recorded it.
    pub created: Option<i64>,
}

/// What a key is to iamspec, by its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMark {
    /// `delivered`: its secret was stored (any value iamspec does not write counts as this: the key is someone's).
    Delivered,
    /// `inactive:<t>`: iamspec deactivated it, or first saw it inactive, at `t`.
    Inactive(i64),
    /// `kept`: a key older than iamspec's management of the user's keys, recorded only to be recognised.
    Kept,
}

const INACTIVE_MARK: &str = "inactive:";
const KEPT_MARK: &str = "kept";

impl KeyRecord {
    /// The record of a key whose secret was just stored.
    #[must_use]
    pub fn delivered(created: i64) -> Self {
        Self {
            mark: KeyMark::Delivered,
            created: Some(created),
        }
    }

    /// Reads a record's tag value: `delivered@<created>`, `inactive:<t>@<created>`, `kept@<created>`, or the older
    /// `delivered` and `inactive:<t>` without a creation time.
    #[must_use]
    pub fn parse(value: &str) -> Self {
        let (mark, created) = match value.rsplit_once('@') {
            Some((mark, created)) => match created.parse() {
                Ok(c) => (mark, Some(c)),
                Err(_) => (value, None),
            },
            None => (value, None),
        };
        let mark = if mark == KEPT_MARK {
            KeyMark::Kept
        } else {
            mark.strip_prefix(INACTIVE_MARK)
                .and_then(|t| t.parse().ok())
                .map_or(KeyMark::Delivered, KeyMark::Inactive)
        };
        Self { mark, created }
    }

    /// The tag value of this record.
    #[must_use]
    pub fn value(&self) -> String {
        let mark = match self.mark {
            KeyMark::Delivered => "delivered".to_owned(),
            KeyMark::Inactive(t) => format!("{INACTIVE_MARK}{t}"),
            KeyMark::Kept => KEPT_MARK.to_owned(),
        };
        match self.created {
            Some(c) => format!("{mark}@{c}"),
            None => mark,
        }
    }
}

/// Whether a tag key is iamspec's own bookkeeping (not the owner tag, not the user's).
#[must_use]
pub fn is_internal_tag(key: &str) -> bool {
    key.starts_with("iamspec:") && key != OWNER_TAG
}

/// Tags by key. A sorted vector: a principal carries a handful, where a `BTreeMap` node costs 500 bytes.
pub type Tags = SortedMap<String, String>;

/// The name of the one inline policy iamspec renders a user's grants into.
pub const GRANTS_POLICY: &str = "iamspec-grants";

/// One IAM account: its users (keyed by exact name) and its customer-managed policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Users by their exact (case-preserving) name.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Customer-managed policies by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, ManagedPolicy>,
    /// Roles by their exact name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Role>,
    /// Groups by their exact name (with their policies; members are the users' `groups`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Group>,
}

/// The inline policy that marks a group as owned: IAM groups take no tags. Its one statement denies reading an
/// object of a bucket nobody can own under this name, so it grants nothing and denies nothing real; the owner is the
/// value of its condition.
pub const GROUP_OWNER_POLICY: &str = "iamspec-owner";

const GROUP_MARKER_KEY: &str = "aws:PrincipalTag/iamspec:owner";

/// The owner marker document of `owner`.
#[must_use]
pub fn group_owner_marker(owner: &str) -> PolicyDocument {
    PolicyDocument::new(vec![crate::policy::Statement {
        sid: Some("IamspecOwner".to_owned()),
        effect: crate::policy::Effect::Deny,
        actions: vec!["s3:GetObject".to_owned()],
        not_action: false,
        resources: vec!["arn:aws:s3:::iamspec-owner-marker/*".to_owned()],
        not_resource: false,
        condition: crate::sorted::SortedMap::from([(
            "StringEquals".to_owned(),
            crate::sorted::SortedMap::from([(GROUP_MARKER_KEY.to_owned(), vec![owner.to_owned()])]),
        )]),
        principal: None,
    }])
}

impl Group {
    /// The owner its marker names, if it has iamspec's marker.
    #[must_use]
    pub fn owner(&self) -> Option<String> {
        let doc = self.inline_policies.get(GROUP_OWNER_POLICY)?;
        let owner = doc
            .statements
            .first()?
            .condition
            .get("StringEquals")?
            .get(GROUP_MARKER_KEY)?;
        match owner.as_slice() {
            [one] if group_owner_marker(one) == *doc => Some(one.clone()),
            _ => None,
        }
    }

    /// Whether its marker names this owner.
    #[must_use]
    pub fn is_owned_by(&self, owner: &str) -> bool {
        self.owner().is_some_and(|o| o == owner)
    }
}

/// The tag iamspec keeps a role's maximum session duration in (seconds): IAM's account read does not return the
/// duration itself, and reading each role for it would cost a call per role on every plan.
pub const MAX_SESSION_TAG: &str = "iamspec:max-session-seconds";

/// Where IAM keeps service-linked roles: never iamspec's, whatever the spec's path.
pub const SERVICE_ROLE_PATH: &str = "/aws-service-role/";

/// An IAM role: who may assume it (the trust policy) and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role name, case preserved.
    pub name: String,
    /// The IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// The ARN, known only on the live side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Tags by key.
    #[serde(default)]
    pub tags: Tags,
    /// The trust (assume role) policy.
    pub trust: PolicyDocument,
    /// Inline policies by name, canonicalised.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub attached_policies: BTreeSet<String>,
    /// The permissions boundary policy ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Instance profiles the role is in (they must let go of it before DeleteRole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_profiles: Vec<String>,
}

impl Role {
    /// Whether the role carries the owner tag with this owner's value.
    #[must_use]
    pub fn is_owned_by(&self, owner: &str) -> bool {
        self.tags.get(OWNER_TAG).is_some_and(|v| v == owner)
    }
}

/// A customer-managed policy: its default version's document and the other versions IAM keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    /// The policy name.
    pub name: String,
    /// The IAM path.
    pub path: String,
    /// The ARN.
    pub arn: String,
    /// The description given at creation (IAM never changes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default version's document.
    pub document: PolicyDocument,
    /// The default version id (`v1`, `v2`...).
    pub default_version: String,
    /// Non-default version ids, oldest first (IAM keeps at most 5 versions in all).
    #[serde(default)]
    pub other_versions: Vec<String>,
    /// Tags, when they were read. IAM's account read does not return policy tags, so they are read (one call per
    /// policy) only where ownership matters: spec policies about to be written or attached, and policies under
    /// the spec's path that are not in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

impl ManagedPolicy {
    /// The owner tag's value, if the tags were read and carry one.
    #[must_use]
    pub fn owner(&self) -> Option<&str> {
        self.tags.as_ref()?.get(OWNER_TAG).map(String::as_str)
    }

    /// Whether the policy carries this owner's tag; `None` when its tags were not read.
    #[must_use]
    pub fn is_owned_by(&self, owner: &str) -> Option<bool> {
        self.tags
            .as_ref()
            .map(|t| t.get(OWNER_TAG).is_some_and(|v| v == owner))
    }
}

/// An IAM group: the policies its members get. Groups cannot carry tags, so iamspec marks the groups it owns with
/// an inline policy of its own ([`GROUP_OWNER_POLICY`]), readable in the same account read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group name.
    pub name: String,
    /// The IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub attached_policies: BTreeSet<String>,
}

impl Account {
    /// The group whose name equals `name` ignoring ASCII case.
    #[must_use]
    pub fn find_group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name).or_else(|| {
            self.groups
                .values()
                .find(|g| g.name.eq_ignore_ascii_case(name))
        })
    }

    /// The role whose name equals `name` ignoring ASCII case.
    #[must_use]
    pub fn find_role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name).or_else(|| {
            self.roles
                .values()
                .find(|r| r.name.eq_ignore_ascii_case(name))
        })
    }

    /// The user whose name equals `name` ignoring ASCII case, as IAM compares user names.
    #[must_use]
    pub fn find_user(&self, name: &str) -> Option<&User> {
        self.users.get(name).or_else(|| {
            self.users
                .values()
                .find(|u| u.name.eq_ignore_ascii_case(name))
        })
    }
}

/// An IAM user and everything iamspec manages or must clear before deleting it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user name, case preserved.
    pub name: String,
    /// The IAM path, e.g. `/iamspec/`.
    #[serde(default = "default_path")]
    pub path: String,
    /// The ARN, known only on the live side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Tags by key.
    #[serde(default)]
    pub tags: Tags,
    /// Inline policies by name, canonicalised.
    #[serde(default)]
    pub inline_policies: SortedMap<String, PolicyDocument>,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub attached_policies: SortedSet<String>,
    /// Names of the groups the user is in.
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// The permissions boundary policy ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Access key metadata (never secrets). Empty on the live side unless keys were read for this user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_keys: Vec<AccessKey>,
    /// What DeleteUser requires gone besides policies, groups and keys; read only for users about to be pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependents: Option<Box<Dependents>>,
}

fn default_path() -> String {
    "/".to_owned()
}

impl User {
    /// A user with only a name and a path.
    #[must_use]
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// Whether the user carries the owner tag with this owner's value.
    #[must_use]
    pub fn is_owned_by(&self, owner: &str) -> bool {
        self.tags.get(OWNER_TAG).is_some_and(|v| v == owner)
    }

    /// The records iamspec keeps of this user's keys, by key id.
    pub fn key_records(&self) -> impl Iterator<Item = (&str, KeyRecord)> {
        self.tags.iter().filter_map(|(k, v)| {
            k.strip_prefix(KEY_TAG_PREFIX)
                .map(|id| (id, KeyRecord::parse(v)))
        })
    }

    /// Keys created since iamspec manages this user's keys (`iamspec:keys-since`) that carry no delivery record
    /// (`iamspec:key:<id>`): iamspec made them and lost the secret, or someone made them by hand. Only whether one
    /// was ever used tells which.
    pub fn unrecorded_keys(&self) -> impl Iterator<Item = &AccessKey> {
        let since: Option<i64> = self.tags.get(KEYS_SINCE_TAG).and_then(|v| v.parse().ok());
        self.access_keys.iter().filter(move |k| {
            since.is_some_and(|s| k.created >= s)
                && !self.tags.contains_key(&format!("{KEY_TAG_PREFIX}{}", k.id))
        })
    }
}

/// Access key metadata. The secret is never part of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// The access key id (not secret).
    pub id: String,
    /// Whether IAM accepts the key.
    pub status: KeyStatus,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// When it was last used, where that was read: from the credential report, or (one GetAccessKeyLastUsed each)
    /// for keys whose delivery iamspec has no record of ([`User::unrecorded_keys`]) and for users whose spec sets
    /// `max_unused_days`: the cases where it decides anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<KeyUse>,
}

/// Whether an access key was ever used (IAM's GetAccessKeyLastUsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUse {
    /// Never used.
    Never,
    /// Last used at this time, seconds since the Unix epoch.
    At(i64),
}

/// IAM's access key status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum KeyStatus {
    /// The key works.
    Active,
    /// The key is kept but refused.
    Inactive,
}

impl KeyStatus {
    /// IAM's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// Credentials and devices that must be removed before IAM lets a user be deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependents {
    /// Whether the user has a console password.
    #[serde(default)]
    pub login_profile: bool,
    /// Serial numbers of MFA devices enabled for the user.
    #[serde(default)]
    pub mfa_devices: Vec<String>,
    /// Signing certificate ids.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
    /// SSH public key ids.
    #[serde(default)]
    pub ssh_public_keys: Vec<String>,
    /// Service-specific credential ids.
    #[serde(default)]
    pub service_credentials: Vec<String>,
}
