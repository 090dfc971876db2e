//! Drift: the same diff as a plan, read as a report of where live IAM left the spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::plan::{Change, NoticeKind, Op, Plan};

/// What kind of drift a user shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// In the spec, not in the account.
    Missing,
    /// In both, but different.
    Changed,
    /// Owned but not in the spec, or untagged under the spec's path.
    Unmanaged,
    /// Owned, not in the spec, and `prune: true` would delete it.
    Prunable,
    /// Has an access key older than max_age_days.
    StaleKey,
    /// Covered by an ignore rule (reported, not counted).
    Ignored,
}

/// One user's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DriftItem {
    /// The user.
    pub user: String,
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
    /// Unmanaged or prunable users.
    pub unmanaged: usize,
    /// Users with stale keys.
    pub stale_keys: usize,
    /// Ignored users.
    pub ignored: usize,
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
}

fn detail(c: &Change) -> Vec<String> {
    let mut out: Vec<String> = c
        .grants
        .iter()
        .map(|g| match (&g.before, &g.after) {
            (None, Some(a)) => format!("grant {} missing (spec: {a})", g.target),
            (Some(b), Some(a)) => format!("grant {} is {b}, spec says {a}", g.target),
            (Some(b), None) => format!("grant {} ({b}) not in the spec", g.target),
            (None, None) => String::new(),
        })
        .collect();
    if out.is_empty() || !matches!(c.op, Op::PutUserPolicy { .. } | Op::DeleteUserPolicy { .. }) {
        out.push(format!(
            "{} {} ({})",
            c.action.symbol(),
            c.op.describe(),
            c.reason
        ));
    }
    out
}

/// Builds the report from a plan made with the current time.
#[must_use]
pub fn report(plan: &Plan, account_id: &str, timestamp: String) -> DriftReport {
    let mut items: BTreeMap<(String, DriftKind), Vec<String>> = BTreeMap::new();
    for (user, changes) in plan.by_user() {
        let kind = if changes
            .iter()
            .any(|c| matches!(c.op, Op::CreateUser { .. }))
        {
            DriftKind::Missing
        } else if changes
            .iter()
            .any(|c| matches!(c.op, Op::DeleteUser { .. }))
        {
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
            .entry((user.to_owned(), kind))
            .or_default()
            .extend(details);
    }
    for n in &plan.notices {
        let kind = match n.kind {
            NoticeKind::OwnedNotInSpec | NoticeKind::Unmanaged => DriftKind::Unmanaged,
            NoticeKind::StaleKey => DriftKind::StaleKey,
            NoticeKind::Ignored => DriftKind::Ignored,
            NoticeKind::InactiveKey => continue,
        };
        items
            .entry((n.user.clone(), kind))
            .or_default()
            .push(n.message.clone());
    }
    let mut counts = DriftCounts::default();
    let items: Vec<DriftItem> = items
        .into_iter()
        .map(|((user, kind), details)| {
            match kind {
                DriftKind::Missing => counts.missing += 1,
                DriftKind::Changed => counts.changed += 1,
                DriftKind::Unmanaged | DriftKind::Prunable => counts.unmanaged += 1,
                DriftKind::StaleKey => counts.stale_keys += 1,
                DriftKind::Ignored => counts.ignored += 1,
            }
            DriftItem {
                user,
                kind,
                details,
            }
        })
        .collect();
    let drifted = counts.missing + counts.changed + counts.unmanaged + counts.stale_keys > 0;
    DriftReport {
        format_version: 1,
        timestamp,
        account_id: account_id.to_owned(),
        drifted,
        counts,
        items,
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
        format!(
            "Drift in account {}: {} missing, {} changed, {} unmanaged, {} with stale keys.",
            self.account_id, c.missing, c.changed, c.unmanaged, c.stale_keys
        )
    }
}

/// The drift report's JSON Schema, pretty, with a trailing newline.
#[must_use]
pub fn json_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(DriftReport)).unwrap_or_default();
    text.push('\n');
    text
}
