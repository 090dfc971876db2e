//! What users, roles and groups share in the diff: the inline policies and attachments of an owned principal, and
//! the notices about live principals outside the spec.

use std::collections::{BTreeMap, BTreeSet};

use super::policies::grant_changes;
use crate::model::GRANTS_POLICY;
use crate::plan::{Action, Change, Notice, NoticeKind, Op, Target};
use crate::policy::PolicyDocument;
use crate::spec::Spec;

/// How one kind of principal spells its policy operations; each takes the principal's name first.
pub(super) struct PolicyOps {
    /// "role", "group": for reasons.
    pub noun: &'static str,
    /// Put{Role,Group}Policy of a policy name and document.
    pub put: fn(&str, &str, &PolicyDocument) -> Op,
    /// Delete{Role,Group}Policy of a policy name.
    pub delete: fn(&str, &str) -> Op,
    /// Attach{Role,Group}Policy of an ARN.
    pub attach: fn(&str, &str) -> Op,
    /// Detach{Role,Group}Policy of an ARN.
    pub detach: fn(&str, &str) -> Op,
}

/// One side of a principal: its inline policies and attached ARNs.
pub(super) struct Policies<'a> {
    /// Inline policies by name.
    pub inline: &'a BTreeMap<String, PolicyDocument>,
    /// Attached managed policy ARNs.
    pub attached: &'a BTreeSet<String>,
}

/// A principal with no policies: what a new one is compared with.
pub(super) const NO_POLICIES: Policies<'static> = Policies {
    inline: &BTreeMap::new(),
    attached: &BTreeSet::new(),
};

/// The changes that make an owned principal's inline policies and attachments `want`'s (iamspec is exclusive over
/// them), as (additions, removals). `keep` names an inline policy written elsewhere (a group's owner marker).
pub(super) fn policy_changes(
    ops: &PolicyOps,
    principal: &str,
    want: &Policies<'_>,
    have: &Policies<'_>,
    keep: Option<&str>,
) -> (Vec<Change>, Vec<Change>) {
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    for (name, doc) in want.inline.iter().filter(|(n, _)| Some(n.as_str()) != keep) {
        let before = have.inline.get(name);
        if before == Some(doc) {
            continue;
        }
        let (action, reason) = match before {
            Some(_) => (Action::Update, "grants changed".to_owned()),
            None => (Action::Create, format!("grants of the {}", ops.noun)),
        };
        let mut c = Change::new(action, (ops.put)(principal, name, doc), reason);
        if name == GRANTS_POLICY {
            c.grants = grant_changes(before, Some(doc));
        }
        c.before = before.cloned();
        adds.push(c);
    }
    for (name, doc) in have.inline {
        if want.inline.contains_key(name) || Some(name.as_str()) == keep {
            continue;
        }
        let reason = if name == GRANTS_POLICY {
            "the spec grants nothing"
        } else {
            "inline policy not in the spec"
        };
        let mut c = Change::new(Action::Delete, (ops.delete)(principal, name), reason);
        c.before = Some(doc.clone());
        if name == GRANTS_POLICY {
            c.grants = grant_changes(Some(doc), None);
        }
        removes.push(c);
    }
    for arn in want.attached.difference(have.attached) {
        adds.push(Change::new(
            Action::Create,
            (ops.attach)(principal, arn),
            "in managed_policies",
        ));
    }
    for arn in have.attached.difference(want.attached) {
        removes.push(Change::new(
            Action::Delete,
            (ops.detach)(principal, arn),
            "attached, not in the spec",
        ));
    }
    (adds, removes)
}

/// The notice for an owned principal that left the spec while `prune` is off.
pub(super) fn kept_notice(target: Target) -> Notice {
    Notice {
        kind: NoticeKind::OwnedNotInSpec,
        target,
        message: "owned by iamspec but not in the spec; `prune: true` would delete it".into(),
    }
}

/// The notice for a live principal this spec does not own, if it is under the spec's path (elsewhere it is none of
/// the spec's business): another owner's is information, an unmarked one is unmanaged. `mark` says what an owned
/// one carries ("the owner tag").
pub(super) fn foreign_notice(
    spec: &Spec,
    target: Target,
    path: &str,
    owner: Option<&str>,
    mark: &str,
) -> Option<Notice> {
    if path != spec.path {
        return None;
    }
    // Another owner's objects are that owner's business: reported once, never drift.
    let (kind, message) = match owner {
        Some(other) => (
            NoticeKind::OtherOwner,
            format!(
                "under {} but owned by `{other}`, not `{}`; left alone",
                spec.path, spec.owner
            ),
        ),
        None => (
            NoticeKind::Unmanaged,
            format!("under {} without {mark}; left alone", spec.path),
        ),
    };
    Some(Notice {
        kind,
        target,
        message,
    })
}
