//! Field validation: a [`RawSpec`] becomes a [`Spec`], every problem found collected with its field path (positions
//! come afterwards, from the tree, in [`super::load`]).

use std::collections::BTreeSet;

use super::diagnostic::Severity;
use super::lint::Lint;
use super::model::{IgnoreRule, Spec, SpecPolicy};
use super::names::{tag_char, valid_iam_path, valid_policy_name};
use super::raw::{RawAdopt, RawGrant, RawSpec, RawUser};
use super::tree::Seg;
use crate::model::OWNER_TAG;
use crate::policy::{
    render_grants, size_bound, AccessLevel, Grant, GrantAccess, PolicyDocument, ACCESS_KEY_LIMIT,
    DEFAULT_ATTACHED_LIMIT, INLINE_USER_LIMIT, MAX_ATTACHED_LIMIT, TAG_LIMIT,
};

mod accounts;
mod grants;
mod principals;

pub(crate) use accounts::is_account_id;

use grants::{arn_help, size_over, validate_grant};
use principals::{check_tag_key, validate_entry, validate_groups, validate_roles};

/// What validation found, with field paths but no positions yet: users are validated on every core, and positions
/// come from one tree afterwards ([`Locator`]).
#[derive(Default)]
pub(super) struct Ctx {
    pub(super) found: Vec<Finding>,
    /// Warnings a `lint.allow` accepted: not shown, listed by `validate -v`.
    pub(super) allowed: Vec<Finding>,
}

/// One problem before it is located.
pub(super) struct Finding {
    pub(super) severity: Severity,
    pub(super) path: Vec<PathSeg>,
    pub(super) at_key: bool,
    pub(super) message: String,
    pub(super) help: Option<String>,
    /// The lint rule of a warning.
    pub(super) rule: Option<Lint>,
}

/// An owned [`Seg`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

impl Ctx {
    fn add(
        &mut self,
        severity: Severity,
        path: &[Seg<'_>],
        at_key: bool,
        message: String,
        help: Option<&str>,
    ) {
        self.found.push(Finding {
            severity,
            path: path
                .iter()
                .map(|seg| match seg {
                    Seg::Key(k) => PathSeg::Key((*k).to_owned()),
                    Seg::Index(i) => PathSeg::Index(*i),
                })
                .collect(),
            at_key,
            message,
            help: help.map(str::to_owned),
            rule: None,
        });
    }

    pub(super) fn error(&mut self, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Error, path, false, message, help);
    }

    fn error_at_key(&mut self, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Error, path, true, message, help);
    }

    fn warn(&mut self, rule: Lint, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Warning, path, false, message, help);
        if let Some(f) = self.found.last_mut() {
            f.rule = Some(rule);
        }
    }
}

