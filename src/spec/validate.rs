//! Field validation: a [`RawSpec`] becomes a [`Spec`], every problem found collected with its field path (positions
//! come afterwards, from the tree, in [`super::load`]).

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::Severity;
use super::lint::Lint;
use super::model::{IgnoreRule, KeyPolicy, Spec, SpecGroup, SpecPolicy, SpecRole, SpecUser};
use super::names::{
    bucket_problem, iam_name_char, tag_char, valid_iam_path, valid_policy_arn, valid_policy_name,
    valid_user_name,
};
use super::raw::{RawAdopt, RawGrant, RawSpec, RawUser};
use super::tree::Seg;
use crate::model::OWNER_TAG;
use crate::policy::{
    render_grants, size_bound, AccessLevel, Grant, GrantAccess, PolicyDocument, ACCESS_KEY_LIMIT,
    DEFAULT_ATTACHED_LIMIT, INLINE_USER_LIMIT, MAX_ATTACHED_LIMIT, TAG_LIMIT,
};

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
    let path = raw.path.clone().unwrap_or_else(|| "/iamspec/".to_owned());
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
    let prune = raw.prune.unwrap_or(false);
    if prune && raw.account_id.is_none() {
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
    Spec {
        account_id: raw.account_id.clone(),
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
    }
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

/// The spec's managed groups: names, and the users' checks for grants and managed policies.
fn validate_groups(
    raw: &RawSpec,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> Vec<SpecGroup> {
    let mut groups = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, rg) in raw.groups.iter().flatten() {
        let at = [Seg::Key("groups"), Seg::Key(name)];
        if name.is_empty() || name.len() > 128 || !name.chars().all(iam_name_char) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a valid IAM group name"),
                Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            ctx.error_at_key(
                &at,
                format!(
                    "group `{name}` duplicates `{first}`: IAM group names are case-insensitive"
                ),
                Some("keep one of them"),
            );
        }
        let shared = RawUser {
            grants: rg.grants.clone(),
            managed_policies: rg.managed_policies.clone(),
            policies: rg.policies.clone(),
            ..RawUser::default()
        };
        if let Some(checked) = validate_user(name, &shared, ctx, &at, max_attached, known) {
            groups.push(SpecGroup {
                name: name.clone(),
                grants: checked.grants,
                managed_policies: checked.managed_policies,
                policies: checked.policies,
                adopt: rg.adopt.as_ref().is_some_and(RawAdopt::adopts),
                adopt_from: rg
                    .adopt
                    .as_ref()
                    .and_then(RawAdopt::from_owner)
                    .map(str::to_owned),
            });
        }
    }
    groups
}

