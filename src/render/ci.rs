//! What CI systems read: SARIF 2.1.0 for code scanning, GitHub Actions workflow commands (`::error file=...`),
//! and GitLab's Terraform-style merge-request report. Findings come in as located diagnostics (validation's, or
//! drift items placed at the spec line that declares them), so every format names file, line and column.

use serde_json::{json, Value};

use crate::plan::Plan;
use crate::spec::{Diagnostic, Diagnostics, Lint, Severity};

/// GitHub code scanning's limit of results per run.
pub const SARIF_MAX_RESULTS: usize = 25_000;

/// A kind of finding: its rule id and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The id results name.
    pub id: &'static str,
    /// One line.
    pub description: &'static str,
    /// The level a result of it has unless it says otherwise.
    pub level: Severity,
}

/// Errors that make a spec invalid.
pub const INVALID_SPEC: Rule = Rule {
    id: "invalid-spec",
    description: "The spec is invalid: YAML, an unknown field, a name IAM refuses, an impossible grant, a policy \
                  over IAM's size limits. No AWS call is made until it is fixed.",
    level: Severity::Error,
};

/// A principal that breaks one of the spec's guardrails.
pub const GUARDRAIL: Rule = Rule {
    id: crate::guardrails::RULE,
    description: "A principal is allowed what a guardrail of the spec forbids.",
    level: Severity::Error,
};

/// The rule of a lint warning.
fn lint_rule(lint: Lint) -> Rule {
    Rule {
        id: lint.name(),
        description: lint.description(),
        level: Severity::Warning,
    }
}

/// The rule a located diagnostic belongs to: its lint rule, a guardrail, a drift kind, or an invalid spec.
#[must_use]
pub fn rule_of(d: &Diagnostic, extra: &[Rule]) -> Rule {
    if let Some(name) = d.rule {
        if let Some(lint) = Lint::from_name(name) {
            return lint_rule(lint);
        }
        if let Some(r) = extra.iter().chain([&GUARDRAIL]).find(|r| r.id == name) {
            return *r;
        }
    }
    INVALID_SPEC
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A file name as a SARIF artifact URI: relative to where iamspec ran, forward slashes.
fn uri(file: &str) -> String {
    let file = file.replace('\\', "/");
    file.strip_prefix("./").unwrap_or(&file).to_owned()
}

/// The SARIF 2.1.0 log of `diags` (one run), with every rule of `rules` the results name, and at most
/// [`SARIF_MAX_RESULTS`] results (a note says how many were left out).
#[must_use]
pub fn sarif(diags: &Diagnostics, extra: &[Rule]) -> Value {
    let mut rules: Vec<Rule> = Vec::new();
    let mut results = Vec::new();
    for d in diags.items.iter().take(SARIF_MAX_RESULTS) {
        let rule = rule_of(d, extra);
        let index = match rules.iter().position(|r| r.id == rule.id) {
            Some(i) => i,
            None => {
                rules.push(rule);
                rules.len() - 1
            }
        };
        let mut message = format!("{}: {}", d.field, d.message);
        if let Some(help) = &d.help {
            message.push_str(&format!(" (hint: {help})"));
        }
        results.push(json!({
            "ruleId": rule.id,
            "ruleIndex": index,
            "level": level(d.severity),
            "message": {"text": message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(&diags.file)},
                    "region": {
                        "startLine": d.pos.line.max(1),
                        "startColumn": d.pos.col.max(1),
                    }
                }
            }],
        }));
    }
    let left_out = diags.items.len().saturating_sub(SARIF_MAX_RESULTS);
    let mut run = json!({
        "tool": {"driver": {
            "name": "iamspec",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules.iter().map(|r| json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.description},
                "fullDescription": {"text": r.description},
                "help": {"text": r.description},
                "defaultConfiguration": {"level": level(r.level)},
            })).collect::<Vec<_>>(),
        }},
        "results": results,
    });
    if left_out > 0 {
        run["invocations"] = json!([{
            "executionSuccessful": true,
            "toolExecutionNotifications": [{
                "level": "warning",
                "message": {"text": format!("{left_out} more result(s) left out: code scanning takes {SARIF_MAX_RESULTS} a run")},
            }],
        }]);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

/// A workflow command's message: `%`, CR and LF encoded, as the runner decodes them.
fn command_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as the message, and `:` and `,` too.
fn command_property(text: &str) -> String {
    command_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions annotations, one `::error` / `::warning` line per finding.
#[must_use]
pub fn github(diags: &Diagnostics, extra: &[Rule]) -> String {
    let mut out = String::new();
    for d in &diags.items {
        let rule = rule_of(d, extra);
        let mut message = format!("{}: {}", d.field, d.message);
        if let Some(help) = &d.help {
            message.push_str(&format!(" (hint: {help})"));
        }
        out.push_str(&format!(
            "::{} file={},line={},col={},title={}::{}\n",
            level(d.severity),
            command_property(&uri(&diags.file)),
            d.pos.line.max(1),
            d.pos.col.max(1),
            command_property(&format!("iamspec {}", rule.id)),
            command_data(&crate::display::escape(&message))
        ));
    }
    out
}

/// GitLab's merge-request report of a plan (`artifacts:reports:terraform`): `{"create", "update", "delete"}`.
#[must_use]
pub fn gitlab(plan: &Plan) -> Value {
    let s = plan.summary();
    json!({"create": s.add, "update": s.change, "delete": s.destroy})
}

/// GitLab's report over many accounts' plans: their counts summed (the widget shows one set of numbers).
#[must_use]
pub fn gitlab_accounts<'a>(plans: impl IntoIterator<Item = &'a Plan>) -> Value {
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    for plan in plans {
        let s = plan.summary();
        add += s.add;
        change += s.change;
        destroy += s.destroy;
    }
    json!({"create": add, "update": change, "delete": destroy})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_cannot_be_broken_out_of() {
        assert_eq!(command_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(command_property("x:y,z"), "x%3Ay%2Cz");
    }
}
