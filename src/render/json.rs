//! The machine views: one JSON document on stdout, for plans (schemas/plan.schema.json) and drift reports
//! (schemas/drift.schema.json).

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::plan::{Change, Notice, Plan, Summary};

/// The JSON document `plan --format json` prints.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanOutput<'a> {
    /// Shape version; bumped when a consumer must change.
    pub format_version: u32,
    /// Counts by action.
    pub summary: Summary,
    /// Changes in execution order.
    pub changes: &'a [Change],
    /// Reports that change nothing.
    pub notices: &'a [Notice],
}

/// Writes the plan as pretty JSON with a trailing newline.
///
/// # Errors
/// Write or serialisation errors.
pub fn plan(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let out = PlanOutput {
        format_version: plan.format_version,
        summary: plan.summary(),
        changes: &plan.changes,
        notices: &plan.notices,
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

/// `who-can --format json`: `{format_version, action, resource, allowed: [{user, policy, statement}], undecided:
/// [{user, reason}], denied: [user]}`.
///
/// # Errors
/// Write or serialisation errors.
pub fn who_can(
    w: &mut dyn Write,
    action: &str,
    resource: &str,
    answers: &[(String, crate::authz::Decision)],
) -> io::Result<()> {
    use crate::authz::Decision;
    let mut allowed = Vec::new();
    let mut undecided = Vec::new();
    let mut denied = Vec::new();
    for (user, decision) in answers {
        match decision {
            Decision::Allowed(cite) => allowed.push(serde_json::json!({
                "user": user, "policy": cite.policy, "statement": cite.statement
            })),
            Decision::Undecided(reason) => {
                undecided.push(serde_json::json!({"user": user, "reason": reason}));
            }
            _ => denied.push(serde_json::json!(user)),
        }
    }
    let doc = serde_json::json!({
        "format_version": 1,
        "action": action,
        "resource": resource,
        "allowed": allowed,
        "undecided": undecided,
        "denied": denied,
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}
