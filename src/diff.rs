//! The pure diff: desired (the spec) against live (an [`Account`]) gives a [`Plan`].
//!
//! No I/O, no clock (`now` is passed in), no randomness. Ownership rules of DESIGN.md live here: the owner tag,
//! `adopt`, case-insensitive names, exclusivity over owned users, pruning, and the per-user ordering rule.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    is_internal_tag, Account, KeyStatus, User, KEYS_SINCE_TAG, KEY_TAG_PREFIX, OWNER_TAG,
};
use crate::plan::{Action, Change, GrantChange, Notice, NoticeKind, Op, Plan};
use crate::policy::{summarize, PolicyDocument, ACCESS_KEY_LIMIT, INLINE_USER_LIMIT, TAG_LIMIT};
use crate::spec::{Spec, SpecUser};

const DAY: i64 = 86_400;

/// Inputs of a diff besides the two sides.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Current time, seconds since the epoch (key ages).
    pub now: i64,
    /// Limit the plan to these users (lower-cased), like terraform's `-target`.
    pub only: Option<BTreeSet<String>>,
    /// The account, for the ARNs of the spec's shared policies (default: the spec's `account_id`).
    pub account_id: Option<String>,
}

/// The ARN a shared policy of the spec has (or will have).
#[must_use]
pub fn policy_arn(spec: &Spec, account: Option<&str>, name: &str) -> String {
    let account = account
        .or(spec.account_id.as_deref())
        .unwrap_or("000000000000");
    format!("arn:aws:iam::{account}:policy{}{name}", spec.path)
}

impl DiffOptions {
    fn in_scope(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.contains(&name.to_ascii_lowercase()))
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// Spec users iamspec may not write to.
    #[error("{} spec user(s) conflict with live users iamspec does not own", .0.len())]
    Conflicts(Vec<Conflict>),
}

/// One spec user that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The spec's name.
    pub user: String,
    /// What is wrong.
    pub message: String,
    /// How to resolve it.
    pub help: String,
}

/// The users that `prune` would delete: owned, not in the spec, not ignored, in scope. The caller reads their
/// dependents (keys, login profile, MFA...) before calling [`diff`].
#[must_use]
pub fn prune_candidates(spec: &Spec, live: &Account, opts: &DiffOptions) -> Vec<String> {
    if !spec.prune {
        return Vec::new();
    }
    let in_spec = spec_names(spec);
    live.users
        .values()
        .filter(|u| {
            u.is_owned_by(&spec.owner)
                && !in_spec.contains(&Caseless(&u.name))
                && !spec.ignores(u)
                && opts.in_scope(&u.name)
        })
        .map(|u| u.name.clone())
        .collect()
}

/// Spec user names, matched case-insensitively as IAM does; lookups must not be linear scans (accounts hold up
/// to 5,000 users, organisations' specs 100,000).
fn spec_names(spec: &Spec) -> std::collections::HashSet<Caseless<'_>> {
    spec.users.iter().map(|u| Caseless(&u.name)).collect()
}

/// Live users by name, case-insensitively.
fn live_index(live: &Account) -> std::collections::HashMap<Caseless<'_>, &User> {
    live.users
        .values()
        .map(|u| (Caseless(&u.name), u))
        .collect()
}

/// A user name compared and hashed as IAM compares names: ignoring ASCII case. Matching 100,000 names this way
/// costs no lower-cased copies.
#[derive(Debug, Clone, Copy)]
struct Caseless<'a>(&'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl std::hash::Hash for Caseless<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // IAM names are at most 64 bytes: one block, lower-cased on the stack, in the usual case.
        let mut block = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(block.len()) {
            let block = &mut block[..chunk.len()];
            block.copy_from_slice(chunk);
            block.make_ascii_lowercase();
            state.write(block);
        }
        state.write_u8(0xff);
    }
}

/// Users whose access keys the plan needs: owned (or adopted) spec users that declare keys.
#[must_use]
pub fn key_users(spec: &Spec) -> BTreeSet<String> {
    spec.users
        .iter()
        .filter(|u| u.access_keys.is_some())
        .map(|u| u.name.to_ascii_lowercase())
        .collect()
}

/// The desired model user for a spec user (what the account should hold).
#[must_use]
pub fn desired_user(spec: &Spec, su: &SpecUser) -> User {
    let mut user = desired_shell(spec, su, None);
    if let Some(doc) = su.grants_policy() {
        user.inline_policies
            .insert(su.grants_policy_name.clone(), doc);
    }
    user
}

/// The desired user without its inline policy: the diff compares the grants policy by reference, never cloning
/// a document it does not send.
fn desired_shell(spec: &Spec, su: &SpecUser, account: Option<&str>) -> User {
    let mut user = User::new(su.name.clone(), spec.path.clone());
    user.tags = su.tags.clone();
    user.tags.insert(OWNER_TAG.to_owned(), spec.owner.clone());
    user.inline_policies = su.raw_policies.clone();
    user.attached_policies = su.managed_policies.clone();
    user.attached_policies
        .extend(su.policies.iter().map(|p| policy_arn(spec, account, p)));
    user.groups = su.groups.clone();
    user.permissions_boundary = su.permissions_boundary.clone();
    user
}

