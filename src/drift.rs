//! Drift: the same diff as a plan, read as a report of where live IAM left the spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::plan::{Change, NoticeKind, Op, Plan, Target};

/// The JSON shape version of drift reports. 2: items name a typed `target` instead of a `user` string. 3: owned
/// objects that left the spec are `not-in-spec` (counted in `not_in_spec`); `unmanaged` means untagged only.
/// 4: `unused-key` items (counted in `unused_keys`) and `keys`, every read access key with its last use.
pub const DRIFT_FORMAT_VERSION: u32 = 4;

/// What kind of drift a user shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// In the spec, not in the account.
    Missing,
    /// In both, but different.
    Changed,
    /// Untagged under the spec's path: made by hand, never touched.
    Unmanaged,
    /// Owned (tagged by this spec's owner) but no longer in the spec; kept because `prune` is off.
    NotInSpec,
    /// Owned, not in the spec, and `prune: true` would delete it.
    Prunable,
    /// Has an access key older than max_age_days.
    StaleKey,
    /// Has an active access key unused for longer than max_unused_days.
    UnusedKey,
    /// Covered by an ignore rule (reported, not counted).
    Ignored,
    /// Carries another owner's tag (reported, not counted).
    OtherOwner,
    /// Allowed what a guardrail of the spec forbids.
    Guardrail,
}

/// One object's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DriftItem {
    /// The user or policy.
    pub target: Target,
    /// The kind.
    pub kind: DriftKind,
    /// What differs, one line each.
    pub details: Vec<String>,
}

/// Counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DriftCounts {
    /// Missing users.
    pub missing: usize,
    /// Changed users.
    pub changed: usize,
    /// Owned objects that left the spec (kept or prunable).
    pub not_in_spec: usize,
    /// Untagged objects under the spec's path.
    pub unmanaged: usize,
    /// Users with stale keys.
    pub stale_keys: usize,
    /// Users with keys unused for longer than `max_unused_days`.
    #[serde(default)]
    pub unused_keys: usize,
    /// Ignored objects and other owners' objects (information, not drift).
    pub ignored: usize,
    /// Principals that break a guardrail.
    #[serde(default)]
    pub guardrails: usize,
}

/// The drift report (`drift --format json`, schemas/drift.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DriftReport {
    /// Shape version.
    pub format_version: u32,
    /// When the live state was read (RFC 3339).
    pub timestamp: String,
    /// The account.
    pub account_id: String,
    /// Whether anything drifted (ignored users do not count).
    pub drifted: bool,
    /// Counts.
    pub counts: DriftCounts,
    /// Per-user findings.
    pub items: Vec<DriftItem>,
    /// Every access key read (of the users whose spec declares keys), with its last use where known.
    #[serde(default)]
    pub keys: Vec<KeyItem>,
    /// When the credential report some of the keys came from was generated (RFC 3339): keys made or removed by
    /// hand since then show from the next report on (IAM makes one at most every four hours). Absent when every
    /// key was listed (`--fresh-keys`, or none matched the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_as_of: Option<String>,
}

/// One access key as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct KeyItem {
    /// The user.
    pub user: String,
    /// The access key id (never the secret).
    pub key_id: String,
    /// Whether IAM accepts it.
    pub status: crate::model::KeyStatus,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it was last used (RFC 3339), `never`, or absent where that was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
}

/// A time for reports (RFC 3339, UTC); the number itself where it is out of range.
#[must_use]
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// The keys of a live account, users in name order.
fn keys(live: &crate::model::Account) -> Vec<KeyItem> {
    live.users
        .values()
        .flat_map(|u| {
            u.access_keys.iter().map(|k| KeyItem {
                user: u.name.clone(),
                key_id: k.id.clone(),
                status: k.status,
                created: rfc3339(k.created),
                last_used: k.last_used.map(|used| match used {
                    crate::model::KeyUse::Never => "never".to_owned(),
                    crate::model::KeyUse::At(t) => rfc3339(t),
                }),
            })
        })
        .collect()
}

