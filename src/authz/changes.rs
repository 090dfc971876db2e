//! What a plan changes in what principals may do: the evaluator asked, before and after, every catalogue action
//! on every resource the principal's documents name, and the differences put in the spec's words. A policy that is
//! only re-ordered or re-spelled changes no answer, so it shows no access change.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    all, evaluate, from_live, ActionDef, Context, Decision, Policies, Request, UserPolicies,
};
use crate::diff::kind::Reach;
use crate::model::Account;
use crate::pattern::PROBE_ANY as ANY;
use crate::plan::{AccessChange, AccessEffect, Change, Target, TargetKind};
use crate::policy::{AccessLevel, PolicyDocument};

/// Services whose actions the catalogue lists; other actions are asked as the policies spell them.
const CATALOGUED: [&str; 3] = ["s3", "s3express", "kms"];

/// The principals whose access a plan can change: its users and roles, the members of its groups, and whoever
/// has its policies attached (directly or through a group), before or after.
fn touched(
    changes: &[Change],
    before: &Account,
    after: &Account,
) -> BTreeSet<(TargetKind, String)> {
    let mut out = BTreeSet::new();
    let mut groups = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for c in changes {
        let name = c.target.name().to_ascii_lowercase();
        match crate::diff::kind::of(c.target.kind()).reach() {
            Reach::Principal { .. } => {
                out.insert(c.target.folded());
            }
            Reach::Members => {
                groups.insert(name);
            }
            Reach::Attached => {
                policies.insert(name);
            }
        }
    }
    for account in [before, after] {
        let arns: BTreeSet<&str> = account
            .policies
            .values()
            .filter(|p| policies.contains(&p.name.to_ascii_lowercase()))
            .map(|p| p.arn.as_str())
            .collect();
        let mut via_group = groups.clone();
        via_group.extend(
            account
                .groups
                .values()
                .filter(|g| {
                    g.attached_policies
                        .iter()
                        .any(|a| arns.contains(a.as_str()))
                })
                .map(|g| g.name.to_ascii_lowercase()),
        );
        for u in account.users.values() {
            let attached = u
                .attached_policies
                .iter()
                .any(|a| arns.contains(a.as_str()));
            let member = u
                .groups
                .iter()
                .any(|g| via_group.contains(&g.to_ascii_lowercase()));
            if attached || member {
                out.insert(Target::User(u.name.clone()).folded());
            }
        }
        for r in account.roles.values() {
            if r.attached_policies
                .iter()
                .any(|a| arns.contains(a.as_str()))
            {
                out.insert(Target::Role(r.name.clone()).folded());
            }
        }
    }
    out
}

/// `account` with only the principals in `only` (and every group and policy: they decide the principals' access).
fn restricted(account: &Account, only: &BTreeSet<(TargetKind, String)>) -> Account {
    let mut out = account.clone();
    out.users
        .retain(|n, _| only.contains(&(TargetKind::User, n.to_ascii_lowercase())));
    out.roles
        .retain(|n, _| only.contains(&(TargetKind::Role, n.to_ascii_lowercase())));
    out
}

/// Where to ask: the concrete resource, what kind of actions fit it, and how it is shown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Probe {
    shown: String,
    arn: String,
    kind: ProbeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ProbeKind {
    Bucket,
    /// Objects under a bucket and key prefix; listing is asked of the bucket with that prefix.
    Objects,
    /// `*`: actions that take no resource, and every S3 resource.
    Star,
    /// A KMS key or another service's resource: the actions the policies name for it.
    Other,
}

impl ProbeKind {
    /// Whether a catalogue action is asked at a probe of this kind.
    fn fits(self, a: &ActionDef) -> bool {
        match self {
            Self::Bucket => a.on_bucket(),
            Self::Objects => a.on_object(),
            Self::Star => a.only_star(),
            Self::Other => !a.on_bucket() && !a.on_object() && !a.only_star(),
        }
    }
}

fn concrete(pattern: &str) -> String {
    pattern.replace(['*', '?'], ANY)
}