/// The spec's roles. The fields roles share with users (tags, grants, managed policies) get the users' checks,
/// at the role's own positions.
fn validate_roles(
    raw: &RawSpec,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> (Vec<SpecRole>, Vec<(String, SpecPolicy)>) {
    let mut roles = Vec::new();
    let mut own_policies = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, rr) in raw.roles.iter().flatten() {
        let at = [Seg::Key("roles"), Seg::Key(name)];
        let sub = |key: &'static str| {
            let mut p = at.to_vec();
            p.push(Seg::Key(key));
            p
        };
        if !valid_user_name(name) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a valid IAM role name"),
                Some("use 1-64 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            ctx.error_at_key(
                &at,
                format!("role `{name}` duplicates `{first}`: IAM role names are case-insensitive"),
                Some("keep one of them"),
            );
        }
        let shared = RawUser {
            tags: rr.tags.clone(),
            grants: rr.grants.clone(),
            managed_policies: rr.managed_policies.clone(),
            policies: rr.policies.clone(),
            permissions_boundary: rr.permissions_boundary.clone(),
            ..RawUser::default()
        };
        let checked = validate_user(name, &shared, ctx, &at, max_attached, known);
        let principal = match (&rr.trust.account, &rr.trust.role_arn) {
            (Some(account), None) => {
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    let mut p = sub("trust");
                    p.push(Seg::Key("account"));
                    ctx.error(
                        &p,
                        format!("account `{account}` is not 12 digits"),
                        Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
                    );
                }
                Some((format!("arn:aws:iam::{account}:root"), account.clone()))
            }
            (None, Some(arn)) => {
                let account = arn
                    .strip_prefix("arn:aws:iam::")
                    .and_then(|rest| rest.split_once(":role/"))
                    .filter(|(acct, name)| {
                        acct.len() == 12
                            && acct.bytes().all(|b| b.is_ascii_digit())
                            && !name.is_empty()
                            && name
                                .split('/')
                                .all(|part| !part.is_empty() && part.chars().all(iam_name_char))
                    })
                    .map(|(acct, _)| acct.to_owned());
                if account.is_none() {
                    let mut p = sub("trust");
                    p.push(Seg::Key("role_arn"));
                    ctx.error(
                        &p,
                        format!("`{arn}` is not a role ARN"),
                        Some("expected arn:aws:iam::123456789012:role/NAME"),
                    );
                }
                account.map(|a| (arn.clone(), a))
            }
            _ => {
                ctx.error(
                    &sub("trust"),
                    "`trust` needs exactly one of `account` and `role_arn`".into(),
                    Some("`trust: { account: \"232482882421\", external_id: ... }` for a service's account"),
                );
                None
            }
        };
        if let Some(id) = &rr.trust.external_id {
            let ok = (2..=1224).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
            if !ok {
                let mut p = sub("trust");
                p.push(Seg::Key("external_id"));
                ctx.error(
                    &p,
                    "the external ID is not valid".into(),
                    Some("2-1224 characters from A-Z a-z 0-9 and + = , . @ : / - _"),
                );
            }
        }
        if let Some((_, account)) = &principal {
            // Another account without an external ID is the confused-deputy hole the external ID closes.
            if rr.trust.external_id.is_none() && raw.account_id.as_deref() != Some(account.as_str())
            {
                ctx.error(
                    &sub("trust"),
                    format!("trusting account {account} needs the `external_id` its service gave you"),
                    Some("without one, anyone using that service could reach your buckets through it; if the account is your own, pin it as the spec's `account_id`"),
                );
            }
        }
        let hours = rr.max_session_hours.unwrap_or(1);
        if !(1..=12).contains(&hours) {
            ctx.error(
                &sub("max_session_hours"),
                format!("{hours} hours is outside IAM's 1-12"),
                None,
            );
        }
        if let (Some(mut user), Some((principal, _))) = (checked, principal) {
            // policy_mode: managed: the grants go to the role's own managed policy, planned like a shared one.
            if rr.policy_mode == Some(super::raw::PolicyMode::Managed) && !user.grants.is_empty() {
                let policy = SpecPolicy {
                    name: crate::names::role_policy(name),
                    description: Some(format!("Grants of role {name} (policy_mode: managed)")),
                    grants: std::mem::take(&mut user.grants),
                    adopt: false,
                    adopt_from: None,
                };
                if let Some(size) = size_over(&policy.grants, crate::policy::MANAGED_POLICY_LIMIT) {
                    ctx.error(
                        &sub("policy_mode"),
                        format!(
                            "the grants of role `{name}` render to {size} characters, over IAM's {}-character limit for a managed policy",
                            crate::policy::MANAGED_POLICY_LIMIT
                        ),
                        Some("move some grants to a shared policy under `policies`"),
                    );
                }
                user.policies.insert(policy.name.clone());
                own_policies.push((name.clone(), policy));
            }
            roles.push(SpecRole {
                name: name.clone(),
                principal,
                external_id: rr.trust.external_id.clone(),
                tags: user.tags,
                grants: user.grants,
                managed_policies: user.managed_policies,
                policies: user.policies,
                permissions_boundary: user.permissions_boundary,
                max_session_seconds: hours.clamp(1, 12) * 3600,
                adopt: rr.adopt.as_ref().is_some_and(RawAdopt::adopts),
                adopt_from: rr
                    .adopt
                    .as_ref()
                    .and_then(RawAdopt::from_owner)
                    .map(str::to_owned),
            });
        }
    }
    (roles, own_policies)
}