/// What a change says about the live state, in present tense.
fn detail(c: &Change) -> Vec<String> {
    let short = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_owned();
    let grants = c.grants.iter().map(|g| match (&g.before, &g.after) {
        (None, Some(a)) => format!("grant {} missing (spec: {a})", g.target),
        (Some(b), Some(a)) => format!("grant {} is {b}, spec says {a}", g.target),
        (Some(b), None) => format!("grant {} ({b}) not in the spec", g.target),
        (None, None) => String::new(),
    });
    let line = match &c.op {
        Op::PutUserPolicy { policy_name, .. } if c.grants.is_empty() => {
            Some(format!("inline policy {policy_name} differs"))
        }
        Op::DeleteUserPolicy { policy_name, .. } if c.grants.is_empty() => {
            Some(format!("inline policy {policy_name} not in the spec"))
        }
        Op::PutUserPolicy { .. } | Op::DeleteUserPolicy { .. } => None,
        Op::TagUser { .. } => Some(format!("tags differ ({})", c.reason)),
        Op::AdoptUser { .. } => Some("not yet adopted: no owner tag".into()),
        Op::UntagUser { keys, .. } => Some(format!("tags not in the spec: {}", keys.join(", "))),
        Op::AttachUserPolicy { policy_arn, .. } => {
            Some(format!("{} not attached", short(policy_arn)))
        }
        Op::DetachUserPolicy { policy_arn, .. } => {
            Some(format!("{} attached, not in the spec", short(policy_arn)))
        }
        Op::AddUserToGroup { group, .. } => Some(format!("not in group {group}")),
        Op::RemoveUserFromGroup { group, .. } => Some(format!("in group {group}, not in the spec")),
        Op::PutUserPermissionsBoundary { policy_arn, .. } => {
            Some(format!("permissions boundary is not {}", short(policy_arn)))
        }
        Op::DeleteUserPermissionsBoundary { .. } => {
            Some("has a permissions boundary the spec does not declare".into())
        }
        Op::CreateAccessKey { .. } => {
            Some("fewer active access keys than access_keys.count".into())
        }
        Op::UpdateAccessKey { key_id, .. } => Some(format!("access key {key_id}: {}", c.reason)),
        Op::DeleteAccessKey { key_id, .. } => Some(format!("access key {key_id}: {}", c.reason)),
        Op::DeleteUndeliveredKey { key_id, .. } => Some(format!(
            "access key {key_id}: made by iamspec, its secret never delivered, never used"
        )),
        Op::RemoveGroupMember { user, .. } => Some(format!("member {user} is not in the spec")),
        Op::UpdateAssumeRolePolicy { document, .. } => Some(format!(
            "trust differs: {}",
            crate::plan::trust_difference(c.before.as_ref(), document)
        )),
        // The rest say what apply would do, and why.
        Op::CreateUser { .. }
        | Op::DeleteLoginProfile { .. }
        | Op::DeactivateMfaDevice { .. }
        | Op::DeleteSigningCertificate { .. }
        | Op::DeleteSshPublicKey { .. }
        | Op::DeleteServiceSpecificCredential { .. }
        | Op::DeleteUser { .. }
        | Op::CreatePolicy { .. }
        | Op::CreatePolicyVersion { .. }
        | Op::DeletePolicyVersion { .. }
        | Op::AdoptPolicy { .. }
        | Op::DeletePolicy { .. }
        | Op::CreateRole { .. }
        | Op::TagRole { .. }
        | Op::AdoptRole { .. }
        | Op::UntagRole { .. }
        | Op::UpdateRole { .. }
        | Op::PutRolePolicy { .. }
        | Op::DeleteRolePolicy { .. }
        | Op::AttachRolePolicy { .. }
        | Op::DetachRolePolicy { .. }
        | Op::PutRolePermissionsBoundary { .. }
        | Op::DeleteRolePermissionsBoundary { .. }
        | Op::DeleteRole { .. }
        | Op::CreateGroup { .. }
        | Op::MarkGroup { .. }
        | Op::PutGroupPolicy { .. }
        | Op::DeleteGroupPolicy { .. }
        | Op::AttachGroupPolicy { .. }
        | Op::DetachGroupPolicy { .. }
        | Op::DeleteGroup { .. } => Some(format!("{} ({})", c.op.describe(), c.reason)),
    };
    grants.chain(line).filter(|l| !l.is_empty()).collect()
}

