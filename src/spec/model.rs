//! The validated spec: what the rest of iamspec reads, every rule already checked.

use std::collections::{BTreeMap, BTreeSet};

use super::Diagnostics;
use crate::model;
use crate::pattern::wildcard_ignore_case;
use crate::policy::{render_grants, Grant, PolicyDocument};

/// The IAM path of what iamspec creates when the spec names none.
pub const DEFAULT_PATH: &str = "/iamspec/";

/// A validated spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The pinned account, if any.
    pub account_id: Option<String>,
    /// Many accounts (`accounts:`, `organization:`): the spec is run once per account, each time as the
    /// single-account spec [`Spec::for_account`] makes.
    pub accounts: Option<Accounts>,
    /// The owner tag value.
    pub owner: String,
    /// Path for created users.
    pub path: String,
    /// Whether owned users missing from the spec are deleted.
    pub prune: bool,
    /// Tag keys left alone on managed users.
    pub ignore_tags: BTreeSet<String>,
    /// Managed-policy attachment quota per user.
    pub max_attached: usize,
    /// Live users to leave alone entirely.
    pub ignore: Vec<IgnoreRule>,
    /// Shared grant sets (customer-managed policies), in spec order.
    pub policies: Vec<SpecPolicy>,
    /// Users in spec order.
    pub users: Vec<SpecUser>,
    /// Roles, in spec order.
    pub roles: Vec<SpecRole>,
    /// Managed groups, in spec order.
    pub groups: Vec<SpecGroup>,
    /// Delegated administration: every user and role carries iamspec's boundary
    /// ([`crate::names::boundary_policy`]).
    pub delegate: bool,
    /// Access no principal may have.
    pub guardrails: Vec<Guardrail>,
}

/// The accounts of a many-account spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accounts {
    /// `accounts:`, in spec order.
    pub named: Vec<NamedAccount>,
    /// `organization:`: every active account of the caller's organization.
    pub organization: Option<Organization>,
    /// Objects limited to some accounts (`accounts:` on a user, role, group or policy), by kind and lower-cased
    /// name, to account ids. An object not here is in every account.
    pub scoped: BTreeMap<(ScopeKind, String), BTreeSet<String>>,
}

/// The kinds of object an `accounts:` list can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// A user.
    User,
    /// A role.
    Role,
    /// A group.
    Group,
    /// A customer-managed policy (shared, or a user's or role's own).
    Policy,
}

/// One account of `accounts:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAccount {
    /// Its name in the spec.
    pub name: String,
    /// Its id.
    pub id: String,
    /// The role assumed there; `None` uses the caller's own credentials.
    pub role_arn: Option<String>,
    /// The external id the role asks for.
    pub external_id: Option<String>,
}

/// `organization:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The role name assumed in each account.
    pub role: String,
    /// The external id the role asks for.
    pub external_id: Option<String>,
    /// Account ids left out.
    pub exclude: BTreeSet<String>,
}

impl Accounts {
    /// Whether the object of `kind` named `name` is in account `id`.
    #[must_use]
    pub fn holds(&self, kind: ScopeKind, name: &str, id: &str) -> bool {
        self.scoped
            .get(&(kind, name.to_ascii_lowercase()))
            .is_none_or(|ids| ids.contains(id))
    }
}

/// A guardrail of the spec, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// Its name.
    pub name: String,
    /// Its index in `guardrails` (for findings' positions).
    pub index: usize,
    /// What it forbids.
    pub rule: GuardRule,
}

/// What a guardrail forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardRule {
    /// These actions (names or patterns) on these resource ARNs (patterns).
    Deny {
        /// Action names or patterns.
        actions: Vec<String>,
        /// S3 ARNs or `*`.
        resources: Vec<String>,
    },
    /// Roles may trust only these accounts.
    Trust {
        /// Account ids.
        accounts: BTreeSet<String>,
    },
}

/// A validated managed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecGroup {
    /// The group name.
    pub name: String,
    /// Bucket grants.
    pub grants: Vec<Grant>,
    /// Managed policy ARNs.
    pub managed_policies: crate::sorted::SortedSet<String>,
    /// Shared policies of the spec, by name.
    pub policies: BTreeSet<String>,
    /// Whether to take over an existing group without the owner marker.
    pub adopt: bool,
    /// `adopt: {from_owner}`: the one other owner it may be taken from.
    pub adopt_from: Option<String>,
}