/// The probes a resource pattern asks for.
fn probes_of(resource: &str, out: &mut BTreeSet<Probe>) {
    if resource == "*" {
        out.insert(Probe {
            shown: "*".into(),
            arn: "*".into(),
            kind: ProbeKind::Star,
        });
        return;
    }
    let Some(rest) = resource.strip_prefix("arn:aws:s3:::") else {
        out.insert(Probe {
            shown: resource.to_owned(),
            arn: concrete(resource),
            kind: ProbeKind::Other,
        });
        return;
    };
    let (bucket, key) = match rest.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (rest, None),
    };
    match key {
        Some(_) => {
            out.insert(Probe {
                shown: rest.to_owned(),
                arn: format!("arn:aws:s3:::{}", concrete(rest)),
                kind: ProbeKind::Objects,
            });
        }
        None => {
            out.insert(Probe {
                shown: bucket.to_owned(),
                arn: format!("arn:aws:s3:::{}", concrete(bucket)),
                kind: ProbeKind::Bucket,
            });
            // `arn:aws:s3:::photos*` spans objects too: a `*` matches `/`.
            if bucket.contains('*') {
                out.insert(Probe {
                    shown: format!("{bucket}/*"),
                    arn: format!("arn:aws:s3:::{}/{ANY}", concrete(bucket)),
                    kind: ProbeKind::Objects,
                });
            }
        }
    }
}

/// Every resource and uncatalogued action the principal's documents (on either side) name.
fn gather(sides: [&UserPolicies; 2], probes: &mut BTreeSet<Probe>, extra: &mut BTreeSet<String>) {
    let username = sides[0].username().map(str::to_owned);
    for side in sides {
        let docs = side
            .known
            .iter()
            .map(|(_, d)| d)
            .chain(side.boundary.as_ref().and_then(|(_, d)| d.as_ref()));
        for doc in docs {
            gather_doc(doc, username.as_deref(), probes, extra);
        }
    }
}

fn gather_doc(
    doc: &PolicyDocument,
    username: Option<&str>,
    probes: &mut BTreeSet<Probe>,
    extra: &mut BTreeSet<String>,
) {
    for st in &doc.statements {
        for r in &st.resources {
            let r = match username {
                Some(u) if doc.version == "2012-10-17" => r.replace("${aws:username}", u),
                _ => r.clone(),
            };
            probes_of(&r, probes);
        }
        if st.not_resource {
            probes_of("*", probes);
        }
        for a in &st.actions {
            let service = a.split(':').next().unwrap_or(a).to_ascii_lowercase();
            if !CATALOGUED.contains(&service.as_str()) {
                extra.insert(a.clone());
            }
        }
    }
}

/// The actions asked of a probe, each with the resource and context it is asked with.
fn questions(
    probe: &Probe,
    catalogue: &[&ActionDef],
    extra: &BTreeSet<String>,
) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let named = |out: &mut Vec<_>| {
        for a in extra {
            out.push((a.clone(), probe.arn.clone(), None));
        }
    };
    match probe.kind {
        ProbeKind::Bucket => {
            for a in catalogue.iter().filter(|a| ProbeKind::Bucket.fits(a)) {
                out.push((a.full_name(), probe.arn.clone(), None));
            }
        }
        ProbeKind::Objects => {
            for a in catalogue.iter().filter(|a| ProbeKind::Objects.fits(a)) {
                out.push((a.full_name(), probe.arn.clone(), None));
            }
            // Listing the prefix: asked of the bucket, with the prefix as the request's `s3:prefix`.
            let rest = &probe.arn["arn:aws:s3:::".len()..];
            if let Some((bucket, key)) = rest.split_once('/') {
                for a in AccessLevel::ReadWrite.list_actions() {
                    out.push((
                        (*a).to_owned(),
                        format!("arn:aws:s3:::{bucket}"),
                        Some(key.to_owned()),
                    ));
                }
            }
        }
        ProbeKind::Star => {
            for a in catalogue.iter().filter(|a| ProbeKind::Star.fits(a)) {
                out.push((a.full_name(), "*".to_owned(), None));
            }
            named(&mut out);
        }
        ProbeKind::Other => {
            for a in catalogue.iter().filter(|a| ProbeKind::Other.fits(a)) {
                out.push((a.full_name(), probe.arn.clone(), None));
            }
            named(&mut out);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Allowed,
    Denied,
    Undecided,
}

/// One side's answers: its policies and request contexts, made once for all its questions.
struct Asker<'a> {
    policies: Policies<'a>,
    plain: Context,
    username: Option<&'a str>,
}

