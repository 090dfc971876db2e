//! The offline commands: `validate` (findings for people, SARIF or GitHub annotations) and `render` (every
//! document apply writes). No AWS call.

use std::collections::BTreeSet;
use std::path::Path;

use super::args::{ColorChoice, FindingsFormat, Global};
use super::files::{checked_spec, load_spec, read_text, write_stdout};
use super::{exit, CliError};
use crate::display::escape;
use crate::engine;
use crate::render;
use crate::spec::{self, Spec};

/// Findings in a CI format on stdout: SARIF or GitHub annotations.
pub(super) fn write_findings(
    diags: &spec::Diagnostics,
    format: FindingsFormat,
    extra: &[render::ci::Rule],
) -> Result<(), CliError> {
    let text = match format {
        FindingsFormat::Sarif => {
            let mut t =
                serde_json::to_string_pretty(&render::ci::sarif(diags, extra)).unwrap_or_default();
            t.push('\n');
            t
        }
        FindingsFormat::Github => render::ci::github(diags, extra),
        FindingsFormat::Text => return Ok(()),
    };
    write_stdout(text.as_bytes())
}

pub(super) fn validate(
    path: &Path,
    strict: bool,
    format: FindingsFormat,
    g: &Global,
) -> Result<u8, CliError> {
    if format != FindingsFormat::Text {
        let text = read_text(path)?;
        let file = path.display().to_string();
        return Ok(match checked_spec(&file, &text) {
            Err(diags) => {
                write_findings(&diags, format, &[])?;
                exit::ERROR
            }
            Ok(loaded) => {
                write_findings(&loaded.warnings, format, &[])?;
                let (_, warnings) = loaded.warnings.counts();
                if strict && warnings > 0 {
                    exit::ERROR
                } else {
                    exit::OK
                }
            }
        });
    }
    let (loaded, _) = load_spec(path, g.color)?;
    if g.verbose > 0 {
        for d in &loaded.allowed.items {
            eprintln!(
                "allowed: {}:{}:{}: {}: {}",
                escape(&path.display().to_string()),
                d.pos.line,
                d.pos.col,
                escape(&d.field),
                escape(&d.message)
            );
        }
    }
    let (_, warnings) = loaded.warnings.counts();
    if strict && warnings > 0 {
        return Err(CliError::StrictWarnings {
            file: path.display().to_string(),
            count: warnings,
        });
    }
    let line = format!(
        "{} is valid: {} user(s), {warnings} warning(s).\n",
        escape(&path.display().to_string()),
        loaded.spec.users.len()
    );
    write_stdout(line.as_bytes())?;
    Ok(exit::OK)
}

pub(super) fn render_policies(
    path: &Path,
    users: &[String],
    color: ColorChoice,
) -> Result<u8, CliError> {
    let (loaded, _) = load_spec(path, color)?;
    let only: BTreeSet<String> = users.iter().map(|u| u.to_ascii_lowercase()).collect();
    for name in &only {
        if !loaded
            .spec
            .users
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(name))
        {
            let suggestion =
                crate::suggest::closest(name, loaded.spec.users.iter().map(|u| u.name.as_str()));
            return Err(engine::Error::UnknownUser {
                name: name.clone(),
                suggestion: suggestion.map(str::to_owned),
            }
            .into());
        }
    }
    let text = render_documents(&loaded.spec, &only);
    write_stdout(text.as_bytes())?;
    Ok(exit::OK)
}

/// Every document an apply of `spec` writes, offline: users' inline policies (grants and raw), the managed policies
/// (shared, and users' and roles' own in `policy_mode: managed`), roles' trust and permissions, groups' marker and
/// grants, and under `delegate: true` the boundary. With `--user`, those users and their own policies only.
fn render_documents(spec: &Spec, only: &BTreeSet<String>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    fn doc(
        out: &mut String,
        title: String,
        d: &crate::policy::PolicyDocument,
        limit: Option<usize>,
    ) {
        let size = limit.map_or_else(String::new, |l| {
            format!(" ({} of {l} characters)", d.size())
        });
        let _ = writeln!(out, "# {}{size}\n{}\n", escape(&title), d.to_pretty_json());
    }
    let own: BTreeSet<String> = spec
        .users
        .iter()
        .filter(|u| only.is_empty() || only.contains(&u.name.to_ascii_lowercase()))
        .map(|u| crate::names::user_policy(&u.name))
        .collect();
    for user in spec
        .users
        .iter()
        .filter(|u| only.is_empty() || only.contains(&u.name.to_ascii_lowercase()))
    {
        let inline = crate::policy::INLINE_USER_LIMIT;
        match user.grants_policy() {
            Some(d) => doc(
                &mut out,
                format!("{}: inline policy {}", user.name, user.grants_policy_name),
                &d,
                Some(inline),
            ),
            None if user
                .policies
                .contains(&crate::names::user_policy(&user.name)) =>
            {
                out.push_str(&format!(
                    "# {}: grants in its own managed policy {} (policy_mode: managed; below)\n\n",
                    escape(&user.name),
                    crate::names::user_policy(&user.name)
                ));
            }
            None if user.raw_policies.is_empty() && user.groups.is_empty() => {
                out.push_str(&format!("# {}: no grants\n\n", escape(&user.name)));
            }
            None if user.raw_policies.is_empty() => {
                let groups: Vec<&str> = user.groups.iter().map(String::as_str).collect();
                out.push_str(&format!(
                    "# {}: no grants of its own; it has its groups' ({})\n\n",
                    escape(&user.name),
                    escape(&groups.join(", "))
                ));
            }
            None => {}
        }
        for (name, d) in &user.raw_policies {
            doc(
                &mut out,
                format!("{}: inline policy {name} (raw)", user.name),
                d,
                Some(inline),
            );
        }
    }
    let managed = crate::policy::MANAGED_POLICY_LIMIT;
    for p in spec
        .policies
        .iter()
        .filter(|p| only.is_empty() || own.contains(&p.name))
    {
        if let Some(d) = p.document() {
            doc(
                &mut out,
                format!("policy/{}: managed policy", p.name),
                &d,
                Some(managed),
            );
        }
    }
    if !only.is_empty() {
        return out;
    }
    for role in &spec.roles {
        doc(
            &mut out,
            format!("role/{}: trust policy", role.name),
            &role.trust_document(),
            None,
        );
        if let Some(d) = role.grants_policy() {
            doc(
                &mut out,
                format!(
                    "role/{}: inline policy {}",
                    role.name,
                    crate::model::GRANTS_POLICY
                ),
                &d,
                None,
            );
        }
    }
    for group in &spec.groups {
        let desired = crate::diff::desired_group(spec, group);
        for (name, d) in &desired.inline_policies {
            doc(
                &mut out,
                format!("group/{}: inline policy {name}", group.name),
                d,
                None,
            );
        }
    }
    if spec.delegate {
        let b = crate::boundary::boundary(spec, &std::collections::BTreeMap::new());
        doc(
            &mut out,
            format!(
                "policy/{}: permissions boundary (without the attached managed policies' documents, which bootstrap reads)",
                crate::names::boundary_policy(&spec.owner)
            ),
            &b.document,
            Some(managed),
        );
    }
    out
}