impl SpecGroup {
    /// The grants' inline policy, if the group has grants.
    #[must_use]
    pub fn grants_policy(&self) -> Option<PolicyDocument> {
        render_grants(&self.grants)
    }
}

/// A validated role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRole {
    /// The role name.
    pub name: String,
    /// The principal trusted: `arn:aws:iam::ACCOUNT:root` or a role ARN.
    pub principal: String,
    /// The external ID the trust policy requires, if any.
    pub external_id: Option<String>,
    /// Tags, without the owner tag.
    pub tags: crate::model::Tags,
    /// Bucket grants.
    pub grants: Vec<Grant>,
    /// Managed policy ARNs.
    pub managed_policies: crate::sorted::SortedSet<String>,
    /// Shared policies of the spec, by name.
    pub policies: BTreeSet<String>,
    /// The permissions boundary's ARN.
    pub permissions_boundary: Option<String>,
    /// Longest session, seconds.
    pub max_session_seconds: u32,
    /// Whether to take over an existing role without the owner tag.
    pub adopt: bool,
    /// `adopt: {from_owner}`: the one other owner it may be taken from.
    pub adopt_from: Option<String>,
}

impl SpecRole {
    /// The trust policy: the principal may call sts:AssumeRole, with the external ID when there is one.
    #[must_use]
    pub fn trust_document(&self) -> PolicyDocument {
        let condition = self
            .external_id
            .iter()
            .map(|id| {
                (
                    "StringEquals".to_owned(),
                    crate::sorted::SortedMap::from([(
                        "sts:ExternalId".to_owned(),
                        vec![id.clone()],
                    )]),
                )
            })
            .collect();
        PolicyDocument::new(vec![crate::policy::Statement {
            sid: None,
            effect: crate::policy::Effect::Allow,
            actions: vec!["sts:AssumeRole".to_owned()],
            not_action: false,
            resources: Vec::new(),
            not_resource: false,
            condition,
            principal: Some(Box::new((
                "Principal".to_owned(),
                serde_json::json!({ "AWS": self.principal }),
            ))),
        }])
    }

    /// The grants' inline policy, if the role has grants.
    #[must_use]
    pub fn grants_policy(&self) -> Option<PolicyDocument> {
        render_grants(&self.grants)
    }
}

/// A shared grant set, rendered to a customer-managed policy under the spec's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecPolicy {
    /// The policy name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its grants.
    pub grants: Vec<Grant>,
    /// Whether a live, untagged policy of this name may be taken over.
    pub adopt: bool,
    /// `adopt: {from_owner}`: the one other owner it may be taken from.
    pub adopt_from: Option<String>,
}

impl SpecPolicy {
    /// The rendered document.
    #[must_use]
    pub fn document(&self) -> Option<PolicyDocument> {
        render_grants(&self.grants)
    }
}

/// A validated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecUser {
    /// IAM user name.
    pub name: String,
    /// Tags, without the owner tag.
    pub tags: crate::model::Tags,
    /// Bucket grants.
    pub grants: Vec<Grant>,
    /// Managed policy ARNs.
    pub managed_policies: crate::sorted::SortedSet<String>,
    /// Names of the spec's shared policies the user attaches.
    pub policies: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Whether a live, untagged user of this name may be taken over.
    pub adopt: bool,
    /// `adopt: {from_owner}`: the one other owner it may be taken from.
    pub adopt_from: Option<String>,
    /// Access key policy, when the spec declares keys.
    pub access_keys: Option<KeyPolicy>,
    /// The inline policy name the grants render into.
    pub grants_policy_name: String,
    /// Inline policies kept verbatim.
    pub raw_policies: crate::sorted::SortedMap<String, PolicyDocument>,
}

/// How many keys a user keeps and when they rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeyPolicy {
    /// Active keys wanted (0-2).
    pub count: usize,
    /// Rotation age in days.
    pub max_age_days: u32,
    /// Days a rotated key stays deactivated before deletion.
    pub grace_days: u32,
    /// An active key unused for longer (or never used and older) is replaced like a stale one; none: not judged.
    pub max_unused_days: Option<u32>,
}

/// A rule naming live users iamspec ignores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// Case-insensitive user-name glob.
    pub users: Option<String>,
    /// Case-insensitive role-name glob.
    pub roles: Option<String>,
    /// Tags that must all match (`*` for any value).
    pub tags: BTreeMap<String, String>,
}

