//! Groups as IAM keeps them: bare ones (users' memberships only) and ones with policies, case-insensitive names,
//! DeleteConflict while members or policies remain.

use super::{detached, err, inline_deleted, LocalAccount};
use crate::backend::{BackendError, ErrorKind};
use crate::model::Group;
use crate::plan::{GroupOps, Op};

impl LocalAccount {
    /// Whether a group of this name exists (bare or with policies), case-insensitively.
    pub(super) fn group_exists(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.eq_ignore_ascii_case(name))
            || self
                .managed_groups
                .keys()
                .any(|g| g.eq_ignore_ascii_case(name))
    }

    fn group_mut(&mut self, op: &Op) -> Result<&mut Group, BackendError> {
        let name = op.target_name();
        // A bare group gains policies: it moves to the groups with policies, as it is.
        if let Some(bare) = self
            .groups
            .iter()
            .find(|g| g.eq_ignore_ascii_case(name))
            .cloned()
        {
            self.groups.remove(&bare);
            self.managed_groups.insert(
                bare.clone(),
                Group {
                    name: bare,
                    ..Group::default()
                },
            );
        }
        let key = self
            .managed_groups
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("the group with name {name} cannot be found"),
                )
            })?;
        Ok(self.managed_groups.get_mut(&key).expect("key just found"))
    }

    /// The group operations, as IAM answers them.
    pub(super) fn apply_group(&mut self, op: &Op, ops: GroupOps<'_>) -> Result<(), BackendError> {
        match ops {
            GroupOps::CreateGroup { group, path } => {
                if self.group_exists(group) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("group with name {group} already exists"),
                    ));
                }
                self.managed_groups.insert(
                    group.clone(),
                    Group {
                        name: group.clone(),
                        path: path.clone(),
                        ..Group::default()
                    },
                );
            }
            GroupOps::MarkGroup { document, .. } => {
                self.group_mut(op)?.inline_policies.insert(
                    crate::model::GROUP_OWNER_POLICY.to_owned(),
                    document.clone(),
                );
            }
            GroupOps::PutGroupPolicy {
                policy_name,
                document,
                ..
            } => {
                self.group_mut(op)?
                    .inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            GroupOps::DeleteGroupPolicy { policy_name, .. } => {
                let removed = self.group_mut(op)?.inline_policies.remove(policy_name);
                inline_deleted(removed.is_some(), "group", policy_name, op)?;
            }
            GroupOps::AttachGroupPolicy { policy_arn, .. } => {
                self.check_attachable(policy_arn, op)?;
                self.group_mut(op)?
                    .attached_policies
                    .insert(policy_arn.clone());
            }
            GroupOps::DetachGroupPolicy { policy_arn, .. } => {
                let removed = self.group_mut(op)?.attached_policies.remove(policy_arn);
                detached(removed, policy_arn, op)?;
            }
            GroupOps::RemoveGroupMember { group, user } => {
                let key = self.key_of(user).ok_or_else(|| {
                    err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the user with name {user} cannot be found"),
                    )
                })?;
                let u = self.users.get_mut(&key).expect("key just found");
                let before = u.groups.len();
                u.groups.retain(|g| !g.eq_ignore_ascii_case(group));
                if u.groups.len() == before {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("{user} is not in {group}"),
                    ));
                }
            }
            GroupOps::DeleteGroup { group } => {
                if self
                    .users
                    .values()
                    .any(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
                {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a group with members",
                    ));
                }
                let g = self.group_mut(op)?;
                g.inline_policies.remove(crate::model::GROUP_OWNER_POLICY);
                if !g.inline_policies.is_empty() || !g.attached_policies.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a group with policies",
                    ));
                }
                let name = g.name.clone();
                self.managed_groups.remove(&name);
            }
        }
        Ok(())
    }
}