/// Computes the plan that makes `live` match `spec`.
///
/// # Errors
/// [`DiffError::Conflicts`] when spec users match live users iamspec may not write to.
pub fn diff(spec: &Spec, live: &Account, opts: &DiffOptions) -> Result<Plan, DiffError> {
    let mut plan = Plan::new();
    let mut conflicts = Vec::new();
    let mut per_user: Vec<(String, Vec<Change>)> = Vec::new();
    let live_by_name = live_index(live);
    let in_spec = spec_names(spec);

    let in_scope: Vec<&SpecUser> = spec
        .users
        .iter()
        .filter(|u| opts.in_scope(&u.name))
        .collect();
    let parts = crate::par::map_parts(in_scope, crate::par::USERS_PER_THREAD, |part| {
        let mut out = Part::default();
        for su in part {
            let have = live_by_name.get(&Caseless(&su.name)).copied();
            match plan_spec_user(spec, su, have, opts, &mut out.notices) {
                Ok(changes) if changes.is_empty() => {}
                Ok(changes) => out.changes.push((su.name.clone(), changes)),
                Err(conflict) => out.conflicts.push(conflict),
            }
        }
        out
    });
    for part in parts {
        per_user.extend(part.changes);
        conflicts.extend(part.conflicts);
        plan.notices.extend(part.notices);
    }
    if !conflicts.is_empty() {
        return Err(DiffError::Conflicts(conflicts));
    }

    for have in live.users.values().filter(|u| opts.in_scope(&u.name)) {
        if in_spec.contains(&Caseless(&have.name)) {
            continue;
        }
        if spec.ignores(have) {
            plan.notices.push(Notice {
                kind: NoticeKind::Ignored,
                user: have.name.clone(),
                message: "ignored by an `ignore` rule".into(),
            });
        } else if have.is_owned_by(&spec.owner) {
            if spec.prune {
                per_user.push((have.name.clone(), delete_user(have)));
            } else {
                plan.notices.push(Notice {
                    kind: NoticeKind::OwnedNotInSpec,
                    user: have.name.clone(),
                    message: "owned by iamspec but not in the spec; `prune: true` would delete it"
                        .into(),
                });
            }
        } else if have.path == spec.path {
            let message = match have.tags.get(OWNER_TAG) {
                Some(other) => format!(
                    "under {} but owned by `{other}`, not `{}`; left alone",
                    spec.path, spec.owner
                ),
                None => format!("under {} without the owner tag; left alone", spec.path),
            };
            plan.notices.push(Notice {
                kind: NoticeKind::Unmanaged,
                user: have.name.clone(),
                message,
            });
        }
    }

    per_user.sort_by_cached_key(|(name, _)| (name.to_ascii_lowercase(), name.clone()));
    let (before, after) = policy_changes(spec, live, opts, &mut plan.notices);
    plan.changes = before
        .into_iter()
        .chain(per_user.into_iter().flat_map(|(_, c)| c))
        .chain(after)
        .collect();
    plan.notices.sort();
    Ok(plan)
}

/// The target name of a shared policy's changes, apart from user names.
/// What one thread's part of the spec users gives: changes by user, conflicts and notices, each in spec order.
#[derive(Default)]
struct Part {
    changes: Vec<(String, Vec<Change>)>,
    conflicts: Vec<Conflict>,
    notices: Vec<Notice>,
}