impl<'a> Asker<'a> {
    fn new(p: &'a UserPolicies) -> Self {
        let username = p.username();
        let mut plain = Context::new();
        if let Some(u) = username {
            plain = plain.with("aws:username", &[u]);
        }
        Self {
            policies: p.policies(),
            plain,
            username,
        }
    }

    fn ask(&self, action: &str, resource: &str, prefix: Option<&str>) -> Answer {
        let listing;
        let context = match prefix {
            None => &self.plain,
            Some(prefix) => {
                let mut c = Context::new().with("s3:prefix", &[prefix]);
                if let Some(u) = self.username {
                    c = c.with("aws:username", &[u]);
                }
                listing = c;
                &listing
            }
        };
        match evaluate(
            &Request {
                action,
                resource,
                context,
            },
            &self.policies,
        ) {
            Decision::Allowed(_) => Answer::Allowed,
            Decision::Undecided(_) => Answer::Undecided,
            Decision::ExplicitlyDenied(_)
            | Decision::ImplicitlyDenied
            | Decision::DeniedByBoundary(_) => Answer::Denied,
        }
    }
}

/// The words actions are put in, worked out once per plan: every action asked at a probe of each kind (objects:
/// with the listing of their prefix), and each level's actions at an objects probe.
struct Vocabulary {
    every: BTreeMap<ProbeKind, BTreeSet<String>>,
    levels: Vec<(AccessLevel, BTreeSet<String>)>,
}

impl Vocabulary {
    fn new(catalogue: &[ActionDef]) -> Self {
        let kinds = [
            ProbeKind::Bucket,
            ProbeKind::Objects,
            ProbeKind::Star,
            ProbeKind::Other,
        ];
        let every: BTreeMap<ProbeKind, BTreeSet<String>> = kinds
            .into_iter()
            .map(|kind| {
                let mut all: BTreeSet<String> = catalogue
                    .iter()
                    .filter(|a| kind.fits(a))
                    .map(ActionDef::full_name)
                    .collect();
                if kind == ProbeKind::Objects {
                    all.extend(level_list(AccessLevel::ReadWrite));
                }
                (kind, all)
            })
            .collect();
        let levels = AccessLevel::ALL
            .into_iter()
            .map(|level| {
                let set = if level == AccessLevel::Full {
                    every[&ProbeKind::Objects].clone()
                } else {
                    level
                        .object_actions()
                        .iter()
                        .map(|a| (*a).to_owned())
                        .chain(level_list(level))
                        .collect()
                };
                (level, set)
            })
            .collect();
        Self { every, levels }
    }

    /// The spec's words for `actions` at a probe: a level when they are exactly its actions there, "full except
    /// LEVEL" when they are all but one level's, "every s3 bucket action" and the like, else the actions (a long
    /// list shortened).
    fn words(&self, kind: ProbeKind, actions: &BTreeSet<String>) -> String {
        let all = &self.every[&kind];
        if kind == ProbeKind::Objects {
            for (level, set) in &self.levels {
                if actions == set {
                    return level.as_str().to_owned();
                }
                if *level != AccessLevel::Full
                    && actions.len() == all.len() - set.len()
                    && actions.iter().all(|a| all.contains(a) && !set.contains(a))
                {
                    return format!("full except {}", level.as_str());
                }
            }
        }
        // Everything of the services named, bar what a bucket's line leaves to its objects' lines
        // ([`fold_buckets`]).
        let services: BTreeSet<&str> = actions
            .iter()
            .map(|a| a.split(':').next().unwrap_or_default())
            .collect();
        let of_services: BTreeSet<&String> = all
            .iter()
            .filter(|a| services.contains(a.split(':').next().unwrap_or_default()))
            .collect();
        let folded: BTreeSet<&String> = of_services
            .iter()
            .copied()
            .filter(|a| !FOLDABLE.contains(&a.as_str()))
            .collect();
        let have: BTreeSet<&String> = actions.iter().collect();
        if !of_services.is_empty()
            && (have == of_services || (kind == ProbeKind::Bucket && have == folded))
        {
            let services = services.into_iter().collect::<Vec<_>>().join(", ");
            return match kind {
                ProbeKind::Bucket => format!("every {services} bucket action"),
                ProbeKind::Star => format!("every {services} account-wide action"),
                ProbeKind::Objects | ProbeKind::Other => "full".into(),
            };
        }
        let names: Vec<&str> = actions.iter().map(String::as_str).collect();
        if names.len() > LISTED {
            format!(
                "{} and {} more actions",
                names[..LISTED - 1].join(", "),
                names.len() - (LISTED - 1)
            )
        } else {
            names.join(", ")
        }
    }
}

