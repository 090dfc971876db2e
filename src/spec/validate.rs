//! Validation: a [`RawSpec`] and its YAML tree become a [`Spec`], or every error of the file at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::diagnostic::{field_path, Diagnostic, Diagnostics, Severity};
use super::raw::{RawGrant, RawSpec, RawUser};
use super::split;
use super::structure;
use super::tree::{self, Node, Pos, Seg};
use crate::model::{self, OWNER_TAG};
use crate::policy::{
    render_grants, size_bound, AccessLevel, Grant, GrantAccess, PolicyDocument, ACCESS_KEY_LIMIT,
    DEFAULT_ATTACHED_LIMIT, INLINE_USER_LIMIT, MAX_ATTACHED_LIMIT, TAG_LIMIT,
};

/// A validated spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The pinned account, if any.
    pub account_id: Option<String>,
    /// The owner tag value.
    pub owner: String,
    /// Path for created users.
    pub path: String,
    /// Whether owned users missing from the spec are deleted.
    pub prune: bool,
    /// Tag keys left alone on managed users.
    pub ignore_tags: BTreeSet<String>,
    /// Managed-policy attachment quota per user.
    pub max_attached: usize,
    /// Live users to leave alone entirely.
    pub ignore: Vec<IgnoreRule>,
    /// Shared grant sets (customer-managed policies), in spec order.
    pub policies: Vec<SpecPolicy>,
    /// Users in spec order.
    pub users: Vec<SpecUser>,
}

/// A shared grant set, rendered to a customer-managed policy under the spec's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecPolicy {
    /// The policy name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its grants.
    pub grants: Vec<Grant>,
}

impl SpecPolicy {
    /// The rendered document.
    #[must_use]
    pub fn document(&self) -> Option<PolicyDocument> {
        render_grants(&self.grants)
    }
}

/// A validated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecUser {
    /// IAM user name.
    pub name: String,
    /// Tags, without the owner tag.
    pub tags: BTreeMap<String, String>,
    /// Bucket grants.
    pub grants: Vec<Grant>,
    /// Managed policy ARNs.
    pub managed_policies: BTreeSet<String>,
    /// Names of the spec's shared policies the user attaches.
    pub policies: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Whether a live, untagged user of this name may be taken over.
    pub adopt: bool,
    /// Access key policy, when the spec declares keys.
    pub access_keys: Option<KeyPolicy>,
    /// The inline policy name the grants render into.
    pub grants_policy_name: String,
    /// Inline policies kept verbatim.
    pub raw_policies: BTreeMap<String, PolicyDocument>,
}

/// How many keys a user keeps and when they rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeyPolicy {
    /// Active keys wanted (0-2).
    pub count: usize,
    /// Rotation age in days.
    pub max_age_days: u32,
    /// Days a rotated key stays deactivated before deletion.
    pub grace_days: u32,
}

/// A rule naming live users iamspec ignores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// Case-insensitive user-name glob.
    pub users: Option<String>,
    /// Tags that must all match (`*` for any value).
    pub tags: BTreeMap<String, String>,
}

impl IgnoreRule {
    /// Whether this rule covers the user.
    #[must_use]
    pub fn matches(&self, user: &model::User) -> bool {
        self.users
            .as_ref()
            .is_none_or(|g| glob_match(g, &user.name))
            && self
                .tags
                .iter()
                .all(|(k, v)| user.tags.get(k).is_some_and(|live| v == "*" || live == v))
    }
}

/// A loaded spec with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The spec.
    pub spec: Spec,
    /// Lint warnings (no errors).
    pub warnings: Diagnostics,
}

impl Spec {
    /// Whether any ignore rule covers the user.
    #[must_use]
    pub fn ignores(&self, user: &model::User) -> bool {
        self.ignore.iter().any(|r| r.matches(user))
    }

    /// The spec user matching `name` case-insensitively.
    #[must_use]
    pub fn user(&self, name: &str) -> Option<&SpecUser> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }
}