/// The changes for one spec user, given the live user of its name (case-insensitively), if any.
fn plan_spec_user(
    spec: &Spec,
    su: &SpecUser,
    have: Option<&User>,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Change>, Conflict> {
    let mut want = desired_shell(spec, su, opts.account_id.as_deref());
    let rendered = su.grants_policy();
    let grants = rendered.as_ref();
    Ok(match have {
        None => {
            if su.access_keys.is_some_and(|k| k.count > 0) {
                want.tags
                    .insert(KEYS_SINCE_TAG.to_owned(), opts.now.to_string());
            }
            create_user(&want, grants, su)
        }
        Some(have) => {
            if have.name != su.name {
                return Err(Conflict {
                    user: su.name.clone(),
                    message: format!(
                        "spec user `{}` matches live user `{}`: IAM user names are case-insensitive",
                        su.name, have.name
                    ),
                    help: format!("rename the spec entry to `{}`", have.name),
                });
            }
            let owned = have.is_owned_by(&spec.owner);
            if !owned {
                if let Some(other) = have.tags.get(OWNER_TAG) {
                    return Err(Conflict {
                        user: su.name.clone(),
                        message: format!(
                            "user `{}` is owned by `{other}`, not `{}`",
                            su.name, spec.owner
                        ),
                        help: "two specs must not manage one user; remove it from one of them"
                            .into(),
                    });
                }
                if !su.adopt {
                    return Err(Conflict {
                        user: su.name.clone(),
                        message: format!(
                            "user `{}` exists but is not owned by iamspec (no tag {OWNER_TAG}={})",
                            su.name, spec.owner
                        ),
                        help:
                            "add `adopt: true` to the user to take it over (the plan will tag it)"
                                .into(),
                    });
                }
            }
            update_user(spec, su, want, grants, have, owned, opts.now, notices)
        }
    })
}

fn policy_target(name: &str) -> String {
    format!("policy/{name}")
}

/// Changes to the spec's shared policies: creates and new versions (run before any user change, so attachments
/// find them) and deletions (run after users stopped attaching them). Policies under the spec's path are iamspec's.
fn policy_changes(
    spec: &Spec,
    live: &Account,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
) -> (Vec<Change>, Vec<Change>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    if opts.only.is_some() {
        // `--user` plans leave shared policies alone: they belong to every user.
        return (before, after);
    }
    for sp in &spec.policies {
        let Some(doc) = sp.document() else { continue };
        let target = policy_target(&sp.name);
        match live.policies.get(&sp.name).filter(|p| p.path == spec.path) {
            None => {
                let tags = BTreeMap::from([(OWNER_TAG.to_owned(), spec.owner.clone())]);
                let mut c = change(
                    &target,
                    Action::Create,
                    Op::CreatePolicy {
                        policy: sp.name.clone(),
                        path: spec.path.clone(),
                        description: sp.description.clone(),
                        document: doc.clone(),
                        tags,
                    },
                    "in the spec's policies, not in the account",
                );
                c.grants = grant_changes(None, Some(&doc));
                before.push(c);
            }
            Some(lp) if lp.document != doc => {
                // IAM keeps five versions: make room by deleting the oldest non-default one.
                if lp.other_versions.len() >= 4 {
                    before.push(change(
                        &target,
                        Action::Delete,
                        Op::DeletePolicyVersion {
                            policy: sp.name.clone(),
                            policy_arn: lp.arn.clone(),
                            version_id: lp.other_versions[0].clone(),
                        },
                        "IAM keeps at most five versions",
                    ));
                }
                let mut c = change(
                    &target,
                    Action::Update,
                    Op::CreatePolicyVersion {
                        policy: sp.name.clone(),
                        policy_arn: lp.arn.clone(),
                        document: doc.clone(),
                    },
                    "grants changed",
                );
                c.grants = grant_changes(Some(&lp.document), Some(&doc));
                c.before = Some(lp.document.clone());
                before.push(c);
            }
            Some(_) => {}
        }
    }
    let in_spec: std::collections::HashSet<&str> =
        spec.policies.iter().map(|p| p.name.as_str()).collect();
    for lp in live
        .policies
        .values()
        .filter(|p| p.path == spec.path && !in_spec.contains(p.name.as_str()))
    {
        if spec.prune {
            after.push(change(
                &policy_target(&lp.name),
                Action::Delete,
                Op::DeletePolicy {
                    policy: lp.name.clone(),
                    policy_arn: lp.arn.clone(),
                    versions: lp.other_versions.clone(),
                },
                "under the spec's path, not in its policies, prune: true",
            ));
        } else {
            notices.push(Notice {
                kind: NoticeKind::OwnedNotInSpec,
                user: policy_target(&lp.name),
                message: "managed policy under the spec's path but not in its policies; `prune: true` would delete it"
                    .into(),
            });
        }
    }
    (before, after)
}

/// iamspec's bookkeeping tags a live user should carry: with keys declared, `keys-since` (kept, or set when this
/// plan creates the first key) and
/// the delivery tags of keys that still exist; without, whatever bookkeeping is there stays untouched.
fn internal_tags(
    su: &SpecUser,
    have: &User,
    now: i64,
    creates_keys: bool,
) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    if su.access_keys.is_none() {
        tags.extend(
            have.tags
                .iter()
                .filter(|(k, _)| is_internal_tag(k))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        return tags;
    }
    // Set when iamspec first creates a key for the user: keys older than the mark are someone else's.
    match have.tags.get(KEYS_SINCE_TAG) {
        Some(since) => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), since.clone());
        }
        None if creates_keys => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), now.to_string());
        }
        None => {}
    }
    for key in &have.access_keys {
        let tag = format!("{KEY_TAG_PREFIX}{}", key.id);
        if let Some(v) = have.tags.get(&tag) {
            tags.insert(tag, v.clone());
        }
    }
    tags
}

fn untag_reason(keys: &[String]) -> &'static str {
    if keys.iter().all(|k| is_internal_tag(k)) {
        "bookkeeping of access keys that no longer exist"
    } else {
        "not in the spec"
    }
}

fn change(user: &str, action: Action, op: Op, reason: impl Into<String>) -> Change {
    Change {
        user: user.to_owned(),
        action,
        op,
        reason: reason.into(),
        grants: Vec::new(),
        before: None,
    }
}

fn grant_changes(
    before: Option<&PolicyDocument>,
    after: Option<&PolicyDocument>,
) -> Vec<GrantChange> {
    let b = before.map(summarize).unwrap_or_default();
    let a = after.map(summarize).unwrap_or_default();
    let keys: BTreeSet<_> = b.keys().chain(a.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|k| {
            let before = b.get(&k).map(|s| s.describe());
            let after = a.get(&k).map(|s| s.describe());
            (before != after).then(|| GrantChange {
                target: k.to_string(),
                before,
                after,
            })
        })
        .collect()
}

fn put_policy(
    user: &str,
    name: &str,
    doc: &PolicyDocument,
    before: Option<&PolicyDocument>,
    reason: &str,
    is_grants: bool,
) -> Change {
    let action = if before.is_some() {
        Action::Update
    } else {
        Action::Create
    };
    let mut c = change(
        user,
        action,
        Op::PutUserPolicy {
            user: user.to_owned(),
            policy_name: name.to_owned(),
            document: doc.clone(),
        },
        reason,
    );
    if is_grants {
        c.grants = grant_changes(before, Some(doc));
    }
    c.before = before.cloned();
    c
}

fn create_user(want: &User, grants: Option<&PolicyDocument>, su: &SpecUser) -> Vec<Change> {
    let name = want.name.as_str();
    let mut out = vec![change(
        name,
        Action::Create,
        Op::CreateUser {
            user: want.name.clone(),
            path: want.path.clone(),
            tags: want.tags.clone(),
        },
        "in the spec, not in the account",
    )];
    if let Some(doc) = grants {
        out.push(put_policy(
            name,
            &su.grants_policy_name,
            doc,
            None,
            "grants of a new user",
            true,
        ));
    }
    for (policy, doc) in &want.inline_policies {
        out.push(put_policy(
            name,
            policy,
            doc,
            None,
            "raw_policies of a new user",
            false,
        ));
    }
    for arn in &want.attached_policies {
        out.push(change(
            name,
            Action::Create,
            Op::AttachUserPolicy {
                user: name.into(),
                policy_arn: arn.clone(),
            },
            "in managed_policies",
        ));
    }
    for group in &want.groups {
        out.push(change(
            name,
            Action::Create,
            Op::AddUserToGroup {
                user: name.into(),
                group: group.clone(),
            },
            "in groups",
        ));
    }
    if let Some(arn) = &want.permissions_boundary {
        out.push(change(
            name,
            Action::Create,
            Op::PutUserPermissionsBoundary {
                user: name.into(),
                policy_arn: arn.clone(),
            },
            "permissions_boundary",
        ));
    }
    for _ in 0..su.access_keys.map_or(0, |k| k.count) {
        out.push(change(
            name,
            Action::Create,
            Op::CreateAccessKey { user: name.into() },
            "access_keys.count",
        ));
    }
    out
}

