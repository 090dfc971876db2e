//! `guardrails:` validated: each a name and one rule, its actions known to the catalogue, its resources S3 places,
//! its accounts 12 digits. Checking principals against them is the evaluator's job ([`crate::guardrails`]).

use std::collections::BTreeSet;

use super::model::{GuardRule, Guardrail};
use super::names::bucket_problem;
use super::raw::RawSpec;
use super::tree::Seg;
use super::validate::Ctx;

/// A resource as a guardrail names it, as an ARN pattern: `*`, an S3 ARN, `bucket`, `bucket/key-pattern`.
fn resource_arn(text: &str) -> Result<String, String> {
    if text == "*" || text.starts_with("arn:aws:s3:::") {
        return Ok(text.to_owned());
    }
    if text.starts_with("arn:") {
        return Err(format!(
            "`{text}` is not an S3 ARN (guardrails cover S3 access)"
        ));
    }
    let bucket = text.split('/').next().unwrap_or(text);
    if !bucket.contains(['*', '?']) {
        if let Some(problem) = bucket_problem(bucket) {
            return Err(format!(
                "`{bucket}` is not a valid S3 bucket name: {problem}"
            ));
        }
    }
    Ok(format!("arn:aws:s3:::{text}"))
}

pub(super) fn validate(raw: &RawSpec, ctx: &mut Ctx) -> Vec<Guardrail> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (index, g) in raw.guardrails.iter().flatten().enumerate() {
        let at = |field: &'static str| [Seg::Key("guardrails"), Seg::Index(index), Seg::Key(field)];
        if g.name.is_empty()
            || g.name.len() > 128
            || !g
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            ctx.error(
                &at("name"),
                format!(
                    "guardrail name `{}` is not 1-128 letters, digits, - _ .",
                    g.name
                ),
                Some("for example audit-logs-are-append-only"),
            );
        } else if !names.insert(g.name.to_ascii_lowercase()) {
            ctx.error(
                &at("name"),
                format!("guardrail `{}` is named twice", g.name),
                Some("give each guardrail its own name: findings name it"),
            );
        }
        let rule = match (&g.deny, &g.trust) {
            (Some(deny), None) => {
                let mut ok = true;
                if deny.actions.is_empty() || deny.resources.is_empty() {
                    ctx.error(
                        &at("deny"),
                        "a deny guardrail needs at least one action and one resource".into(),
                        Some("deny: { actions: [s3:DeleteObject], resources: [\"audit-logs/*\"] }"),
                    );
                    ok = false;
                }
                for (i, action) in deny.actions.iter().enumerate() {
                    let known = if action.contains(['*', '?']) {
                        !crate::catalogue::expand(action).is_empty() || action == "*"
                    } else {
                        crate::catalogue::lookup(action).is_some()
                    };
                    if !known {
                        let help = crate::catalogue::suggest(action)
                            .map(|s| format!("did you mean `{s}`?"));
                        ctx.error(
                            &[
                                Seg::Key("guardrails"),
                                Seg::Index(index),
                                Seg::Key("deny"),
                                Seg::Key("actions"),
                                Seg::Index(i),
                            ],
                            format!(
                                "`{action}` is not an action iamspec knows (or a pattern of some)"
                            ),
                            Some(
                                help.as_deref()
                                    .unwrap_or("give an S3 or KMS action, e.g. s3:DeleteObject"),
                            ),
                        );
                        ok = false;
                    }
                }
                let mut resources = Vec::new();
                for (i, r) in deny.resources.iter().enumerate() {
                    match resource_arn(r) {
                        Ok(arn) => resources.push(arn),
                        Err(message) => {
                            ctx.error(
                                &[
                                    Seg::Key("guardrails"),
                                    Seg::Index(index),
                                    Seg::Key("deny"),
                                    Seg::Key("resources"),
                                    Seg::Index(i),
                                ],
                                message,
                                Some("a bucket, bucket/*, bucket/prefix/*, * or an S3 ARN"),
                            );
                            ok = false;
                        }
                    }
                }
                ok.then(|| GuardRule::Deny {
                    actions: deny.actions.clone(),
                    resources,
                })
            }
            (None, Some(trust)) => {
                let mut accounts = BTreeSet::new();
                for (i, a) in trust.accounts.iter().enumerate() {
                    if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
                        accounts.insert(a.clone());
                    } else {
                        ctx.error(
                            &[
                                Seg::Key("guardrails"),
                                Seg::Index(index),
                                Seg::Key("trust"),
                                Seg::Key("accounts"),
                                Seg::Index(i),
                            ],
                            format!("account id `{a}` is not 12 digits"),
                            Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
                        );
                    }
                }
                Some(GuardRule::Trust { accounts })
            }
            (Some(_), Some(_)) | (None, None) => {
                ctx.error(
                    &[Seg::Key("guardrails"), Seg::Index(index)],
                    format!(
                        "guardrail `{}` needs exactly one of `deny` or `trust`",
                        g.name
                    ),
                    Some("split it into two guardrails"),
                );
                None
            }
        };
        if let Some(rule) = rule {
            out.push(Guardrail {
                name: g.name.clone(),
                index,
                rule,
            });
        }
    }
    out
}