impl SpecUser {
    /// A user with only a name: no grants, tags, policies, groups or keys.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tags: BTreeMap::new(),
            grants: Vec::new(),
            managed_policies: BTreeSet::new(),
            policies: BTreeSet::new(),
            groups: BTreeSet::new(),
            permissions_boundary: None,
            adopt: false,
            access_keys: None,
            grants_policy_name: crate::model::GRANTS_POLICY.to_owned(),
            raw_policies: BTreeMap::new(),
        }
    }

    /// The rendered inline grants policy, if the user has grants.
    #[must_use]
    pub fn grants_policy(&self) -> Option<PolicyDocument> {
        // Rendered on demand, not kept: at 100,000 users the kept documents would cost more memory (and page
        // faults) than rendering twice costs time.
        render_grants(&self.grants)
    }
}

/// Case-insensitive glob match with `*` and `?`.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What validation found, with field paths but no positions yet: users are validated on every core, and positions
/// come from one tree afterwards ([`Locator`]).
#[derive(Default)]
struct Ctx {
    found: Vec<Finding>,
}

/// One problem before it is located.
struct Finding {
    severity: Severity,
    path: Vec<PathSeg>,
    at_key: bool,
    message: String,
    help: Option<String>,
}

/// An owned [`Seg`].
enum PathSeg {
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
        });
    }

    fn error(&mut self, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Error, path, false, message, help);
    }

    fn error_at_key(&mut self, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Error, path, true, message, help);
    }

    fn warn(&mut self, path: &[Seg<'_>], message: String, help: Option<&str>) {
        self.add(Severity::Warning, path, false, message, help);
    }
}

/// Positions for findings. The position-keeping tree is parsed only when a finding needs a position: a valid spec
/// never pays for it (a 100,000-user spec would spend more time and memory on the tree than on everything else).
struct Locator<'a> {
    text: &'a str,
    tree: std::cell::OnceCell<Option<Node>>,
    users: std::cell::OnceCell<std::collections::HashMap<String, usize>>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            tree: std::cell::OnceCell::new(),
            users: std::cell::OnceCell::new(),
        }
    }

    fn diagnostic(&self, finding: Finding) -> Diagnostic {
        let path: Vec<Seg<'_>> = finding
            .path
            .iter()
            .map(|seg| match seg {
                PathSeg::Key(k) => Seg::Key(k),
                PathSeg::Index(i) => Seg::Index(*i),
            })
            .collect();
        Diagnostic {
            severity: finding.severity,
            field: field_path(&path),
            message: finding.message,
            help: finding.help,
            pos: self.locate(&path, finding.at_key),
        }
    }

    fn locate(&self, path: &[Seg<'_>], at_key: bool) -> Pos {
        let Some(tree) = self.tree.get_or_init(|| tree::parse(self.text).ok()) else {
            return Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            };
        };
        // The users mapping can be huge: jump to the user through an index instead of scanning.
        let (base, rest, base_key) = match (path, tree.get("users")) {
            ([Seg::Key("users"), Seg::Key(name), rest @ ..], Some((_, users))) => {
                let index = self.users.get_or_init(|| match &users.value {
                    tree::Value::Map(entries) => entries
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (k, _))| k.as_str().map(|k| (k.to_owned(), i)))
                        .collect(),
                    _ => std::collections::HashMap::new(),
                });
                match (index.get(*name), &users.value) {
                    (Some(i), tree::Value::Map(entries)) => {
                        (&entries[*i].1, rest, Some(&entries[*i].0))
                    }
                    _ => (tree, path, None),
                }
            }
            _ => (tree, path, None),
        };
        for n in (0..=rest.len()).rev() {
            if let Some((node, key)) = base.find(&rest[..n]) {
                let key = key.or(if n == 0 { base_key } else { None });
                return match (at_key || n < rest.len(), key) {
                    (true, Some(key)) => key.pos,
                    _ => node.pos,
                };
            }
        }
        tree.pos
    }
}

/// Every located problem of a file serde refused: tree errors (syntax, hostile input), shape errors (unknown fields,
/// types), or, when the tree finds nothing, serde's own message at serde's position.
fn explain_refusal(text: &str, e: &serde_norway::Error) -> Vec<Diagnostic> {
    let doc = |message: String, help: Option<String>, pos: Pos| {
        vec![Diagnostic {
            severity: Severity::Error,
            field: "(document)".into(),
            message,
            help,
            pos,
        }]
    };
    let tree = match tree::parse(text) {
        Ok(tree) => tree,
        Err(t) => return doc(t.message, t.help, t.pos),
    };
    if !matches!(tree.value, tree::Value::Map(_)) {
        return doc(
            format!(
                "a spec is a mapping with `version` and `users`, found {}",
                tree.kind()
            ),
            Some("start from one of the files in examples/".into()),
            tree.pos,
        );
    }
    let shape = structure::check(&tree);
    if !shape.is_empty() {
        return shape;
    }
    let (line, col, offset) = e
        .location()
        .map_or((1, 1, 0), |l| (l.line(), l.column(), l.index()));
    doc(
        e.to_string(),
        None,
        Pos {
            line,
            col,
            offset,
            len: 1,
        },
    )
}