impl IgnoreRule {
    /// Whether this rule covers the user.
    #[must_use]
    pub fn matches(&self, user: &model::User) -> bool {
        self.roles.is_none()
            && self
                .users
                .as_ref()
                .is_none_or(|g| wildcard_ignore_case(g, &user.name))
            && self
                .tags
                .iter()
                .all(|(k, v)| user.tags.get(k).is_some_and(|live| v == "*" || live == v))
    }
}

/// A loaded spec with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The spec.
    pub spec: Spec,
    /// Lint warnings (no errors).
    pub warnings: Diagnostics,
    /// Warnings a `lint.allow` accepted: not shown, listed by `validate -v`.
    pub allowed: Diagnostics,
}

impl Spec {
    /// An empty spec of `owner` under the default path: what the library's own tests build their specs on, so a
    /// field a new kind adds needs no edit in them.
    #[cfg(test)]
    pub(crate) fn empty(owner: &str) -> Self {
        Self {
            account_id: None,
            accounts: None,
            owner: owner.to_owned(),
            path: DEFAULT_PATH.to_owned(),
            prune: false,
            ignore_tags: std::collections::BTreeSet::new(),
            max_attached: 10,
            delegate: false,
            ignore: Vec::new(),
            policies: Vec::new(),
            users: Vec::new(),
            roles: Vec::new(),
            groups: Vec::new(),
            guardrails: Vec::new(),
        }
    }

    /// The single-account spec of account `id` of a many-account spec: pinned to `id`, holding the objects that
    /// are in it. A spec without accounts is returned pinned as it is.
    #[must_use]
    pub fn for_account(&self, id: &str) -> Spec {
        let mut one = self.clone();
        one.account_id = Some(id.to_owned());
        if let Some(accounts) = one.accounts.take() {
            one.users
                .retain(|u| accounts.holds(ScopeKind::User, &u.name, id));
            one.roles
                .retain(|r| accounts.holds(ScopeKind::Role, &r.name, id));
            one.groups
                .retain(|g| accounts.holds(ScopeKind::Group, &g.name, id));
            one.policies
                .retain(|p| accounts.holds(ScopeKind::Policy, &p.name, id));
        }
        one
    }

    /// Whether any ignore rule covers the user.
    /// Whether an `ignore` rule covers this live role: one naming roles, or one with tags only.
    #[must_use]
    pub fn ignores_role(&self, role: &model::Role) -> bool {
        self.ignore.iter().any(|r| {
            r.users.is_none()
                && r.roles
                    .as_ref()
                    .is_none_or(|g| wildcard_ignore_case(g, &role.name))
                && r.tags
                    .iter()
                    .all(|(k, v)| role.tags.get(k).is_some_and(|live| v == "*" || live == v))
        })
    }

    #[must_use]
    pub fn ignores(&self, user: &model::User) -> bool {
        self.ignore.iter().any(|r| r.matches(user))
    }

    /// The spec user matching `name` case-insensitively.
    /// The spec group of this name, case-insensitively.
    #[must_use]
    pub fn group(&self, name: &str) -> Option<&SpecGroup> {
        self.groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(name))
    }

    /// The spec role of this name, case-insensitively.
    #[must_use]
    pub fn role(&self, name: &str) -> Option<&SpecRole> {
        self.roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    #[must_use]
    pub fn user(&self, name: &str) -> Option<&SpecUser> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }
}

impl SpecUser {
    /// A user with only a name: no grants, tags, policies, groups or keys.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tags: crate::model::Tags::new(),
            grants: Vec::new(),
            managed_policies: crate::sorted::SortedSet::new(),
            policies: BTreeSet::new(),
            groups: BTreeSet::new(),
            permissions_boundary: None,
            adopt: false,
            access_keys: None,
            grants_policy_name: crate::model::GRANTS_POLICY.to_owned(),
            raw_policies: crate::sorted::SortedMap::new(),
            adopt_from: None,
        }
    }

    /// The rendered inline grants policy, if the user has grants.
    #[must_use]
    pub fn grants_policy(&self) -> Option<PolicyDocument> {
        // Rendered on demand, not kept: at 100,000 users the kept documents would cost more memory (and page
        // faults) than rendering twice costs time.
        render_grants(&self.grants)
    }
}
