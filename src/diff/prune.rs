//! Live users that are not in the spec: deleted when owned and `prune: true` (after everything DeleteUser requires
//! gone), otherwise reported.

use super::ownership::{spec_names, Caseless};
use super::principal::{foreign_notice, kept_notice};
use super::DiffOptions;
use crate::model::{Account, User, OWNER_TAG};
use crate::plan::{Action, Change, Notice, NoticeKind, Op, Target};
use crate::spec::Spec;

/// The users that `prune` would delete: owned, not in the spec, not ignored, in scope. The caller reads their
/// dependents (keys, login profile, MFA...) before calling [`super::diff`].
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

/// What happens to each live user missing from the spec: its deletion (owned, `prune: true`), or a notice.
pub(super) fn users_not_in_spec(
    spec: &Spec,
    live: &Account,
    opts: &DiffOptions,
    changes: &mut Vec<(String, Vec<Change>)>,
    notices: &mut Vec<Notice>,
) {
    let in_spec = spec_names(spec);
    for have in live.users.values().filter(|u| opts.in_scope(&u.name)) {
        if in_spec.contains(&Caseless(&have.name)) {
            continue;
        }
        let target = || Target::User(have.name.clone());
        if spec.ignores(have) {
            notices.push(Notice {
                kind: NoticeKind::Ignored,
                target: target(),
                message: "ignored by an `ignore` rule".into(),
            });
        } else if have.is_owned_by(&spec.owner) {
            if spec.prune {
                changes.push((have.name.clone(), delete_user(have)));
            } else {
                notices.push(kept_notice(target()));
            }
        } else {
            let owner = have.tags.get(OWNER_TAG).map(String::as_str);
            notices.extend(foreign_notice(
                spec,
                target(),
                &have.path,
                owner,
                "the owner tag",
            ));
        }
    }
}

/// Everything DeleteUser requires gone, then the user.
pub(super) fn delete_user(have: &User) -> Vec<Change> {
    let name = have.name.as_str();
    let why = "owned, not in the spec, prune: true";
    let mut out = Vec::new();
    let mut push = |op: Op| out.push(Change::new(Action::Delete, op, why));
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
    // A permissions boundary does not keep IAM from deleting a user (it is not among DeleteUser's dependents), and
    // under `delegate: true` the pipeline may never remove one: the user goes with it.
    push(Op::DeleteUser { user: name.into() });
    out
}
