//! `accounts:`, `organization:` and the `accounts:` lists of objects: which accounts a spec runs in, how each is
//! reached, and which objects are in which. Everything is checked here, before any call: a name that is no account,
//! a role ARN in another account than its id, an object that references a group or policy missing from one of its
//! accounts.

use std::collections::{BTreeMap, BTreeSet};

use super::super::model::{Accounts, NamedAccount, Organization, ScopeKind, Spec};
use super::super::names::{valid_iam_path, valid_user_name};
use super::super::raw::RawSpec;
use super::super::tree::Seg;
use super::Ctx;

/// Whether `s` is a 12-digit account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An external id as STS takes it: 2-1224 characters of `[\w+=,.@:/-]`.
fn valid_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, returning ACCOUNT.
fn role_arn_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || !matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        || parts[2] != "iam"
        || !parts[3].is_empty()
        || !is_account_id(parts[4])
    {
        return None;
    }
    let resource = parts[5].strip_prefix("role/")?;
    let (path, name) = match resource.rfind('/') {
        Some(i) => (&resource[..=i], &resource[i + 1..]),
        None => ("/", resource),
    };
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    (valid_iam_path(&path) && valid_user_name(name)).then_some(parts[4])
}

/// A name of `accounts:`: short, plain, and never an id (an `accounts:` list on an object takes both).
fn valid_account_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !is_account_id(name)
}

/// Checks the top of the spec: `accounts:`, `organization:`, and that they are not mixed with `account_id`.
pub(super) fn validate_top(raw: &RawSpec, ctx: &mut Ctx) -> Option<Accounts> {
    if raw.accounts.is_none() && raw.organization.is_none() {
        return None;
    }
    if raw.account_id.is_some() {
        let key = if raw.accounts.is_some() {
            "accounts"
        } else {
            "organization"
        };
        ctx.error_at_key(
            &[Seg::Key(key)],
            format!("`account_id` and `{key}` cannot both be given"),
            Some("a spec is for one pinned account (`account_id`) or for many (`accounts`, `organization`)"),
        );
    }
    let mut named = Vec::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (name, a) in raw.accounts.iter().flatten() {
        let at = [Seg::Key("accounts"), Seg::Key(name)];
        if !valid_account_name(name) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a usable account name"),
                Some("use 1-64 letters, digits, `-` and `_`, not a 12-digit id (the id goes in `id:`)"),
            );
        }
        if !is_account_id(&a.id) {
            ctx.error(
                &[Seg::Key("accounts"), Seg::Key(name), Seg::Key("id")],
                format!("account id `{}` is not 12 digits", a.id),
                Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
            );
        } else if let Some(first) = ids.insert(a.id.clone(), name.clone()) {
            ctx.error(
                &[Seg::Key("accounts"), Seg::Key(name), Seg::Key("id")],
                format!(
                    "account {} is listed twice, as `{first}` and as `{name}`",
                    a.id
                ),
                Some("list each account once"),
            );
        }
        let role_arn = match (&a.role, &a.role_arn) {
            (Some(_), Some(_)) => {
                ctx.error_at_key(
                    &at,
                    format!("account `{name}` gives both `role` and `role_arn`"),
                    Some("give the role by name (`role`) or by ARN (`role_arn`)"),
                );
                None
            }
            (Some(role), None) => {
                if !valid_user_name(role) {
                    ctx.error(
                        &[Seg::Key("accounts"), Seg::Key(name), Seg::Key("role")],
                        format!("`{role}` is not an IAM role name"),
                        Some("a role name is 1-64 of A-Z a-z 0-9 + = , . @ _ -; a role under a path goes in `role_arn`"),
                    );
                }
                Some(format!("arn:aws:iam::{}:role/{role}", a.id))
            }
            (None, Some(arn)) => {
                match role_arn_account(arn) {
                    None => ctx.error(
                        &[Seg::Key("accounts"), Seg::Key(name), Seg::Key("role_arn")],
                        format!("`{arn}` is not an IAM role ARN"),
                        Some("write arn:aws:iam::ACCOUNT:role/[PATH/]NAME"),
                    ),
                    Some(in_account) if in_account != a.id => ctx.error(
                        &[Seg::Key("accounts"), Seg::Key(name), Seg::Key("role_arn")],
                        format!(
                            "role `{arn}` is in account {in_account}, not in `{name}` ({})",
                            a.id
                        ),
                        Some("the role assumed for an account must be in that account"),
                    ),
                    Some(_) => {}
                }
                Some(arn.clone())
            }
            (None, None) => None,
        };
        if let Some(ext) = &a.external_id {
            if !valid_external_id(ext) {
                ctx.error(
                    &[
                        Seg::Key("accounts"),
                        Seg::Key(name),
                        Seg::Key("external_id"),
                    ],
                    "an external id is 2-1224 characters of A-Z a-z 0-9 and + = , . @ : / _ -"
                        .into(),
                    None,
                );
            }
            if role_arn.is_none() {
                ctx.error(
                    &[
                        Seg::Key("accounts"),
                        Seg::Key(name),
                        Seg::Key("external_id"),
                    ],
                    format!("account `{name}` has an external id but no role to assume"),
                    Some("add `role` or `role_arn`"),
                );
            }
        }
        named.push(NamedAccount {
            name: name.clone(),
            id: a.id.clone(),
            role_arn,
            external_id: a.external_id.clone(),
        });
    }
    let organization = raw.organization.as_ref().map(|o| {
        if !valid_user_name(&o.role) {
            ctx.error(
                &[Seg::Key("organization"), Seg::Key("role")],
                format!("`{}` is not an IAM role name", o.role),
                Some("the name of the role in every account, e.g. OrganizationAccountAccessRole"),
            );
        }
        if let Some(ext) = &o.external_id {
            if !valid_external_id(ext) {
                ctx.error(
                    &[Seg::Key("organization"), Seg::Key("external_id")],
                    "an external id is 2-1224 characters of A-Z a-z 0-9 and + = , . @ : / _ -"
                        .into(),
                    None,
                );
            }
        }
        let mut exclude = BTreeSet::new();
        for (i, id) in o.exclude.iter().flatten().enumerate() {
            if !is_account_id(id) {
                ctx.error(
                    &[Seg::Key("organization"), Seg::Key("exclude"), Seg::Index(i)],
                    format!("account id `{id}` is not 12 digits"),
                    Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
                );
            }
            exclude.insert(id.clone());
        }
        Organization {
            role: o.role.clone(),
            external_id: o.external_id.clone(),
            exclude,
        }
    });
    if named.is_empty() && organization.is_none() {
        ctx.error_at_key(
            &[Seg::Key("accounts")],
            "`accounts` lists no account".into(),
            Some("list at least one, or remove `accounts` for a single-account spec"),
        );
    }
    Some(Accounts {
        named,
        organization,
        scoped: BTreeMap::new(),
    })
}

