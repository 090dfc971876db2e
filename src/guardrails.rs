//! Guardrails checked: every principal's documents (grants, shared, raw, managed where known, its groups') asked
//! by the evaluator for each action a `deny` guardrail names, on the places it names and every place of the
//! principal's own inside them; every role's trust against a `trust` guardrail. `validate` checks the spec's
//! principals (offline, so CI fails before anything runs), `plan` and `drift` the live ones. This is Access
//! Analyzer's "access not granted" check, offline.

use std::collections::{BTreeMap, BTreeSet};

use crate::authz::{self, evaluate, Cite, Context, Decision, Origin, Request, UserPolicies};
use crate::model::Account;
use crate::pattern::PROBE_ANY as ANY;
use crate::plan::Target;
use crate::policy::{render_grants, Grant, PolicyDocument};
use crate::spec::{GuardRule, Guardrail, Located, PathSeg, Severity, Spec};

/// The rule id of guardrail findings.
pub const RULE: &str = "guardrail";

/// A principal that breaks a guardrail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The guardrail's name.
    pub guardrail: String,
    /// Its index in the spec's `guardrails`.
    pub index: usize,
    /// The user or role.
    pub principal: Target,
    /// What it may do that the guardrail forbids, in words (`s3:DeleteObject on audit-logs/*`).
    pub what: String,
    /// The statement that allows it (none for trust).
    pub by: Option<Cite>,
    /// Set when the evaluator cannot decide (a managed policy not read, a condition key): a warning, not a breach.
    pub undecided: Option<String>,
    /// One request it decides (action, resource ARN as asked): the grant that alone allows it is the line to show.
    pub example: Option<(String, String)>,
}

impl Breach {
    /// One line: `user alice breaks guardrail audit-logs-are-append-only: may s3:DeleteObject on audit-logs/*
    /// (iamspec-grants, Objects1)`.
    #[must_use]
    pub fn message(&self) -> String {
        let who = self.principal.named();
        match (&self.undecided, &self.by) {
            (Some(why), _) => format!(
                "{who} may break guardrail {}: {} cannot be decided offline ({why})",
                self.guardrail, self.what
            ),
            (None, Some(cite)) => format!(
                "{who} breaks guardrail {}: may {} (allowed by {cite})",
                self.guardrail, self.what
            ),
            (None, None) => format!("{who} breaks guardrail {}: {}", self.guardrail, self.what),
        }
    }
}

fn shown(arn: &str) -> String {
    arn.strip_prefix("arn:aws:s3:::")
        .unwrap_or(arn)
        .replace(ANY, "*")
}

/// The concrete resources a guardrail's resource pattern is asked at: the pattern itself (its wildcards standing
/// for anything), and each place of the principal's own documents that lies inside it.
fn places(pattern: &str, own: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if pattern == "*" {
        out.insert("*".to_owned());
        out.insert(format!("arn:aws:s3:::{ANY}"));
        out.insert(format!("arn:aws:s3:::{ANY}/{ANY}"));
    } else {
        let concrete = pattern.replace(['*', '?'], ANY);
        // `arn:aws:s3:::logs*` covers objects too: a `*` spans `/`.
        if !concrete.contains('/') && pattern.ends_with('*') {
            out.insert(format!("{concrete}/{ANY}"));
        }
        out.insert(concrete);
    }
    for p in own {
        let concrete = p.replace(['*', '?'], ANY);
        if crate::pattern::wildcard(pattern, &concrete) {
            out.insert(concrete);
        }
    }
    out
}

/// Every resource a principal's documents name (variables of `2012-10-17` documents substituted).
fn own_resources(p: &UserPolicies) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, doc) in &p.known {
        for st in &doc.statements {
            for r in &st.resources {
                out.insert(match p.username() {
                    Some(u) if doc.version == "2012-10-17" => r.replace("${aws:username}", u),
                    _ => r.clone(),
                });
            }
        }
    }
    out
}

/// Whether an action is asked at a resource: account-wide actions at `*`, bucket actions at a bucket, object
/// actions at an object.
fn fits(def: &crate::catalogue::ActionDef, resource: &str) -> bool {
    match resource.strip_prefix("arn:aws:s3:::") {
        None => resource == "*" && def.only_star(),
        Some(rest) if rest.contains('/') => def.on_object(),
        Some(_) => def.on_bucket(),
    }
}

/// Actions, the places they are allowed at, and the first request asked.
type ActionsAt = (BTreeSet<String>, BTreeSet<String>, Option<(String, String)>);