/// Changes for an existing user, ordered: additions before removals, unless a quota forces a removal first.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the parts are what the diff of a user needs"
)]
fn update_user(
    spec: &Spec,
    su: &SpecUser,
    mut want: User,
    grants: Option<&PolicyDocument>,
    have: &User,
    owned: bool,
    now: i64,
    notices: &mut Vec<Notice>,
) -> Vec<Change> {
    let name = have.name.as_str();
    let keys = su
        .access_keys
        .map(|policy| plan_keys(name, policy, have, now, notices))
        .unwrap_or_default();
    // A key deleted by this plan takes its delivery tag with it.
    let doomed: BTreeSet<&str> = keys
        .first
        .iter()
        .chain(&keys.removes)
        .filter_map(|c| match &c.op {
            Op::DeleteAccessKey { key_id, .. } => Some(key_id.as_str()),
            _ => None,
        })
        .collect();
    let creates_keys = keys
        .adds
        .iter()
        .any(|c| matches!(c.op, Op::CreateAccessKey { .. }));
    want.tags.extend(internal_tags(su, have, now, creates_keys));
    want.tags.retain(|k, _| {
        !k.strip_prefix(KEY_TAG_PREFIX)
            .is_some_and(|id| doomed.contains(id))
    });
    let want = &want;
    let mut first = Vec::new(); // removals a quota forces ahead of additions
    let mut adds = Vec::new();
    let mut removes = Vec::new();

    // Tags: exclusive over owned users, except ignored keys.
    let set: BTreeMap<String, String> = want
        .tags
        .iter()
        .filter(|(k, v)| have.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let unset: Vec<String> = have
        .tags
        .keys()
        .filter(|k| !want.tags.contains_key(*k) && !spec.ignore_tags.contains(*k))
        .cloned()
        .collect();
    if !set.is_empty() {
        let new_keys = set.keys().filter(|k| !have.tags.contains_key(*k)).count();
        let adopting = !owned;
        let reason = if adopting {
            "adopt: true; tagging takes ownership".to_owned()
        } else {
            let parts: Vec<String> = set
                .iter()
                .map(|(k, v)| match have.tags.get(k) {
                    Some(old) => format!("{k}: {old} -> {v}"),
                    None => format!("{k}: new"),
                })
                .collect();
            parts.join("; ")
        };
        let action = if adopting || set.keys().any(|k| have.tags.contains_key(k)) {
            Action::Update
        } else {
            Action::Create
        };
        // Adoption is its own change kind: a reviewer must see that iamspec takes a user over.
        let op = if adopting {
            Op::AdoptUser {
                user: name.into(),
                tags: set,
            }
        } else {
            Op::TagUser {
                user: name.into(),
                tags: set,
            }
        };
        adds.push(change(name, action, op, reason));
        if !unset.is_empty() {
            let untag = change(
                name,
                Action::Delete,
                Op::UntagUser {
                    user: name.into(),
                    keys: unset.clone(),
                },
                untag_reason(&unset),
            );
            if have.tags.len() + new_keys > TAG_LIMIT {
                first.push(untag);
            } else {
                removes.push(untag);
            }
        }
    } else if !unset.is_empty() {
        removes.push(change(
            name,
            Action::Delete,
            Op::UntagUser {
                user: name.into(),
                keys: unset.clone(),
            },
            untag_reason(&unset),
        ));
    }

    // Inline policies: only the grants policy survives.
    let stale_inline: Vec<&String> = have
        .inline_policies
        .keys()
        .filter(|k| {
            let wanted = want.inline_policies.contains_key(*k)
                || (grants.is_some() && **k == su.grants_policy_name);
            !wanted
        })
        .collect();
    // IAM counts every inline policy of a user against one limit: if the stale ones and the new one do not fit
    // together, the stale ones go first. Sizes cost a serialisation, so only when something is stale.
    let inline_first = !stale_inline.is_empty() && {
        let kept: usize = stale_inline
            .iter()
            .map(|k| have.inline_policies[*k].size())
            .sum();
        let new: usize = grants.map_or(0, PolicyDocument::size)
            + want
                .inline_policies
                .values()
                .map(PolicyDocument::size)
                .sum::<usize>();
        kept + new > INLINE_USER_LIMIT
    };
    if let Some(doc) = grants {
        let before = have.inline_policies.get(&su.grants_policy_name);
        if before != Some(doc) {
            adds.push(put_policy(
                name,
                &su.grants_policy_name,
                doc,
                before,
                "grants changed",
                true,
            ));
        }
    }
    for (policy, doc) in &want.inline_policies {
        let before = have.inline_policies.get(policy);
        if before != Some(doc) {
            adds.push(put_policy(
                name,
                policy,
                doc,
                before,
                "raw_policies changed",
                false,
            ));
        }
    }
    for policy in stale_inline {
        let mut c = change(
            name,
            Action::Delete,
            Op::DeleteUserPolicy {
                user: name.into(),
                policy_name: policy.clone(),
            },
            if *policy == su.grants_policy_name {
                "no grants in the spec"
            } else {
                "inline policy not in the spec"
            },
        );
        c.before = have.inline_policies.get(policy).cloned();
        if *policy == su.grants_policy_name {
            c.grants = grant_changes(c.before.as_ref(), None);
        }
        if inline_first {
            first.push(c)
        } else {
            removes.push(c)
        }
    }

    // Attachments.
    let attach: Vec<&String> = want
        .attached_policies
        .difference(&have.attached_policies)
        .collect();
    let detach: Vec<&String> = have
        .attached_policies
        .difference(&want.attached_policies)
        .collect();
    let attach_first = have.attached_policies.len() + attach.len() > spec.max_attached;
    for arn in attach {
        adds.push(change(
            name,
            Action::Create,
            Op::AttachUserPolicy {
                user: name.into(),
                policy_arn: arn.clone(),
            },
            "in managed_policies",
        ));
    }
    for arn in detach {
        let c = change(
            name,
            Action::Delete,
            Op::DetachUserPolicy {
                user: name.into(),
                policy_arn: arn.clone(),
            },
            "not in managed_policies",
        );
        if attach_first {
            first.push(c)
        } else {
            removes.push(c)
        }
    }

    // Groups.
    for group in want.groups.difference(&have.groups) {
        adds.push(change(
            name,
            Action::Create,
            Op::AddUserToGroup {
                user: name.into(),
                group: group.clone(),
            },
            "in groups",
        ));
    }
    for group in have.groups.difference(&want.groups) {
        removes.push(change(
            name,
            Action::Delete,
            Op::RemoveUserFromGroup {
                user: name.into(),
                group: group.clone(),
            },
            "not in groups",
        ));
    }

    // Permissions boundary.
    match (&want.permissions_boundary, &have.permissions_boundary) {
        (Some(w), h) if Some(w) != h.as_ref() => {
            let action = if h.is_some() {
                Action::Update
            } else {
                Action::Create
            };
            adds.push(change(
                name,
                action,
                Op::PutUserPermissionsBoundary {
                    user: name.into(),
                    policy_arn: w.clone(),
                },
                "permissions_boundary",
            ));
        }
        (None, Some(_)) => removes.push(change(
            name,
            Action::Delete,
            Op::DeleteUserPermissionsBoundary { user: name.into() },
            "no permissions_boundary in the spec",
        )),
        _ => {}
    }

    first.extend(keys.first);
    first.extend(adds);
    first.extend(keys.adds);
    first.extend(removes);
    first.extend(keys.removes);
    first
}

/// Key changes by when they run: before additions, with them, or after.
#[derive(Default)]
struct KeyChanges {
    first: Vec<Change>,
    adds: Vec<Change>,
    removes: Vec<Change>,
}

/// Key rotation without state: a key past `max_age_days` is replaced (new key first) and deactivated; an inactive
/// key past `max_age_days + grace_days` is deleted, which is at least `grace_days` after its deactivation.
fn plan_keys(
    name: &str,
    policy: crate::spec::KeyPolicy,
    have: &User,
    now: i64,
    notices: &mut Vec<Notice>,
) -> KeyChanges {
    let mut out = KeyChanges::default();
    let (first, adds, removes) = (&mut out.first, &mut out.adds, &mut out.removes);
    let max_age = i64::from(policy.max_age_days) * DAY;
    let expire = max_age + i64::from(policy.grace_days) * DAY;
    let mut keys: Vec<_> = have.access_keys.iter().collect();
    keys.sort_by_key(|k| (k.created, k.id.clone()));
    let age = |k: &crate::model::AccessKey| now - k.created;
    let mut deletes: Vec<(&str, &str)> = Vec::new();
    let mut deactivate = Vec::new();
    let mut fresh: Vec<&crate::model::AccessKey> = Vec::new();
    let mut waiting = Vec::new();
    let since: Option<i64> = have.tags.get(KEYS_SINCE_TAG).and_then(|v| v.parse().ok());
    for key in &keys {
        let undelivered = since.is_some_and(|s| key.created >= s)
            && !have
                .tags
                .contains_key(&format!("{KEY_TAG_PREFIX}{}", key.id));
        if undelivered {
            deletes.push((
                &key.id,
                "created by iamspec, but its secret was never delivered",
            ));
            continue;
        }
        match key.status {
            KeyStatus::Inactive if age(key) >= expire => {
                deletes.push((&key.id, "inactive past its grace period"))
            }
            KeyStatus::Inactive => waiting.push(*key),
            KeyStatus::Active if age(key) > max_age => {
                notices.push(Notice {
                    kind: NoticeKind::StaleKey,
                    user: name.to_owned(),
                    message: format!(
                        "access key {} is {} days old (max_age_days {})",
                        key.id,
                        age(key) / DAY,
                        policy.max_age_days
                    ),
                });
                deactivate.push(*key);
            }
            KeyStatus::Active => fresh.push(key),
        }
    }
    // More fresh keys than wanted: the oldest go.
    while fresh.len() > policy.count {
        let k = fresh.remove(0);
        deletes.push((&k.id, "more active keys than access_keys.count"));
    }
    let creates = policy.count - fresh.len();
    // Stay within IAM's two keys: make room by deleting waiting inactive keys, then stale ones, oldest first.
    let mut total = keys.len() - deletes.len();
    let mut room_first: Vec<(&str, &str)> = Vec::new();
    let mut waiting_iter = waiting.iter();
    let mut stale_iter = deactivate.clone().into_iter();
    let mut deactivated = Vec::new();
    while total + creates > ACCESS_KEY_LIMIT {
        if let Some(k) = waiting_iter.next() {
            room_first.push((&k.id, "makes room for a new key"));
        } else if let Some(k) = stale_iter.next() {
            room_first.push((&k.id, "stale; makes room for its replacement"));
            deactivated.push(k.id.clone());
        } else {
            break;
        }
        total -= 1;
    }
    for k in waiting_iter {
        notices.push(Notice {
            kind: NoticeKind::InactiveKey,
            user: name.to_owned(),
            message: format!(
                "inactive access key {} is deleted {} days after creation",
                k.id,
                expire / DAY
            ),
        });
    }
    for (id, reason) in room_first {
        first.push(change(
            name,
            Action::Delete,
            Op::DeleteAccessKey {
                user: name.into(),
                key_id: id.into(),
            },
            reason,
        ));
    }
    for _ in 0..creates {
        adds.push(change(
            name,
            Action::Create,
            Op::CreateAccessKey { user: name.into() },
            "access_keys.count",
        ));
    }
    for k in deactivate.iter().filter(|k| !deactivated.contains(&k.id)) {
        removes.push(change(
            name,
            Action::Update,
            Op::UpdateAccessKey {
                user: name.into(),
                key_id: k.id.clone(),
                status: KeyStatus::Inactive,
            },
            "older than max_age_days; replaced",
        ));
    }
    // Keys nobody can or should use go before any new key: they count against IAM's limit of two.
    for (id, reason) in deletes {
        first.push(change(
            name,
            Action::Delete,
            Op::DeleteAccessKey {
                user: name.into(),
                key_id: id.into(),
            },
            reason,
        ));
    }
    out
}

/// Everything DeleteUser requires gone, then the user.
fn delete_user(have: &User) -> Vec<Change> {
    let name = have.name.as_str();
    let why = "owned, not in the spec, prune: true";
    let mut out = Vec::new();
    let mut push = |op: Op| out.push(change(name, Action::Delete, op, why));
    for key in &have.access_keys {
        push(Op::DeleteAccessKey {
            user: name.into(),
            key_id: key.id.clone(),
        });
    }
    if let Some(d) = &have.dependents {
        if d.login_profile {
            push(Op::DeleteLoginProfile { user: name.into() });
        }
        for serial in &d.mfa_devices {
            push(Op::DeactivateMfaDevice {
                user: name.into(),
                serial: serial.clone(),
            });
        }
        for id in &d.signing_certificates {
            push(Op::DeleteSigningCertificate {
                user: name.into(),
                certificate_id: id.clone(),
            });
        }
        for id in &d.ssh_public_keys {
            push(Op::DeleteSshPublicKey {
                user: name.into(),
                key_id: id.clone(),
            });
        }
        for id in &d.service_credentials {
            push(Op::DeleteServiceSpecificCredential {
                user: name.into(),
                credential_id: id.clone(),
            });
        }
    }
    for policy in have.inline_policies.keys() {
        push(Op::DeleteUserPolicy {
            user: name.into(),
            policy_name: policy.clone(),
        });
    }
    for arn in &have.attached_policies {
        push(Op::DetachUserPolicy {
            user: name.into(),
            policy_arn: arn.clone(),
        });
    }
    for group in &have.groups {
        push(Op::RemoveUserFromGroup {
            user: name.into(),
            group: group.clone(),
        });
    }
    if have.permissions_boundary.is_some() {
        push(Op::DeleteUserPermissionsBoundary { user: name.into() });
    }
    push(Op::DeleteUser { user: name.into() });
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_match_ignoring_ascii_case_only() {
        let long = "a".repeat(70);
        let names = ["Alice", "bob", long.as_str(), "Zoë"];
        let index: std::collections::HashSet<Caseless<'_>> =
            names.iter().map(|n| Caseless(n)).collect();
        assert!(index.contains(&Caseless("ALICE")));
        assert!(index.contains(&Caseless("Bob")));
        assert!(index.contains(&Caseless(&long.to_ascii_uppercase())));
        assert!(index.contains(&Caseless("ZOë")));
        assert!(
            !index.contains(&Caseless("ZOË")),
            "only ASCII case folds (IAM names are ASCII)"
        );
        assert!(!index.contains(&Caseless("alic")));
        assert!(!index.contains(&Caseless(&"a".repeat(64))));
    }
    use crate::backend::local::LocalAccount;
    use crate::policy::{AccessLevel, Grant, GrantAccess};

    const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
    const BUCKETS: [&str; 3] = ["b-one", "b-two", "b-three"];
    const ARNS: [&str; 4] = [
        "arn:aws:iam::aws:policy/P1",
        "arn:aws:iam::aws:policy/P2",
        "arn:aws:iam::aws:policy/P3",
        "arn:aws:iam::aws:policy/P4",
    ];
    const GROUPS: [&str; 2] = ["g1", "g2"];

    fn subset<T: Clone + std::fmt::Debug + 'static>(
        items: &'static [T],
    ) -> impl Strategy<Value = Vec<T>> {
        proptest::sample::subsequence(items.to_vec(), 0..=items.len())
    }

    fn grant() -> impl Strategy<Value = Grant> {
        (
            proptest::sample::subsequence(BUCKETS.to_vec(), 1..=2),
            proptest::option::of(Just("p/")),
            0usize..4,
        )
            .prop_map(|(buckets, prefix, level)| Grant {
                buckets: buckets.into_iter().map(str::to_owned).collect(),
                prefix: prefix.map(str::to_owned),
                access: GrantAccess::Level(
                    [
                        AccessLevel::List,
                        AccessLevel::Read,
                        AccessLevel::Write,
                        AccessLevel::ReadWrite,
                    ][level],
                ),
            })
    }

    fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(
            proptest::sample::select(vec!["team", "env", "cost"]).prop_map(str::to_owned),
            proptest::sample::select(vec!["a", "b"]).prop_map(str::to_owned),
            0..3,
        )
    }

    fn spec_user(name: &'static str) -> impl Strategy<Value = SpecUser> {
        (
            proptest::collection::vec(grant(), 0..3),
            subset(&ARNS),
            subset(&GROUPS),
            tags(),
            proptest::option::of(Just(ARNS[0])),
        )
            .prop_map(move |(grants, arns, groups, tags, boundary)| SpecUser {
                tags,
                grants,
                managed_policies: arns.into_iter().map(str::to_owned).collect(),
                groups: groups.into_iter().map(str::to_owned).collect(),
                permissions_boundary: boundary.map(str::to_owned),
                adopt: true,
                ..SpecUser::new(name)
            })
    }

    /// A live user: the shape of a spec user plus stray inline policies, maybe owned.
    fn live_user(name: &'static str) -> impl Strategy<Value = (User, bool)> {
        (spec_user(name), any::<bool>(), any::<bool>(), proptest::option::of(Just("/")))
            .prop_map(move |(su, owned, stray, path)| {
                let spec = base_spec(Vec::new(), false);
                let mut u = desired_user(&spec, &su);
                if !owned {
                    u.tags.remove(OWNER_TAG);
                }
                if stray {
                    let doc = crate::policy::PolicyDocument::parse(
                        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
                    )
                    .unwrap();
                    u.inline_policies.insert("stray".into(), doc);
                }
                if let Some(p) = path {
                    u.path = p.to_owned();
                }
                (u, owned)
            })
    }

    fn base_spec(users: Vec<SpecUser>, prune: bool) -> Spec {
        Spec {
            account_id: Some("123456789012".into()),
            owner: "iamspec".into(),
            path: "/iamspec/".into(),
            prune,
            ignore_tags: BTreeSet::new(),
            max_attached: 10,
            ignore: Vec::new(),
            policies: Vec::new(),
            users,
        }
    }

    fn world() -> impl Strategy<Value = (Spec, Account)> {
        let per_name: Vec<_> = NAMES
            .iter()
            .map(|n| {
                (
                    proptest::option::of(spec_user(n)),
                    proptest::option::of(live_user(n)),
                )
            })
            .collect();
        (per_name, any::<bool>()).prop_map(|(entries, prune)| {
            let mut users = Vec::new();
            let mut live = Account::default();
            for (s, l) in entries {
                if let Some(s) = s {
                    users.push(s);
                }
                if let Some((u, _)) = l {
                    live.users.insert(u.name.clone(), u);
                }
            }
            (base_spec(users, prune), live)
        })
    }

    fn local(live: &Account) -> LocalAccount {
        let mut acct = LocalAccount::new("123456789012");
        acct.users = live.users.clone();
        acct.groups = GROUPS.iter().map(|g| (*g).to_owned()).collect();
        acct
    }

    /// What iamspec manages on a user (everything but path, ARN, keys and dependents).
    fn managed_view(u: &User) -> User {
        User {
            path: String::new(),
            arn: None,
            access_keys: Vec::new(),
            dependents: None,
            ..u.clone()
        }
    }

    proptest! {
        #[test]
        fn diff_of_desired_against_itself_is_empty((spec, _) in world()) {
            let mut live = Account::default();
            for su in &spec.users {
                let u = desired_user(&spec, su);
                live.users.insert(u.name.clone(), u);
            }
            let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
            prop_assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        }

        #[test]
        fn applying_the_plan_converges_and_spares_foreign_users((spec, live) in world()) {
            let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
            let mut acct = local(&live);
            let mut rng = rand::rng();
            for c in &plan.changes {
                acct.apply(&c.op, 0, &mut rng).unwrap_or_else(|e| panic!("{c:?}: {e}"));
            }
            for su in &spec.users {
                let want = desired_user(&spec, su);
                let got = acct.users.get(&su.name).expect("spec user exists after apply");
                prop_assert_eq!(managed_view(got), managed_view(&want));
            }
            for (name, before) in &live.users {
                if spec.user(name).is_some() {
                    continue;
                }
                if before.is_owned_by(&spec.owner) && spec.prune {
                    prop_assert!(!acct.users.contains_key(name), "{} was not pruned", name);
                } else {
                    prop_assert_eq!(acct.users.get(name), Some(before), "{} was touched", name);
                }
            }
            let after = Account { users: acct.users.clone(), ..Account::default() };
            let again = diff(&spec, &after, &DiffOptions::default()).unwrap();
            prop_assert!(again.changes.is_empty(), "second plan: {:?}", again.changes);
        }

        #[test]
        fn plans_are_deterministic((spec, live) in world()) {
            let a = diff(&spec, &live, &DiffOptions::default()).unwrap();
            let b = diff(&spec, &live, &DiffOptions::default()).unwrap();
            prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        }
    }

    #[test]
    fn unowned_user_without_adopt_is_a_conflict_naming_it() {
        let mut su = SpecUser::new("alice");
        let mut live = Account::default();
        live.users.insert("Alice".into(), User::new("Alice", "/"));
        let err = diff(
            &base_spec(vec![su.clone()], false),
            &live,
            &DiffOptions::default(),
        )
        .unwrap_err();
        let DiffError::Conflicts(c) = err;
        assert!(c[0].message.contains("matches live user `Alice`"), "{c:?}");
        su.name = "Alice".into();
        let DiffError::Conflicts(c) =
            diff(&base_spec(vec![su], false), &live, &DiffOptions::default()).unwrap_err();
        assert!(c[0].message.contains("not owned by iamspec"), "{c:?}");
    }

    #[test]
    fn user_scope_limits_both_sides() {
        let spec = base_spec(Vec::new(), true);
        let mut live = Account::default();
        let mut owned = User::new("old", "/iamspec/");
        owned.tags.insert(OWNER_TAG.into(), "iamspec".into());
        live.users.insert("old".into(), owned);
        let only = DiffOptions {
            now: 0,
            only: Some(["someone-else".to_owned()].into()),
            account_id: None,
        };
        assert!(diff(&spec, &live, &only).unwrap().changes.is_empty());
        assert!(!diff(&spec, &live, &DiffOptions::default())
            .unwrap()
            .changes
            .is_empty());
    }
}