/// Loads and validates a spec from its text. Pure: the caller reads the file.
///
/// # Errors
/// Every error in the file (with the warnings), when there is at least one.
pub fn load(file: &str, text: &str) -> Result<Loaded, Diagnostics> {
    // The source is kept for snippets only when there is something to show: a 30 MB spec is not copied for none.
    let fail = |items: Vec<Diagnostic>| Diagnostics {
        file: file.to_owned(),
        source: Arc::from(if items.is_empty() { "" } else { text }),
        items,
    };
    if text.len() > tree::MAX_BYTES {
        return Err(fail(vec![Diagnostic {
            severity: Severity::Error,
            field: "(document)".into(),
            message: format!(
                "spec is {} bytes; the limit is {} bytes",
                text.len(),
                tree::MAX_BYTES
            ),
            help: Some(
                "a spec this large is not a hand-written spec; split it by team or account".into(),
            ),
            pos: Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            },
        }]));
    }
    // serde first: it is fast, and it bounds recursion and alias expansion itself. Only when it refuses the file
    // does the position-keeping tree run, to report every problem of the file (serde stops at the first).
    let cut = (text.len() >= split::MIN_BYTES)
        .then(|| split::read(text, split::PIECE_BYTES))
        .flatten();
    let raw: RawSpec = match cut.map_or_else(|| serde_norway::from_str(text), Ok) {
        Ok(raw) => raw,
        Err(e) => return Err(fail(explain_refusal(text, &e))),
    };
    let mut ctx = Ctx::default();
    let spec = validate(raw, &mut ctx);
    let locator = Locator::new(text);
    let mut items: Vec<Diagnostic> = ctx
        .found
        .into_iter()
        .map(|f| locator.diagnostic(f))
        .collect();
    items.sort_by_key(|d| (d.pos.offset, d.severity));
    let diags = fail(items);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Loaded {
        spec,
        warnings: diags,
    })
}