/// Lists longer than this are shortened in the words (the JSON keeps every action).
const LISTED: usize = 6;

fn level_list(level: AccessLevel) -> impl Iterator<Item = String> {
    level.list_actions().iter().map(|a| (*a).to_owned())
}

/// Policies whose documents were not read, added or removed: their access cannot be shown, so they are named.
fn unread(principal: &Target, was: &UserPolicies, is: &UserPolicies) -> Vec<AccessChange> {
    let names = |p: &UserPolicies| -> BTreeSet<String> {
        p.unknown
            .iter()
            .cloned()
            .chain(
                p.boundary
                    .iter()
                    .filter(|(_, d)| d.is_none())
                    .map(|(n, _)| format!("{n} (boundary)")),
            )
            .collect()
    };
    let (was, is) = (names(was), names(is));
    let line = |effect, name: &String| AccessChange {
        principal: principal.clone(),
        effect,
        words: format!("{name}: its document was not read, its access is not shown"),
        actions: Vec::new(),
        resources: vec![name.clone()],
    };
    is.difference(&was)
        .map(|n| line(AccessEffect::Added, n))
        .chain(was.difference(&is).map(|n| line(AccessEffect::Removed, n)))
        .collect()
}

/// The view the comparison evaluates: what is known. Unread policies are named instead ([`unread`]): left in, they
/// would make every answer on both sides "cannot decide".
fn known_only(p: &UserPolicies) -> UserPolicies {
    UserPolicies {
        principal: p.principal.clone(),
        known: p.known.clone(),
        unknown: Vec::new(),
        boundary: p.boundary.clone().filter(|(_, d)| d.is_some()),
    }
}

