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
