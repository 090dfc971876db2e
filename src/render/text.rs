//! The human plan: terraform-like lines in the spec's words, then each inline policy's JSON diff, then the summary.
//! Every piece of text from the spec or from live IAM is escaped on its way out (see [`crate::display`]).

use std::io::{self, Write};

use similar::TextDiff;

use crate::display::{escape, Escaped};
use crate::plan::{AccessChange, AccessEffect, Action, Change, Op, Plan};

/// Styling for text output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Whether to use ANSI colours (only on a terminal, never with NO_COLOR).
    pub color: bool,
}

impl Style {
    /// `text`, escaped (it carries names, tags and messages from the spec and from live IAM), then coloured.
    fn paint(self, code: &str, text: &str) -> String {
        let text = escape(text);
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
    }

    fn action(self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Delete => "31",
        };
        self.paint(code, text)
    }

    /// Dims text (reasons, hints).
    #[must_use]
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Bold text (headings).
    #[must_use]
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// What the text plan shows, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    /// Colours.
    pub style: Style,
    /// Print new policies' JSON too. Off by default: a new user's grants read better in the spec's words, and a
    /// policy per new user made a 300-user plan thirteen thousand lines. Changes to live policies always show their
    /// JSON diff.
    pub show_policies: bool,
    /// List other owners' objects one by one (`-v`) instead of in one line.
    pub verbose: bool,
}

/// The summary line: "Plan: X to add, Y to change, Z to destroy." or "No changes.".
#[must_use]
pub fn summary_line(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No changes. The account matches the spec.".to_owned();
    }
    let s = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

/// Writes the plan.
///
/// # Errors
/// Write errors of `w`.
pub fn plan(w: &mut dyn Write, plan: &Plan, view: View) -> io::Result<()> {
    let style = view.style;
    if !plan.is_empty() {
        writeln!(w, "iamspec will make these changes:")?;
        for (_, changes) in plan.by_target() {
            writeln!(w)?;
            for c in changes {
                change(w, c, view)?;
            }
        }
        writeln!(w)?;
    }
    access_changes(w, &plan.access_changes, style)?;
    notices(w, plan, style, view.verbose)?;
    writeln!(w, "{}", style.bold(&summary_line(plan)))
}

/// One access change in the spec's words: `iam_pixelshift: + write on photos-prod/*`.
#[must_use]
pub fn access_line(c: &AccessChange) -> String {
    format!("{}: {} {}", c.principal, c.effect.sign(), access_what(c))
}

/// What changes, without who or which way: `write on photos-prod/*`, `trusted by account ...`.
#[must_use]
pub fn access_what(c: &AccessChange) -> String {
    if c.actions.is_empty() || c.actions == [crate::plan::ASSUME_ROLE] {
        return c.words.clone();
    }
    format!("{} on {}", c.words, c.resources.join(", "))
}

/// Writes the access changes block, if any: what principals may do after the plan that they may not before, and
/// the reverse.
///
/// # Errors
/// Write errors of `w`.
pub fn access_changes(w: &mut dyn Write, changes: &[AccessChange], style: Style) -> io::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    writeln!(w, "Access changes:")?;
    for c in changes {
        let code = match c.effect {
            AccessEffect::Added => "32",
            AccessEffect::Removed => "31",
            AccessEffect::Undecided => "33",
        };
        let mut line = access_line(c);
        if c.effect == AccessEffect::Undecided {
            line.push_str(" (allowed on one side; the other cannot be decided offline)");
        }
        writeln!(w, "  {}", style.paint(code, &line))?;
    }
    writeln!(w)
}

/// Writes the notices block, if any.
///
/// # Errors
/// Write errors of `w`.
pub fn notices(w: &mut dyn Write, plan: &Plan, style: Style, verbose: bool) -> io::Result<()> {
    if plan.notices.is_empty() {
        return Ok(());
    }
    writeln!(w, "Notices:")?;
    // Other owners' objects are information, not news: one line, the list at -v.
    let others = plan
        .notices
        .iter()
        .filter(|n| n.kind == crate::plan::NoticeKind::OtherOwner)
        .count();
    for n in &plan.notices {
        if n.kind == crate::plan::NoticeKind::OtherOwner && !verbose {
            continue;
        }
        writeln!(
            w,
            "  ! {}: {}",
            Escaped(&n.target.to_string()),
            style.dim(&n.message)
        )?;
    }
    if others > 0 && !verbose {
        writeln!(
            w,
            "  {}",
            style.dim(&format!(
                "{others} object(s) under the path belong to other owners and are left alone (-v lists them)"
            ))
        )?;
    }
    writeln!(w)
}

