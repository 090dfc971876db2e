//! `can` and `who-can`: parse the question, gather the policies (from the spec, or live), ask the evaluator, show
//! the answer.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::args::{Format, Global};
use super::{exit, output, CliError};
use crate::authz::{self, Answer, Asked, Context, Decision, UserPolicies};
use crate::effects::Effects;
use crate::plan::{Target, TargetKind};
use crate::policy::AccessLevel;
use crate::render;

/// What `can` is asked: who may do what on which resource, with which condition keys.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The principal as typed: `NAME` or `role/NAME`.
    pub who: &'a str,
    /// The action.
    pub action: &'a str,
    /// The resource as typed.
    pub resource: &'a str,
    /// `KEY=VALUE` pairs.
    pub context: &'a [String],
}

/// `bucket`, `bucket/key`, `*` or an ARN, as the ARN a request names.
fn resource_arn(resource: &str) -> String {
    if resource == "*" || resource.starts_with("arn:") {
        resource.to_owned()
    } else {
        format!("arn:aws:s3:::{resource}")
    }
}

/// `--context KEY=VALUE` pairs; a key given twice has both values.
fn context(pairs: &[String], user: Option<&str>) -> Result<Context, CliError> {
    let mut values: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair.split_once('=').ok_or_else(|| CliError::Usage {
            message: format!(
                "--context `{}` is not KEY=VALUE",
                crate::display::escape(pair)
            ),
            hint: "for example --context s3:prefix=team/".into(),
        })?;
        values
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    let mut ctx = Context::new();
    // The principal's own name is known: `${aws:username}` in a policy resolves to it.
    if let Some(user) = user {
        ctx = ctx.with("aws:username", &[user]);
    }
    for (key, vals) in &values {
        let vals: Vec<&str> = vals.iter().map(String::as_str).collect();
        ctx = ctx.with(key, &vals);
    }
    Ok(ctx)
}

/// A question whose resource the action cannot act on: an object action asked of a bucket (`who-can s3:PutObject
/// photos-prod`) would answer "nobody" for the wrong reason, so it is an error that says what was meant.
fn check_resource_kind(asked: &Asked, resource: &str) -> Result<(), CliError> {
    let action = match asked {
        Asked::Action(action) => action.as_str(),
        Asked::Level(level) => return check_level_resource(*level, resource),
    };
    let Some(def) = authz::lookup(action) else {
        return Ok(());
    };
    let Some(rest) = resource.strip_prefix("arn:aws:s3:::") else {
        return Ok(());
    };
    let bucket_only = !rest.is_empty() && !rest.contains('/') && rest != "*";
    if bucket_only && def.on_object() && !def.on_bucket() {
        return Err(CliError::Usage {
            message: format!(
                "{action} acts on objects, and `{}` is a bucket",
                crate::display::escape(rest)
            ),
            hint: format!(
                "ask about an object (`{0}/KEY`) or every object (`{0}/*`)",
                crate::display::escape(rest)
            ),
        });
    }
    if !bucket_only && rest.contains('/') && def.on_bucket() && !def.on_object() {
        let bucket = rest.split('/').next().unwrap_or(rest);
        return Err(CliError::Usage {
            message: format!(
                "{action} acts on buckets, and `{}` is an object",
                crate::display::escape(rest)
            ),
            hint: format!("ask about the bucket: `{}`", crate::display::escape(bucket)),
        });
    }
    Ok(())
}

/// An access word (`read`, `write`, ...) or an action in the catalogue's spelling, or an error with the closest
/// name.
fn asked(action: &str) -> Result<Asked, CliError> {
    if let Some(level) = AccessLevel::ALL.into_iter().find(|l| l.as_str() == action) {
        return Ok(Asked::Level(level));
    }
    known_action(action).map(Asked::Action)
}

/// An access word asked of a resource it does not act on: object words of a bucket, `list` of one object.
fn check_level_resource(level: AccessLevel, resource: &str) -> Result<(), CliError> {
    if authz::level_actions(level, resource).is_empty()
        || (resource.starts_with("arn:aws:s3:::")
            && !resource.contains('/')
            && !level.object_actions().is_empty()
            && level != AccessLevel::Full)
    {
        let rest = resource.strip_prefix("arn:aws:s3:::").unwrap_or(resource);
        let bucket = rest.split('/').next().unwrap_or(rest);
        return Err(CliError::Usage {
            message: format!(
                "`{}` is asked of objects or listings, and `{}` is {}",
                level.as_str(),
                crate::display::escape(rest),
                if rest.contains('/') {
                    "one object"
                } else {
                    "a bucket"
                }
            ),
            hint: format!(
                "ask about every object (`{0}/*`), a prefix (`{0}/PREFIX/*`){1}",
                crate::display::escape(bucket),
                if level == AccessLevel::List {
                    String::new()
                } else {
                    format!(" or an object (`{}/KEY`)", crate::display::escape(bucket))
                }
            ),
        });
    }
    Ok(())
}

/// The action in the catalogue's spelling, or an error with the closest name.
fn known_action(action: &str) -> Result<String, CliError> {
    authz::lookup(action)
        .map(|d| d.full_name())
        .ok_or_else(|| CliError::Usage {
            message: format!(
                "`{}` is not an action iamspec knows",
                crate::display::escape(action)
            ),
            hint: authz::suggest(action).map_or_else(
                || "give an S3, S3 Express or KMS action (s3:GetObject), or an access word: list, read, write, read-write, full".into(),
                |s| format!("did you mean `{s}`?"),
            ),
        })
}