#[cfg(test)]
mod rotation_tests {
    use super::*;
    use crate::backend::local::LocalAccount;
    use crate::backend::Outcome;
    use crate::spec::KeyPolicy;

    fn spec(count: usize) -> Spec {
        Spec {
            account_id: None,
            owner: "iamspec".into(),
            path: "/iamspec/".into(),
            prune: false,
            ignore_tags: BTreeSet::new(),
            max_attached: 10,
            ignore: Vec::new(),
            policies: Vec::new(),
            users: vec![SpecUser {
                access_keys: Some(KeyPolicy {
                    count,
                    max_age_days: 90,
                    grace_days: 7,
                }),
                ..SpecUser::new("svc")
            }],
        }
    }

    /// Plans and applies on simulated day `day`, delivering secrets as the executor does. Returns the ops.
    fn day(acct: &mut LocalAccount, spec: &Spec, day: i64) -> Vec<String> {
        let now = day * DAY;
        let live = Account {
            users: acct.users.clone(),
            ..Account::default()
        };
        let plan = diff(
            spec,
            &live,
            &DiffOptions {
                now,
                only: None,
                account_id: None,
            },
        )
        .unwrap();
        let mut rng = rand::rng();
        for c in &plan.changes {
            if let Outcome::AccessKey(k) = acct.apply(&c.op, now, &mut rng).unwrap() {
                let tags =
                    BTreeMap::from([(format!("{KEY_TAG_PREFIX}{}", k.id), "delivered".to_owned())]);
                acct.apply(&Op::TagUser { user: k.user, tags }, now, &mut rng)
                    .unwrap();
            }
        }
        plan.changes
            .iter()
            .map(|c| c.op.api_name().to_owned())
            .collect()
    }

