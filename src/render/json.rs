//! The machine views: one JSON document on stdout, for plans (schemas/plan.schema.json) and drift reports
//! (schemas/drift.schema.json).

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::plan::{AccessChange, Change, Notice, Plan, Summary};

/// The account a plan is for, and who asked: what the text plan's first line says.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanFor<'a> {
    /// The account id.
    pub account_id: Option<&'a str>,
    /// The caller's ARN (none for the local account file).
    pub caller_arn: Option<&'a str>,
}

/// The JSON document `plan --format json` prints.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanOutput<'a> {
    /// Shape version; bumped when a consumer must change.
    pub format_version: u32,
    /// The account the plan is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
    /// Who made the plan (the caller's ARN; absent for the local account file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<&'a str>,
    /// Counts by action.
    pub summary: Summary,
    /// Changes in execution order.
    pub changes: &'a [Change],
    /// Reports that change nothing.
    pub notices: &'a [Notice],
    /// What the changes add to or remove from what principals may do (the evaluator's answers before and after).
    pub access_changes: &'a [AccessChange],
}

/// Writes the plan as pretty JSON with a trailing newline.
///
/// # Errors
/// Write or serialisation errors.
pub fn plan(w: &mut dyn Write, plan: &Plan, for_: PlanFor<'_>) -> io::Result<()> {
    let out = PlanOutput {
        format_version: plan.format_version,
        account_id: for_.account_id,
        caller_arn: for_.caller_arn,
        summary: plan.summary(),
        changes: &plan.changes,
        notices: &plan.notices,
        access_changes: &plan.access_changes,
    };
    serde_json::to_writer_pretty(&mut *w, &out)?;
    writeln!(w)
}

