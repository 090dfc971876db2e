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