fn validate(mut raw: RawSpec, ctx: &mut Ctx) -> Spec {
    // Consumed user by user, so each raw user's memory is reused for its validated form.
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
    if !valid_iam_path(&path) {
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
        if rule.users.is_none() && rule.tags.as_ref().is_none_or(|t| t.is_empty()) {
            ctx.error(
                &at,
                "an ignore rule needs `users`, `tags` or both".into(),
                None,
            );
        }
        ignore.push(IgnoreRule {
            users: rule.users.clone(),
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
        let policy = SpecPolicy {
            name: name.clone(),
            description: rp.description.clone(),
            grants,
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
            extra.extend(policy);
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
    Spec {
        account_id: raw.account_id.clone(),
        owner,
        path,
        prune,
        ignore_tags,
        max_attached,
        ignore,
        policies: policies.into_iter().chain(extra_policies).collect(),
        users,
    }
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
        name: format!("iamspec-{name}"),
        description: Some(format!("Grants of {name} (policy_mode: managed)")),
        grants: std::mem::take(&mut user.grants),
    };
    let mut p = at.to_vec();
    p.push(Seg::Key("policy_mode"));
    if known.contains(&policy.name) {
        ctx.error(
            &p,
            format!("`{}` is already a policy in `policies`", policy.name),
            None,
        );
    }
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
    // iamspec's own tags: the owner tag, and with keys `keys-since` plus one delivery tag per key.
    let key_count = raw
        .access_keys
        .as_ref()
        .map(|k| k.count.unwrap_or(1) as usize);
    let reserved = 1 + key_count.map_or(0, |n| 1 + n.min(ACCESS_KEY_LIMIT));
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
                Some("expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/PATH/NAME"),
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
                Some("expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/PATH/NAME"),
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
        adopt: raw.adopt.unwrap_or(false),
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
    if let Some(prefix) = &raw.prefix {
        let p = sub(Seg::Key("prefix"));
        if prefix.is_empty() {
            ctx.error(
                &p,
                "an empty prefix; leave `prefix` out to grant the whole bucket".into(),
                None,
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
            &sub(Seg::Key("access")),
            "`full` grants s3:*, including deleting the bucket and changing its policy".into(),
            Some("most services need `read-write`"),
        );
    }
    for (i, action) in raw.actions.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("actions"));
        p.push(Seg::Index(i));
        check_action(ctx, &p, action);
    }
    let access = access?;
    Some(Grant {
        buckets: raw.buckets.clone(),
        prefix: raw.prefix.clone(),
        access,
    })
}

const SENSITIVE: [&str; 6] = [
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutObjectAcl",
];

fn check_action(ctx: &mut Ctx, at: &[Seg<'_>], action: &str) {
    let Some(name) = action.get(3..).filter(|_| {
        action
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("s3:"))
    }) else {
        ctx.error(
            at,
            format!("action `{action}` is not an S3 action"),
            Some("grants manage S3 access only; actions start with `s3:`"),
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
    if name == "*" {
        ctx.warn(
            at,
            "`s3:*` allows every S3 action, including deleting buckets".into(),
            Some("list the actions the service needs"),
        );
    } else if name.contains(['*', '?']) {
        let hits: Vec<&str> = SENSITIVE
            .iter()
            .copied()
            .filter(|s| glob_match(action, s))
            .collect();
        if !hits.is_empty() {
            ctx.warn(
                at,
                format!("`{action}` includes {}", hits.join(", ")),
                Some("a wildcard action lets the user change who else can read the bucket; list the actions it needs"),
            );
        }
    }
}

fn check_bucket(ctx: &mut Ctx, at: &[Seg<'_>], bucket: &str) {
    if bucket == "*" {
        ctx.warn(
            at,
            "grant on every bucket in the account".into(),
            Some("name the buckets the service works on"),
        );
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

/// What is wrong with a bucket name under today's S3 rules, if anything.
fn bucket_problem(b: &str) -> Option<&'static str> {
    if b.len() < 3 || b.len() > 63 {
        return Some("it must be 3-63 characters long");
    }
    if b.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("it has capital letters");
    }
    if !b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Some("it has characters other than a-z 0-9 . -");
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(b.chars().next()) || !edge(b.chars().last()) {
        return Some("it must start and end with a letter or digit");
    }
    if b.contains("..") {
        return Some("it has two adjacent periods");
    }
    if b.parse::<Ipv4Addr>().is_ok() {
        return Some("it is formatted as an IP address");
    }
    if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| b.starts_with(p))
    {
        return Some("it starts with a reserved prefix");
    }
    if ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        .iter()
        .any(|s| b.ends_with(s))
    {
        return Some("it ends with a reserved suffix");
    }
    None
}

fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn valid_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(iam_name_char)
}

fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(iam_name_char)
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
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

fn valid_iam_path(path: &str) -> bool {
    path == "/"
        || (path.len() <= 512
            && path.len() >= 2
            && path.starts_with('/')
            && path.ends_with('/')
            && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
            && !path.contains("//"))
}

/// `arn:PARTITION:iam::(aws|ACCOUNT):policy/[PATH/]NAME`.
pub(crate) fn valid_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        return false;
    }
    if !matches!(
        parts[1],
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    ) {
        return false;
    }
    if parts[4] != "aws" && !(parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let Some(rest) = parts[5].strip_prefix("policy/") else {
        return false;
    };
    let name = rest.rsplit('/').next().unwrap_or("");
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(iam_name_char)
        && rest.chars().all(|c| c == '/' || iam_name_char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        assert_eq!(bucket_problem("photos-prod"), None);
        assert_eq!(bucket_problem("a.b-c1"), None);
        assert!(bucket_problem("ab").is_some());
        assert!(bucket_problem("192.168.1.1").is_some());
        assert!(bucket_problem("a..b").is_some());
        assert!(bucket_problem("-abc").is_some());
        assert!(bucket_problem("xn--abc").is_some());
        assert!(bucket_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn policy_arns() {
        assert!(valid_policy_arn(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ));
        assert!(valid_policy_arn(
            "arn:aws:iam::123456789012:policy/team/s3-read"
        ));
        assert!(!valid_policy_arn("arn:aws:iam::12345:policy/x"));
        assert!(!valid_policy_arn("AmazonS3ReadOnlyAccess"));
        assert!(!valid_policy_arn("arn:aws:iam::aws:role/x"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("s3:Put*", "s3:PutBucketPolicy"));
        assert!(glob_match("S3:put*", "s3:PutBucketPolicy"));
        assert!(!glob_match("s3:Get*", "s3:PutBucketPolicy"));
        assert!(glob_match("break-glass-?", "break-glass-1"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn paths() {
        assert!(valid_iam_path("/"));
        assert!(valid_iam_path("/iamspec/"));
        assert!(valid_iam_path("/a/b/"));
        assert!(!valid_iam_path("iamspec/"));
        assert!(!valid_iam_path("/iamspec"));
        assert!(!valid_iam_path("/a//b/"));
    }

    #[test]
    fn loads_the_design_example() {
        let text = r#"
version: 1
account_id: "123456789012"
owner: web-platform
path: /iamspec/
prune: false
users:
  iam_pixelshift:
    tags: { team: web }
    grants:
      - buckets: [photos-prod, photos-thumbs]
        access: read-write
      - buckets: [photos-archive]
        prefix: originals/
        access: read
    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    access_keys: { count: 1, max_age_days: 90, grace_days: 7 }
  ewww-optimizer:
    grants:
      - buckets: ["*"]
        actions: [s3:CreateBucket, s3:DeleteObject, "s3:Put*", "s3:Get*", "s3:List*"]
"#;
        let loaded = load("spec.yaml", text).unwrap();
        assert_eq!(loaded.spec.users.len(), 2);
        assert_eq!(loaded.spec.owner, "web-platform");
        let warnings: Vec<&str> = loaded
            .warnings
            .items
            .iter()
            .map(|d| d.field.as_str())
            .collect();
        assert_eq!(
            warnings,
            vec![
                "users.ewww-optimizer.grants[0].buckets[0]",
                "users.ewww-optimizer.grants[0].actions[2]"
            ]
        );
    }

    #[test]
    fn case_insensitive_duplicates_name_both() {
        let err = load("s.yaml", "version: 1\nusers:\n  Alice: {}\n  alice: {}\n").unwrap_err();
        let plain = err.to_plain();
        assert!(
            plain.contains("s.yaml:4:3: users.alice: user `alice` duplicates `Alice`"),
            "{plain}"
        );
    }

    /// A spec big enough to be read in pieces and validated on every core reports exactly what a small one would:
    /// each finding once, at its own line, in file order, duplicates found across parts.
    #[test]
    fn large_specs_report_like_small_ones() {
        let mut text = String::from("version: 1\nowner: big\nusers:\n");
        let mut lines = 3;
        let mut expect = Vec::new();
        for i in 0..8_000 {
            let bucket = if i == 17 { "bad..bucket" } else { "assets" };
            let name = if i == 7_500 {
                "USER-0017".to_owned()
            } else {
                format!("user-{i:04}")
            };
            text.push_str(&format!(
                "  {name}:\n    tags: {{ team: web, index: \"{i}\" }}\n    grants:\n      - buckets: [{bucket}, logs-{i}]\n        prefix: u{i}/\n        access: read\n"
            ));
            if i == 17 {
                expect.push(format!("error: s.yaml:{}:", lines + 4));
            }
            if i == 7_500 {
                expect.push(format!(
                    "error: s.yaml:{}:3: users.USER-0017: user `USER-0017` duplicates `user-0017`",
                    lines + 1
                ));
            }
            lines += 6;
        }
        assert!(text.len() > split::MIN_BYTES, "{} bytes", text.len());
        let plain = load("s.yaml", &text).unwrap_err().to_plain();
        let found: Vec<&str> = plain.lines().filter(|l| l.contains("s.yaml:")).collect();
        assert_eq!(found.len(), 2, "{plain}");
        for (line, want) in found.iter().zip(&expect) {
            assert!(line.starts_with(want.as_str()), "{line} / {want}");
        }
        assert!(found[0].contains("bad..bucket"), "{plain}");

        let valid = text
            .replace("bad..bucket", "assets")
            .replace("USER-0017", "user-8000");
        let spec = load("s.yaml", &valid)
            .map_err(|e| e.to_plain())
            .unwrap()
            .spec;
        assert_eq!(spec.users.len(), 8_000);
        assert_eq!(spec.users[7_999].name, "user-7999");
        assert_eq!(spec.users[7_500].name, "user-8000");
    }
}