/// Builds the report from a plan made with the current time.
#[must_use]
pub fn report(
    plan: &Plan,
    live: &crate::model::Account,
    keys_as_of: Option<i64>,
    account_id: &str,
    timestamp: String,
) -> DriftReport {
    let mut items: BTreeMap<(Target, DriftKind), Vec<String>> = BTreeMap::new();
    for (target, changes) in plan.by_target() {
        let kind = if changes.iter().any(|c| c.op.creates_target()) {
            DriftKind::Missing
        } else if changes.iter().any(|c| c.op.deletes_target()) {
            DriftKind::Prunable
        } else {
            DriftKind::Changed
        };
        let details = if kind == DriftKind::Changed {
            changes.iter().flat_map(|c| detail(c)).collect()
        } else if kind == DriftKind::Prunable {
            vec!["owned, not in the spec; apply deletes it (prune: true)".into()]
        } else {
            vec!["in the spec, not in the account".into()]
        };
        items
            .entry((target.clone(), kind))
            .or_default()
            .extend(details);
    }
    for n in &plan.notices {
        let kind = match n.kind {
            NoticeKind::OwnedNotInSpec => DriftKind::NotInSpec,
            NoticeKind::Unmanaged => DriftKind::Unmanaged,
            NoticeKind::StaleKey => DriftKind::StaleKey,
            NoticeKind::UnusedKey => DriftKind::UnusedKey,
            NoticeKind::Ignored => DriftKind::Ignored,
            NoticeKind::OtherOwner => DriftKind::OtherOwner,
            // Someone's key where iamspec expected only its own: the user differs from what iamspec recorded.
            NoticeKind::UnrecordedKey => DriftKind::Changed,
            NoticeKind::Guardrail => DriftKind::Guardrail,
            NoticeKind::InactiveKey => continue,
        };
        items
            .entry((n.target.clone(), kind))
            .or_default()
            .push(n.message.clone());
    }
    let mut counts = DriftCounts::default();
    let items: Vec<DriftItem> = items
        .into_iter()
        .map(|((target, kind), details)| {
            match kind {
                DriftKind::Missing => counts.missing += 1,
                DriftKind::Changed => counts.changed += 1,
                DriftKind::NotInSpec | DriftKind::Prunable => counts.not_in_spec += 1,
                DriftKind::Unmanaged => counts.unmanaged += 1,
                DriftKind::StaleKey => counts.stale_keys += 1,
                DriftKind::UnusedKey => counts.unused_keys += 1,
                DriftKind::Ignored | DriftKind::OtherOwner => counts.ignored += 1,
                DriftKind::Guardrail => counts.guardrails += 1,
            }
            DriftItem {
                target,
                kind,
                details,
            }
        })
        .collect();
    let drifted = counts.missing
        + counts.changed
        + counts.not_in_spec
        + counts.unmanaged
        + counts.stale_keys
        + counts.unused_keys
        + counts.guardrails
        > 0;
    DriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        timestamp,
        account_id: account_id.to_owned(),
        drifted,
        counts,
        items,
        keys: keys(live),
        keys_as_of: keys_as_of.map(rfc3339),
    }
}

