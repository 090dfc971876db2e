//! The diff of one user: desired against live, field by field (tags, inline policies, attachments, groups,
//! boundary, keys), ordered additions before removals unless a quota forces a removal first.

use std::collections::BTreeMap;

use super::desired::DesiredUser;
use super::keys::{internal_tags, plan_keys, KeyChanges};
use super::policies::grant_changes;
use crate::model::{is_internal_tag, User, KEYS_SINCE_TAG};
use crate::plan::{Action, Change, Notice, Op};
use crate::policy::{PolicyDocument, INLINE_USER_LIMIT, TAG_LIMIT};

/// A user's changes by when they run. Additions come before removals so access is never lost mid-apply;
/// `first` holds the removals an IAM quota forces ahead of the additions.
#[derive(Default)]
struct Ordered {
    first: Vec<Change>,
    adds: Vec<Change>,
    removes: Vec<Change>,
}

impl Ordered {
    fn remove(&mut self, change: Change, quota_forces_it_first: bool) {
        if quota_forces_it_first {
            self.first.push(change);
        } else {
            self.removes.push(change);
        }
    }

    fn into_changes(self, keys: KeyChanges) -> Vec<Change> {
        let mut out = self.first;
        out.extend(keys.first);
        out.extend(self.adds);
        out.extend(keys.adds);
        out.extend(self.removes);
        out.extend(keys.removes);
        out
    }
}

/// Everything a user that does not exist yet needs, starting with CreateUser.
pub(super) fn create_user(mut want: DesiredUser<'_>, now: i64) -> Vec<Change> {
    if want.access_keys.is_some_and(|k| k.count > 0) {
        want.user
            .tags
            .insert(KEYS_SINCE_TAG.to_owned(), now.to_string());
    }
    let name = want.name();
    let mut out = vec![Change::new(
        Action::Create,
        Op::CreateUser {
            user: name.to_owned(),
            path: want.user.path.clone(),
            tags: want.user.tags.clone().into(),
            permissions_boundary: want.user.permissions_boundary.clone(),
        },
        "in the spec, not in the account",
    )];
    if let Some(doc) = &want.grants {
        out.push(put_policy(
            name,
            want.grants_policy_name,
            doc,
            None,
            "grants of a new user",
            true,
        ));
    }
    for (policy, doc) in &want.user.inline_policies {
        out.push(put_policy(
            name,
            policy,
            doc,
            None,
            "raw_policies of a new user",
            false,
        ));
    }
    for arn in &want.user.attached_policies {
        out.push(attach(name, arn));
    }
    for group in &want.user.groups {
        out.push(add_to_group(name, group));
    }
    for _ in 0..want.access_keys.map_or(0, |k| k.count) {
        out.push(Change::new(
            Action::Create,
            Op::CreateAccessKey { user: name.into() },
            "access_keys.count",
        ));
    }
    out
}

/// The changes that make the live user `have` what `want` says. `owned` is false for a user being adopted.
pub(super) fn update_user(
    mut want: DesiredUser<'_>,
    have: &User,
    owned: bool,
    now: i64,
    notices: &mut Vec<Notice>,
) -> Vec<Change> {
    let name = have.name.as_str();
    let keys = want
        .access_keys
        .map(|policy| plan_keys(name, policy, have, now, notices))
        .unwrap_or_default();
    // The keys' marks are desired tags: a key deleted by this plan has none, so its tag goes with it.
    let declared = want.access_keys.is_some().then_some(&keys);
    want.user.tags.extend(internal_tags(declared, have, now));
    let mut out = Ordered::default();
    tags(&want, have, owned, &mut out);
    inline_policies(&want, have, &mut out);
    attachments(&want, have, &mut out);
    groups(&want, have, &mut out);
    boundary(&want, have, &mut out);
    out.into_changes(keys)
}