/// The policies of the principals in question: the spec's, or the live account's.
async fn principals(
    g: &Global,
    spec: &Path,
    live: bool,
    only: Option<&BTreeSet<(TargetKind, String)>>,
) -> Result<Vec<UserPolicies>, CliError> {
    if !live {
        let (loaded, _) = super::files::load_spec(spec, g.color)?;
        let mut all = authz::from_spec(&loaded.spec);
        if let Some(only) = only {
            all.retain(|u| only.contains(&u.principal.folded()));
        }
        return Ok(all);
    }
    let effects = Effects::system();
    // `--account`: that account of the spec's (its role assumed); otherwise the caller's own.
    let account = if g.accounts.is_empty() && g.shard.is_none() {
        None
    } else {
        let (loaded, _) = super::files::load_spec(spec, g.color)?;
        super::connect::one_account(g, &loaded.spec, &effects)
            .await?
            .1
    };
    super::connect::with_backend_in(g, &effects, account.as_ref(), async |backend| {
        Ok(crate::engine::access::live_principals(backend, only).await?)
    })
    .await
}

/// `iamspec can USER ACTION RESOURCE`.
pub async fn can(
    g: &Global,
    spec: &Path,
    question: Question<'_>,
    live: bool,
    format: Format,
) -> Result<u8, CliError> {
    let Question {
        who: user,
        action,
        resource,
        context: pairs,
    } = question;
    let question = asked(action)?;
    let action = question.name();
    let resource = resource_arn(resource);
    check_resource_kind(&question, &resource)?;
    let asked = authz::parse_principal(user);
    let only = BTreeSet::from([asked.folded()]);
    let found = principals(g, spec, live, Some(&only)).await?;
    let Some(principal) = found.first() else {
        // Not there: a role asked for as a user, or a typo, gets a pointer to what is.
        let everyone = principals(g, spec, live, None).await?;
        let names: Vec<String> = everyone.iter().map(|p| p.principal.to_string()).collect();
        let as_role = Target::Role(asked.name().to_owned()).folded();
        let hint = if everyone.iter().any(|p| p.principal.folded() == as_role) {
            format!(
                "`{0}` is a role: ask `iamspec can role/{0} ...`",
                crate::display::escape(asked.name())
            )
        } else if let Some(s) = crate::suggest::closest(user, names.iter().map(String::as_str)) {
            format!("did you mean `{}`?", crate::display::escape(s))
        } else {
            "names are matched ignoring case; roles are `role/NAME`; `iamspec who-can` lists who may do something"
                .into()
        };
        return Err(CliError::Usage {
            message: format!(
                "no {} `{}` in {}",
                asked.kind().noun(),
                crate::display::escape(asked.name()),
                if live {
                    "the account".to_owned()
                } else {
                    spec.display().to_string()
                }
            ),
            hint,
        });
    };
    let ctx = context(pairs, principal.username())?;
    let answer = authz::answer(
        &principal.policies(),
        &question,
        &resource,
        &ctx,
        principal.username(),
    );
    let mut out = output::buffered_stdout();
    match format {
        Format::Text => render::text::can(
            &mut out,
            &principal.principal,
            &action,
            &resource,
            &answer,
            output::stdout_style(g.color),
        ),
        Format::Json => {
            render::json::can(&mut out, &principal.principal, &action, &resource, &answer)
        }
    }
    .and_then(|()| out.flush())
    .map_err(super::files::stdout_error)?;
    Ok(match answer.decision {
        Decision::Allowed(_) => exit::OK,
        Decision::Undecided(_) => exit::ERROR,
        _ => exit::DENIED,
    })
}

/// `iamspec who-can ACTION RESOURCE`.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site: the command's arguments as parsed"
)]
pub async fn who_can(
    g: &Global,
    spec: &Path,
    action: &str,
    resource: &str,
    pairs: &[String],
    live: bool,
    format: Format,
    users: &[String],
) -> Result<u8, CliError> {
    let question = asked(action)?;
    let action = question.name();
    let resource = resource_arn(resource);
    check_resource_kind(&question, &resource)?;
    let only: Option<BTreeSet<(TargetKind, String)>> = (!users.is_empty()).then(|| {
        users
            .iter()
            .map(|u| authz::parse_principal(u).folded())
            .collect()
    });
    let found = principals(g, spec, live, only.as_ref()).await?;
    let mut answers = Vec::with_capacity(found.len());
    for principal in &found {
        let ctx = context(pairs, principal.username())?;
        let answer: Answer = authz::answer(
            &principal.policies(),
            &question,
            &resource,
            &ctx,
            principal.username(),
        );
        answers.push((principal.principal.clone(), answer));
    }
    let mut out = output::buffered_stdout();
    match format {
        Format::Text => render::text::who_can(
            &mut out,
            &action,
            &resource,
            &answers,
            output::stdout_style(g.color),
        ),
        Format::Json => render::json::who_can(&mut out, &action, &resource, &answers),
    }
    .and_then(|()| out.flush())
    .map_err(super::files::stdout_error)?;
    Ok(exit::OK)
}