/// One user of the spec, with `first` the earlier name it repeats (case-insensitively), if any: the validated user
/// and, in `policy_mode: managed`, the policy its grants go to.
fn validate_entry(
    name: &str,
    raw_user: &RawUser,
    first: Option<&str>,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> (Option<SpecUser>, Option<SpecPolicy>) {
    let at = [Seg::Key("users"), Seg::Key(name)];
    if !valid_user_name(name) {
        ctx.error_at_key(
            &at,
            format!("`{name}` is not a valid IAM user name"),
            Some("use 1-64 characters from A-Z a-z 0-9 and + = , . @ _ -"),
        );
    }
    if let Some(first) = first {
        ctx.error_at_key(
            &at,
            format!("user `{name}` duplicates `{first}`: IAM user names are case-insensitive"),
            Some("keep one of them"),
        );
    }
    let Some(mut user) = validate_user(name, raw_user, ctx, &at, max_attached, known) else {
        return (None, None);
    };
    if raw_user.policy_mode != Some(super::raw::PolicyMode::Managed) || user.grants.is_empty() {
        return (Some(user), None);
    }
    // The user's own managed policy, planned like any shared one.
    let policy = SpecPolicy {
        name: crate::names::user_policy(name),
        description: Some(format!("Grants of {name} (policy_mode: managed)")),
        grants: std::mem::take(&mut user.grants),
        adopt: false,
        adopt_from: None,
    };
    let mut p = at.to_vec();
    p.push(Seg::Key("policy_mode"));
    if let Some(size) = size_over(&policy.grants, crate::policy::MANAGED_POLICY_LIMIT) {
        ctx.error(
            &p,
            format!(
                "the grants of `{name}` render to {size} characters, {} over IAM's {}-character limit for a managed policy",
                size - crate::policy::MANAGED_POLICY_LIMIT,
                crate::policy::MANAGED_POLICY_LIMIT
            ),
            Some("move some grants to a shared policy under `policies`"),
        );
    }
    user.policies.insert(policy.name.clone());
    (Some(user), Some(policy))
}

fn validate_user(
    name: &str,
    raw: &RawUser,
    ctx: &mut Ctx,
    at: &[Seg<'_>],
    max_attached: usize,
    known_policies: &BTreeSet<String>,
) -> Option<SpecUser> {
    let sub = |seg: Seg<'static>| -> Vec<Seg<'_>> {
        let mut p = at.to_vec();
        p.push(seg);
        p
    };
    let mut tags = BTreeMap::new();
    let mut tag_keys_lower = BTreeSet::new();
    for (key, value) in raw.tags.iter().flatten() {
        let mut p = sub(Seg::Key("tags"));
        p.push(Seg::Key(key));
        check_tag_key(ctx, &p, key);
        if key.eq_ignore_ascii_case(OWNER_TAG) {
            ctx.error_at_key(
                &p,
                format!("`{OWNER_TAG}` is set by iamspec from `owner`"),
                Some("remove this tag"),
            );
        } else if key.to_ascii_lowercase().starts_with("iamspec:") {
            ctx.error_at_key(
                &p,
                format!("tag key `{key}` uses the `iamspec:` prefix iamspec keeps for itself"),
                None,
            );
        }
        if !tag_keys_lower.insert(key.to_ascii_lowercase()) {
            ctx.error_at_key(
                &p,
                format!("tag key `{key}` repeats another key but for case"),
                None,
            );
        }
        if value.chars().count() > 256 || !value.chars().all(tag_char) {
            ctx.error(
                &p,
                format!("tag value `{value}` is not valid"),
                Some("use at most 256 letters, digits, spaces and _ . : / = + - @"),
            );
        }
        tags.insert(key.clone(), value.clone());
    }
    // iamspec's own tags: the owner tag, and with keys `keys-since` plus one tag per key. During a rotation a user
    // holds IAM's two keys whatever its count, each with its tag.
    let reserved = 1 + raw.access_keys.as_ref().map_or(0, |_| 1 + ACCESS_KEY_LIMIT);
    if tags.len() + reserved > TAG_LIMIT {
        ctx.error_at_key(
            &sub(Seg::Key("tags")),
            format!(
                "{} tags plus iamspec's {reserved} exceed IAM's {TAG_LIMIT} tags per user by {}",
                tags.len(),
                tags.len() + reserved - TAG_LIMIT
            ),
            Some("iamspec keeps the owner tag, and with access_keys one tag per key plus one"),
        );
    }

    let mut grants = Vec::new();
    for (i, grant) in raw.grants.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("grants"));
        p.push(Seg::Index(i));
        if let Some(g) = validate_grant(grant, ctx, &p) {
            grants.push(g);
        }
    }

    let mut managed_policies = BTreeSet::new();
    for (i, arn) in raw.managed_policies.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("managed_policies"));
        p.push(Seg::Index(i));
        if !valid_policy_arn(arn) {
            ctx.error(
                &p,
                format!("`{arn}` is not a managed policy ARN"),
                Some(&arn_help(arn)),
            );
        }
        if !managed_policies.insert(arn.clone()) {
            ctx.error(&p, format!("`{arn}` is listed twice"), None);
        }
    }
    let mut policies = BTreeSet::new();
    for (i, policy) in raw.policies.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("policies"));
        p.push(Seg::Index(i));
        if !known_policies.contains(policy) {
            let help = known_policies
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            ctx.error(
                &p,
                format!("no policy `{policy}` in the spec's `policies`"),
                Some(&format!("known: {help}")),
            );
        }
        policies.insert(policy.clone());
    }
    let own_policy = raw.policy_mode == Some(super::raw::PolicyMode::Managed)
        && raw.grants.as_ref().is_some_and(|g| !g.is_empty());
    let attached = managed_policies.len() + policies.len() + usize::from(own_policy);
    if attached > max_attached {
        ctx.error_at_key(
            &sub(Seg::Key(if raw.managed_policies.is_some() {
                "managed_policies"
            } else {
                "policies"
            })),
            format!(
                "{attached} managed policies exceed the quota of {max_attached} per user by {}",
                attached - max_attached
            ),
            Some("raise `max_attached_policies` (up to 20) if the account's quota was raised"),
        );
    }
    let mut groups = BTreeSet::new();
    for (i, group) in raw.groups.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("groups"));
        p.push(Seg::Index(i));
        if group.is_empty() || group.len() > 128 || !group.chars().all(iam_name_char) {
            ctx.error(
                &p,
                format!("`{group}` is not a valid IAM group name"),
                Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if !groups.insert(group.clone()) {
            ctx.error(&p, format!("group `{group}` is listed twice"), None);
        }
    }
    if let Some(arn) = &raw.permissions_boundary {
        if !valid_policy_arn(arn) {
            ctx.error(
                &sub(Seg::Key("permissions_boundary")),
                format!("`{arn}` is not a managed policy ARN"),
                Some(&arn_help(arn)),
            );
        }
    }
    let access_keys = raw.access_keys.as_ref().map(|k| {
        let count = k.count.unwrap_or(1) as usize;
        if count > ACCESS_KEY_LIMIT {
            let mut p = sub(Seg::Key("access_keys"));
            p.push(Seg::Key("count"));
            ctx.error(
                &p,
                format!("{count} access keys exceed IAM's limit of {ACCESS_KEY_LIMIT} per user"),
                None,
            );
        }
        let max_age_days = k.max_age_days.unwrap_or(90);
        if max_age_days == 0 {
            let mut p = sub(Seg::Key("access_keys"));
            p.push(Seg::Key("max_age_days"));
            ctx.error(&p, "max_age_days must be at least 1".into(), None);
        }
        KeyPolicy {
            count,
            max_age_days,
            grace_days: k.grace_days.unwrap_or(7),
        }
    });

    let grants_policy_name = raw
        .grants_policy_name
        .clone()
        .unwrap_or_else(|| crate::model::GRANTS_POLICY.to_owned());
    if !valid_policy_name(&grants_policy_name) {
        ctx.error(
            &sub(Seg::Key("grants_policy_name")),
            format!("`{grants_policy_name}` is not a valid inline policy name"),
            Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
        );
    }
    let mut raw_policies = BTreeMap::new();
    for (policy, doc) in raw.raw_policies.iter().flatten() {
        let mut p = sub(Seg::Key("raw_policies"));
        p.push(Seg::Key(policy));
        if !valid_policy_name(policy) {
            ctx.error_at_key(
                &p,
                format!("`{policy}` is not a valid inline policy name"),
                None,
            );
        }
        if *policy == grants_policy_name {
            ctx.error_at_key(
                &p,
                format!("`{policy}` is the name the grants render into"),
                Some("rename one of them"),
            );
        }
        raw_policies.insert(policy.clone(), doc.clone());
    }
    let user = SpecUser {
        name: name.to_owned(),
        tags,
        grants,
        managed_policies,
        policies,
        groups,
        permissions_boundary: raw.permissions_boundary.clone(),
        adopt: raw.adopt.as_ref().is_some_and(RawAdopt::adopts),
        adopt_from: raw
            .adopt
            .as_ref()
            .and_then(RawAdopt::from_owner)
            .map(str::to_owned),
        access_keys,
        grants_policy_name,
        raw_policies,
    };
    let raw_size: usize = user.raw_policies.values().map(PolicyDocument::size).sum();
    let inline_grants = raw.policy_mode != Some(super::raw::PolicyMode::Managed);
    let grants_size = |exact: bool| match (inline_grants && !user.grants.is_empty(), exact) {
        (false, _) => 0,
        (true, false) => size_bound(&user.grants),
        (true, true) => user.grants_policy().map_or(0, |d| d.size()),
    };
    // The exact size costs a render: only users whose bound comes near the limit pay for it.
    if raw_size + grants_size(false) > INLINE_USER_LIMIT {
        let size = raw_size + grants_size(true);
        if size > INLINE_USER_LIMIT {
            ctx.error_at_key(
                &sub(Seg::Key("grants")),
                format!(
                    "the inline policies of `{name}` total {size} characters, {} over IAM's {INLINE_USER_LIMIT}-character limit",
                    size - INLINE_USER_LIMIT
                ),
                Some("`policy_mode: managed` moves the grants to a managed policy (6,144 characters); or group buckets with one access level into one grant"),
            );
        }
    }
    Some(user)
}