/// The `accounts:` lists of the spec's objects, taken before the users are consumed.
pub(super) struct Lists {
    items: Vec<(ScopeKind, String, Vec<String>)>,
}

impl Lists {
    pub(super) fn of(raw: &RawSpec) -> Self {
        let mut items = Vec::new();
        for (name, u) in &raw.users {
            if let Some(list) = &u.accounts {
                items.push((ScopeKind::User, name.clone(), list.clone()));
            }
        }
        for (name, r) in raw.roles.iter().flatten() {
            if let Some(list) = &r.accounts {
                items.push((ScopeKind::Role, name.clone(), list.clone()));
            }
        }
        for (name, g) in raw.groups.iter().flatten() {
            if let Some(list) = &g.accounts {
                items.push((ScopeKind::Group, name.clone(), list.clone()));
            }
        }
        for (name, p) in raw.policies.iter().flatten() {
            if let Some(list) = &p.accounts {
                items.push((ScopeKind::Policy, name.clone(), list.clone()));
            }
        }
        Self { items }
    }
}

fn section(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::User => "users",
        ScopeKind::Role => "roles",
        ScopeKind::Group => "groups",
        ScopeKind::Policy => "policies",
    }
}

fn noun(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::User => "user",
        ScopeKind::Role => "role",
        ScopeKind::Group => "group",
        ScopeKind::Policy => "policy",
    }
}