/// One change: its line (the only one at the margin, so what a reader counts is what the summary counts), then its
/// details indented under it: the grants it adds, changes or removes, then the policy JSON.
fn change(w: &mut dyn Write, c: &Change, view: View) -> io::Result<()> {
    change_lines(w, c, view)?;
    match policy_texts(c) {
        Some(_) if c.before.is_none() && !view.show_policies && written(c).is_some() => {}
        Some((before, after)) => json_diff(w, &before, &after, view.style)?,
        None => {}
    }
    Ok(())
}

/// A change's line and its grants (and, for a new policy not shown, its size), without the policy JSON.
///
/// # Errors
/// Write errors of `w`.
pub fn change_lines(w: &mut dyn Write, c: &Change, view: View) -> io::Result<()> {
    let style = view.style;
    let line = format!("{} {}: {}", c.action.symbol(), c.target, c.op.describe());
    writeln!(
        w,
        "{}  {}",
        style.action(c.action, &line),
        style.dim(&format!("# {}", c.reason))
    )?;
    for g in &c.grants {
        let (action, text) = match (&g.before, &g.after) {
            (None, Some(after)) => (Action::Create, format!("grant {} {after}", g.target)),
            (Some(before), Some(after)) => (
                Action::Update,
                format!("grant {} {before} -> {after}", g.target),
            ),
            (Some(before), None) => (Action::Delete, format!("grant {} {before}", g.target)),
            (None, None) => continue,
        };
        writeln!(
            w,
            "      {}",
            style.action(action, &format!("{} {text}", action.symbol()))
        )?;
    }
    if let Some(document) = written(c) {
        if c.before.is_none() && !view.show_policies {
            writeln!(
                w,
                "      {}",
                style.dim(&format!(
                    "(new policy, {} characters: --show-policies prints its JSON)",
                    document.size()
                ))
            )?;
        }
    }
    Ok(())
}

/// What a change does to a policy document.
enum Document<'a> {
    /// Writes this one.
    Writes(&'a crate::policy::PolicyDocument),
    /// Deletes an inline policy (its document is the change's `before`).
    Deletes,
    /// Neither.
    Neither,
}

/// The document a change writes, if it writes one.
fn written(c: &Change) -> Option<&crate::policy::PolicyDocument> {
    match document(c) {
        Document::Writes(document) => Some(document),
        Document::Deletes | Document::Neither => None,
    }
}

/// What `c` does to a policy document: one table over every operation, so a new one says.
fn document(c: &Change) -> Document<'_> {
    match &c.op {
        Op::PutUserPolicy { document, .. }
        | Op::CreatePolicy { document, .. }
        | Op::CreatePolicyVersion { document, .. }
        | Op::PutRolePolicy { document, .. }
        | Op::PutGroupPolicy { document, .. }
        | Op::UpdateAssumeRolePolicy { document, .. }
        | Op::CreateRole {
            trust: document, ..
        } => Document::Writes(document),
        Op::DeleteUserPolicy { .. }
        | Op::DeleteRolePolicy { .. }
        | Op::DeleteGroupPolicy { .. } => Document::Deletes,
        // The owner marker is shown as what it means (`mark as owned by ...`), not as JSON.
        Op::CreateUser { .. }
        | Op::TagUser { .. }
        | Op::AdoptUser { .. }
        | Op::UntagUser { .. }
        | Op::AttachUserPolicy { .. }
        | Op::DetachUserPolicy { .. }
        | Op::AddUserToGroup { .. }
        | Op::RemoveUserFromGroup { .. }
        | Op::PutUserPermissionsBoundary { .. }
        | Op::DeleteUserPermissionsBoundary { .. }
        | Op::CreateAccessKey { .. }
        | Op::UpdateAccessKey { .. }
        | Op::DeleteAccessKey { .. }
        | Op::DeleteUndeliveredKey { .. }
        | Op::DeleteLoginProfile { .. }
        | Op::DeactivateMfaDevice { .. }
        | Op::DeleteSigningCertificate { .. }
        | Op::DeleteSshPublicKey { .. }
        | Op::DeleteServiceSpecificCredential { .. }
        | Op::DeleteUser { .. }
        | Op::DeletePolicyVersion { .. }
        | Op::AdoptPolicy { .. }
        | Op::DeletePolicy { .. }
        | Op::TagRole { .. }
        | Op::AdoptRole { .. }
        | Op::UntagRole { .. }
        | Op::UpdateRole { .. }
        | Op::AttachRolePolicy { .. }
        | Op::DetachRolePolicy { .. }
        | Op::PutRolePermissionsBoundary { .. }
        | Op::DeleteRolePermissionsBoundary { .. }
        | Op::DeleteRole { .. }
        | Op::CreateGroup { .. }
        | Op::MarkGroup { .. }
        | Op::AttachGroupPolicy { .. }
        | Op::DetachGroupPolicy { .. }
        | Op::RemoveGroupMember { .. }
        | Op::DeleteGroup { .. } => Document::Neither,
    }
}

