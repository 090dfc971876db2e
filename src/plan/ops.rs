//! The IAM operations a plan is made of: one variant per API call iamspec makes.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::KeyStatus;
use crate::policy::PolicyDocument;

use super::{Target, TargetKind};

/// Declares [`Op`] and its table, kind by kind: every operation is one row, its fields followed by its IAM API
/// name, its [`Phase`] and its [`Effect`], under the kind of object it writes to (and the field that names it). A new
/// operation cannot be declared without its row, so it cannot run in a default phase, skip the retry rules or escape
/// `--max-deletes`. Each kind also gets a borrowed view of its own operations ([`ByKind`]), so code that handles
/// one kind matches its operations exhaustively, with no arm for the others'.
macro_rules! operations {
    ($(
        $kind:ident ( $name:ident ) as $view:ident {
            $(
                $(#[$meta:meta])*
                $variant:ident {
                    $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
                } => $api:literal, $phase:ident, $effect:ident;
            )*
        }
    )*) => {
        /// One IAM write.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum Op {
            $($(
                $(#[$meta])*
                $variant {
                    $( $(#[$fmeta])* $field : $ty, )*
                },
            )*)*
        }

        $(
            #[doc = concat!("The operations on a ", stringify!($kind), ", borrowed from an [`Op`] ([`Op::by_kind`]).")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $view<'a> {
                $(
                    $(#[$meta])*
                    $variant {
                        $(
                            #[doc = concat!("[`Op::", stringify!($variant), "`]'s `", stringify!($field), "`.")]
                            $field: &'a $ty,
                        )*
                    },
                )*
            }
        )*

        /// An operation seen as one of its kind's.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ByKind<'a> {
            $(
                #[doc = concat!("An operation on a ", stringify!($kind), ".")]
                $kind($view<'a>),
            )*
        }

        impl Op {
            /// The kind of object this operation writes to.
            #[must_use]
            pub fn target_kind(&self) -> TargetKind {
                match self {
                    $($( Self::$variant { .. } => TargetKind::$kind, )*)*
                }
            }

            /// The name of the object this operation writes to (the [`Target`]'s name, without a copy).
            #[must_use]
            pub fn target_name(&self) -> &str {
                match self {
                    $($( Self::$variant { $name, .. } => $name.as_str(), )*)*
                }
            }

            /// What the engine must know of this operation: its row of the table.
            #[must_use]
            pub fn traits(&self) -> Traits {
                match self {
                    $($(
                        Self::$variant { .. } => Traits {
                            api: $api,
                            phase: Phase::$phase,
                            effect: Effect::$effect,
                        },
                    )*)*
                }
            }

            /// This operation as one of its kind's.
            #[must_use]
            pub fn by_kind(&self) -> ByKind<'_> {
                match self {
                    $($(
                        Self::$variant { $( $field, )* } => ByKind::$kind($view::$variant { $( $field, )* }),
                    )*)*
                }
            }
        }
    };
}

operations! {
    User(user) as UserOps {
        /// CreateUser, with its tags in the same call.
        CreateUser {
            /// User name.
            user: String,
            /// IAM path.
            path: String,
            /// Tags, owner tag included.
            tags: BTreeMap<String, String>,
            /// The permissions boundary, set in the same call so the user never exists without it.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            permissions_boundary: Option<String>,
        } => "CreateUser", Main, Create;
        /// TagUser (adds or overwrites).
        TagUser {
            /// User name.
            user: String,
            /// Tags to set.
            tags: BTreeMap<String, String>,
        } => "TagUser", Main, Write;
        /// TagUser on a user without the owner tag (`adopt: true`): iamspec takes it over. Its path and ARN stay.
        AdoptUser {
            /// User name.
            user: String,
            /// Tags to set, owner tag included.
            tags: BTreeMap<String, String>,
        } => "TagUser", Main, Write;
        /// UntagUser.
        UntagUser {
            /// User name.
            user: String,
            /// Keys to remove.
            keys: Vec<String>,
        } => "UntagUser", Main, Write;
        /// PutUserPolicy.
        PutUserPolicy {
            /// User name.
            user: String,
            /// Inline policy name.
            policy_name: String,
            /// The document.
            document: PolicyDocument,
        } => "PutUserPolicy", Main, Write;
        /// DeleteUserPolicy.
        DeleteUserPolicy {
            /// User name.
            user: String,
            /// Inline policy name.
            policy_name: String,
        } => "DeleteUserPolicy", Main, Destroy;
        /// AttachUserPolicy.
        AttachUserPolicy {
            /// User name.
            user: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "AttachUserPolicy", Main, Write;
        /// DetachUserPolicy.
        DetachUserPolicy {
            /// User name.
            user: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "DetachUserPolicy", Main, Destroy;
        /// AddUserToGroup.
        AddUserToGroup {
            /// User name.
            user: String,
            /// Group name.
            group: String,
        } => "AddUserToGroup", Main, Write;
        /// RemoveUserFromGroup.
        RemoveUserFromGroup {
            /// User name.
            user: String,
            /// Group name.
            group: String,
        } => "RemoveUserFromGroup", Main, Destroy;
        /// PutUserPermissionsBoundary.
        PutUserPermissionsBoundary {
            /// User name.
            user: String,
            /// Boundary policy ARN.
            policy_arn: String,
        } => "PutUserPermissionsBoundary", Main, Write;
        /// DeleteUserPermissionsBoundary.
        DeleteUserPermissionsBoundary {
            /// User name.
            user: String,
        } => "DeleteUserPermissionsBoundary", Main, Write;
        /// CreateAccessKey; the secret is delivered, never shown.
        CreateAccessKey {
            /// User name.
            user: String,
        } => "CreateAccessKey", Main, Write;
        /// UpdateAccessKey (activate or deactivate).
        UpdateAccessKey {
            /// User name.
            user: String,
            /// Access key id.
            key_id: String,
            /// New status.
            status: KeyStatus,
        } => "UpdateAccessKey", Main, Write;
        /// DeleteAccessKey.
        DeleteAccessKey {
            /// User name.
            user: String,
            /// Access key id.
            key_id: String,
        } => "DeleteAccessKey", Main, Destroy;
        /// DeleteAccessKey of a key iamspec made whose secret it never recorded as delivered and that was never used:
        /// recovery after a crash, not a deletion the spec asks for (not counted by `--max-deletes`). A secret file
        /// of it left in the secrets directory is removed.
        DeleteUndeliveredKey {
            /// User name.
            user: String,
            /// Access key id.
            key_id: String,
        } => "DeleteAccessKey", Main, Remove;
        /// DeleteLoginProfile.
        DeleteLoginProfile {
            /// User name.
            user: String,
        } => "DeleteLoginProfile", Main, Remove;
        /// DeactivateMFADevice.
        DeactivateMfaDevice {
            /// User name.
            user: String,
            /// Device serial number.
            serial: String,
        } => "DeactivateMFADevice", Main, Remove;
        /// DeleteSigningCertificate.
        DeleteSigningCertificate {
            /// User name.
            user: String,
            /// Certificate id.
            certificate_id: String,
        } => "DeleteSigningCertificate", Main, Remove;
        /// DeleteSSHPublicKey.
        DeleteSshPublicKey {
            /// User name.
            user: String,
            /// SSH public key id.
            key_id: String,
        } => "DeleteSSHPublicKey", Main, Remove;
        /// DeleteServiceSpecificCredential.
        DeleteServiceSpecificCredential {
            /// User name.
            user: String,
            /// Credential id.
            credential_id: String,
        } => "DeleteServiceSpecificCredential", Main, Remove;
        /// DeleteUser.
        DeleteUser {
            /// User name.
            user: String,
        } => "DeleteUser", Main, Delete;
    }
    Policy(policy) as PolicyOps {
        // Managed policies exist before anything attaches them, and go after everything let go of them.
        /// CreatePolicy, with the owner tag, under the spec's path.
        CreatePolicy {
            /// Policy name.
            policy: String,
            /// IAM path.
            path: String,
            /// Description.
            description: Option<String>,
            /// The document.
            document: PolicyDocument,
            /// Tags, owner tag included.
            tags: BTreeMap<String, String>,
        } => "CreatePolicy", Prepare, Create;
        /// CreatePolicyVersion, set as the default.
        CreatePolicyVersion {
            /// Policy name.
            policy: String,
            /// Policy ARN.
            policy_arn: String,
            /// The new document.
            document: PolicyDocument,
        } => "CreatePolicyVersion", Prepare, Write;
        /// DeletePolicyVersion (a non-default version, to stay within IAM's five).
        DeletePolicyVersion {
            /// Policy name.
            policy: String,
            /// Policy ARN.
            policy_arn: String,
            /// Version id.
            version_id: String,
        } => "DeletePolicyVersion", Prepare, Remove;
        /// TagPolicy on a spec policy without the owner tag (`adopt: true`): iamspec takes it over.
        AdoptPolicy {
            /// Policy name.
            policy: String,
            /// Policy ARN.
            policy_arn: String,
            /// Tags to set, owner tag included.
            tags: BTreeMap<String, String>,
        } => "TagPolicy", Prepare, Write;
        /// DeletePolicy, after its non-default versions (DeletePolicyVersion each) and attachments are gone.
        DeletePolicy {
            /// Policy name.
            policy: String,
            /// Policy ARN.
            policy_arn: String,
            /// Non-default version ids deleted first.
            versions: Vec<String>,
        } => "DeletePolicy", Cleanup, Delete;
    }
    Role(role) as RoleOps {
        /// CreateRole, with its trust policy, session duration and tags in the same call.
        CreateRole {
            /// Role name.
            role: String,
            /// IAM path.
            path: String,
            /// The trust policy.
            trust: PolicyDocument,
            /// Maximum session duration, seconds.
            max_session_seconds: u32,
            /// Tags, owner tag included.
            tags: BTreeMap<String, String>,
            /// The permissions boundary, set in the same call so the role never exists without it.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            permissions_boundary: Option<String>,
        } => "CreateRole", Main, Create;
        /// TagRole (adds or overwrites).
        TagRole {
            /// Role name.
            role: String,
            /// Tags to set.
            tags: BTreeMap<String, String>,
        } => "TagRole", Main, Write;
        /// TagRole on a role without the owner tag (`adopt: true`): iamspec takes it over.
        AdoptRole {
            /// Role name.
            role: String,
            /// Tags to set, owner tag included.
            tags: BTreeMap<String, String>,
        } => "TagRole", Main, Write;
        /// UntagRole.
        UntagRole {
            /// Role name.
            role: String,
            /// Keys to remove.
            keys: Vec<String>,
        } => "UntagRole", Main, Write;
        /// UpdateAssumeRolePolicy: who may assume the role.
        UpdateAssumeRolePolicy {
            /// Role name.
            role: String,
            /// The trust policy.
            document: PolicyDocument,
        } => "UpdateAssumeRolePolicy", Main, Write;
        /// UpdateRole: the maximum session duration.
        UpdateRole {
            /// Role name.
            role: String,
            /// Maximum session duration, seconds.
            max_session_seconds: u32,
        } => "UpdateRole", Main, Write;
        /// PutRolePolicy.
        PutRolePolicy {
            /// Role name.
            role: String,
            /// Inline policy name.
            policy_name: String,
            /// The document.
            document: PolicyDocument,
        } => "PutRolePolicy", Main, Write;
        /// DeleteRolePolicy.
        DeleteRolePolicy {
            /// Role name.
            role: String,
            /// Inline policy name.
            policy_name: String,
        } => "DeleteRolePolicy", Main, Destroy;
        /// AttachRolePolicy.
        AttachRolePolicy {
            /// Role name.
            role: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "AttachRolePolicy", Main, Write;
        /// DetachRolePolicy.
        DetachRolePolicy {
            /// Role name.
            role: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "DetachRolePolicy", Main, Destroy;
        /// PutRolePermissionsBoundary.
        PutRolePermissionsBoundary {
            /// Role name.
            role: String,
            /// Boundary policy ARN.
            policy_arn: String,
        } => "PutRolePermissionsBoundary", Main, Write;
        /// DeleteRolePermissionsBoundary.
        DeleteRolePermissionsBoundary {
            /// Role name.
            role: String,
        } => "DeleteRolePermissionsBoundary", Main, Write;
        /// DeleteRole, after RemoveRoleFromInstanceProfile for each instance profile it is in (inline and attached
        /// policies go first, as their own changes).
        DeleteRole {
            /// Role name.
            role: String,
            /// Instance profiles the role is removed from first.
            instance_profiles: Vec<String>,
        } => "DeleteRole", Main, Delete;
    }
    Group(group) as GroupOps {
        // A spec group exists, with its policies, before users join it; a pruned one goes after they left.
        /// CreateGroup, then (as its own change) the owner marker: groups take no tags.
        CreateGroup {
            /// Group name.
            group: String,
            /// IAM path.
            path: String,
        } => "CreateGroup", Groups, Create;
        /// PutGroupPolicy of the owner marker on a group without one (`adopt: true`), or right after CreateGroup.
        MarkGroup {
            /// Group name.
            group: String,
            /// The marker document, naming the owner.
            document: PolicyDocument,
        } => "PutGroupPolicy", Groups, Write;
        /// PutGroupPolicy.
        PutGroupPolicy {
            /// Group name.
            group: String,
            /// Inline policy name.
            policy_name: String,
            /// The document.
            document: PolicyDocument,
        } => "PutGroupPolicy", Groups, Write;
        /// DeleteGroupPolicy.
        DeleteGroupPolicy {
            /// Group name.
            group: String,
            /// Inline policy name.
            policy_name: String,
        } => "DeleteGroupPolicy", Groups, Destroy;
        /// AttachGroupPolicy.
        AttachGroupPolicy {
            /// Group name.
            group: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "AttachGroupPolicy", Groups, Write;
        /// DetachGroupPolicy.
        DetachGroupPolicy {
            /// Group name.
            group: String,
            /// Managed policy ARN.
            policy_arn: String,
        } => "DetachGroupPolicy", Groups, Destroy;
        /// RemoveUserFromGroup of a member of an owned group the spec does not list, or of any member of a group
        /// being pruned.
        RemoveGroupMember {
            /// Group name.
            group: String,
            /// The member.
            user: String,
        } => "RemoveUserFromGroup", GroupsGone, Destroy;
        /// DeleteGroup, after DeleteGroupPolicy of the owner marker (the group's last policy), once members, other
        /// policies and attachments are gone.
        DeleteGroup {
            /// Group name.
            group: String,
        } => "DeleteGroup", GroupsGone, Delete;
    }
}

/// What an operation does to its target, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Creates the target.
    Create,
    /// Changes or adds to it.
    Write,
    /// Removes something from it that is no access (a credential of a user being deleted, an old version).
    Remove,
    /// Takes access or data away (counted by `--max-deletes`).
    Destroy,
    /// Deletes the target itself.
    Delete,
}

/// An operation's row in the engine's table ([`Op::traits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    /// The IAM API operation name.
    pub api: &'static str,
    /// When it runs.
    pub phase: Phase,
    /// What it does to its target.
    pub effect: Effect,
}

/// When an operation runs relative to the users' changes. Every change of one target runs in the latest phase any
/// of them needs; phases run one after another, targets within a phase concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before anything else: managed policies that groups, users and roles will attach must exist first.
    Prepare,
    /// The spec's groups, with their policies and attachments: they exist before users join them.
    Groups,
    /// The users' and roles' own changes.
    Main,
    /// Groups being pruned, after their members left and before the policies they held can go.
    GroupsGone,
    /// After every other change: managed policies nobody attaches any more can go.
    Cleanup,
}

impl Phase {
    /// Every phase, in execution order.
    pub const ALL: [Self; 5] = [
        Self::Prepare,
        Self::Groups,
        Self::Main,
        Self::GroupsGone,
        Self::Cleanup,
    ];
}

impl Op {
    /// The object this operation writes to.
    #[must_use]
    pub fn target(&self) -> Target {
        let name = self.target_name().to_owned();
        match self.target_kind() {
            TargetKind::User => Target::User(name),
            TargetKind::Policy => Target::Policy(name),
            TargetKind::Role => Target::Role(name),
            TargetKind::Group => Target::Group(name),
        }
    }

    /// When the operation runs (see [`Phase`]).
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.traits().phase
    }

    /// The IAM API operation name.
    #[must_use]
    pub fn api_name(&self) -> &'static str {
        self.traits().api
    }

    /// Whether the goal of the operation is that something is gone: IAM's NoSuchEntity then means the goal is met
    /// (by an earlier attempt whose response was lost, or by another run).
    #[must_use]
    pub fn is_removal(&self) -> bool {
        matches!(
            self.traits().effect,
            Effect::Remove | Effect::Destroy | Effect::Delete
        )
    }

    /// Whether the operation takes access or data away (what `--max-deletes` counts).
    #[must_use]
    pub fn is_destructive(&self) -> bool {
        matches!(self.traits().effect, Effect::Destroy | Effect::Delete)
    }

    /// Whether the operation creates its target: IAM's EntityAlreadyExists then needs a look at what exists, and
    /// the target's next calls may briefly meet NoSuchEntity (IAM is eventually consistent).
    #[must_use]
    pub fn creates_target(&self) -> bool {
        self.traits().effect == Effect::Create
    }

    /// Whether the operation deletes its target.
    #[must_use]
    pub fn deletes_target(&self) -> bool {
        self.traits().effect == Effect::Delete
    }

    /// One line for people, in the spec's words where possible. Never includes a secret (there is none here).
    #[must_use]
    pub fn describe(&self) -> String {
        let short = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_owned();
        match self {
            Self::CreateUser {
                path,
                tags,
                permissions_boundary,
                ..
            } => {
                let tags = tag_words(tags);
                format!(
                    "create user (path {path}, tags {}{})",
                    tags.join(", "),
                    boundary_words(permissions_boundary.as_deref())
                )
            }
            Self::TagUser { tags, .. } => {
                let tags = tag_words(tags);
                format!("tag {}", tags.join(", "))
            }
            Self::AdoptUser { tags, .. } => {
                let tags = tag_words(tags);
                format!("adopt (tag {})", tags.join(", "))
            }
            Self::UntagUser { keys, .. } => format!("untag {}", keys.join(", ")),
            Self::PutUserPolicy { policy_name, .. } => format!("put inline policy {policy_name}"),
            Self::DeleteUserPolicy { policy_name, .. } => {
                format!("delete inline policy {policy_name}")
            }
            Self::AttachUserPolicy { policy_arn, .. } => format!("attach {}", short(policy_arn)),
            Self::DetachUserPolicy { policy_arn, .. } => format!("detach {}", short(policy_arn)),
            Self::AddUserToGroup { group, .. } => format!("add to group {group}"),
            Self::RemoveUserFromGroup { group, .. } => format!("remove from group {group}"),
            Self::PutUserPermissionsBoundary { policy_arn, .. } => {
                format!("set permissions boundary {}", short(policy_arn))
            }
            Self::DeleteUserPermissionsBoundary { .. } => "remove permissions boundary".into(),
            Self::CreateAccessKey { .. } => {
                "create access key (secret -> --secrets-dir or --encrypt-to)".into()
            }
            Self::UpdateAccessKey { key_id, status, .. } => {
                let verb = match status {
                    KeyStatus::Active => "activate",
                    KeyStatus::Inactive => "deactivate",
                };
                format!("{verb} access key {key_id}")
            }
            Self::DeleteAccessKey { key_id, .. } => format!("delete access key {key_id}"),
            Self::DeleteUndeliveredKey { key_id, .. } => {
                format!("delete access key {key_id} (never delivered, never used)")
            }
            Self::DeleteLoginProfile { .. } => "delete console password".into(),
            Self::DeactivateMfaDevice { serial, .. } => format!("deactivate MFA device {serial}"),
            Self::DeleteSigningCertificate { certificate_id, .. } => {
                format!("delete signing certificate {certificate_id}")
            }
            Self::DeleteSshPublicKey { key_id, .. } => format!("delete SSH public key {key_id}"),
            Self::DeleteServiceSpecificCredential { credential_id, .. } => {
                format!("delete service credential {credential_id}")
            }
            Self::DeleteUser { .. } => "delete user".into(),
            Self::CreatePolicy { path, .. } => format!("create managed policy (path {path})"),
            Self::CreatePolicyVersion { .. } => "new default version of the managed policy".into(),
            Self::DeletePolicyVersion { version_id, .. } => {
                format!("delete old policy version {version_id}")
            }
            Self::AdoptPolicy { tags, .. } => {
                let tags = tag_words(tags);
                format!("adopt (tag {})", tags.join(", "))
            }
            Self::DeletePolicy { .. } => "delete managed policy".into(),
            Self::CreateRole {
                path,
                trust,
                max_session_seconds,
                tags,
                permissions_boundary,
                ..
            } => {
                let tags = tag_words(tags);
                format!(
                    "create role (path {path}, {}, sessions up to {}, tags {}{})",
                    trust_words(trust),
                    hours(*max_session_seconds),
                    tags.join(", "),
                    boundary_words(permissions_boundary.as_deref())
                )
            }
            Self::TagRole { tags, .. } => {
                let tags = tag_words(tags);
                format!("tag {}", tags.join(", "))
            }
            Self::AdoptRole { tags, .. } => {
                let tags = tag_words(tags);
                format!("adopt (tag {})", tags.join(", "))
            }
            Self::UntagRole { keys, .. } => format!("untag {}", keys.join(", ")),
            Self::UpdateAssumeRolePolicy { document, .. } => {
                format!("set the trust policy: {}", trust_words(document))
            }
            Self::UpdateRole {
                max_session_seconds,
                ..
            } => format!("sessions up to {}", hours(*max_session_seconds)),
            Self::PutRolePolicy { policy_name, .. } => format!("put inline policy {policy_name}"),
            Self::DeleteRolePolicy { policy_name, .. } => {
                format!("delete inline policy {policy_name}")
            }
            Self::AttachRolePolicy { policy_arn, .. } => format!("attach {}", short(policy_arn)),
            Self::DetachRolePolicy { policy_arn, .. } => format!("detach {}", short(policy_arn)),
            Self::PutRolePermissionsBoundary { policy_arn, .. } => {
                format!("set permissions boundary {}", short(policy_arn))
            }
            Self::DeleteRolePermissionsBoundary { .. } => "remove permissions boundary".into(),
            Self::DeleteRole {
                instance_profiles, ..
            } if !instance_profiles.is_empty() => format!(
                "delete role (after removing it from instance profile(s) {})",
                instance_profiles.join(", ")
            ),
            Self::DeleteRole { .. } => "delete role".into(),
            Self::CreateGroup { path, .. } => format!("create group (path {path})"),
            Self::MarkGroup { document, .. } => {
                let owner = crate::model::Group {
                    inline_policies: BTreeMap::from([(
                        crate::model::GROUP_OWNER_POLICY.to_owned(),
                        document.clone(),
                    )]),
                    ..crate::model::Group::default()
                }
                .owner()
                .unwrap_or_default();
                format!(
                    "mark as owned by {owner} (inline policy {}; groups take no tags)",
                    crate::model::GROUP_OWNER_POLICY
                )
            }
            Self::PutGroupPolicy { policy_name, .. } => format!("put inline policy {policy_name}"),
            Self::DeleteGroupPolicy { policy_name, .. } => {
                format!("delete inline policy {policy_name}")
            }
            Self::AttachGroupPolicy { policy_arn, .. } => format!("attach {}", short(policy_arn)),
            Self::DetachGroupPolicy { policy_arn, .. } => format!("detach {}", short(policy_arn)),
            Self::RemoveGroupMember { user, .. } => format!("remove member {user}"),
            Self::DeleteGroup { .. } => "delete group (and its owner marker)".into(),
        }
    }
}

/// Tags as people read them: `key=value`, with the times iamspec records (seconds since the epoch) as dates.
fn tag_words(tags: &BTreeMap<String, String>) -> Vec<String> {
    tags.iter()
        .map(|(k, v)| format!("{k}={}", tag_value_words(k, v)))
        .collect()
}

/// A tag's value as people read it: iamspec's own records with dates for times.
#[must_use]
pub fn tag_value_words(key: &str, value: &str) -> String {
    use crate::model::{KeyMark, KeyRecord};
    let day = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map(|d| d.date().to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    if key == crate::model::KEYS_SINCE_TAG {
        return value.parse().map_or_else(|_| value.to_owned(), day);
    }
    if !key.starts_with(crate::model::KEY_TAG_PREFIX) {
        return value.to_owned();
    }
    let record = KeyRecord::parse(value);
    let mark = match record.mark {
        KeyMark::Delivered => "delivered".to_owned(),
        KeyMark::Inactive(t) => format!("inactive since {}", day(t)),
        KeyMark::Kept => "known (predates iamspec's keys)".to_owned(),
    };
    match record.created {
        Some(c) => format!("{mark}, made {}", day(c)),
        None => mark,
    }
}

/// `, permissions boundary NAME` for a boundary set at creation.
fn boundary_words(arn: Option<&str>) -> String {
    arn.map(|a| {
        format!(
            ", permissions boundary {}",
            a.rsplit('/').next().unwrap_or(a)
        )
    })
    .unwrap_or_default()
}

/// A duration in whole hours where it is one, else in seconds.
fn hours(seconds: u32) -> String {
    if seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else {
        format!("{seconds} s")
    }
}

/// Whom a trust policy trusts (accounts as `account N`), the external IDs it requires, and whether it holds
/// anything else (NotPrincipal, other actions or conditions).
fn trust_parts(trust: &PolicyDocument) -> (BTreeSet<String>, BTreeSet<String>, bool) {
    let (mut principals, mut ids, mut other) = (BTreeSet::new(), BTreeSet::new(), false);
    for st in &trust.statements {
        match st.principal.as_deref() {
            Some((key, principal)) if key == "Principal" => {
                let aws = &principal["AWS"];
                let listed = aws.as_array().cloned().unwrap_or_else(|| vec![aws.clone()]);
                for p in listed.iter().filter_map(serde_json::Value::as_str) {
                    principals.insert(
                        match p.strip_suffix(":root").and_then(|a| a.rsplit(':').next()) {
                            Some(account) => format!("account {account}"),
                            None => p.to_owned(),
                        },
                    );
                }
            }
            _ => other = true,
        }
        for (op, keys) in &st.condition {
            for (key, values) in keys {
                if op == "StringEquals" && key == "sts:ExternalId" {
                    ids.extend(values.iter().cloned());
                } else {
                    other = true;
                }
            }
        }
    }
    (principals, ids, other)
}

/// How a live trust policy differs from the spec's, as states ("external ID missing", "trusts account 1, the spec
/// does not"), for drift: a reviewer sees what changed, not only what apply will write.
#[must_use]
pub fn trust_difference(live: Option<&PolicyDocument>, spec: &PolicyDocument) -> String {
    let Some(live) = live else {
        return "no trust policy read".into();
    };
    let (live_p, live_ids, live_other) = trust_parts(live);
    let (want_p, want_ids, _) = trust_parts(spec);
    let mut out: Vec<String> = want_p
        .difference(&live_p)
        .map(|p| format!("does not trust {p}, the spec does"))
        .chain(
            live_p
                .difference(&want_p)
                .map(|p| format!("trusts {p}, the spec does not")),
        )
        .collect();
    match (want_ids.is_empty(), live_ids.is_empty()) {
        (false, true) => out.push("external ID missing".into()),
        (true, false) => out.push("requires an external ID the spec does not".into()),
        (false, false) if want_ids != live_ids => out.push("external ID differs".into()),
        _ => {}
    }
    if live_other {
        out.push("holds statements or conditions iamspec does not write".into());
    }
    if out.is_empty() {
        out.push("the trust policy differs from the spec's".into());
    }
    out.join("; ")
}

/// Who a trust policy lets in, in the spec's words: "trusted by account 232482882421 (external ID)".
#[must_use]
pub fn trust_words(trust: &PolicyDocument) -> String {
    let mut principals = Vec::new();
    let mut external_id = false;
    for statement in &trust.statements {
        let Some((key, principal)) = statement.principal.as_deref() else {
            continue;
        };
        if key != "Principal" {
            return "a trust policy iamspec did not write (NotPrincipal: everyone but the principal named)"
                .to_owned();
        }
        let aws = &principal["AWS"];
        let listed = aws.as_array().cloned().unwrap_or_else(|| vec![aws.clone()]);
        for p in listed.iter().filter_map(serde_json::Value::as_str) {
            principals.push(
                match p.strip_suffix(":root").and_then(|a| a.rsplit(':').next()) {
                    Some(account) => format!("account {account}"),
                    None => p.to_owned(),
                },
            );
        }
        external_id |= statement
            .condition
            .get("StringEquals")
            .is_some_and(|keys| keys.contains_key("sts:ExternalId"));
    }
    if principals.is_empty() {
        return "a trust policy iamspec did not write".to_owned();
    }
    format!(
        "trusted by {}{}",
        principals.join(", "),
        if external_id { " (external ID)" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_seen_by_kind_is_its_target_kinds_and_borrows_its_fields() {
        let ops = [
            Op::DeleteUser { user: "u".into() },
            Op::DeletePolicy {
                policy: "p".into(),
                policy_arn: "arn:p".into(),
                versions: Vec::new(),
            },
            Op::UpdateRole {
                role: "r".into(),
                max_session_seconds: 3600,
            },
            Op::DeleteGroup { group: "g".into() },
        ];
        for op in &ops {
            let kind = match op.by_kind() {
                ByKind::User(_) => TargetKind::User,
                ByKind::Policy(_) => TargetKind::Policy,
                ByKind::Role(_) => TargetKind::Role,
                ByKind::Group(_) => TargetKind::Group,
            };
            assert_eq!(kind, op.target_kind(), "{op:?}");
        }
        let ByKind::Role(RoleOps::UpdateRole {
            role,
            max_session_seconds,
        }) = ops[2].by_kind()
        else {
            panic!("UpdateRole is a role's operation");
        };
        assert_eq!((role.as_str(), *max_session_seconds), ("r", 3600));
        assert_eq!(ops[2].traits().api, "UpdateRole");
        assert_eq!(ops[1].target_name(), "p");
    }
}