/// Resolves the objects' lists to account ids (on `spec.accounts`), and checks that every reference between
/// objects holds in each account the referring object is in.
pub(super) fn validate_scopes(
    lists: Lists,
    spec: &mut Spec,
    own_policies: &[(ScopeKind, String, String)],
    ctx: &mut Ctx,
) {
    let Some(accounts) = spec.accounts.as_ref() else {
        for (kind, name, _) in &lists.items {
            ctx.error_at_key(
                &[Seg::Key(section(*kind)), Seg::Key(name), Seg::Key("accounts")],
                format!("{} `{name}` lists accounts, but the spec is for one account", noun(*kind)),
                Some("list the accounts at the top (`accounts:` or `organization:`) instead of `account_id`"),
            );
        }
        return;
    };
    let by_name: BTreeMap<&str, &str> = accounts
        .named
        .iter()
        .map(|a| (a.name.as_str(), a.id.as_str()))
        .collect();
    let named_ids: BTreeSet<&str> = accounts.named.iter().map(|a| a.id.as_str()).collect();
    let mut scoped = BTreeMap::new();
    for (kind, name, list) in &lists.items {
        let at = |i: usize| {
            [
                Seg::Key(section(*kind)),
                Seg::Key(name),
                Seg::Key("accounts"),
                Seg::Index(i),
            ]
        };
        if list.is_empty() {
            ctx.error(
                &[
                    Seg::Key(section(*kind)),
                    Seg::Key(name),
                    Seg::Key("accounts"),
                ],
                format!("{} `{name}` is in no account", noun(*kind)),
                Some("list at least one account, or leave `accounts` out for every account"),
            );
        }
        let mut ids = BTreeSet::new();
        for (i, entry) in list.iter().enumerate() {
            if let Some(id) = by_name.get(entry.as_str()) {
                ids.insert((*id).to_owned());
            } else if is_account_id(entry) {
                if !named_ids.contains(entry.as_str()) && accounts.organization.is_none() {
                    ctx.error(
                        &at(i),
                        format!("account {entry} is not one of this spec's accounts"),
                        Some("add it under `accounts:`"),
                    );
                }
                ids.insert(entry.clone());
            } else {
                let help = crate::suggest::closest(entry, by_name.keys().copied()).map_or_else(
                    || {
                        format!(
                            "the accounts: {}",
                            by_name.keys().copied().collect::<Vec<_>>().join(", ")
                        )
                    },
                    |c| format!("did you mean `{c}`?"),
                );
                ctx.error(
                    &at(i),
                    format!(
                        "`{entry}` is neither an account name of `accounts:` nor a 12-digit id"
                    ),
                    Some(&help),
                );
            }
        }
        scoped.insert((*kind, name.to_ascii_lowercase()), ids);
    }
    // A user's or role's own managed policy is wherever its principal is.
    for (kind, principal, policy) in own_policies {
        if let Some(ids) = scoped
            .get(&(*kind, principal.to_ascii_lowercase()))
            .cloned()
        {
            scoped.insert((ScopeKind::Policy, policy.to_ascii_lowercase()), ids);
        }
    }
    drop((by_name, named_ids));
    let Some(accounts) = spec.accounts.as_mut() else {
        return;
    };
    accounts.scoped = scoped;
    let spec = &*spec;
    let Some(accounts) = spec.accounts.as_ref() else {
        return;
    };
    // Every account of `from` must hold `to`: a reference that breaks in one account is found now, not by
    // that account's plan.
    let mut check = |from: ScopeKind, name: &str, field: &str, to: ScopeKind, target: &str| {
        let wanted = accounts.scoped.get(&(from, name.to_ascii_lowercase()));
        let Some(held) = accounts.scoped.get(&(to, target.to_ascii_lowercase())) else {
            return;
        };
        // Without an organization, "every account" is the named ones.
        let all_named: Option<BTreeSet<String>> = accounts
            .organization
            .is_none()
            .then(|| accounts.named.iter().map(|a| a.id.clone()).collect());
        let missing: Vec<&str> = match wanted.or(all_named.as_ref()) {
            None => vec!["every account of the organization"],
            Some(ids) => ids
                .iter()
                .filter(|id| !held.contains(*id))
                .map(String::as_str)
                .collect(),
        };
        if !missing.is_empty() {
            ctx.error(
                &[Seg::Key(section(from)), Seg::Key(name), Seg::Key(field)],
                format!(
                    "{} `{name}` uses {} `{target}`, which is not in {}",
                    noun(from),
                    noun(to),
                    missing.join(", ")
                ),
                Some("list the same accounts on both, or fewer on the one that uses the other"),
            );
        }
    };
    let managed_groups: BTreeSet<String> = spec
        .groups
        .iter()
        .map(|g| g.name.to_ascii_lowercase())
        .collect();
    for u in &spec.users {
        for g in u
            .groups
            .iter()
            .filter(|g| managed_groups.contains(&g.to_ascii_lowercase()))
        {
            check(ScopeKind::User, &u.name, "groups", ScopeKind::Group, g);
        }
        for p in &u.policies {
            check(ScopeKind::User, &u.name, "policies", ScopeKind::Policy, p);
        }
    }
    for r in &spec.roles {
        for p in &r.policies {
            check(ScopeKind::Role, &r.name, "policies", ScopeKind::Policy, p);
        }
    }
    for g in &spec.groups {
        for p in &g.policies {
            check(ScopeKind::Group, &g.name, "policies", ScopeKind::Policy, p);
        }
    }
}