/// The policy JSON a change replaces and writes (pretty; empty for none), for the changes that carry a document.
#[must_use]
pub fn policy_texts(c: &Change) -> Option<(String, String)> {
    let before = || {
        c.before
            .as_ref()
            .map(|d| d.to_pretty_json())
            .unwrap_or_default()
    };
    match document(c) {
        Document::Writes(document) => Some((before(), document.to_pretty_json())),
        Document::Deletes => c.before.as_ref().map(|_| (before(), String::new())),
        Document::Neither => None,
    }
}

/// The unified diff of two policy texts, plain.
#[must_use]
pub fn unified(before: &str, after: &str) -> String {
    let before = if before.is_empty() {
        String::new()
    } else {
        format!("{before}\n")
    };
    let after = if after.is_empty() {
        String::new()
    } else {
        format!("{after}\n")
    };
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("live", "spec")
        .to_string()
}

fn json_diff(w: &mut dyn Write, before: &str, after: &str, style: Style) -> io::Result<()> {
    for line in unified(before, after).lines() {
        let styled = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => style.action(Action::Create, line),
            Some('-') if !line.starts_with("---") => style.action(Action::Delete, line),
            Some('@') => style.dim(line),
            _ => escape(line).into_owned(),
        };
        writeln!(w, "      {styled}")?;
    }
    Ok(())
}

/// Writes a drift report: one block per user, then the one-line summary.
///
/// # Errors
/// Write errors of `w`.
pub fn drift(
    w: &mut dyn Write,
    report: &crate::drift::DriftReport,
    style: Style,
    verbose: bool,
) -> io::Result<()> {
    use crate::drift::DriftKind;
    let mut others = 0;
    for item in &report.items {
        // `-` only for what an apply deletes; what is kept is flagged `!`.
        let (action, symbol, label) = match item.kind {
            DriftKind::Missing => (Action::Create, Action::Create.symbol(), "missing"),
            DriftKind::Changed => (Action::Update, Action::Update.symbol(), "changed"),
            DriftKind::Unmanaged => (Action::Update, '!', "unmanaged (untagged), left alone"),
            DriftKind::NotInSpec => (Action::Update, '!', "not in the spec, kept (prune is off)"),
            DriftKind::Prunable => (Action::Delete, Action::Delete.symbol(), "prunable"),
            DriftKind::StaleKey => (Action::Update, Action::Update.symbol(), "stale key"),
            DriftKind::UnusedKey => (Action::Update, Action::Update.symbol(), "unused key"),
            DriftKind::Guardrail => (Action::Delete, '!', "breaks a guardrail"),
            DriftKind::Ignored => {
                writeln!(w, "{}", style.dim(&format!("  {} (ignored)", item.target)))?;
                continue;
            }
            DriftKind::OtherOwner => {
                others += 1;
                if verbose {
                    for d in &item.details {
                        writeln!(w, "{}", style.dim(&format!("  {}: {d}", item.target)))?;
                    }
                }
                continue;
            }
        };
        writeln!(
            w,
            "{}",
            style.action(action, &format!("{symbol} {}: {label}", item.target))
        )?;
        for d in &item.details {
            writeln!(w, "      {}", Escaped(d))?;
        }
    }
    if others > 0 && !verbose {
        writeln!(
            w,
            "{}",
            style.dim(&format!(
                "  {others} object(s) under the path belong to other owners and are left alone (-v lists them)"
            ))
        )?;
    }
    if !report.items.is_empty() {
        writeln!(w)?;
    }
    if let Some(at) = &report.keys_as_of {
        writeln!(
            w,
            "{}",
            style.dim(&format!(
                "Access keys as of the credential report generated {}: keys made or removed by hand since show \
                 from the next one (IAM makes one at most every four hours); --fresh-keys lists them now.",
                Escaped(at)
            ))
        )?;
    }
    writeln!(w, "{}", style.bold(&report.summary_line()))
}

