//! The plan as a pull-request comment (`plan --format markdown`): the summary, the access changes first, then one
//! section per target with its changes in the spec's words, each policy's JSON diff folded in `<details>`. Stable
//! (no times, no colours) so an updated comment shows only what changed, and never over GitHub's comment limit: a
//! plan too large is cut at a target, with a line saying how many were left out and where the whole plan is.

use std::fmt::Write as _;

use super::text::{self, Style, View};
use crate::display::escape;
use crate::plan::Plan;

/// GitHub's limit on a comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The first line of every plan comment: a workflow finds its own comment by it and updates it.
pub const MARKER: &str = "<!-- iamspec plan -->";

/// Text as HTML/Markdown inline text: nothing in it can open a tag, a link or an emphasis.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Each line escaped on its own (control characters shown), the line breaks kept.
fn escaped_lines(text: &str) -> String {
    text.lines()
        .map(|l| escape(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fenced block that its content cannot close: the fence is longer than any run of backticks inside.
fn fenced(lang: &str, body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body = body.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// The comment for `plan` in `account_id`, at most `limit` characters.
#[must_use]
pub fn plan(plan: &Plan, account_id: &str, limit: usize) -> String {
    let mut head = format!(
        "{MARKER}\n### iamspec plan for account {}\n\n**{}**\n\n",
        inline(account_id),
        inline(&text::summary_line(plan))
    );
    if !plan.access_changes.is_empty() {
        head.push_str("#### Access changes\n\n");
        let mut lines = String::new();
        // The sign first: a `diff` block colours the line by it.
        for c in &plan.access_changes {
            let line = format!("{}: {}", c.principal, text::access_what(c));
            let _ = writeln!(lines, "{} {}", c.effect.sign(), escape(&line));
        }
        head.push_str(&fenced("diff", &lines));
        head.push('\n');
    }
    let mut sections = Vec::new();
    for (target, changes) in plan.by_target() {
        let mut section = format!("#### {}\n\n", inline(&target.to_string()));
        let mut lines = Vec::new();
        // Every policy's JSON is in its <details>, so no line says it is left out.
        let view = View {
            style: Style { color: false },
            show_policies: true,
            verbose: false,
        };
        for c in &changes {
            let _ = text::change_lines(&mut lines, c, view);
        }
        section.push_str(&fenced("diff", &String::from_utf8_lossy(&lines)));
        for c in &changes {
            if let Some((before, after)) = text::policy_texts(c) {
                let _ = write!(
                    section,
                    "\n<details><summary>{}: policy JSON</summary>\n\n{}\n</details>\n",
                    inline(&c.op.describe()),
                    fenced("diff", &escaped_lines(&text::unified(&before, &after)))
                );
            }
        }
        section.push('\n');
        sections.push(section);
    }
    let mut notices = String::new();
    if !plan.notices.is_empty() {
        notices.push_str("#### Notices\n\n");
        for n in &plan.notices {
            let _ = writeln!(
                notices,
                "- {}: {}",
                inline(&n.target.to_string()),
                inline(&n.message)
            );
        }
        notices.push('\n');
    }
    let mut out = head;
    let cut_note = |left: usize| {
        format!(
            "_{left} more target(s) left out: a comment holds at most {limit} characters. The whole plan is in the \
             job's log and in `iamspec plan --format json`._\n"
        )
    };
    // Room for the note and the notices, whatever is cut.
    let reserve = cut_note(sections.len()).len() + notices.len();
    let total = sections.len();
    for (i, section) in sections.into_iter().enumerate() {
        if out.len() + section.len() + reserve > limit {
            out.push_str(&cut_note(total - i));
            out.push('\n');
            break;
        }
        out.push_str(&section);
    }
    if out.len() + notices.len() <= limit {
        out.push_str(&notices);
    }
    // Char-safe final cut: never over the limit, whatever the notices held.
    if out.chars().count() > limit {
        out = out.chars().take(limit).collect();
    }
    out
}

/// One account's part of a many-account comment: its name (`prod (111111111111)`), and its plan and id, or why it
/// failed.
pub type AccountPart<'a> = (&'a str, Result<(&'a Plan, &'a str), String>);

/// The pull-request comment of a many-account plan: the marker first (the workflow finds its comment by it), a
/// table of the accounts, then each account's plan as one account's comment would show it, within `limit` in all.
#[must_use]
pub fn accounts_plan(parts: &[AccountPart<'_>], limit: usize) -> String {
    let mut out = format!(
        "{MARKER}\n### iamspec plan for {} accounts\n\n| account | plan |\n|---|---|\n",
        parts.len()
    );
    for (label, part) in parts {
        let line = match part {
            Ok((plan, _)) => text::summary_line(plan),
            Err(e) => format!("failed: {}", e.lines().next().unwrap_or_default()),
        };
        let _ = writeln!(out, "| {} | {} |", inline(label), inline(&line));
    }
    out.push('\n');
    // Each account gets an equal share of what is left; its own plan cuts itself to it, saying so.
    let share = limit.saturating_sub(out.len()) / parts.len().max(1);
    for (label, part) in parts {
        match part {
            Ok((plan, account_id)) => {
                let one = self::plan(plan, account_id, share);
                out.push_str(
                    one.strip_prefix(MARKER)
                        .unwrap_or(&one)
                        .trim_start_matches('\n'),
                );
                out.push('\n');
            }
            Err(e) => {
                let _ = writeln!(out, "### {}: failed\n\n{}\n", inline(label), inline(e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fenced("", "a ``` b"), "````\na ``` b\n````\n");
        assert_eq!(fenced("diff", "x"), "```diff\nx\n```\n");
    }

    #[test]
    fn inline_text_opens_nothing() {
        assert_eq!(
            inline("<img src=x> [a](b) *c*"),
            "&lt;img src=x&gt; \\[a\\](b) \\*c\\*"
        );
    }

    #[test]
    fn a_large_plan_is_cut_at_a_target_with_a_note() {
        let mut spec = String::from("version: 1\nusers:\n");
        for i in 0..400 {
            let _ = writeln!(
                spec,
                "  user-{i:04}:\n    grants: [{{buckets: [bucket-{i:04}], access: read-write}}]"
            );
        }
        let loaded = crate::spec::load("s.yaml", &spec).unwrap();
        let p = crate::diff::diff(
            &loaded.spec,
            &crate::model::Account::default(),
            &crate::diff::DiffOptions::default(),
        )
        .unwrap();
        let full = plan(&p, "123456789012", usize::MAX);
        assert!(full.len() > COMMENT_LIMIT, "{}", full.len());
        let cut = plan(&p, "123456789012", COMMENT_LIMIT);
        assert!(cut.chars().count() <= COMMENT_LIMIT);
        assert!(cut.starts_with(MARKER));
        assert!(cut.contains("more target(s) left out"), "{cut}");
        assert_eq!(plan(&p, "123456789012", COMMENT_LIMIT), cut, "stable");
    }
}
