//! `import`: a spec that describes live users, so hand-made users can be brought under iamspec.
//!
//! Pure: live [`Account`] in, [`RawSpec`] out. An inline policy becomes grants only when the grants render back to
//! a policy that means the same; otherwise it is kept verbatim under `raw_policies`. So the round-trip law holds:
//! `import`, then `plan`, shows no changes (besides the tagging `adopt: true` asks for).

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use crate::model::{is_internal_tag, Account, KeyStatus, User, GRANTS_POLICY, OWNER_TAG};
use crate::plan::Target;
use crate::policy::{render_grants, summarize, Grant, GrantAccess, PolicyDocument};
use crate::spec::{RawAccessKeys, RawGrant, RawSpec, RawUser};

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Only users whose path starts with this.
    pub path: Option<String>,
    /// Only these users (lower-cased); all when empty.
    pub users: BTreeSet<String>,
    /// Mark users without the owner tag `adopt: true`.
    pub adopt: bool,
    /// The account id to pin in the spec.
    pub account_id: Option<String>,
    /// The spec's owner; by default the owner most selected users carry, else `iamspec`.
    pub owner: Option<String>,
}

/// Grants that render to a policy meaning the same as `doc`, if there are any.
#[must_use]
pub fn grants_for(doc: &PolicyDocument) -> Option<Vec<RawGrant>> {
    let summary = summarize(doc);
    // Statements that are not bucket grants, and KMS keys (which grant they belong to is not recorded), stay raw.
    if summary.keys().any(|k| k.bucket.starts_with('(')) || summary.is_empty() {
        return None;
    }
    // One grant per (prefix, access), listing its buckets.
    let mut grouped: BTreeMap<(Option<String>, String), RawGrant> = BTreeMap::new();
    for (key, s) in summary {
        let actions: Vec<String> = s.actions.iter().cloned().collect();
        let access_key = s
            .level
            .map_or_else(|| actions.join(","), |l| l.as_str().to_owned());
        grouped
            .entry((key.prefix.clone(), access_key))
            .or_insert_with(|| RawGrant {
                buckets: Vec::new(),
                prefix: key.prefix.clone(),
                access: s.level,
                actions: s.level.is_none().then_some(actions),
                kms_keys: None,
                lint: None,
            })
            .buckets
            .push(key.bucket);
    }
    let raw: Vec<RawGrant> = grouped.into_values().collect();
    let grants: Vec<Grant> = raw
        .iter()
        .map(|g| Grant {
            buckets: g.buckets.clone(),
            prefix: g.prefix.clone(),
            access: match (&g.access, &g.actions) {
                (Some(l), _) => GrantAccess::Level(*l),
                (None, Some(a)) => GrantAccess::Actions(a.clone()),
                (None, None) => GrantAccess::Actions(Vec::new()),
            },
            kms_keys: Vec::new(),
        })
        .collect();
    (render_grants(&grants).as_ref() == Some(doc)).then_some(raw)
}

fn import_user(user: &User, owner: &str, adopt: bool) -> RawUser {
    let tags: IndexMap<String, String> = user
        .tags
        .iter()
        .filter(|(k, _)| k.as_str() != OWNER_TAG && !is_internal_tag(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut grants = None;
    let mut grants_policy_name = None;
    let mut raw_policies = IndexMap::new();
    // The iamspec policy first, so that a user iamspec already manages keeps its grants.
    let mut names: Vec<&String> = user.inline_policies.keys().collect();
    names.sort_by_key(|n| (n.as_str() != GRANTS_POLICY, (*n).clone()));
    for name in names {
        let doc = &user.inline_policies[name];
        match (grants.is_none(), grants_for(doc)) {
            (true, Some(g)) => {
                grants = Some(g);
                grants_policy_name = (name != GRANTS_POLICY).then(|| name.clone());
            }
            _ => {
                raw_policies.insert(name.clone(), doc.clone());
            }
        }
    }
    let active = user
        .access_keys
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .count();
    RawUser {
        accounts: None,
        tags: (!tags.is_empty()).then_some(tags),
        grants,
        managed_policies: (!user.attached_policies.is_empty())
            .then(|| user.attached_policies.iter().cloned().collect()),
        groups: (!user.groups.is_empty()).then(|| user.groups.iter().cloned().collect()),
        permissions_boundary: user.permissions_boundary.clone(),
        adopt: (adopt && !user.is_owned_by(owner)).then_some(crate::spec::RawAdopt::Flag(true)),
        access_keys: (active > 0).then(|| RawAccessKeys {
            count: Some(active as u32),
            ..RawAccessKeys::default()
        }),
        grants_policy_name,
        raw_policies: (!raw_policies.is_empty()).then_some(raw_policies),
        policies: None,
        policy_mode: None,
        lint: None,
    }
}

/// The live users `opts` selects (by path prefix and names).
#[must_use]
pub fn selected<'a>(live: &'a Account, opts: &ImportOptions) -> Vec<&'a User> {
    live.users
        .values()
        .filter(|u| {
            opts.path
                .as_ref()
                .is_none_or(|p| u.path.starts_with(p.as_str()))
        })
        .filter(|u| opts.users.is_empty() || opts.users.contains(&u.name.to_ascii_lowercase()))
        .collect()
}