/// `can`'s answer: one line with the verdict, one with what decided.
///
/// # Errors
/// Write errors of `w`.
pub fn can(
    w: &mut dyn Write,
    user: &crate::plan::Target,
    action: &str,
    resource: &str,
    answer: &crate::authz::Answer,
    style: Style,
) -> io::Result<()> {
    use crate::authz::Decision;
    let (action_style, verdict, mut why) = match &answer.decision {
        Decision::Allowed(cite) if !answer.under.is_empty() => (
            Action::Create,
            "allowed",
            format!("under {}, by {cite}", answer.under.join(", ")),
        ),
        Decision::Allowed(cite) => (Action::Create, "allowed", format!("by {cite}")),
        Decision::ExplicitlyDenied(cite) => {
            (Action::Delete, "denied", format!("by the Deny in {cite}"))
        }
        Decision::ImplicitlyDenied => (Action::Delete, "denied", "no policy allows it".to_owned()),
        Decision::DeniedByBoundary(cite) => (
            Action::Delete,
            "denied",
            format!("the permissions boundary does not allow it ({cite})"),
        ),
        Decision::Undecided(reason) => (Action::Update, "cannot decide", reason.clone()),
    };
    if !answer.missing.is_empty() {
        why = format!("not allowed: {}; {why}", answer.missing.join(", "));
    }
    writeln!(
        w,
        "{}",
        style.action(
            action_style,
            &format!("{verdict}: {user} {action} on {resource}")
        )
    )?;
    writeln!(w, "  {}", Escaped(&why))
}

/// `who-can`'s answer: the users allowed (with what allows them), those it cannot decide for, then a count.
///
/// # Errors
/// Write errors of `w`.
pub fn who_can(
    w: &mut dyn Write,
    action: &str,
    resource: &str,
    answers: &[(crate::plan::Target, crate::authz::Answer)],
    style: Style,
) -> io::Result<()> {
    use crate::authz::Decision;
    writeln!(
        w,
        "{}",
        style.bold(&format!("Who can {action} on {resource}:"))
    )?;
    let width = answers
        .iter()
        .map(|(u, _)| u.to_string().len())
        .max()
        .unwrap_or(0);
    let (mut allowed, mut undecided) = (0, 0);
    for (principal, answer) in answers {
        let user = principal.to_string();
        match &answer.decision {
            Decision::Allowed(cite) => {
                allowed += 1;
                let under = if answer.under.is_empty() {
                    String::new()
                } else {
                    format!("under {}, ", answer.under.join(", "))
                };
                let line = format!("  allowed        {user:<width$}  {under}by {cite}");
                writeln!(w, "{}", style.action(Action::Create, &line))?;
            }
            Decision::Undecided(reason) => {
                undecided += 1;
                let line = format!("  cannot decide  {user:<width$}  {reason}");
                writeln!(w, "{}", style.action(Action::Update, &line))?;
            }
            _ => {}
        }
    }
    let roles = answers
        .iter()
        .filter(|(p, _)| p.kind() == crate::plan::TargetKind::Role)
        .count();
    let of = if roles == 0 {
        format!("{} user(s)", answers.len())
    } else {
        format!("{} user(s) and {roles} role(s)", answers.len() - roles)
    };
    writeln!(
        w,
        "{allowed} allowed, {undecided} undecided, {} denied (of {of}).",
        answers.len() - allowed - undecided
    )
}
