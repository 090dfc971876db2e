//! Customer-managed policies of the spec (shared `policies` and `policy_mode: managed` users' own): created,
//! adopted, given new default versions within IAM's five, and, with prune, deleted after the users stopped
//! attaching them. Ownership is the owner tag, read only where it matters.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::ownership::Conflict;
use super::DiffOptions;
use crate::model::{Account, OWNER_TAG};
use crate::names::is_reserved;
use crate::plan::{Action, Change, GrantChange, Notice, NoticeKind, Op, Target};
use crate::policy::{summarize, PolicyDocument};
use crate::spec::Spec;

/// The managed policies whose tags a plan must read (ARNs): ownership matters only where iamspec would write to a
/// policy or attach it, and for the policies under the spec's path that are not in it (prune candidates). A
/// policy that matches the spec and is already attached costs no call, so a no-change plan stays at the account
/// read.
#[must_use]
pub fn policy_tag_reads(spec: &Spec, live: &Account, opts: &DiffOptions) -> Vec<String> {
    let mut arns = Vec::new();
    let in_scope: Vec<&crate::spec::SpecUser> = spec
        .users
        .iter()
        .filter(|u| !u.policies.is_empty() && opts.in_scope(&u.name))
        .collect();
    for sp in &spec.policies {
        let Some(lp) = live.policies.get(&sp.name) else {
            continue;
        };
        if lp.path != spec.path || lp.tags.is_some() {
            continue;
        }
        let arn = super::policy_arn(spec, opts.account_id.as_deref(), &sp.name);
        let written =
            opts.only.is_none() && (sp.adopt || sp.document().as_ref() != Some(&lp.document));
        let attached_now = || {
            in_scope.iter().any(|su| {
                su.policies.contains(&sp.name)
                    && live
                        .find_user(&su.name)
                        .is_some_and(|u| !u.attached_policies.contains(&arn))
            })
        };
        if written || attached_now() {
            arns.push(lp.arn.clone());
        }
    }
    if opts.only.is_none() {
        let in_spec: HashSet<&str> = spec.policies.iter().map(|p| p.name.as_str()).collect();
        arns.extend(
            live.policies
                .values()
                .filter(|p| {
                    p.path == spec.path
                        && p.tags.is_none()
                        && !in_spec.contains(p.name.as_str())
                        && !is_reserved(&p.name)
                })
                .map(|p| p.arn.clone()),
        );
    }
    arns
}