fn deny_breaches(
    g: &Guardrail,
    actions: &[String],
    resources: &[String],
    p: &UserPolicies,
) -> Vec<Breach> {
    let mut defs: Vec<&'static crate::catalogue::ActionDef> = actions
        .iter()
        .flat_map(|a| {
            if a == "*" {
                crate::catalogue::all().iter().collect()
            } else {
                crate::catalogue::expand(a)
            }
        })
        .collect();
    defs.sort_by_key(|d| (d.service, d.name));
    defs.dedup_by_key(|d| (d.service, d.name));
    // Only what the principal's known policies name can be allowed: a guardrail on `*` costs what the grants name.
    // A policy whose document is unread could name anything, and its "cannot decide" is the warning to give.
    if p.unknown.is_empty() {
        let named: BTreeSet<(&str, &str)> = authz::named_actions(&[p])
            .into_iter()
            .map(|d| (d.service, d.name))
            .collect();
        defs.retain(|d| named.contains(&(d.service, d.name)));
    }
    let own = own_resources(p);
    let policies = p.policies();
    let mut context = Context::new();
    if let Some(u) = p.username() {
        context = context.with("aws:username", &[u]);
    }
    // By deciding statement (or undecided reason): the actions and places.
    let mut found: BTreeMap<(Option<Cite>, Option<String>), ActionsAt> = BTreeMap::new();
    for pattern in resources {
        for place in places(pattern, &own) {
            for def in defs.iter().filter(|d| fits(d, &place)) {
                let action = def.full_name();
                let key = match evaluate(
                    &Request {
                        action: &action,
                        resource: &place,
                        context: &context,
                    },
                    &policies,
                ) {
                    Decision::Allowed(cite) => (Some(cite), None),
                    Decision::Undecided(why) => (None, Some(why)),
                    Decision::ExplicitlyDenied(_)
                    | Decision::ImplicitlyDenied
                    | Decision::DeniedByBoundary(_) => continue,
                };
                let entry = found.entry(key).or_default();
                entry
                    .2
                    .get_or_insert_with(|| (action.clone(), place.clone()));
                entry.0.insert(action);
                entry.1.insert(shown(&place));
            }
        }
    }
    found
        .into_iter()
        .map(|((by, undecided), (actions, places, example))| Breach {
            guardrail: g.name.clone(),
            index: g.index,
            principal: p.principal.clone(),
            what: format!(
                "{} on {}",
                actions.into_iter().collect::<Vec<_>>().join(", "),
                places.into_iter().collect::<Vec<_>>().join(", ")
            ),
            by,
            undecided,
            example,
        })
        .collect()
}

/// The accounts (or `*`, or `everyone but ...`) a trust policy lets assume the role.
fn trusted_accounts(trust: &PolicyDocument) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in &trust.statements {
        match st.principal.as_deref() {
            Some((key, principal)) if key == "Principal" => {
                let aws = if principal.is_string() {
                    principal.clone()
                } else {
                    principal["AWS"].clone()
                };
                let listed = aws.as_array().cloned().unwrap_or_else(|| vec![aws]);
                for p in listed.iter().filter_map(serde_json::Value::as_str) {
                    let account = if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                        p.to_owned()
                    } else if let Some(rest) = p.strip_prefix("arn:aws:iam::") {
                        rest.split(':').next().unwrap_or(p).to_owned()
                    } else {
                        p.to_owned()
                    };
                    out.insert(account);
                }
            }
            Some((_, _)) => {
                out.insert("everyone but a NotPrincipal".to_owned());
            }
            None => {}
        }
    }
    out
}