impl DriftReport {
    /// The one-line summary, fit for a chat notification.
    #[must_use]
    pub fn summary_line(&self) -> String {
        if !self.drifted {
            return format!("No drift: account {} matches the spec.", self.account_id);
        }
        let c = self.counts;
        let unused = if c.unused_keys > 0 {
            format!(", {} with unused keys", c.unused_keys)
        } else {
            String::new()
        };
        let guardrails = if c.guardrails > 0 {
            format!(", {} breaking a guardrail", c.guardrails)
        } else {
            String::new()
        };
        format!(
            "Drift in account {}: {} missing, {} changed, {} owned but not in the spec, {} unmanaged (untagged), \
             {} with stale keys{unused}{guardrails}.",
            self.account_id, c.missing, c.changed, c.not_in_spec, c.unmanaged, c.stale_keys
        )
    }
}

/// The rules of drift findings in SARIF and annotations: one per kind that counts.
pub const RULES: [crate::render::ci::Rule; 7] = [
    rule(
        "drift-missing",
        "An object of the spec is missing from the account.",
    ),
    rule(
        "drift-changed",
        "An object differs from the spec (policies, tags, members, trust, keys).",
    ),
    rule(
        "drift-not-in-spec",
        "An object this owner owns is no longer in the spec.",
    ),
    rule(
        "drift-unmanaged",
        "An untagged object under the spec's path: made by hand, never touched.",
    ),
    rule("drift-stale-key", "An access key older than max_age_days."),
    rule(
        "drift-unused-key",
        "An active access key unused for longer than max_unused_days.",
    ),
    rule(
        "guardrail",
        "A live principal is allowed what a guardrail of the spec forbids.",
    ),
];

const fn rule(id: &'static str, description: &'static str) -> crate::render::ci::Rule {
    crate::render::ci::Rule {
        id,
        description,
        level: crate::spec::Severity::Warning,
    }
}

/// The report's findings placed in the spec: each drifted object at the line that declares it (objects the spec
/// does not declare, at its first line); a guardrail breach is an error, other drift a warning.
#[must_use]
pub fn located(
    report: &DriftReport,
    spec: &crate::spec::Spec,
    file: &str,
    text: &str,
) -> crate::spec::Diagnostics {
    use crate::spec::{Located, PathSeg, Severity};
    let declared = |t: &Target| -> Vec<PathSeg> {
        let kind = crate::diff::kind::of(t.kind());
        if kind.declared(spec, t.name()) {
            vec![
                PathSeg::Key(kind.section().to_owned()),
                PathSeg::Key(t.name().to_owned()),
            ]
        } else {
            Vec::new()
        }
    };
    let findings = report
        .items
        .iter()
        .filter_map(|item| {
            let (rule, severity, label) = match item.kind {
                DriftKind::Missing => (RULES[0].id, Severity::Warning, "missing"),
                DriftKind::Changed => (RULES[1].id, Severity::Warning, "changed"),
                DriftKind::NotInSpec | DriftKind::Prunable => {
                    (RULES[2].id, Severity::Warning, "not in the spec")
                }
                DriftKind::Unmanaged => (RULES[3].id, Severity::Warning, "unmanaged"),
                DriftKind::StaleKey => (RULES[4].id, Severity::Warning, "stale key"),
                DriftKind::UnusedKey => (RULES[5].id, Severity::Warning, "unused key"),
                DriftKind::Guardrail => (RULES[6].id, Severity::Error, "breaks a guardrail"),
                DriftKind::Ignored | DriftKind::OtherOwner => return None,
            };
            Some(Located {
                severity,
                path: declared(&item.target),
                message: format!("{}: {label}: {}", item.target, item.details.join("; ")),
                help: Some(format!(
                    "account {}; `iamspec plan` shows the changes that converge it",
                    report.account_id
                )),
                rule: Some(rule),
            })
        })
        .collect();
    crate::spec::locate(file, text, findings)
}

/// The drift report's JSON Schema, pretty, with a trailing newline.
#[must_use]
pub fn json_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(DriftReport)).unwrap_or_default();
    text.push('\n');
    text
}