    fn statuses(acct: &LocalAccount) -> Vec<(i64, KeyStatus)> {
        acct.users["svc"]
            .access_keys
            .iter()
            .map(|k| (k.created / DAY, k.status))
            .collect()
    }

    #[test]
    fn one_key_rotates_new_first_then_deletes_after_grace() {
        let mut acct = LocalAccount::default();
        let s = spec(1);
        assert_eq!(day(&mut acct, &s, 0), vec!["CreateUser", "CreateAccessKey"]);
        assert!(
            day(&mut acct, &s, 90).is_empty(),
            "not stale at exactly 90 days"
        );
        assert_eq!(
            day(&mut acct, &s, 91),
            vec!["CreateAccessKey", "UpdateAccessKey"]
        );
        assert_eq!(
            statuses(&acct),
            vec![(0, KeyStatus::Inactive), (91, KeyStatus::Active)]
        );
        assert!(day(&mut acct, &s, 96).is_empty(), "inside the grace period");
        assert_eq!(day(&mut acct, &s, 97), vec!["DeleteAccessKey", "UntagUser"]);
        assert_eq!(statuses(&acct), vec![(91, KeyStatus::Active)]);
        assert!(day(&mut acct, &s, 98).is_empty());
    }

    #[test]
    fn two_keys_delete_the_stale_one_first() {
        let mut acct = LocalAccount::default();
        let s = spec(2);
        assert_eq!(
            day(&mut acct, &s, 0),
            vec!["CreateUser", "CreateAccessKey", "CreateAccessKey"]
        );
        let ops = day(&mut acct, &s, 91);
        assert_eq!(
            &ops[..4],
            [
                "DeleteAccessKey",
                "DeleteAccessKey",
                "CreateAccessKey",
                "CreateAccessKey"
            ]
        );
        assert_eq!(
            statuses(&acct),
            vec![(91, KeyStatus::Active), (91, KeyStatus::Active)]
        );
        assert!(day(&mut acct, &s, 92).is_empty());
    }