/// The rendered size of `grants` when it exceeds `limit`. Renders only when the cheap bound says it might.
fn size_over(grants: &[Grant], limit: usize) -> Option<usize> {
    if size_bound(grants) <= limit {
        return None;
    }
    render_grants(grants)
        .map(|d| d.size())
        .filter(|&size| size > limit)
}

fn validate_grant(raw: &RawGrant, ctx: &mut Ctx, at: &[Seg<'_>]) -> Option<Grant> {
    let sub = |seg: Seg<'static>| -> Vec<Seg<'_>> {
        let mut p = at.to_vec();
        p.push(seg);
        p
    };
    let access = match (&raw.access, &raw.actions) {
        (Some(level), None) => Some(GrantAccess::Level(*level)),
        (None, Some(actions)) => Some(GrantAccess::Actions(actions.clone())),
        (Some(_), Some(_)) => {
            ctx.error(
                &sub(Seg::Key("actions")),
                "a grant has `access` or `actions`, not both".into(),
                Some("keep `access` for a standard level, or list every action under `actions`"),
            );
            None
        }
        (None, None) => {
            ctx.error(
                at,
                "a grant needs `access` (list, read, write, read-write, full) or `actions`".into(),
                None,
            );
            None
        }
    };
    if raw.buckets.is_empty() {
        ctx.error(
            &sub(Seg::Key("buckets")),
            "a grant needs at least one bucket".into(),
            None,
        );
    }
    let mut seen = BTreeSet::new();
    for (i, bucket) in raw.buckets.iter().enumerate() {
        let mut p = sub(Seg::Key("buckets"));
        p.push(Seg::Index(i));
        if !seen.insert(bucket.as_str()) {
            ctx.error(
                &p,
                format!("bucket `{bucket}` is listed twice in this grant"),
                None,
            );
        }
        check_bucket(ctx, &p, bucket);
    }
    let prefixed = raw.prefix.as_deref().is_some_and(|p| !p.is_empty());
    if let Some(prefix) = &raw.prefix {
        let p = sub(Seg::Key("prefix"));
        if prefix.is_empty() {
            ctx.error(
                &p,
                "an empty prefix; leave `prefix` out to grant the whole bucket".into(),
                None,
            );
        } else if prefix.chars().any(crate::display::is_unsafe) {
            ctx.error(
                &p,
                format!(
                    "prefix `{}` contains control or bidi characters",
                    crate::display::escape(prefix)
                ),
                Some("such characters can hide what a plan grants; S3 keys for iamspec grants must not use them"),
            );
        } else if prefix.contains(['*', '?']) || prefix.contains("${") {
            ctx.error(
                &p,
                format!(
                    "prefix `{prefix}` contains a wildcard or policy variable (`*`, `?`, `${{`)"
                ),
                Some("a prefix is literal; iamspec appends the `*` itself"),
            );
        } else if prefix.len() > 1024 {
            ctx.error(
                &p,
                "prefix is longer than S3's 1,024-byte key limit".into(),
                None,
            );
        } else if prefix.starts_with('/') || prefix.contains("//") {
            // S3 keys rarely start with `/`: `photos-prod//uploads/*` grants nothing anyone uploads.
            let fixed: String = prefix
                .split('/')
                .filter(|part| !part.is_empty())
                .map(|part| format!("{part}/"))
                .collect();
            ctx.error(
                &p,
                format!(
                    "prefix `{prefix}` {}: keys are written without them, so the grant would match nothing in use",
                    if prefix.starts_with('/') {
                        "starts with `/`"
                    } else {
                        "contains `//`"
                    }
                ),
                Some(&format!("write `prefix: {fixed}`")),
            );
        } else if !prefix.ends_with('/') {
            ctx.warn(
                Lint::PrefixWithoutSlash,
                &p,
                format!("prefix `{prefix}` also covers keys such as `{prefix}-secret/...` and `{prefix}s/...`"),
                Some(&format!("end it with `/` (`{prefix}/`) to mean that folder only")),
            );
        }
        // IAM's `*` matches `/` too: `arn:aws:s3:::*/team/*` matches `team/` at any depth of any key of any bucket.
        let patterns: Vec<&str> = raw
            .buckets
            .iter()
            .filter(|b| b.contains('*'))
            .map(String::as_str)
            .collect();
        if !prefix.is_empty() && !patterns.is_empty() {
            ctx.error(
                &p,
                format!(
                    "a prefix cannot be anchored to the top of `{}`: IAM's `*` also matches `/`, so `arn:aws:s3:::{}/{prefix}*` would match `{prefix}` at any depth of any key",
                    patterns.join("`, `"),
                    patterns[0]
                ),
                Some("name the buckets; no ARN can say \"this prefix at the top of any bucket\""),
            );
        }
        if raw.access == Some(AccessLevel::Full) {
            ctx.error(
                &p,
                "`full` cannot take a prefix: s3:* includes bucket-wide actions".into(),
                Some("use `read-write` with the prefix, or `full` on the whole bucket"),
            );
        }
    }
    if raw.access == Some(AccessLevel::Full) {
        ctx.warn(
            Lint::FullAccess,
            &sub(Seg::Key("access")),
            "`full` grants s3:*, including deleting the bucket and changing its policy".into(),
            Some("most services need `read-write`"),
        );
    }
    for (i, action) in raw.actions.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("actions"));
        p.push(Seg::Index(i));
        check_action(ctx, &p, action, raw.prefix.as_deref().filter(|_| prefixed));
    }
    let mut kms_keys = Vec::new();
    for (i, key) in raw.kms_keys.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("kms_keys"));
        p.push(Seg::Index(i));
        if !valid_kms_key_arn(key) {
            ctx.error(
                &p,
                format!("`{key}` is not a KMS key ARN"),
                Some("expected arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (the key of the bucket's SSE-KMS encryption)"),
            );
        } else if kms_keys.contains(key) {
            ctx.error(&p, format!("`{key}` is listed twice"), None);
        }
        kms_keys.push(key.clone());
    }
    let access = access?;
    if !kms_keys.is_empty() {
        let uses = match &access {
            GrantAccess::Level(level) => level.kms_actions(),
            GrantAccess::Actions(actions) => crate::policy::kms_actions_for(actions),
        };
        if uses.is_empty() {
            ctx.warn(
                Lint::KmsKeysUnused,
                &sub(Seg::Key("kms_keys")),
                "this grant reads and writes no objects, so its KMS keys get no permission".into(),
                None,
            );
        }
    }
    Some(Grant {
        buckets: raw.buckets.clone(),
        prefix: raw.prefix.clone(),
        access,
        kms_keys,
    })
}