/// An imported spec, with what it leaves out or leaves to the reader.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The spec.
    pub spec: RawSpec,
    /// Selected users that carry another owner's tag, with that owner: they belong to another spec, so they are
    /// left out (adopting them would take them from their owner).
    pub skipped: Vec<(Target, String)>,
    /// Imported users without any owner tag and not marked `adopt: true`: the first plan refuses them until they
    /// are adopted.
    pub unowned: Vec<String>,
    /// Roles and groups (`role/NAME`, `group/NAME`) left out because the spec cannot say what they hold, and why.
    pub inexpressible: Vec<(String, String)>,
    /// Users under the path that the spec's owner already manages and this import leaves out: that owner's spec
    /// exists, and this file would conflict with it.
    pub managed_elsewhere: usize,
}

/// A live role as the spec's `roles` entry, or why it cannot be one. `session` is its maximum session duration
/// (seconds), read for import since the account read lacks it.
fn import_role(
    role: &crate::model::Role,
    session: Option<u32>,
    account_id: Option<&str>,
    adopt: bool,
    owner: &str,
) -> Result<crate::spec::RawRole, String> {
    let [st] = role.trust.statements.as_slice() else {
        return Err("its trust policy has more than one statement".into());
    };
    let (key, principal) = st
        .principal
        .as_deref()
        .ok_or("its trust policy names no principal")?;
    if key != "Principal" {
        // NotPrincipal trusts everyone but the principal named: the opposite of any `trust:` a spec can say.
        return Err(format!(
            "its trust policy uses {key}, which trusts everyone except the principal it names"
        ));
    }
    let aws = principal["AWS"]
        .as_str()
        .ok_or("its trust policy trusts no single AWS principal")?;
    let external_id = match st.condition.iter().collect::<Vec<_>>().as_slice() {
        [] => None,
        [(op, keys)] if op.as_str() == "StringEquals" && keys.len() == 1 => match keys
            .get("sts:ExternalId")
            .map(Vec::as_slice)
        {
            Some([id]) => Some(id.clone()),
            _ => return Err("its trust policy has conditions other than one external ID".into()),
        },
        _ => return Err("its trust policy has conditions other than one external ID".into()),
    };
    if st.effect != crate::policy::Effect::Allow
        || st.not_action
        || st.actions != ["sts:AssumeRole"]
    {
        return Err("its trust policy allows more than sts:AssumeRole".into());
    }
    let account = aws
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    let trust = match account {
        Some(account) => {
            if external_id.is_none() && Some(account) != account_id {
                return Err(format!(
                    "it trusts account {account} without an external ID, which iamspec refuses to declare"
                ));
            }
            crate::spec::RawTrust {
                account: Some(account.to_owned()),
                role_arn: None,
                external_id,
            }
        }
        None if aws.contains(":role/") => crate::spec::RawTrust {
            account: None,
            role_arn: Some(aws.to_owned()),
            external_id,
        },
        None => {
            return Err(format!(
                "it trusts `{aws}`, which is neither an account nor a role"
            ))
        }
    };
    let grants = match role.inline_policies.iter().collect::<Vec<_>>().as_slice() {
        [] => None,
        [(name, doc)] if name.as_str() == GRANTS_POLICY => {
            Some(grants_for(doc).ok_or("its inline policy is not expressible as grants")?)
        }
        _ => return Err("it has inline policies other than iamspec-grants".into()),
    };
    let seconds = role
        .tags
        .get(crate::model::MAX_SESSION_TAG)
        .and_then(|v| v.parse().ok())
        .or(session)
        .unwrap_or(3600);
    if !seconds.is_multiple_of(3600) {
        return Err(format!(
            "its maximum session of {seconds} s is not whole hours"
        ));
    }
    let tags: IndexMap<String, String> = role
        .tags
        .iter()
        .filter(|(k, _)| k.as_str() != OWNER_TAG && !is_internal_tag(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(crate::spec::RawRole {
        accounts: None,
        trust,
        tags: (!tags.is_empty()).then_some(tags),
        grants,
        managed_policies: (!role.attached_policies.is_empty())
            .then(|| role.attached_policies.iter().cloned().collect()),
        policies: None,
        policy_mode: None,
        permissions_boundary: role.permissions_boundary.clone(),
        max_session_hours: (seconds != 3600).then_some(seconds / 3600),
        adopt: (adopt && !role.is_owned_by(owner)).then_some(crate::spec::RawAdopt::Flag(true)),
        lint: None,
    })
}

/// A live group as the spec's `groups` entry, or why it cannot be one.
fn import_group(
    group: &crate::model::Group,
    adopt: bool,
    owner: &str,
) -> Result<crate::spec::RawGroup, String> {
    let policies: Vec<_> = group
        .inline_policies
        .iter()
        .filter(|(n, _)| n.as_str() != crate::model::GROUP_OWNER_POLICY)
        .collect();
    let grants = match policies.as_slice() {
        [] => None,
        [(name, doc)] if name.as_str() == GRANTS_POLICY => {
            Some(grants_for(doc).ok_or("its inline policy is not expressible as grants")?)
        }
        _ => return Err("it has inline policies other than iamspec-grants".into()),
    };
    Ok(crate::spec::RawGroup {
        accounts: None,
        grants,
        managed_policies: (!group.attached_policies.is_empty())
            .then(|| group.attached_policies.iter().cloned().collect()),
        policies: None,
        adopt: (adopt && !group.is_owned_by(owner)).then_some(crate::spec::RawAdopt::Flag(true)),
        lint: None,
    })
}

/// A spec describing the selected live users.
#[must_use]
pub fn import(live: &Account, opts: &ImportOptions) -> Imported {
    import_with_sessions(live, opts, &BTreeMap::new())
}

/// [`import`], with the maximum session durations (seconds) of the live roles, by name.
#[must_use]
pub fn import_with_sessions(
    live: &Account,
    opts: &ImportOptions,
    sessions: &BTreeMap<String, u32>,
) -> Imported {
    let selected = selected(live, opts);
    // The owner most users under the path already carry (whatever `--user` picks: importing one user must not
    // invent an owner the rest of the path does not have), else the default.
    let in_path = self::selected(
        live,
        &ImportOptions {
            users: BTreeSet::new(),
            ..opts.clone()
        },
    );
    let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &in_path {
        if let Some(o) = u.tags.get(OWNER_TAG) {
            *owners.entry(o.as_str()).or_default() += 1;
        }
    }
    let owner = opts.owner.clone().unwrap_or_else(|| {
        owners
            .iter()
            .max_by_key(|(_, n)| **n)
            .map_or("iamspec", |(o, _)| *o)
            .to_owned()
    });
    let (mine, theirs): (Vec<&User>, Vec<&User>) = selected
        .iter()
        .partition(|u| u.tags.get(OWNER_TAG).is_none_or(|o| *o == owner));
    let mut skipped: Vec<(Target, String)> = theirs
        .iter()
        .map(|u| (Target::User(u.name.clone()), u.tags[OWNER_TAG].clone()))
        .collect();
    let mut unowned: Vec<String> = mine
        .iter()
        .filter(|u| !opts.adopt && !u.is_owned_by(&owner))
        .map(|u| u.name.clone())
        .collect();
    let users = mine
        .iter()
        .map(|u| (u.name.clone(), import_user(u, &owner, opts.adopt)))
        .collect();
    // Objects this owner manages here that the import leaves out: a spec of this owner already exists somewhere.
    let managed_elsewhere = in_path
        .iter()
        .filter(|u| u.is_owned_by(&owner) && !mine.iter().any(|m| m.name == u.name))
        .count();
    let mut inexpressible = Vec::new();
    let mut roles = IndexMap::new();
    let mut groups = IndexMap::new();
    // `--user` imports users only; roles and groups come with a whole or path-scoped import.
    if opts.users.is_empty() {
        for r in selected_roles(live, opts) {
            let label = format!("role/{}", r.name);
            match r.tags.get(OWNER_TAG) {
                Some(other) if *other != owner => {
                    skipped.push((Target::Role(r.name.clone()), other.clone()));
                    continue;
                }
                _ => {}
            }
            match import_role(
                r,
                sessions.get(&r.name).copied(),
                opts.account_id.as_deref(),
                opts.adopt,
                &owner,
            ) {
                Ok(raw) => {
                    if !opts.adopt && !r.is_owned_by(&owner) {
                        unowned.push(label);
                    }
                    roles.insert(r.name.clone(), raw);
                }
                Err(why) => inexpressible.push((label, why)),
            }
        }
        for g in live.groups.values().filter(|g| {
            opts.path
                .as_ref()
                .is_none_or(|p| g.path.starts_with(p.as_str()))
        }) {
            let label = format!("group/{}", g.name);
            match g.owner() {
                Some(other) if other != owner => {
                    skipped.push((Target::Group(g.name.clone()), other));
                    continue;
                }
                _ => {}
            }
            match import_group(g, opts.adopt, &owner) {
                Ok(raw) => {
                    if !opts.adopt && !g.is_owned_by(&owner) {
                        unowned.push(label);
                    }
                    groups.insert(g.name.clone(), raw);
                }
                Err(why) => inexpressible.push((label, why)),
            }
        }
    }
    Imported {
        spec: RawSpec {
            version: 1,
            account_id: opts.account_id.clone(),
            // Always written, also when it is the default: a spec imported for one user must name the same owner
            // as a full import.
            owner: Some(owner),
            path: opts.path.clone(),
            users,
            roles: (!roles.is_empty()).then_some(roles),
            groups: (!groups.is_empty()).then_some(groups),
            ..RawSpec::default()
        },
        skipped,
        unowned,
        inexpressible,
        managed_elsewhere,
    }
}

/// The live roles an import considers: under `--path` when given, never service-linked.
#[must_use]
pub fn selected_roles<'a>(live: &'a Account, opts: &ImportOptions) -> Vec<&'a crate::model::Role> {
    live.roles
        .values()
        .filter(|r| !r.path.starts_with(crate::model::SERVICE_ROLE_PATH))
        .filter(|r| {
            opts.path
                .as_ref()
                .is_none_or(|p| r.path.starts_with(p.as_str()))
        })
        .collect()
}