    #[test]
    fn a_key_without_delivery_is_replaced() {
        let mut acct = LocalAccount::default();
        let s = spec(1);
        day(&mut acct, &s, 0);
        // A crash between CreateAccessKey and storing the secret: a key with no delivery tag.
        let mut rng = rand::rng();
        let tag = acct.users["svc"]
            .tags
            .keys()
            .find(|k| k.starts_with(KEY_TAG_PREFIX))
            .unwrap()
            .clone();
        acct.apply(
            &Op::UntagUser {
                user: "svc".into(),
                keys: vec![tag],
            },
            DAY,
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            day(&mut acct, &s, 1),
            vec!["DeleteAccessKey", "CreateAccessKey"]
        );
        assert_eq!(acct.users["svc"].access_keys.len(), 1);
        assert!(day(&mut acct, &s, 2).is_empty());
    }

    #[test]
    fn keys_older_than_keys_since_are_kept_on_adoption() {
        let mut acct = LocalAccount::default();
        let mut rng = rand::rng();
        acct.apply(
            &Op::CreateUser {
                user: "svc".into(),
                path: "/".into(),
                tags: BTreeMap::new(),
            },
            0,
            &mut rng,
        )
        .unwrap();
        acct.apply(&Op::CreateAccessKey { user: "svc".into() }, 0, &mut rng)
            .unwrap();
        let mut s = spec(1);
        s.users[0].adopt = true;
        assert_eq!(
            day(&mut acct, &s, 10),
            vec!["TagUser"],
            "the hand-made key is not touched"
        );
        assert_eq!(acct.users["svc"].access_keys.len(), 1);
        assert!(day(&mut acct, &s, 11).is_empty());
    }
}
