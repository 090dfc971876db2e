//! Customer-managed policies of the spec (shared `policies` and `policy_mode: managed` users' own): created, given
//! new default versions within IAM's five, and, with prune, deleted after the users stopped attaching them.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::DiffOptions;
use crate::model::{Account, OWNER_TAG};
use crate::plan::{Action, Change, GrantChange, Notice, NoticeKind, Op, Target};
use crate::policy::{summarize, PolicyDocument};
use crate::spec::Spec;

/// Changes to the spec's managed policies: creates and new versions (run before any user change, so attachments
/// find them) and deletions (run after users stopped attaching them). Policies under the spec's path are iamspec's.
pub(super) fn policy_changes(
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
        match live.policies.get(&sp.name).filter(|p| p.path == spec.path) {
            None => {
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
            }
            Some(lp) if lp.document != doc => {
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
            Some(_) => {}
        }
    }
    let in_spec: HashSet<&str> = spec.policies.iter().map(|p| p.name.as_str()).collect();
    for lp in live
        .policies
        .values()
        .filter(|p| p.path == spec.path && !in_spec.contains(p.name.as_str()))
    {
        if spec.prune {
            after.push(Change::new(
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
                target: Target::Policy(lp.name.clone()),
                message: "managed policy under the spec's path but not in its policies; `prune: true` would delete it"
                    .into(),
            });
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