#[cfg(test)]
mod tests {
    fn errors(text: &str) -> Vec<String> {
        match crate::spec::load("s.yaml", text) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .items
                .iter()
                .map(|i| format!("{}: {} ({:?})", i.field, i.message, i.help))
                .collect(),
        }
    }

    const TOP: &str = "version: 1\naccounts:\n  prod: { id: \"111111111111\", role: deployer }\n  staging: { id: \"222222222222\" }\n";

    #[test]
    fn a_good_many_account_spec_loads() {
        let text = format!("{TOP}groups:\n  g: {{ accounts: [prod, staging] }}\nusers:\n  a: {{ accounts: [prod], groups: [g] }}\n  b: {{ groups: [g] }}\n");
        assert_eq!(errors(&text), Vec::<String>::new());
        let spec = crate::spec::load("s.yaml", &text).unwrap().spec;
        assert_eq!(spec.for_account("222222222222").users.len(), 1);
        assert!(spec.accounts.unwrap().named[1].role_arn.is_none());
    }

    #[test]
    fn every_mistake_is_named_at_its_field() {
        let cases = [
            ("version: 1\naccount_id: \"111111111111\"\naccounts:\n  prod: { id: \"111111111111\" }\n", "`account_id` and `accounts` cannot both be given"),
            ("version: 1\naccounts:\n  prod: { id: \"1111\" }\n", "accounts.prod.id: account id `1111` is not 12 digits"),
            ("version: 1\naccounts:\n  \"111111111111\": { id: \"111111111111\" }\n", "is not a usable account name"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\" }\n  b: { id: \"111111111111\" }\n", "is listed twice"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\", role: r, role_arn: \"arn:aws:iam::111111111111:role/r\" }\n", "gives both `role` and `role_arn`"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\", role_arn: \"arn:aws:iam::222222222222:role/r\" }\n", "is in account 222222222222, not in `a`"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\", role_arn: \"arn:aws:s3:::x\" }\n", "is not an IAM role ARN"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\", external_id: xy }\n", "has an external id but no role"),
            ("version: 1\naccounts:\n  a: { id: \"111111111111\", role: r, external_id: \"x\" }\n", "an external id is 2-1224"),
            ("version: 1\naccounts: {}\n", "`accounts` lists no account"),
            ("version: 1\norganization: { role: \"bad role\" }\n", "is not an IAM role name"),
            ("version: 1\norganization: { role: r, exclude: [\"12\"] }\n", "organization.exclude[0]"),
            ("version: 1\nusers:\n  a: { accounts: [prod] }\n", "lists accounts, but the spec is for one account"),
        ];
        for (text, want) in cases {
            let found = errors(text);
            assert!(found.iter().any(|e| e.contains(want)), "{want}\n{found:#?}");
        }
        let scoped = [
            ("users:\n  a: { accounts: [] }\n", "is in no account"),
            ("users:\n  a: { accounts: [prd] }\n", "did you mean"),
            ("users:\n  a: { accounts: [\"333333333333\"] }\n", "is not one of this spec's accounts"),
            ("groups:\n  g: { accounts: [prod] }\nusers:\n  a: { groups: [g] }\n", "users.a.groups: user `a` uses group `g`, which is not in 222222222222"),
            ("policies:\n  p: { accounts: [prod], grants: [{buckets: [logs], access: read}] }\nroles:\n  r: { accounts: [staging], trust: { account: \"333333333333\", external_id: ext-1234 }, policies: [p] }\n", "which is not in 222222222222"),
        ];
        for (body, want) in scoped {
            let found = errors(&format!("{TOP}{body}"));
            assert!(found.iter().any(|e| e.contains(want)), "{want}\n{found:#?}");
        }
    }

    #[test]
    fn prune_needs_no_account_id_when_accounts_pin_each_run() {
        let text = format!("{TOP}owner: team\nprune: true\nusers:\n  a: {{}}\n");
        assert_eq!(errors(&text), Vec::<String>::new());
    }
}