/// Every breach of `guardrails` by `principals` (their policies) and `trusts` (roles' trust policies).
#[must_use]
pub fn check(
    guardrails: &[Guardrail],
    principals: &[UserPolicies],
    trusts: &[(Target, &PolicyDocument)],
) -> Vec<Breach> {
    let mut out = Vec::new();
    for g in guardrails {
        match &g.rule {
            GuardRule::Deny { actions, resources } => {
                for p in principals {
                    out.extend(deny_breaches(g, actions, resources, p));
                }
            }
            GuardRule::Trust { accounts } => {
                for (role, trust) in trusts {
                    let outside: Vec<String> = trusted_accounts(trust)
                        .into_iter()
                        .filter(|a| !accounts.contains(a))
                        .collect();
                    if !outside.is_empty() {
                        out.push(Breach {
                            guardrail: g.name.clone(),
                            index: g.index,
                            principal: role.clone(),
                            what: format!("trusts {}", outside.join(", ")),
                            by: None,
                            undecided: None,
                            example: None,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The breaches of the live account's principals (`documents`: managed policy documents read besides the
/// account's own).
#[must_use]
pub fn check_live(
    spec: &Spec,
    live: &Account,
    documents: &BTreeMap<String, PolicyDocument>,
) -> Vec<Breach> {
    if spec.guardrails.is_empty() {
        return Vec::new();
    }
    let principals = authz::from_live(live, &live.groups, documents);
    let trusts: Vec<(Target, &PolicyDocument)> = live
        .roles
        .values()
        .map(|r| (Target::Role(r.name.clone()), &r.trust))
        .collect();
    check(&spec.guardrails, &principals, &trusts)
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_owned())
}

/// The first of `grants` that alone allows the request: the line a reviewer must change.
fn granting(grants: &[Grant], breach: &Breach, p: &UserPolicies) -> Option<usize> {
    let (action, resource) = breach.example.as_ref()?;
    let mut context = Context::new();
    if let Some(u) = p.username() {
        context = context.with("aws:username", &[u]);
    }
    grants.iter().position(|g| {
        render_grants(std::slice::from_ref(g)).is_some_and(|doc| {
            evaluate(
                &Request {
                    action,
                    resource,
                    context: &context,
                },
                &authz::Policies {
                    known: vec![(String::new(), &doc)],
                    unknown: Vec::new(),
                    boundary: None,
                },
            )
            .is_allowed()
        })
    })
}

/// Where in the spec a breach comes from: the grant (or raw policy, shared policy, group, trust) that allows it.
fn spec_path(spec: &Spec, b: &Breach, p: &UserPolicies) -> Vec<PathSeg> {
    let with_grant = |mut path: Vec<PathSeg>, grants: &[Grant]| {
        path.push(key("grants"));
        if let Some(i) = granting(grants, b, p) {
            path.push(PathSeg::Index(i));
        }
        path
    };
    let shared = |name: &str| match spec.policies.iter().find(|sp| sp.name == name) {
        Some(sp) => with_grant(vec![key("policies"), key(name)], &sp.grants),
        None => vec![key("policies"), key(name)],
    };
    let Some(cite) = &b.by else {
        return match &b.principal {
            Target::Role(r) => vec![key("roles"), key(r), key("trust")],
            Target::User(_) | Target::Group(_) | Target::Policy(_) => vec![
                key(crate::diff::kind::of(b.principal.kind()).section()),
                key(b.principal.name()),
            ],
        };
    };
    let base = match &b.principal {
        Target::User(name) => vec![key("users"), key(name)],
        Target::Role(name) => vec![key("roles"), key(name)],
        Target::Group(_) | Target::Policy(_) => return Vec::new(),
    };
    let own_grants: &[Grant] = match &b.principal {
        Target::User(name) => spec
            .users
            .iter()
            .find(|u| &u.name == name)
            .map_or(&[], |u| &u.grants),
        Target::Role(name) => spec
            .roles
            .iter()
            .find(|r| &r.name == name)
            .map_or(&[], |r| &r.grants),
        Target::Group(_) | Target::Policy(_) => &[],
    };
    let grants_policy = match &b.principal {
        Target::User(name) => spec
            .users
            .iter()
            .find(|u| &u.name == name)
            .map(|u| u.grants_policy_name.as_str()),
        Target::Role(_) | Target::Group(_) | Target::Policy(_) => Some(crate::model::GRANTS_POLICY),
    };
    match p.origin(&cite.policy) {
        Some(Origin::Shared(name)) => shared(name),
        Some(Origin::Group { group, policy }) => match policy.as_ref() {
            Origin::Shared(name) => shared(name),
            _ => match spec.groups.iter().find(|g| &g.name == group) {
                Some(sg) => with_grant(vec![key("groups"), key(group)], &sg.grants),
                None => base,
            },
        },
        Some(Origin::Inline(name)) if Some(name.as_str()) == grants_policy => {
            with_grant(base, own_grants)
        }
        Some(Origin::Inline(name)) => {
            let mut path = base;
            path.extend([key("raw_policies"), key(name)]);
            path
        }
        Some(Origin::Managed(_)) => {
            let mut path = base;
            path.push(key("managed_policies"));
            path
        }
        None => base,
    }
}

/// `validate`'s findings: the spec's own principals against its guardrails, each placed at the spec line that
/// grants the access (an error), or a warning where the evaluator cannot decide offline.
#[must_use]
pub fn spec_findings(spec: &Spec) -> Vec<Located> {
    if spec.guardrails.is_empty() {
        return Vec::new();
    }
    let principals = authz::from_spec(spec);
    let roles: Vec<(Target, PolicyDocument)> = spec
        .roles
        .iter()
        .map(|sr| {
            (
                Target::Role(sr.name.clone()),
                crate::diff::desired_role(spec, sr).trust,
            )
        })
        .collect();
    let trusts: Vec<(Target, &PolicyDocument)> =
        roles.iter().map(|(t, d)| (t.clone(), d)).collect();
    let by_principal: BTreeMap<Target, &UserPolicies> = principals
        .iter()
        .map(|p| (p.principal.clone(), p))
        .collect();
    let empty = UserPolicies {
        principal: Target::User(String::new()),
        known: Vec::new(),
        unknown: Vec::new(),
        boundary: None,
    };
    check(&spec.guardrails, &principals, &trusts)
        .into_iter()
        .map(|b| {
            let p = by_principal.get(&b.principal).copied().unwrap_or(&empty);
            let path = spec_path(spec, &b, p);
            let (severity, help) = if b.undecided.is_some() {
                (
                    Severity::Warning,
                    "plan checks the live account, where managed policies' documents are read".to_owned(),
                )
            } else if b.by.is_none() {
                (
                    Severity::Error,
                    format!(
                        "trust only the accounts guardrail {} (guardrails[{}]) lists, or add the account there",
                        b.guardrail, b.index
                    ),
                )
            } else {
                (
                    Severity::Error,
                    format!(
                        "narrow the grant, or change guardrail {} (guardrails[{}]) if the access is meant",
                        b.guardrail, b.index
                    ),
                )
            };
            Located {
                severity,
                path,
                message: b.message(),
                help: Some(help),
                rule: Some(RULE),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(yaml: &str) -> Vec<String> {
        let loaded = crate::spec::load("s.yaml", yaml).unwrap();
        spec_findings(&loaded.spec)
            .into_iter()
            .map(
                |Located {
                     severity,
                     path,
                     message,
                     ..
                 }| {
                    let path: Vec<String> = path
                        .iter()
                        .map(|s| match s {
                            PathSeg::Key(k) => k.clone(),
                            PathSeg::Index(i) => i.to_string(),
                        })
                        .collect();
                    format!("{severity:?} {}: {message}", path.join("."))
                },
            )
            .collect()
    }

    const GUARD: &str = "version: 1\nguardrails:\n  - name: append-only\n    deny: {actions: [s3:DeleteObject], resources: [\"audit-logs/*\"]}\n";

    #[test]
    fn wildcards_groups_and_shared_policies_count_as_the_evaluator_decides() {
        let spec = format!(
            "{GUARD}policies:\n  ops: {{grants: [{{buckets: [audit-logs], actions: [\"s3:*\"]}}]}}\ngroups:\n  cleaners: {{grants: [{{buckets: [\"audit-*\"], actions: [\"s3:Delete*\"]}}]}}\nusers:\n  a: {{policies: [ops]}}\n  b: {{groups: [cleaners]}}\n  c: {{grants: [{{buckets: [audit-logs], access: read}}, {{buckets: [audit-logs], prefix: tmp/, access: write}}]}}\n  d: {{grants: [{{buckets: [other-logs], access: full}}]}}\n"
        );
        let found = findings(&spec);
        assert_eq!(
            found,
            [
                "Error policies.ops.grants.0: user a breaks guardrail append-only: may s3:DeleteObject on audit-logs/* (allowed by policy/ops, BucketsAndObjects1)",
                "Error groups.cleaners.grants.0: user b breaks guardrail append-only: may s3:DeleteObject on audit-logs/* (allowed by group cleaners: iamspec-grants, BucketsAndObjects1)",
                "Error users.c.grants.1: user c breaks guardrail append-only: may s3:DeleteObject on audit-logs/tmp/* (allowed by iamspec-grants, Objects2)",
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn a_guardrail_on_every_bucket_points_at_the_grant_that_breaks_it() {
        let spec = "version: 1\nguardrails:\n  - name: no-bucket-policy-writes\n    deny: {actions: [s3:PutBucketPolicy], resources: [\"*\"]}\nusers:\n  x:\n    grants:\n      - {buckets: [photos-prod], access: read}\n      - {buckets: [\"*\"], actions: [\"s3:Put*\"]}\n";
        let found = findings(spec);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("Error users.x.grants.1: user x breaks guardrail no-bucket-policy-writes: may s3:PutBucketPolicy on"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_deny_of_the_principals_own_keeps_it_inside_and_unread_policies_only_warn() {
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::audit-logs/*"}]}"#;
        let spec = format!(
            "{GUARD}users:\n  a:\n    raw_policies:\n      own: {deny}\n  m: {{managed_policies: [arn:aws:iam::aws:policy/AmazonS3FullAccess]}}\n"
        );
        let found = findings(&spec);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("Warning users.m: user m may break guardrail append-only"),
            "{found:#?}"
        );
    }
}
