//! Roles as IAM keeps them: trust, session duration, tags, policies, boundary; DeleteConflict while policies or
//! instance profiles hold them.

use std::collections::{BTreeMap, BTreeSet};

use super::{add_tags, detached, err, inline_deleted, LocalAccount};
use crate::backend::{BackendError, ErrorKind};
use crate::model::Role;
use crate::plan::{Op, RoleOps};
use crate::policy::TAG_LIMIT;

impl LocalAccount {
    fn role_mut(&mut self, op: &Op) -> Result<&mut Role, BackendError> {
        let name = op.target_name();
        let key = self
            .roles
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("the role with name {name} cannot be found"),
                )
            })?;
        Ok(self.roles.get_mut(&key).expect("key just found"))
    }

    /// The role operations, as IAM answers them.
    pub(super) fn apply_role(&mut self, op: &Op, ops: RoleOps<'_>) -> Result<(), BackendError> {
        match ops {
            RoleOps::CreateRole {
                role,
                path,
                trust,
                tags,
                permissions_boundary,
                ..
            } => {
                if self.roles.keys().any(|k| k.eq_ignore_ascii_case(role)) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("role with name {role} already exists"),
                    ));
                }
                if tags.len() > TAG_LIMIT {
                    return Err(err(ErrorKind::LimitExceeded, op, "too many tags"));
                }
                self.roles.insert(
                    role.clone(),
                    Role {
                        name: role.clone(),
                        path: path.clone(),
                        arn: Some(format!("arn:aws:iam::{}:role{path}{role}", self.account_id)),
                        tags: tags.clone().into(),
                        trust: trust.clone(),
                        inline_policies: BTreeMap::new(),
                        attached_policies: BTreeSet::new(),
                        permissions_boundary: permissions_boundary.clone(),
                        instance_profiles: Vec::new(),
                    },
                );
            }
            RoleOps::TagRole { tags, .. } | RoleOps::AdoptRole { tags, .. } => {
                add_tags(&mut self.role_mut(op)?.tags, tags, op, "role")?;
            }
            RoleOps::UntagRole { keys, .. } => {
                let r = self.role_mut(op)?;
                for k in keys {
                    r.tags.remove(k);
                }
            }
            RoleOps::UpdateAssumeRolePolicy { document, .. } => {
                self.role_mut(op)?.trust = document.clone();
            }
            // The duration itself is not part of the model (IAM's account read omits it): the tag records it.
            RoleOps::UpdateRole { .. } => {
                self.role_mut(op)?;
            }
            RoleOps::PutRolePolicy {
                policy_name,
                document,
                ..
            } => {
                self.role_mut(op)?
                    .inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            RoleOps::DeleteRolePolicy { policy_name, .. } => {
                let removed = self.role_mut(op)?.inline_policies.remove(policy_name);
                inline_deleted(removed.is_some(), "role", policy_name, op)?;
            }
            RoleOps::AttachRolePolicy { policy_arn, .. } => {
                self.check_attachable(policy_arn, op)?;
                self.role_mut(op)?
                    .attached_policies
                    .insert(policy_arn.clone());
            }
            RoleOps::DetachRolePolicy { policy_arn, .. } => {
                let removed = self.role_mut(op)?.attached_policies.remove(policy_arn);
                detached(removed, policy_arn, op)?;
            }
            RoleOps::PutRolePermissionsBoundary { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist"),
                    ));
                }
                self.role_mut(op)?.permissions_boundary = Some(policy_arn.clone());
            }
            RoleOps::DeleteRolePermissionsBoundary { .. } => {
                if self.role_mut(op)?.permissions_boundary.take().is_none() {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        "the role has no permissions boundary",
                    ));
                }
            }
            RoleOps::DeleteRole { .. } => {
                let r = self.role_mut(op)?;
                if !r.inline_policies.is_empty() || !r.attached_policies.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a role with policies",
                    ));
                }
                let name = r.name.clone();
                self.roles.remove(&name);
            }
        }
        Ok(())
    }
}