/// The JSON Schema of [`PlanOutput`], pretty, with a trailing newline.
#[must_use]
pub fn plan_schema() -> String {
    let schema = schemars::schema_for!(PlanOutput<'static>);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes a drift report as pretty JSON with a trailing newline (schemas/drift.schema.json).
///
/// # Errors
/// Write or serialisation errors.
pub fn drift(w: &mut dyn Write, report: &crate::drift::DriftReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report)?;
    writeln!(w)
}

/// `can --format json`: `{format_version: 1, principal, action, resource, decision: "allowed" | "denied" |
/// "undecided", by: {policy, statement} | null, reason, under: [part], missing: [action]}`: `under` the parts of a
/// `bucket/prefix/*` question it is allowed under (empty: everywhere), `missing` an access word's actions not
/// allowed.
///
/// # Errors
/// Write or serialisation errors.
pub fn can(
    w: &mut dyn Write,
    principal: &crate::plan::Target,
    action: &str,
    resource: &str,
    answer: &crate::authz::Answer,
) -> io::Result<()> {
    use crate::authz::Decision;
    let decision = &answer.decision;
    let cite =
        |c: &crate::authz::Cite| serde_json::json!({"policy": c.policy, "statement": c.statement});
    let (verdict, by, reason) = match decision {
        Decision::Allowed(c) => ("allowed", cite(c), "allowed by a statement".to_owned()),
        Decision::ExplicitlyDenied(c) => ("denied", cite(c), "an explicit Deny".to_owned()),
        Decision::ImplicitlyDenied => (
            "denied",
            serde_json::Value::Null,
            "no policy allows it".to_owned(),
        ),
        Decision::DeniedByBoundary(c) => (
            "denied",
            cite(c),
            "the permissions boundary does not allow it".to_owned(),
        ),
        Decision::Undecided(why) => ("undecided", serde_json::Value::Null, why.clone()),
    };
    let doc = serde_json::json!({
        "format_version": 1,
        "principal": principal,
        "action": action,
        "resource": resource,
        "decision": verdict,
        "by": by,
        "reason": reason,
        "under": answer.under,
        "missing": answer.missing,
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// `who-can --format json`: `{format_version: 2, action, resource, allowed: [{principal, policy, statement, under}],
/// undecided: [{principal, reason}], denied: [principal]}`, each principal a target (`{"kind": "role", "name":
/// "media"}`). Version 2 named principals as targets; version 1 listed roles as users named `role/NAME`.
///
/// # Errors
/// Write or serialisation errors.
pub fn who_can(
    w: &mut dyn Write,
    action: &str,
    resource: &str,
    answers: &[(crate::plan::Target, crate::authz::Answer)],
) -> io::Result<()> {
    use crate::authz::Decision;
    let mut allowed = Vec::new();
    let mut undecided = Vec::new();
    let mut denied = Vec::new();
    for (user, answer) in answers {
        match &answer.decision {
            Decision::Allowed(cite) => allowed.push(serde_json::json!({
                "principal": user, "policy": cite.policy, "statement": cite.statement,
                "under": answer.under,
            })),
            Decision::Undecided(reason) => {
                undecided.push(serde_json::json!({"principal": user, "reason": reason}));
            }
            _ => denied.push(serde_json::json!(user)),
        }
    }
    let doc = serde_json::json!({
        "format_version": 2,
        "action": action,
        "resource": resource,
        "allowed": allowed,
        "undecided": undecided,
        "denied": denied,
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// The shape version of [`AccountsReport`].
pub const ACCOUNTS_FORMAT: u32 = 1;

/// The JSON document of a many-account `plan` or `drift` (schemas/accounts.schema.json): one entry per account, in
/// the run's order, each with its plan or drift report (the single-account documents) or its error.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountsReport<T> {
    /// Shape version of this envelope; each entry's document keeps its own `format_version`.
    pub format_version: u32,
    /// `plan` or `drift`.
    pub kind: &'static str,
    /// Counts over the accounts.
    pub summary: AccountsSummary,
    /// One entry per account.
    pub accounts: Vec<AccountEntry<T>>,
}

/// Counts over a many-account run.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize, JsonSchema)]
pub struct AccountsSummary {
    /// Accounts in the report.
    pub accounts: usize,
    /// Accounts with changes (plan) or drift.
    pub changed: usize,
    /// Accounts that failed.
    pub failed: usize,
}

/// One account's part.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountEntry<T> {
    /// Its name in the spec (an organization's account: its id).
    pub name: String,
    /// Its id.
    pub account_id: String,
    /// Whether it has changes or drift.
    pub changed: bool,
    /// The plan or drift report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AccountError>,
}

/// An account's failure.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The JSON Schema of a many-account report, pretty, with a trailing newline.
#[must_use]
pub fn accounts_schema() -> String {
    let schema = schemars::schema_for!(AccountsReport<serde_json::Value>);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Joins many-account reports (shards of one run) into one: same kind, each account once, summary recounted.
///
/// # Errors
/// A document that is no many-account report, of another kind or version, or an account in two reports.
pub fn merge_reports(docs: &[(String, serde_json::Value)]) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let mut kind: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut accounts = Vec::new();
    let mut summary = AccountsSummary::default();
    for (file, doc) in docs {
        let version = doc.get("format_version").and_then(Value::as_u64);
        if version != Some(u64::from(ACCOUNTS_FORMAT)) {
            return Err(format!(
                "{file} is not a many-account report of format {ACCOUNTS_FORMAT} (from `plan` or `drift --format json` of a spec with accounts)"
            ));
        }
        let this = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !matches!(this, "plan" | "drift") {
            return Err(format!("{file}: unknown report kind"));
        }
        match &kind {
            None => kind = Some(this.to_owned()),
            Some(k) if k != this => {
                return Err(format!(
                    "{file} is a {this} report, the others are {k} reports"
                ))
            }
            Some(_) => {}
        }
        let Some(entries) = doc.get("accounts").and_then(Value::as_array) else {
            return Err(format!("{file} has no accounts"));
        };
        for entry in entries {
            let Some(id) = entry
                .get("account_id")
                .and_then(Value::as_str)
                .filter(|id| crate::spec::is_account_id(id))
            else {
                return Err(format!("{file}: an entry has no account id"));
            };
            if !seen.insert(id.to_owned()) {
                return Err(format!(
                    "account {id} is in two reports: shards of one run never overlap"
                ));
            }
            summary.accounts += 1;
            if entry.get("changed").and_then(Value::as_bool) == Some(true) {
                summary.changed += 1;
            }
            if entry.get("error").is_some_and(|e| !e.is_null()) {
                summary.failed += 1;
            }
            accounts.push(entry.clone());
        }
    }
    Ok(serde_json::json!({
        "format_version": ACCOUNTS_FORMAT,
        "kind": kind.unwrap_or_else(|| "plan".into()),
        "summary": summary,
        "accounts": accounts,
    }))
}