/// Checks one explicit action against the catalogue: it must exist, act on buckets, objects or `*`, and, in a
/// grant with a prefix, be limitable to it.
fn check_action(ctx: &mut Ctx, at: &[Seg<'_>], action: &str, prefix: Option<&str>) {
    let Some(name) = action.get(3..).filter(|_| {
        action
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("s3:"))
    }) else {
        ctx.error(
            at,
            format!("action `{action}` is not an S3 action"),
            Some("grants manage S3 access only; actions start with `s3:` (KMS access comes with `kms_keys`)"),
        );
        return;
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
    {
        ctx.error(
            at,
            format!("action `{action}` is not a valid action name"),
            None,
        );
        return;
    }
    let wild = name.contains(['*', '?']);
    let covered = crate::authz::expand(action);
    if covered.is_empty() {
        let help = crate::authz::suggest(action).map(|s| format!("did you mean `{s}`?"));
        ctx.error(
            at,
            if wild {
                format!("`{action}` matches no S3 action")
            } else {
                format!("`{action}` is not an S3 action (AWS's Service Authorization Reference has no such name)")
            },
            help.as_deref(),
        );
        return;
    }
    if !wild {
        let def = covered[0];
        if !def.on_bucket() && !def.on_object() && !def.only_star() {
            ctx.error(
                at,
                format!(
                    "`{}` acts on {}, not on buckets or objects",
                    def.full_name(),
                    def.resources.join(", ")
                ),
                Some("grants cannot express it; keep it in `raw_policies`"),
            );
            return;
        }
        if def.only_star() {
            let what = if def.name == "ListAllMyBuckets" {
                "it reveals the name of every bucket in the account".to_owned()
            } else {
                "it is granted on `*`, for the whole account".to_owned()
            };
            ctx.warn(
                Lint::ResourcelessAction,
                at,
                format!("`{}` takes no resource: {what}", def.full_name()),
                Some("drop it unless the service needs it"),
            );
        }
    }
    if wild {
        let sensitive: Vec<String> = covered
            .iter()
            .filter(|d| d.level == crate::authz::ActionLevel::PermissionsManagement)
            .map(|d| d.full_name())
            .collect();
        if name == "*" {
            // Named like s3:Put*'s: the reviewer sees what hands the bucket's access to others.
            // The ones that hand the bucket to others first: policies, ACLs, public access.
            let mut ranked: Vec<&str> = sensitive.iter().map(String::as_str).collect();
            ranked.sort_by_key(|a| {
                !["BucketPolicy", "Acl", "PublicAccessBlock"]
                    .iter()
                    .any(|k| a.contains(k))
            });
            let shown: Vec<&str> = ranked.into_iter().take(6).collect();
            let more = sensitive.len().saturating_sub(shown.len());
            ctx.warn(
                Lint::S3Star,
                at,
                format!(
                    "`s3:*` allows every S3 action, including deleting buckets and {} permissions-management action(s): {}{}",
                    sensitive.len(),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
                Some("list the actions the service needs"),
            );
        } else if !sensitive.is_empty() {
            ctx.warn(
                Lint::WildcardPermissionsManagement,
                at,
                format!(
                    "`{action}` includes {} permissions-management action(s): {}",
                    sensitive.len(),
                    sensitive.join(", ")
                ),
                Some("a wildcard action can let the user change who else reaches the bucket; list the actions it needs"),
            );
        }
    }
    if let Some(prefix) = prefix {
        // A bucket-wide action sees or changes the whole bucket: only listings (conditioned on s3:prefix) and the
        // bucket's region can be granted with a prefix.
        let wide: Vec<String> = covered
            .iter()
            .filter(|d| {
                d.on_bucket()
                    && !d.takes("s3:prefix")
                    && (wild || d.full_name() != crate::policy::REGION_ACTION)
            })
            .map(|d| d.full_name())
            .collect();
        if !wide.is_empty() {
            let shown: Vec<&str> = wide.iter().take(6).map(String::as_str).collect();
            let more = if wide.len() > shown.len() {
                format!(" and {} more", wide.len() - shown.len())
            } else {
                String::new()
            };
            let message = if wild {
                format!(
                    "`{action}` includes actions on the whole bucket ({}{more}), which prefix `{prefix}` cannot limit",
                    shown.join(", ")
                )
            } else {
                format!("`{action}` acts on the whole bucket, which prefix `{prefix}` cannot limit")
            };
            ctx.error(
                at,
                message,
                Some("name object actions (s3:GetObject...) for the prefix, and put bucket-wide actions in a grant without a prefix"),
            );
        }
    }
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID`.
fn valid_kms_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[3]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("key/").is_some_and(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn check_bucket(ctx: &mut Ctx, at: &[Seg<'_>], bucket: &str) {
    if bucket == "*" {
        ctx.warn(
            Lint::EveryBucket,
            at,
            "grant on every bucket in the account".into(),
            Some("name the buckets the service works on"),
        );
        return;
    }
    // An ARN or an s3:// URL where a bare name belongs: the commonest slip when copying from a console.
    let lower = bucket.to_ascii_lowercase();
    let bare = lower.strip_prefix("s3://").or_else(|| {
        lower
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(":s3:::"))
            .map(|(_, name)| name)
    });
    if let Some(rest) = bare {
        let start = bucket.len() - rest.len();
        let (name, key) = bucket[start..]
            .split_once('/')
            .unwrap_or((&bucket[start..], ""));
        let help = if key.trim_matches(['/', '*']).is_empty() {
            format!("use the bare name `{name}`")
        } else {
            format!(
                "use the bare name `{name}`, and put the key part in `prefix: {}`",
                key.trim_end_matches('*')
            )
        };
        ctx.error(at, format!("`{bucket}` is not a bucket name"), Some(&help));
        return;
    }
    if bucket.contains('*') {
        let literal = bucket.replace('*', "");
        if literal
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
        {
            ctx.error(
                at,
                format!("bucket pattern `{bucket}` has characters no bucket name can have"),
                None,
            );
        } else {
            ctx.warn(
                Lint::BroadBucketPattern,
                at,
                format!("bucket pattern `{bucket}` also matches buckets created later"),
                None,
            );
        }
        return;
    }
    match bucket_problem(bucket) {
        None => {}
        Some(problem) => {
            let legacy = (3..=255).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && bucket.chars().any(|c| c.is_ascii_uppercase() || c == '_');
            if legacy {
                ctx.warn(
                    Lint::LegacyBucketName,
                    at,
                    format!("`{bucket}` is a legacy bucket name ({problem})"),
                    Some("only buckets created in us-east-1 before 2018 can have such names; check the spelling"),
                );
            } else {
                ctx.error(at, format!("`{bucket}` is not a valid S3 bucket name: {problem}"), Some("bucket names are 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit"));
            }
        }
    }
}

/// Help for a policy that is not an ARN: a bare name is most likely an AWS managed policy's.
fn arn_help(given: &str) -> String {
    if !given.is_empty() && valid_policy_name(given) {
        format!(
            "managed policies are named by ARN: for the AWS managed policy write `arn:aws:iam::aws:policy/{given}`, \
             for one of your account's, `arn:aws:iam::ACCOUNT_ID:policy/{given}`"
        )
    } else {
        "expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/PATH/NAME"
            .to_owned()
    }
}

fn check_tag_key(ctx: &mut Ctx, at: &[Seg<'_>], key: &str) {
    if key.is_empty() || key.chars().count() > 128 || !key.chars().all(tag_char) {
        ctx.error_at_key(
            at,
            format!("tag key `{key}` is not valid"),
            Some("use 1-128 letters, digits, spaces and _ . : / = + - @"),
        );
    } else if key.to_ascii_lowercase().starts_with("aws:") {
        ctx.error_at_key(
            at,
            format!("tag key `{key}` uses the reserved `aws:` prefix"),
            None,
        );
    }
}
