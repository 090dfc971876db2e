//! Plan, Change, Action, Notice: the data a plan is made of, and its summary counts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Op, Target};

/// The JSON shape version of plans and saved plan files. 2: changes and notices name a typed `target`
/// (`{"kind", "name"}`) instead of a `user` string.
pub const FORMAT_VERSION: u32 = 2;

/// What a change does to its target, in terraform's terms.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Something new (a user, an attachment, a grant, a key).
    Create,
    /// Something replaced in place.
    Update,
    /// Something removed.
    Delete,
}

impl Action {
    /// `+`, `~` or `-`.
    #[must_use]
    pub fn symbol(self) -> char {
        match self {
            Self::Create => '+',
            Self::Update => '~',
            Self::Delete => '-',
        }
    }
}

/// One bucket grant as it changes, in the spec's words: `photos-prod read -> read-write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrantChange {
    /// `bucket` or `bucket/prefix/`.
    pub target: String,
    /// Live access, absent when new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Spec access, absent when removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One IAM operation with its target and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// What the change writes to: always `op.target()` (changes of one target run in order; targets run
    /// concurrently).
    pub target: Target,
    /// Create, update or delete.
    pub action: Action,
    /// The operation.
    pub op: Op,
    /// Why, for people. Apply never reads it.
    pub reason: String,
    /// For grants policy changes: the grants that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<GrantChange>,
    /// For policy changes: the live document being replaced or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<crate::policy::PolicyDocument>,
}

impl Change {
    /// A change whose target is its operation's.
    #[must_use]
    pub fn new(action: Action, op: Op, reason: impl Into<String>) -> Self {
        Self {
            target: op.target(),
            action,
            op,
            reason: reason.into(),
            grants: Vec::new(),
            before: None,
        }
    }

    /// Whether this change takes something away (counted by `--max-deletes`).
    #[must_use]
    pub fn is_destructive(&self) -> bool {
        self.op.is_destructive()
    }
}

/// Something the plan reports without changing it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Notice {
    /// What kind of report.
    pub kind: NoticeKind,
    /// The object concerned.
    pub target: Target,
    /// A sentence for people.
    pub message: String,
}

/// Kinds of notices.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// An owned user or policy not in the spec, kept because `prune` is off.
    OwnedNotInSpec,
    /// An untagged user or policy under the spec's path.
    Unmanaged,
    /// A user or policy under the spec's path that carries another owner's tag: information, not drift.
    OtherOwner,
    /// A user covered by an `ignore` rule.
    Ignored,
    /// An access key past its maximum age.
    StaleKey,
    /// An active access key unused for longer than `max_unused_days`.
    UnusedKey,
    /// A deactivated key waiting for its grace period to end.
    InactiveKey,
    /// A live principal allowed what a guardrail of the spec forbids.
    Guardrail,
    /// A key without iamspec's delivery record that was used (or whose use could not be read): someone's, kept.
    UnrecordedKey,
}

/// The plan: ordered changes and notices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Changes in execution order.
    pub changes: Vec<Change>,
    /// Reports that change nothing.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// What the changes add to or remove from what principals may do, as the evaluator decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_changes: Vec<AccessChange>,
}

/// The action of a trust change: who may assume a role.
pub const ASSUME_ROLE: &str = "sts:AssumeRole";

/// Which way access changes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AccessEffect {
    /// Allowed after the plan, not before.
    Added,
    /// Allowed before the plan, not after.
    Removed,
    /// Allowed on one side, and on the other the evaluator cannot decide (a condition key, a policy not read).
    Undecided,
}

impl AccessEffect {
    /// `+`, `-` or `?`.
    #[must_use]
    pub fn sign(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Undecided => '?',
        }
    }
}

/// One difference in what a principal may do: these actions on these resources (bucket, `bucket/prefix*`,
/// `*`), or who may assume a role (`actions` is `["sts:AssumeRole"]`, `resources` who).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct AccessChange {
    /// The user or role.
    pub principal: Target,
    /// Added, removed, or undecided.
    pub effect: AccessEffect,
    /// The same in the spec's words: an access level (`read-write`) when the actions are exactly one, else the
    /// actions.
    pub words: String,
    /// The actions, sorted.
    pub actions: Vec<String>,
    /// The resources, as a spec names them (`photos-prod`, `photos-prod/uploads/*`).
    pub resources: Vec<String>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Changes that add.
    pub add: usize,
    /// Changes that replace.
    pub change: usize,
    /// Changes that remove.
    pub destroy: usize,
}

impl Plan {
    /// An empty plan.
    #[must_use]
    pub fn new() -> Self {
        Self {
            format_version: FORMAT_VERSION,
            changes: Vec::new(),
            notices: Vec::new(),
            access_changes: Vec::new(),
        }
    }

    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts by action.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// How many changes take something away.
    #[must_use]
    pub fn destructive_count(&self) -> usize {
        self.changes.iter().filter(|c| c.is_destructive()).count()
    }

    /// Changes grouped by target, each group in execution order; groups in plan order.
    #[must_use]
    pub fn by_target(&self) -> Vec<(&Target, Vec<&Change>)> {
        let mut index: BTreeMap<&Target, usize> = BTreeMap::new();
        let mut groups: Vec<(&Target, Vec<&Change>)> = Vec::new();
        for c in &self.changes {
            let i = *index.entry(&c.target).or_insert_with(|| {
                groups.push((&c.target, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(c);
        }
        groups
    }
}