/// Changes to the spec's managed policies: creates, adoptions and new versions (run before any user change, so
/// attachments find them) and deletions (run after users stopped attaching them). A policy is iamspec's only when
/// it carries the owner tag.
pub(super) fn policy_changes(
    spec: &Spec,
    live: &Account,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
    conflicts: &mut Vec<Conflict>,
) -> (Vec<Change>, Vec<Change>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    if opts.only.is_some() {
        // `--user` plans leave managed policies alone: they belong to every user.
        return (before, after);
    }
    for sp in &spec.policies {
        let Some(doc) = sp.document() else { continue };
        let target = Target::Policy(sp.name.clone());
        let Some(lp) = live.policies.get(&sp.name) else {
            let tags = BTreeMap::from([(OWNER_TAG.to_owned(), spec.owner.clone())]);
            let mut c = Change::new(
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
            continue;
        };
        let conflict = |message: String, help: &str| Conflict {
            target: target.clone(),
            message,
            help: help.to_owned(),
        };
        if lp.path != spec.path {
            conflicts.push(conflict(
                format!(
                    "policy `{}` exists under path {}, not {}: IAM policy names are unique in an account",
                    sp.name, lp.path, spec.path
                ),
                "rename the spec's policy, or move the spec to that path",
            ));
            continue;
        }
        let changed = lp.document != doc;
        match (lp.tags.as_ref(), lp.owner()) {
            // Not read: nothing is written to it and nobody newly attaches it (see `policy_tag_reads`).
            (None, _) if !changed && !sp.adopt => {}
            (None, _) => conflicts.push(conflict(
                format!("the owner of policy `{}` was not read", sp.name),
                "this is a bug in iamspec; please report it",
            )),
            (Some(_), Some(owner)) if owner == spec.owner => {}
            // Taken over: unowned with `adopt: true`, or of the one owner `adopt: {from_owner}` names.
            (Some(_), from) if sp.adopt && from == sp.adopt_from.as_deref() => {
                let tags = BTreeMap::from([(OWNER_TAG.to_owned(), spec.owner.clone())]);
                before.push(Change::new(
                    Action::Update,
                    Op::AdoptPolicy {
                        policy: sp.name.clone(),
                        policy_arn: lp.arn.clone(),
                        tags,
                    },
                    super::ownership::adoption_reason(from, "tagging"),
                ));
            }
            (Some(_), Some(other)) => {
                conflicts.push(conflict(
                    format!(
                        "policy `{}` is owned by `{other}`, not `{}`",
                        sp.name, spec.owner
                    ),
                    &super::ownership::from_owner_help("policy", other),
                ));
                continue;
            }
            (Some(_), None) => {
                conflicts.push(conflict(
                    format!(
                        "policy `{}` exists but is not owned by iamspec (no tag {OWNER_TAG}={})",
                        sp.name, spec.owner
                    ),
                    "add `adopt: true` to the policy to take it over (the plan will tag it)",
                ));
                continue;
            }
        }
        if changed {
            // IAM keeps five versions: make room by deleting the oldest non-default one.
            if lp.other_versions.len() >= 4 {
                before.push(Change::new(
                    Action::Delete,
                    Op::DeletePolicyVersion {
                        policy: sp.name.clone(),
                        policy_arn: lp.arn.clone(),
                        version_id: lp.other_versions[0].clone(),
                    },
                    "IAM keeps at most five versions",
                ));
            }
            let mut c = Change::new(
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
    }
    let in_spec: HashSet<&str> = spec.policies.iter().map(|p| p.name.as_str()).collect();
    for lp in live.policies.values().filter(|p| {
        p.path == spec.path && !in_spec.contains(p.name.as_str()) && !is_reserved(&p.name)
    }) {
        let target = Target::Policy(lp.name.clone());
        let notice = |kind, message: String| Notice {
            kind,
            target: target.clone(),
            message,
        };
        match (lp.tags.as_ref(), lp.owner()) {
            (None, _) => {}
            (Some(_), Some(owner)) if owner == spec.owner => {
                if spec.prune {
                    after.push(Change::new(
                        Action::Delete,
                        Op::DeletePolicy {
                            policy: lp.name.clone(),
                            policy_arn: lp.arn.clone(),
                            versions: lp.other_versions.clone(),
                        },
                        "owned, not in the spec's policies, prune: true",
                    ));
                } else {
                    notices.push(notice(
                        NoticeKind::OwnedNotInSpec,
                        "owned managed policy not in the spec's policies; `prune: true` would delete it"
                            .into(),
                    ));
                }
            }
            (Some(_), Some(other)) => notices.push(notice(
                NoticeKind::OtherOwner,
                format!(
                    "managed policy under {} owned by `{other}`, not `{}`; left alone",
                    spec.path, spec.owner
                ),
            )),
            (Some(_), None) => notices.push(notice(
                NoticeKind::Unmanaged,
                format!(
                    "managed policy under {} without the owner tag; left alone",
                    spec.path
                ),
            )),
        }
    }
    (before, after)
}

/// The grants that differ between two documents, in the spec's words (`photos-prod read -> read-write`).
pub(super) fn grant_changes(
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

/// Customer-managed policies: owned by the owner tag, which the account read does not carry (it is read only
/// where it matters), so a policy without read tags is never owned.
pub(super) struct PolicyKind;

impl super::kind::Kind for PolicyKind {
    fn kind(&self) -> crate::plan::TargetKind {
        crate::plan::TargetKind::Policy
    }

    fn section(&self) -> &'static str {
        "policies"
    }

    fn declared(&self, spec: &Spec, name: &str) -> bool {
        spec.policies.iter().any(|p| p.name == name)
    }

    fn rights(
        &self,
        spec: &Spec,
        live: &Account,
        opts: &DiffOptions,
        grant: &mut dyn FnMut(&str, super::ownership::Right),
    ) {
        use super::ownership::Right;
        // `--user` scopes an apply to users.
        if opts.only.is_some() {
            return;
        }
        let in_spec: HashSet<&str> = spec.policies.iter().map(|p| p.name.as_str()).collect();
        for sp in &spec.policies {
            let right = match live.policies.get(&sp.name) {
                None => Some(Right::Create),
                Some(lp) if lp.is_owned_by(&spec.owner) == Some(true) => Some(Right::Owned),
                Some(lp)
                    if sp.adopt && lp.tags.is_some() && lp.owner() == sp.adopt_from.as_deref() =>
                {
                    Some(Right::Adopt)
                }
                Some(_) => None,
            };
            if let Some(right) = right {
                grant(&sp.name, right);
            }
        }
        if spec.prune && spec.account_id.is_some() {
            for lp in live.policies.values().filter(|p| {
                p.path == spec.path
                    && !in_spec.contains(p.name.as_str())
                    && p.is_owned_by(&spec.owner) == Some(true)
            }) {
                grant(&lp.name, Right::Prune);
            }
        }
    }

    fn live_state(&self, live: &Account, name: &str) -> Option<String> {
        live.policies
            .get(name)
            .map(|p| serde_json::to_string(p).unwrap_or_default())
    }

    fn made_by(&self, live: &Account, op: &Op, _owner: &str) -> super::kind::Existing {
        let Op::CreatePolicy {
            policy,
            path,
            document,
            tags,
            ..
        } = op
        else {
            return super::kind::Existing::Differs;
        };
        match live.policies.get(policy) {
            Some(p) if p.path == *path && p.document == *document => {
                super::kind::Existing::SameIfTagged {
                    arn: p.arn.clone(),
                    tags: tags.clone(),
                }
            }
            _ => super::kind::Existing::Differs,
        }
    }

    fn reach(&self) -> super::kind::Reach {
        super::kind::Reach::Attached
    }

    fn holds_access_keys(&self) -> bool {
        false
    }
}