/// The access changes of a plan: `before` is the live account, `after` the account as the plan leaves it
/// ([`crate::plan::project`]), `documents` the managed policy documents known besides the account's own.
#[must_use]
pub fn access_changes(
    changes: &[Change],
    before: &Account,
    after: &Account,
    documents: &BTreeMap<String, PolicyDocument>,
) -> Vec<AccessChange> {
    let only = touched(changes, before, after);
    if only.is_empty() {
        return Vec::new();
    }
    let (b, a) = (restricted(before, &only), restricted(after, &only));
    let mut before_p: BTreeMap<_, _> = from_live(&b, &b.groups, documents)
        .into_iter()
        .map(|p| (p.principal.folded(), p))
        .collect();
    let mut after_p: BTreeMap<_, _> = from_live(&a, &a.groups, documents)
        .into_iter()
        .map(|p| (p.principal.folded(), p))
        .collect();
    let none = |principal: &Target| UserPolicies {
        principal: principal.clone(),
        known: Vec::new(),
        unknown: Vec::new(),
        boundary: None,
    };
    let pairs: Vec<(UserPolicies, UserPolicies)> = only
        .iter()
        .filter_map(|key| match (before_p.remove(key), after_p.remove(key)) {
            (None, None) => None,
            (Some(pb), Some(pa)) => Some((pb, pa)),
            (Some(pb), None) => {
                let pa = none(&pb.principal);
                Some((pb, pa))
            }
            (None, Some(pa)) => Some((none(&pa.principal), pa)),
        })
        .collect();
    let vocabulary = Vocabulary::new(all());
    crate::par::map_parts(pairs, PRINCIPALS_PER_THREAD, |part| {
        part.iter()
            .flat_map(|(pb, pa)| principal_changes(pb, pa, before, after, &vocabulary))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The fewest principals worth a thread of their own.
const PRINCIPALS_PER_THREAD: usize = 200;

/// The catalogue actions the statements of these principals' policies (and boundaries) name, or every one when a
/// statement names them by exclusion (`NotAction`) or across services (`*`, `s3*:...`): no other action can be
/// allowed, so no other is worth asking.
#[must_use]
pub fn named_actions(sides: &[&UserPolicies]) -> Vec<&'static ActionDef> {
    let mut named: BTreeSet<(&'static str, &'static str)> = BTreeSet::new();
    let docs = sides.iter().flat_map(|side| {
        side.known
            .iter()
            .map(|(_, d)| d)
            .chain(side.boundary.as_ref().and_then(|(_, d)| d.as_ref()))
    });
    for doc in docs {
        for st in &doc.statements {
            if st.not_action {
                return all().iter().collect();
            }
            for pattern in &st.actions {
                let Some((service, _)) = pattern.split_once(':') else {
                    return all().iter().collect();
                };
                if service.contains(['*', '?']) {
                    return all().iter().collect();
                }
                named.extend(
                    super::expand(pattern)
                        .into_iter()
                        .map(|a| (a.service, a.name)),
                );
            }
        }
    }
    all()
        .iter()
        .filter(|a| named.contains(&(a.service, a.name)))
        .collect()
}

/// One principal's access changes.
fn principal_changes(
    pb: &UserPolicies,
    pa: &UserPolicies,
    before: &Account,
    after: &Account,
    vocabulary: &Vocabulary,
) -> Vec<AccessChange> {
    let principal = pa.principal.clone();
    let mut out = trust_change(&principal, before, after);
    out.extend(unread(&principal, pb, pa));
    let (pb, pa) = (known_only(pb), known_only(pa));
    if pb.known == pa.known && pb.boundary == pa.boundary {
        return out;
    }
    let mut probes = BTreeSet::new();
    let mut extra = BTreeSet::new();
    gather([&pb, &pa], &mut probes, &mut extra);
    let actions = named_actions(&[&pb, &pa]);
    let (was_side, is_side) = (Asker::new(&pb), Asker::new(&pa));
    // (effect, probe) -> actions
    let mut found: BTreeMap<(AccessEffect, Probe), BTreeSet<String>> = BTreeMap::new();
    for probe in &probes {
        for (action, resource, prefix) in questions(probe, &actions, &extra) {
            let was = was_side.ask(&action, &resource, prefix.as_deref());
            let is = is_side.ask(&action, &resource, prefix.as_deref());
            let effect = match (was, is) {
                (Answer::Denied, Answer::Allowed) => AccessEffect::Added,
                (Answer::Allowed, Answer::Denied) => AccessEffect::Removed,
                (Answer::Undecided, Answer::Allowed | Answer::Denied)
                | (Answer::Allowed | Answer::Denied, Answer::Undecided) => AccessEffect::Undecided,
                _ => continue,
            };
            found
                .entry((effect, probe.clone()))
                .or_default()
                .insert(action);
        }
    }
    fold_buckets(&mut found);
    // Resources with the same actions are one line.
    let mut lines: BTreeMap<(AccessEffect, String, Vec<String>), Vec<String>> = BTreeMap::new();
    for ((effect, probe), actions) in found {
        let w = vocabulary.words(probe.kind, &actions);
        lines
            .entry((effect, w, actions.into_iter().collect()))
            .or_default()
            .push(probe.shown.replace(ANY, "*"));
    }
    out.extend(
        lines
            .into_iter()
            .map(|((effect, words, actions), resources)| AccessChange {
                principal: principal.clone(),
                effect,
                words,
                actions,
                resources,
            }),
    );
    out
}

/// Bucket actions a bucket's line leaves to its objects' lines.
const FOLDABLE: [&str; 4] = [
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:ListBucketMultipartUploads",
];

/// A bucket's line repeats what its objects' lines already say: listing (asked there with the prefix), and the
/// region lookup and upload listing every grant with objects carries.
fn fold_buckets(found: &mut BTreeMap<(AccessEffect, Probe), BTreeSet<String>>) {
    let objects: Vec<(AccessEffect, String)> = found
        .keys()
        .filter(|(_, p)| p.kind == ProbeKind::Objects)
        .map(|(e, p)| (*e, p.shown.split('/').next().unwrap_or_default().to_owned()))
        .collect();
    found.retain(|(effect, probe), actions| {
        if probe.kind != ProbeKind::Bucket
            || !objects
                .iter()
                .any(|(e, b)| e == effect && *b == probe.shown)
        {
            return true;
        }
        actions.retain(|a| !FOLDABLE.contains(&a.as_str()));
        !actions.is_empty()
    });
}

/// Who may assume a role, before and after, when that changes.
fn trust_change(principal: &Target, before: &Account, after: &Account) -> Vec<AccessChange> {
    let Target::Role(name) = principal else {
        return Vec::new();
    };
    let find = |a: &Account| {
        a.roles
            .values()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .map(|r| crate::plan::trust_words(&r.trust))
    };
    let (was, is) = (find(before), find(after));
    if was == is {
        return Vec::new();
    }
    let line = |effect, words: String| AccessChange {
        principal: principal.clone(),
        effect,
        words: words.clone(),
        actions: vec![crate::plan::ASSUME_ROLE.to_owned()],
        resources: vec![words],
    };
    was.map(|w| line(AccessEffect::Removed, w))
        .into_iter()
        .chain(is.map(|w| line(AccessEffect::Added, w)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};
    use crate::plan::project;

    fn changes_of(spec: &str, live: &Account) -> (Vec<AccessChange>, Account) {
        let loaded = crate::spec::load("s.yaml", spec).unwrap();
        let plan = diff(&loaded.spec, live, &DiffOptions::default()).unwrap();
        let after = project(live, &plan.changes, "123456789012");
        (
            access_changes(&plan.changes, live, &after, &BTreeMap::new()),
            after,
        )
    }

    fn line(c: &AccessChange) -> String {
        crate::render::text::access_line(c)
    }

    #[test]
    fn a_new_grant_reads_in_the_specs_words_and_a_reordering_shows_nothing() {
        let spec = "version: 1\nusers:\n  px:\n    grants:\n      - {buckets: [photos-prod, photos-thumbs], access: read-write}\n      - {buckets: [logs], prefix: px/, access: read}\n";
        let (changes, after) = changes_of(spec, &Account::default());
        let lines: Vec<String> = changes.iter().map(line).collect();
        assert_eq!(
            lines,
            [
                "px: + read on logs/px/*",
                "px: + read-write on photos-prod/*, photos-thumbs/*",
            ],
            "{lines:#?}"
        );
        // The same grants in another order: the documents differ, the access does not.
        let reordered = "version: 1\nusers:\n  px:\n    grants:\n      - {buckets: [logs], prefix: px/, access: read}\n      - {buckets: [photos-thumbs, photos-prod], access: read-write}\n";
        let (changes, _) = changes_of(reordered, &after);
        assert_eq!(changes, [], "{changes:#?}");
        // Narrowing: write taken away.
        let narrower = "version: 1\nusers:\n  px:\n    grants:\n      - {buckets: [logs], prefix: px/, access: read}\n      - {buckets: [photos-thumbs, photos-prod], access: read}\n";
        let (changes, _) = changes_of(narrower, &after);
        let lines: Vec<String> = changes.iter().map(line).collect();
        assert_eq!(
            lines,
            ["px: - write on photos-prod/*, photos-thumbs/*"],
            "{lines:#?}"
        );
    }

    #[test]
    fn members_of_a_changed_group_and_a_roles_trust_are_shown() {
        let spec = "version: 1\nowner: t\ngroups:\n  writers:\n    grants: [{buckets: [media], access: write}]\nusers:\n  a: {groups: [writers]}\nroles:\n  r:\n    trust: {account: \"111111111111\", external_id: x-1}\n";
        let (_, after) = changes_of(spec, &Account::default());
        let changed = spec
            .replace("access: write", "access: read-write")
            .replace("111111111111", "222222222222");
        let (changes, _) = changes_of(&changed, &after);
        let lines: Vec<String> = changes.iter().map(line).collect();
        assert!(
            lines.contains(&"a: + read on media/*".to_owned()),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("role/r: - trusted by account 111111111111")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("role/r: + trusted by account 222222222222")),
            "{lines:#?}"
        );
    }
}