/// The spec as YAML, with a header saying where it came from.
#[must_use]
pub fn to_yaml(imported: &Imported, source: &str) -> String {
    let body = quote_dates(&escaped_yaml(&imported.spec));
    let mut header = format!(
        "# Imported by iamspec {} from {source}. Review it, then `iamspec plan`.\n",
        env!("CARGO_PKG_VERSION")
    );
    if !imported.inexpressible.is_empty() {
        header.push_str(&format!(
            "# Left out: {} role(s) or group(s) holding what a spec cannot declare: {}.\n",
            imported.inexpressible.len(),
            imported
                .inexpressible
                .iter()
                .map(|(name, why)| format!("{name} ({why})"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !imported.unowned.is_empty() {
        header.push_str(&format!(
            "# {} user(s), role(s) or group(s) here carry no iamspec owner mark, so `iamspec plan` will refuse them as not owned.\n\
             # To bring them under iamspec, import again with --adopt (it marks them `adopt: true`; the next\n\
             # apply tags them), or set `adopt: true` on each user you mean to take over.\n",
            imported.unowned.len()
        ));
    }
    if imported.managed_elsewhere > 0 {
        let owner = imported.spec.owner.as_deref().unwrap_or("iamspec");
        header.push_str(&format!(
            "# Owner `{owner}` already manages {} other user(s) here, so a spec of `{owner}` exists: add what this file\n\
             # holds to that spec rather than applying it beside it (with prune, either would delete the other's\n\
             # users), or import with --owner NAME for a spec of its own.\n",
            imported.managed_elsewhere
        ));
    }
    if !imported.skipped.is_empty() {
        header.push_str(&format!(
            "# Left out: {} user(s), role(s) or group(s) of another owner, which their own spec manages.\n",
            imported.skipped.len()
        ));
    }
    format!("{header}{body}")
}

/// Starts a character that reached the YAML emitter in code: a non-printable character, so the emitter puts its
/// string in double quotes and writes it `\x01`; [`escaped_yaml`] turns the code back into a YAML escape.
const CODE_START: char = '\u{1}';
const CODE_END: char = '\u{2}';

/// `value` as YAML in which live text cannot reach a terminal raw: control characters, bidi overrides and other
/// invisible characters (see [`crate::display::is_unsafe`]) are written as double-quoted escapes (`"\u202E"`),
/// which a YAML reader turns back into the same characters. Line breaks and tabs stay as the emitter writes them.
fn escaped_yaml(value: &impl serde::Serialize) -> String {
    fn encode(text: &str) -> Option<String> {
        let needs = |c: char| crate::display::is_unsafe(c) && c != '\n' && c != '\t';
        text.contains(needs).then(|| {
            text.chars()
                .map(|c| {
                    if needs(c) {
                        format!("{CODE_START}{:04X}{CODE_END}", u32::from(c))
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
    }
    fn walk(v: &mut serde_norway::Value) {
        match v {
            serde_norway::Value::String(s) => {
                if let Some(e) = encode(s) {
                    *s = e;
                }
            }
            serde_norway::Value::Sequence(items) => items.iter_mut().for_each(walk),
            serde_norway::Value::Mapping(map) => {
                let entries = std::mem::take(map);
                for (mut k, mut v) in entries {
                    walk(&mut k);
                    walk(&mut v);
                    map.insert(k, v);
                }
            }
            serde_norway::Value::Tagged(t) => walk(&mut t.value),
            serde_norway::Value::Null
            | serde_norway::Value::Bool(_)
            | serde_norway::Value::Number(_) => {}
        }
    }
    let Ok(mut tree) = serde_norway::to_value(value) else {
        return String::new();
    };
    walk(&mut tree);
    let yaml = serde_norway::to_string(&tree).unwrap_or_default();
    // The emitter wrote each code as `\x01HEX\x02`: make it `\uHEX` (or `\UHEX` past the basic plane).
    let start = format!("\\x{:02X}", u32::from(CODE_START));
    let end = format!("\\x{:02X}", u32::from(CODE_END));
    let mut out = String::with_capacity(yaml.len());
    let mut rest = yaml.as_str();
    while let Some(i) = rest.find(&start) {
        out.push_str(&rest[..i]);
        let after = &rest[i + start.len()..];
        match after.find(&end) {
            Some(j)
                if (4..=6).contains(&j) && after[..j].bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                let hex = &after[..j];
                if j == 4 {
                    out.push_str(&format!("\\u{hex}"));
                } else {
                    out.push_str(&format!("\\U{hex:0>8}"));
                }
                rest = &after[j + end.len()..];
            }
            _ => {
                out.push_str(&start);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Quotes plain scalars that YAML 1.1 readers take for dates (`Version: 2012-10-17` would become a timestamp in
/// PyYAML or Ruby), outside block scalars, whose lines are text.
fn quote_dates(yaml: &str) -> String {
    fn date_like(v: &str) -> bool {
        let b = v.as_bytes();
        b.len() >= 8
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && v[5..]
                .split(['-', 'T', ' ', ':', '.', 'Z'])
                .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    }
    let mut out = String::with_capacity(yaml.len() + 64);
    // Indentation of the line that opened a block scalar: deeper lines belong to it.
    let mut block: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(open) = block {
            if line.trim().is_empty() || indent > open {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block = None;
        }
        let trimmed = line.trim_end();
        if trimmed.ends_with('|')
            || trimmed.ends_with("|-")
            || trimmed.ends_with('>')
            || trimmed.ends_with(">-")
        {
            block = Some(indent);
        }
        let split = trimmed
            .rfind(": ")
            .map(|i| i + 2)
            .or_else(|| trimmed.trim_start().starts_with("- ").then(|| indent + 2));
        match split {
            Some(at) if date_like(&trimmed[at..]) => {
                out.push_str(&trimmed[..at]);
                out.push('\'');
                out.push_str(&trimmed[at..]);
                out.push('\'');
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};

    fn user_with(name: &str, policies: &[(&str, &str)], owned: bool) -> User {
        let mut u = User::new(name, "/");
        for (n, doc) in policies {
            u.inline_policies
                .insert((*n).to_owned(), PolicyDocument::parse(doc).unwrap());
        }
        if owned {
            u.tags.insert(OWNER_TAG.into(), "iamspec".into());
        }
        u.tags.insert("team".into(), "web".into());
        u.attached_policies
            .insert("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into());
        u
    }

    const GUIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:CreateBucket","s3:DeleteObject","s3:Put*","s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::*"]}]}"#;
    const MIXED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos"},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::photos/*"},{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;

    /// regression: live names, tags and documents carrying bidi overrides and escape sequences were written raw,
    /// so the imported spec printed to a terminal could hide or forge text.
    #[test]
    fn unsafe_characters_are_written_as_yaml_escapes_that_read_back() {
        let hostile = "web\u{202E}gpj.exe\u{1b}[31m";
        let mut u = user_with("svc", &[], true);
        u.tags.insert("team".into(), hostile.into());
        u.tags.insert("note".into(), "plain".into());
        u.inline_policies.insert(
            "raw".into(),
            PolicyDocument::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"A\u2066B","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#,
            )
            .unwrap(),
        );
        let mut live = Account::default();
        live.users.insert(u.name.clone(), u);
        let yaml = to_yaml(&import(&live, &ImportOptions::default()), "test");
        assert!(
            !yaml
                .chars()
                .any(|c| crate::display::is_unsafe(c) && c != '\n'),
            "{yaml}"
        );
        assert!(
            yaml.contains("\\u202E") && yaml.contains("\\u2066"),
            "{yaml}"
        );
        assert!(
            yaml.contains("note: plain"),
            "other scalars keep their style: {yaml}"
        );
        let back: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back["users"]["svc"]["tags"]["team"].as_str(), Some(hostile));
    }

    /// regression: a trust policy with NotPrincipal was imported as `trust: {account: ...}`, the opposite meaning.
    #[test]
    fn a_not_principal_trust_is_left_out_with_the_reason() {
        let role = crate::model::Role {
            name: "r".into(),
            path: "/".into(),
            arn: None,
            tags: crate::model::Tags::new(),
            trust: PolicyDocument::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::232482882421:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-1"}}}]}"#,
            )
            .unwrap(),
            inline_policies: BTreeMap::new(),
            attached_policies: BTreeSet::new(),
            permissions_boundary: None,
            instance_profiles: Vec::new(),
        };
        let err = import_role(&role, None, None, false, "iamspec").unwrap_err();
        assert!(err.contains("NotPrincipal"), "{err}");
        // Nor does a plan call it "trusted by" that account.
        let op = crate::plan::Op::UpdateAssumeRolePolicy {
            role: "r".into(),
            document: role.trust.clone(),
        };
        assert!(op.describe().contains("NotPrincipal"), "{}", op.describe());
    }

    #[test]
    fn exact_levels_become_grants_and_the_rest_stays_verbatim() {
        let rendered = render_grants(&[Grant {
            buckets: vec!["photos-prod".into(), "photos-thumbs".into()],
            prefix: None,
            access: GrantAccess::Level(crate::policy::AccessLevel::ReadWrite),
            kms_keys: Vec::new(),
        }])
        .unwrap()
        .to_compact_json();
        let mut live = Account::default();
        for u in [
            user_with("pixelshift", &[("s3-rw", &rendered)], false),
            user_with("ewww", &[("optimizer", GUIDE)], false),
            user_with("mixed", &[("hand", MIXED)], true),
        ] {
            live.users.insert(u.name.clone(), u);
        }
        let imported = import(
            &live,
            &ImportOptions {
                adopt: true,
                ..ImportOptions::default()
            },
        );
        let raw = &imported.spec;
        let px = &raw.users["pixelshift"];
        let g = px.grants.as_ref().unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].buckets, vec!["photos-prod", "photos-thumbs"]);
        assert_eq!(px.grants_policy_name.as_deref(), Some("s3-rw"));
        assert_eq!(px.adopt, Some(crate::spec::RawAdopt::Flag(true)));
        assert!(raw.users["ewww"].grants.as_ref().unwrap()[0]
            .actions
            .is_some());
        assert!(raw.users["mixed"]
            .raw_policies
            .as_ref()
            .unwrap()
            .contains_key("hand"));
        assert_eq!(raw.users["mixed"].adopt, None, "already owned");

        // Round trip: the imported spec plans no changes but the adoption tags.
        let yaml = to_yaml(&imported, "test");
        assert!(yaml.contains("Version: '2012-10-17'"), "{yaml}");
        assert!(!yaml.contains("carry no iamspec:owner"), "--adopt: {yaml}");
        let spec = crate::spec::load("imported.yaml", &yaml)
            .unwrap_or_else(|d| panic!("{}", d.to_plain()))
            .spec;
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        let ops: Vec<String> = plan
            .changes
            .iter()
            .map(|c| format!("{} {}", c.op.api_name(), c.target))
            .collect();
        assert_eq!(ops, vec!["TagUser ewww", "TagUser pixelshift"], "{yaml}");
        assert!(plan
            .changes
            .iter()
            .all(|c| matches!(c.op, crate::plan::Op::AdoptUser { .. })));
    }

    /// regression: a policy spelled with lower-case actions stayed in `raw_policies`, although plan treated it as
    /// equal to the grant it means.
    #[test]
    fn lower_case_actions_become_the_grant_they_mean() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["s3:getobject","S3:GETOBJECTVERSION"],"Resource":"arn:aws:s3:::photos/*"},
                {"Effect":"Allow","Action":["s3:listbucket","s3:getbucketlocation","s3:ListBucketVersions"],"Resource":"arn:aws:s3:::photos"}]}"#,
        )
        .unwrap();
        let grants = grants_for(&doc).expect("reads as a grant");
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].access, Some(crate::policy::AccessLevel::Read));
        assert_eq!(grants[0].buckets, ["photos"]);
    }

    #[test]
    fn other_owners_are_left_out_and_unowned_users_explained() {
        let mut live = Account::default();
        let mut theirs = User::new("theirs", "/");
        theirs.tags.insert(OWNER_TAG.into(), "team-b".into());
        let mut mine = User::new("mine", "/");
        mine.tags.insert(OWNER_TAG.into(), "team-a".into());
        let mut mine2 = User::new("mine2", "/");
        mine2.tags.insert(OWNER_TAG.into(), "team-a".into());
        for u in [theirs, mine, mine2, User::new("hand-made", "/")] {
            live.users.insert(u.name.clone(), u);
        }
        for adopt in [false, true] {
            let imported = import(
                &live,
                &ImportOptions {
                    adopt,
                    ..ImportOptions::default()
                },
            );
            assert_eq!(imported.spec.owner.as_deref(), Some("team-a"));
            assert_eq!(
                imported.skipped,
                [(Target::User("theirs".to_owned()), "team-b".to_owned())]
            );
            assert!(!imported.spec.users.contains_key("theirs"));
            assert_eq!(
                imported.spec.users["hand-made"].adopt,
                adopt.then_some(crate::spec::RawAdopt::Flag(true))
            );
            let yaml = to_yaml(&imported, "test");
            assert_eq!(yaml.contains("--adopt"), !adopt, "{yaml}");
            assert!(
                yaml.contains("Left out: 1 user(s), role(s) or group(s) of another owner"),
                "{yaml}"
            );
        }
        // regression: `--user hand-made` wrote `owner: iamspec` where a full import wrote `team-a`. The owner comes
        // from the path, whatever --user selects, and the header names the spec it would conflict with.
        let one = import(
            &live,
            &ImportOptions {
                users: BTreeSet::from(["hand-made".to_owned()]),
                ..ImportOptions::default()
            },
        );
        assert_eq!(one.spec.owner.as_deref(), Some("team-a"));
        assert_eq!(one.managed_elsewhere, 2);
        let yaml = to_yaml(&one, "test");
        assert!(
            yaml.contains("Owner `team-a` already manages 2 other user(s) here"),
            "{yaml}"
        );
    }

    #[test]
    fn date_like_scalars_are_quoted_outside_block_text() {
        let yaml = "Version: 2012-10-17\ntags:\n  since: 2024-01-31T10:00:00Z\n  n: 2012\nlist:\n- 2020-02-02\nnote: |\n  Version: 2012-10-17\nafter: 2012-10-17\n";
        assert_eq!(
            quote_dates(yaml),
            "Version: '2012-10-17'\ntags:\n  since: '2024-01-31T10:00:00Z'\n  n: 2012\nlist:\n- '2020-02-02'\nnote: |\n  Version: 2012-10-17\nafter: '2012-10-17'\n"
        );
    }
}