pub(super) fn validate(mut raw: RawSpec, ctx: &mut Ctx) -> Spec {
    // Consumed user by user, so each raw user's memory is reused for its validated form.
    let allows = lint_allows(&raw, ctx);
    let lists = accounts::Lists::of(&raw);
    let raw_users = std::mem::take(&mut raw.users);
    let raw = &raw;
    if raw.version != 1 {
        ctx.error(
            &[Seg::Key("version")],
            format!("unsupported spec version {}", raw.version),
            Some("this iamspec reads version 1"),
        );
    }
    if let Some(id) = &raw.account_id {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            ctx.error(
                &[Seg::Key("account_id")],
                format!("account id `{id}` is not 12 digits"),
                Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
            );
        }
    }
    let owner = raw.owner.clone().unwrap_or_else(|| "iamspec".to_owned());
    if owner.is_empty() || owner.chars().count() > 256 || !owner.chars().all(tag_char) {
        ctx.error(
            &[Seg::Key("owner")],
            format!("owner `{owner}` is not a valid tag value"),
            Some("use 1-256 letters, digits, spaces and _ . : / = + - @"),
        );
    }
    let path = raw
        .path
        .clone()
        .unwrap_or_else(|| super::model::DEFAULT_PATH.to_owned());
    if path.contains(['*', '?']) || path.contains("${") {
        // IAM accepts these in a path, but in the ARNs of iamspec's own policy they would match other paths.
        ctx.error(
            &[Seg::Key("path")],
            format!("path `{path}` contains a wildcard or policy variable (`*`, `?`, `${{`)"),
            Some("use a literal path such as /iamspec/; `iamspec self-policy` puts it into ARNs"),
        );
    } else if !valid_iam_path(&path) {
        ctx.error(
            &[Seg::Key("path")],
            format!("`{path}` is not an IAM path"),
            Some("a path starts and ends with `/`, e.g. /iamspec/ (at most 512 printable ASCII characters)"),
        );
    }
    let accounts = accounts::validate_top(raw, ctx);
    let prune = raw.prune.unwrap_or(false);
    if prune && raw.account_id.is_none() && accounts.is_none() {
        ctx.error(
            &[Seg::Key("prune")],
            "`prune: true` needs a pinned `account_id`".into(),
            Some("prune deletes users; pin the account so a wrong profile can never delete users elsewhere"),
        );
    }
    if prune && raw.owner.is_none() {
        // Two specs that both fall back to the default owner would prune each other's users.
        ctx.error(
            &[Seg::Key("prune")],
            "`prune: true` needs an explicit `owner`".into(),
            Some("name the team or pipeline this spec belongs to (`owner: web-platform`), so two specs never prune each other's users"),
        );
    }
    if prune
        && raw_users.is_empty()
        && raw.policies.as_ref().is_none_or(|p| p.is_empty())
        && raw.roles.as_ref().is_none_or(|r| r.is_empty())
        && raw.groups.as_ref().is_none_or(|g| g.is_empty())
    {
        ctx.warn(
            Lint::PruneEverything,
            &[Seg::Key("prune")],
            "this spec prunes and declares no users or policies: apply deletes every user and policy it owns".into(),
            Some("check that the spec is complete before applying it"),
        );
    }
    let max_attached = match raw.max_attached_policies {
        None => DEFAULT_ATTACHED_LIMIT,
        Some(n) if (1..=MAX_ATTACHED_LIMIT as u32).contains(&n) => n as usize,
        Some(n) => {
            ctx.error(
                &[Seg::Key("max_attached_policies")],
                format!("{n} is outside IAM's range for attached policies per user (1-{MAX_ATTACHED_LIMIT})"),
                None,
            );
            DEFAULT_ATTACHED_LIMIT
        }
    };
    let mut ignore_tags = BTreeSet::new();
    for (i, key) in raw.ignore_tags.iter().flatten().enumerate() {
        check_tag_key(ctx, &[Seg::Key("ignore_tags"), Seg::Index(i)], key);
        if key == OWNER_TAG {
            ctx.error(
                &[Seg::Key("ignore_tags"), Seg::Index(i)],
                format!("`{OWNER_TAG}` cannot be ignored: it is how iamspec knows what it owns"),
                None,
            );
        }
        ignore_tags.insert(key.clone());
    }
    let mut ignore = Vec::new();
    for (i, rule) in raw.ignore.iter().flatten().enumerate() {
        let at = [Seg::Key("ignore"), Seg::Index(i)];
        if rule.users.is_none()
            && rule.roles.is_none()
            && rule.tags.as_ref().is_none_or(|t| t.is_empty())
        {
            ctx.error(
                &at,
                "an ignore rule needs `users`, `roles` or `tags`".into(),
                None,
            );
        }
        if rule.users.is_some() && rule.roles.is_some() {
            ctx.error(
                &at,
                "an ignore rule names `users` or `roles`, not both".into(),
                Some("write one rule for each"),
            );
        }
        ignore.push(IgnoreRule {
            users: rule.users.clone(),
            roles: rule.roles.clone(),
            tags: rule
                .tags
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }

    let mut policies = Vec::new();
    for (name, rp) in raw.policies.iter().flatten() {
        let at = [Seg::Key("policies"), Seg::Key(name)];
        if !valid_policy_name(name) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a valid policy name"),
                Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if rp.grants.is_empty() {
            ctx.error_at_key(&at, format!("policy `{name}` has no grants"), None);
        }
        let mut grants = Vec::new();
        for (i, g) in rp.grants.iter().enumerate() {
            let p = [
                Seg::Key("policies"),
                Seg::Key(name),
                Seg::Key("grants"),
                Seg::Index(i),
            ];
            if let Some(g) = validate_grant(g, ctx, &p) {
                grants.push(g);
            }
        }
        if let Some(description) = &rp.description {
            if description.chars().any(crate::display::is_unsafe)
                || description.chars().count() > 1000
            {
                ctx.error(
                    &[Seg::Key("policies"), Seg::Key(name), Seg::Key("description")],
                    "a description is one line of at most 1,000 characters, without control characters".into(),
                    None,
                );
            }
        }
        let policy = SpecPolicy {
            name: name.clone(),
            description: rp.description.clone(),
            grants,
            adopt: rp.adopt.as_ref().is_some_and(RawAdopt::adopts),
            adopt_from: rp
                .adopt
                .as_ref()
                .and_then(RawAdopt::from_owner)
                .map(str::to_owned),
        };
        if let Some(size) = size_over(&policy.grants, crate::policy::MANAGED_POLICY_LIMIT) {
            ctx.error_at_key(
                &[Seg::Key("policies"), Seg::Key(name), Seg::Key("grants")],
                format!(
                    "policy `{name}` renders to {size} characters, {} over IAM's {}-character limit for a managed policy",
                    size - crate::policy::MANAGED_POLICY_LIMIT,
                    crate::policy::MANAGED_POLICY_LIMIT
                ),
                Some("split the grants into two policies"),
            );
        }
        policies.push(policy);
    }
    let known: BTreeSet<String> = policies.iter().map(|p| p.name.clone()).collect();

    // Names repeat case-insensitively anywhere in the list: found in one pass, before users are validated in parts.
    let mut seen: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(raw_users.len());
    let mut entries: Vec<(String, RawUser, Option<String>)> = Vec::with_capacity(raw_users.len());
    for (name, user) in raw_users {
        let first = match seen.entry(name.to_ascii_lowercase()) {
            std::collections::hash_map::Entry::Occupied(first) => {
                Some(entries[*first.get()].0.clone())
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(entries.len());
                None
            }
        };
        entries.push((name, user, first));
    }
    drop(seen);
    let parts = crate::par::map_parts(entries, crate::par::USERS_PER_THREAD, |part| {
        let mut ctx = Ctx::default();
        let mut users = Vec::with_capacity(part.len());
        let mut extra = Vec::new();
        for (name, raw_user, first) in part {
            let (user, policy) = validate_entry(
                &name,
                &raw_user,
                first.as_deref(),
                &mut ctx,
                max_attached,
                &known,
            );
            users.extend(user);
            extra.extend(policy.map(|p| (name.clone(), p)));
        }
        (users, extra, ctx)
    });
    let mut users = Vec::new();
    let mut extra_policies = Vec::new();
    for (part_users, extra, part_ctx) in parts {
        users.extend(part_users);
        extra_policies.extend(extra);
        ctx.found.extend(part_ctx.found);
    }
    let known = policies.iter().map(|p| p.name.clone()).collect();
    let (roles, role_policies) = validate_roles(raw, ctx, max_attached, &known);
    let groups = validate_groups(raw, ctx, max_attached, &known);
    if raw.compliance == Some(super::raw::Compliance::Cis) {
        for u in &users {
            let direct = [
                ("grants", !u.grants.is_empty()),
                ("managed_policies", !u.managed_policies.is_empty()),
                ("policies", !u.policies.is_empty()),
                ("raw_policies", !u.raw_policies.is_empty()),
            ];
            if let Some((field, _)) = direct.iter().find(|(_, set)| *set) {
                ctx.warn(
                    Lint::CisDirectPermissions,
                    &[Seg::Key("users"), Seg::Key(&u.name), Seg::Key(field)],
                    format!("user `{}` carries permissions directly (compliance: cis)", u.name),
                    Some("CIS AWS Foundations 1.15 and Security Hub IAM.2 expect permissions through groups: move them to a group under `groups` and list it in the user's `groups`"),
                );
            }
        }
    }
    claim_policy_names(ctx, &owner, &policies, &extra_policies, &role_policies);
    // Warnings a `lint.allow` accepts, there or above, are set aside (validate -v lists them).
    let (allowed, found): (Vec<Finding>, Vec<Finding>) =
        std::mem::take(&mut ctx.found).into_iter().partition(|f| {
            f.severity == Severity::Warning
                && f.rule.is_some_and(|rule| {
                    allows
                        .iter()
                        .any(|(at, rules)| rules.contains(&rule) && f.path.starts_with(at))
                })
        });
    ctx.found = found;
    ctx.allowed.extend(allowed);
    let guardrails = super::guardrails::validate(raw, ctx);
    let delegate = raw.delegate.unwrap_or(false);
    if delegate {
        // One boundary per principal: the delegated one is the cap, so no principal may name its own.
        for u in users.iter().filter(|u| u.permissions_boundary.is_some()) {
            ctx.error(
                &[Seg::Key("users"), Seg::Key(&u.name), Seg::Key("permissions_boundary")],
                "with `delegate: true` every user carries iamspec's boundary, so it cannot name its own".into(),
                Some("remove permissions_boundary, or turn delegate off"),
            );
        }
        for r in roles.iter().filter(|r| r.permissions_boundary.is_some()) {
            ctx.error(
                &[Seg::Key("roles"), Seg::Key(&r.name), Seg::Key("permissions_boundary")],
                "with `delegate: true` every role carries iamspec's boundary, so it cannot name its own".into(),
                Some("remove permissions_boundary, or turn delegate off"),
            );
        }
    }
    let own_policies: Vec<(super::ScopeKind, String, String)> = extra_policies
        .iter()
        .map(|(u, p)| (super::ScopeKind::User, u.clone(), p.name.clone()))
        .chain(
            role_policies
                .iter()
                .map(|(r, p)| (super::ScopeKind::Role, r.clone(), p.name.clone())),
        )
        .collect();
    let mut spec = Spec {
        account_id: raw.account_id.clone(),
        accounts,
        owner,
        path,
        prune,
        ignore_tags,
        max_attached,
        ignore,
        policies: policies
            .into_iter()
            .chain(extra_policies.into_iter().map(|(_, p)| p))
            .chain(role_policies.into_iter().map(|(_, p)| p))
            .collect(),
        users,
        roles,
        groups,
        delegate,
        guardrails,
    };
    accounts::validate_scopes(lists, &mut spec, &own_policies, ctx);
    spec
}

/// Every `lint: { allow: [...] }` of the spec, with where it stands (the spec, a user, role or group, a grant); an
/// unknown rule name is an error there, so a typo never allows nothing in silence.
fn lint_allows(raw: &RawSpec, ctx: &mut Ctx) -> Vec<(Vec<PathSeg>, BTreeSet<Lint>)> {
    let mut spots: Vec<(Vec<PathSeg>, &super::RawLint)> = Vec::new();
    let key = |k: &str| PathSeg::Key(k.to_owned());
    fn grants<'r>(
        base: &[PathSeg],
        grants: Option<&'r Vec<RawGrant>>,
        spots: &mut Vec<(Vec<PathSeg>, &'r super::RawLint)>,
    ) {
        for (i, g) in grants.into_iter().flatten().enumerate() {
            if let Some(lint) = &g.lint {
                let mut at = base.to_vec();
                at.extend([PathSeg::Key("grants".into()), PathSeg::Index(i)]);
                spots.push((at, lint));
            }
        }
    }
    if let Some(lint) = &raw.lint {
        spots.push((Vec::new(), lint));
    }
    for (name, u) in &raw.users {
        let base = vec![key("users"), key(name)];
        if let Some(lint) = &u.lint {
            spots.push((base.clone(), lint));
        }
        grants(&base, u.grants.as_ref(), &mut spots);
    }
    for (name, r) in raw.roles.iter().flatten() {
        let base = vec![key("roles"), key(name)];
        if let Some(lint) = &r.lint {
            spots.push((base.clone(), lint));
        }
        grants(&base, r.grants.as_ref(), &mut spots);
    }
    for (name, g) in raw.groups.iter().flatten() {
        let base = vec![key("groups"), key(name)];
        if let Some(lint) = &g.lint {
            spots.push((base.clone(), lint));
        }
        grants(&base, g.grants.as_ref(), &mut spots);
    }
    let mut out = Vec::with_capacity(spots.len());
    for (at, lint) in spots {
        let mut rules = BTreeSet::new();
        for (i, name) in lint.allow.iter().enumerate() {
            match Lint::from_name(name) {
                Some(rule) => {
                    rules.insert(rule);
                }
                None => {
                    let mut path: Vec<Seg<'_>> = at
                        .iter()
                        .map(|seg| match seg {
                            PathSeg::Key(k) => Seg::Key(k),
                            PathSeg::Index(i) => Seg::Index(*i),
                        })
                        .collect();
                    path.extend([Seg::Key("lint"), Seg::Key("allow"), Seg::Index(i)]);
                    let names: Vec<&str> = Lint::ALL.iter().map(|l| l.name()).collect();
                    let help = crate::suggest::closest(name, names.iter().copied()).map_or_else(
                        || format!("the rules: {}", names.join(", ")),
                        |c| format!("did you mean `{c}`?"),
                    );
                    ctx.error(&path, format!("`{name}` is not a lint rule"), Some(&help));
                }
            }
        }
        out.push((at, rules));
    }
    out
}

/// Puts every managed-policy name the spec makes into one namespace: shared policies, users' and roles' own
/// policies (`policy_mode: managed`) and the apply lock. A name made twice (IAM compares them case-insensitively) is
/// an error at the second source naming the first; a name in the locks' part is reserved.
fn claim_policy_names(
    ctx: &mut Ctx,
    owner: &str,
    shared: &[SpecPolicy],
    users: &[(String, SpecPolicy)],
    roles: &[(String, SpecPolicy)],
) {
    use crate::names::{Clash, Namespace, Source};
    let mut ns = Namespace::new(owner);
    let sources = shared
        .iter()
        .map(|p| (Source::Shared(p.name.clone()), &p.name))
        .chain(
            users
                .iter()
                .map(|(u, p)| (Source::User(u.clone()), &p.name)),
        )
        .chain(
            roles
                .iter()
                .map(|(r, p)| (Source::Role(r.clone()), &p.name)),
        );
    for (source, name) in sources {
        let Err(clash) = ns.claim(name, source.clone()) else {
            continue;
        };
        let message = match clash {
            Clash::Taken(first) => format!("{source} is named `{name}`, as is {first}: IAM policy names are case-insensitive and one name is one policy"),
            Clash::Reserved => format!(
                "{source} is named `{name}`, which is reserved: iamspec's apply locks and boundaries use names starting with `{}` and `{}`",
                crate::names::LOCK_POLICY_PREFIX,
                crate::names::BOUNDARY_POLICY_PREFIX
            ),
        };
        match &source {
            Source::Shared(p) => ctx.error_at_key(
                &[Seg::Key("policies"), Seg::Key(p)],
                message,
                Some("choose another name"),
            ),
            Source::User(u) => ctx.error(
                &[Seg::Key("users"), Seg::Key(u), Seg::Key("policy_mode")],
                message,
                Some("rename one of them, or keep this one's grants inline (no policy_mode: managed)"),
            ),
            Source::Role(r) => ctx.error(
                &[Seg::Key("roles"), Seg::Key(r), Seg::Key("policy_mode")],
                message,
                Some("rename one of them, or keep this one's grants inline (no policy_mode: managed)"),
            ),
            Source::Lock(_) | Source::Boundary(_) => {}
        }
    }
}