/// Tags: exclusive over owned users, except ignored keys. Tagging an unowned user is adoption, its own change kind:
/// a reviewer must see that iamspec takes a user over.
fn tags(want: &DesiredUser<'_>, have: &User, owned: bool, out: &mut Ordered) {
    let name = have.name.as_str();
    let set: BTreeMap<String, String> = want
        .user
        .tags
        .iter()
        .filter(|(k, v)| have.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let unset: Vec<String> = have
        .tags
        .keys()
        .filter(|k| !want.user.tags.contains_key(*k) && !want.ignore_tags.contains(*k))
        .cloned()
        .collect();
    let untag = (!unset.is_empty()).then(|| {
        Change::new(
            Action::Delete,
            Op::UntagUser {
                user: name.into(),
                keys: unset.clone(),
            },
            untag_reason(&unset),
        )
    });
    if set.is_empty() {
        if let Some(untag) = untag {
            out.remove(untag, false);
        }
        return;
    }
    let new_keys = set.keys().filter(|k| !have.tags.contains_key(*k)).count();
    let adopting = !owned;
    let reason = if adopting {
        super::ownership::adoption_reason(
            have.tags.get(crate::model::OWNER_TAG).map(String::as_str),
            "tagging",
        )
    } else {
        let parts: Vec<String> = set
            .iter()
            .map(|(k, v)| match have.tags.get(k) {
                Some(old) => format!(
                    "{k}: {} -> {}",
                    crate::plan::tag_value_words(k, old),
                    crate::plan::tag_value_words(k, v)
                ),
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
    out.adds.push(Change::new(action, op, reason));
    if let Some(untag) = untag {
        out.remove(untag, have.tags.len() + new_keys > TAG_LIMIT);
    }
}

fn untag_reason(keys: &[String]) -> &'static str {
    if keys.iter().all(|k| is_internal_tag(k)) {
        "bookkeeping of access keys that no longer exist"
    } else {
        "not in the spec"
    }
}

/// Inline policies: the grants policy and the spec's raw policies; any other goes.
fn inline_policies(want: &DesiredUser<'_>, have: &User, out: &mut Ordered) {
    let name = have.name.as_str();
    let stale: Vec<&String> = have
        .inline_policies
        .keys()
        .filter(|k| !want.user.inline_policies.contains_key(*k) && !want.is_grants_policy(k))
        .collect();
    // IAM counts every inline policy of a user against one limit: if the stale ones and the new one do not fit
    // together, the stale ones go first. Sizes cost a serialisation, so only when something is stale.
    let stale_first = !stale.is_empty() && {
        let kept: usize = stale.iter().map(|k| have.inline_policies[*k].size()).sum();
        let new: usize = want.grants.as_ref().map_or(0, PolicyDocument::size)
            + want
                .user
                .inline_policies
                .values()
                .map(PolicyDocument::size)
                .sum::<usize>();
        kept + new > INLINE_USER_LIMIT
    };
    if let Some(doc) = &want.grants {
        let before = have.inline_policies.get(want.grants_policy_name);
        if before != Some(doc) {
            out.adds.push(put_policy(
                name,
                want.grants_policy_name,
                doc,
                before,
                "grants changed",
                true,
            ));
        }
    }
    for (policy, doc) in &want.user.inline_policies {
        let before = have.inline_policies.get(policy);
        if before != Some(doc) {
            out.adds.push(put_policy(
                name,
                policy,
                doc,
                before,
                "raw_policies changed",
                false,
            ));
        }
    }
    for policy in stale {
        let grants = *policy == want.grants_policy_name;
        let mut c = Change::new(
            Action::Delete,
            Op::DeleteUserPolicy {
                user: name.into(),
                policy_name: policy.clone(),
            },
            if grants {
                "no grants in the spec"
            } else {
                "inline policy not in the spec"
            },
        );
        c.before = have.inline_policies.get(policy).cloned();
        if grants {
            c.grants = grant_changes(c.before.as_ref(), None);
        }
        out.remove(c, stale_first);
    }
}

/// Managed policy attachments, within the account's quota per user.
fn attachments(want: &DesiredUser<'_>, have: &User, out: &mut Ordered) {
    let name = have.name.as_str();
    let add: Vec<&String> = want
        .user
        .attached_policies
        .difference(&have.attached_policies)
        .collect();
    let detach_first = have.attached_policies.len() + add.len() > want.max_attached;
    for arn in add {
        out.adds.push(attach(name, arn));
    }
    for arn in have
        .attached_policies
        .difference(&want.user.attached_policies)
    {
        let c = Change::new(
            Action::Delete,
            Op::DetachUserPolicy {
                user: name.into(),
                policy_arn: arn.clone(),
            },
            "not in managed_policies",
        );
        out.remove(c, detach_first);
    }
}

fn groups(want: &DesiredUser<'_>, have: &User, out: &mut Ordered) {
    let name = have.name.as_str();
    for group in want.user.groups.difference(&have.groups) {
        out.adds.push(add_to_group(name, group));
    }
    for group in have.groups.difference(&want.user.groups) {
        out.removes.push(Change::new(
            Action::Delete,
            Op::RemoveUserFromGroup {
                user: name.into(),
                group: group.clone(),
            },
            "not in groups",
        ));
    }
}

fn boundary(want: &DesiredUser<'_>, have: &User, out: &mut Ordered) {
    let name = have.name.as_str();
    match (&want.user.permissions_boundary, &have.permissions_boundary) {
        (Some(w), h) if Some(w) != h.as_ref() => {
            let action = if h.is_some() {
                Action::Update
            } else {
                Action::Create
            };
            out.adds.push(put_boundary(name, w, action));
        }
        (None, Some(_)) => out.removes.push(Change::new(
            Action::Delete,
            Op::DeleteUserPermissionsBoundary { user: name.into() },
            "no permissions_boundary in the spec",
        )),
        _ => {}
    }
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
    let mut c = Change::new(
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

fn attach(user: &str, arn: &str) -> Change {
    Change::new(
        Action::Create,
        Op::AttachUserPolicy {
            user: user.into(),
            policy_arn: arn.into(),
        },
        "in managed_policies",
    )
}

fn add_to_group(user: &str, group: &str) -> Change {
    Change::new(
        Action::Create,
        Op::AddUserToGroup {
            user: user.into(),
            group: group.into(),
        },
        "in groups",
    )
}

fn put_boundary(user: &str, arn: &str, action: Action) -> Change {
    Change::new(
        action,
        Op::PutUserPermissionsBoundary {
            user: user.into(),
            policy_arn: arn.into(),
        },
        "permissions_boundary",
    )
}

/// Users: owned by the owner tag (or adopted), pruned by the spec's prune rules, created with their tags.
pub(super) struct UserKind;

impl super::kind::Kind for UserKind {
    fn kind(&self) -> crate::plan::TargetKind {
        crate::plan::TargetKind::User
    }

    fn section(&self) -> &'static str {
        "users"
    }

    fn declared(&self, spec: &crate::spec::Spec, name: &str) -> bool {
        spec.users.iter().any(|u| u.name == name)
    }

    fn rights(
        &self,
        spec: &crate::spec::Spec,
        live: &crate::model::Account,
        opts: &super::DiffOptions,
        grant: &mut dyn FnMut(&str, super::ownership::Right),
    ) {
        use super::ownership::{check_owner, live_index, right_of, Caseless, Right};
        let live_by_name = live_index(live);
        for su in spec.users.iter().filter(|u| opts.in_scope(&u.name)) {
            let have = live_by_name.get(&Caseless(&su.name));
            if let Some(right) = right_of(have, |have| check_owner(spec, su, have)) {
                grant(&su.name, right);
            }
        }
        if spec.prune && spec.account_id.is_some() {
            for name in super::prune_candidates(spec, live, opts) {
                grant(&name, Right::Prune);
            }
        }
    }

    fn live_state(&self, live: &crate::model::Account, name: &str) -> Option<String> {
        // A key's last use moves while the key is used, and may come from the credential report or not: it
        // decides nothing the re-derived plan does not show, so it is not part of the proof.
        live.find_user(name).map(|u| {
            let mut u = u.clone();
            for k in &mut u.access_keys {
                k.last_used = None;
            }
            serde_json::to_string(&u).unwrap_or_default()
        })
    }

    fn made_by(
        &self,
        live: &crate::model::Account,
        op: &Op,
        _owner: &str,
    ) -> super::kind::Existing {
        let Op::CreateUser {
            user,
            path,
            tags,
            permissions_boundary,
        } = op
        else {
            return super::kind::Existing::Differs;
        };
        let same = live.find_user(user).is_some_and(|u| {
            u.name == *user
                && u.path == *path
                && u.tags.iter().eq(tags.iter())
                && (permissions_boundary.is_none()
                    || u.permissions_boundary == *permissions_boundary)
        });
        super::kind::Existing::from(same)
    }

    fn reach(&self) -> super::kind::Reach {
        super::kind::Reach::Principal { username: true }
    }

    fn holds_access_keys(&self) -> bool {
        true
    }
}
