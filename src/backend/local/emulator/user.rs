//! Users as IAM keeps them: tags, inline and attached policies, groups, boundary, access keys (two at most) and the
//! credentials that block DeleteUser.

use rand::Rng;

use super::{add_tags, detached, err, inline_deleted, remove_item, LocalAccount};
use crate::backend::{BackendError, ErrorKind, NewAccessKey, Outcome, Secret};
use crate::model::{AccessKey, KeyStatus, User};
use crate::plan::{Op, UserOps};
use crate::policy::{ACCESS_KEY_LIMIT, INLINE_USER_LIMIT, TAG_LIMIT};

impl LocalAccount {
    fn user_mut(&mut self, op: &Op) -> Result<&mut User, BackendError> {
        let key = self.key_of(op.target_name()).ok_or_else(|| {
            err(
                ErrorKind::NoSuchEntity,
                op,
                format!("the user with name {} cannot be found", op.target_name()),
            )
        })?;
        Ok(self.users.get_mut(&key).expect("key just found"))
    }

    /// The user operations, as IAM answers them (CreateAccessKey hands back the new key).
    pub(super) fn apply_user(
        &mut self,
        op: &Op,
        ops: UserOps<'_>,
        now: i64,
        rng: &mut impl Rng,
    ) -> Result<Outcome, BackendError> {
        match ops {
            UserOps::CreateUser {
                user,
                path,
                tags,
                permissions_boundary,
            } => {
                if self.key_of(user).is_some() {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("user with name {user} already exists"),
                    ));
                }
                if tags.len() > TAG_LIMIT {
                    return Err(err(ErrorKind::LimitExceeded, op, "too many tags"));
                }
                let mut u = User::new(user.clone(), path.clone());
                u.arn = Some(format!(
                    "arn:aws:iam::{}:user{}{}",
                    self.account_id, path, user
                ));
                u.tags = tags.clone().into();
                u.permissions_boundary = permissions_boundary.clone();
                u.dependents = Some(Box::default());
                self.users.insert(user.clone(), u);
            }
            UserOps::TagUser { tags, .. } | UserOps::AdoptUser { tags, .. } => {
                add_tags(&mut self.user_mut(op)?.tags, tags, op, "user")?;
            }
            UserOps::UntagUser { keys, .. } => {
                let u = self.user_mut(op)?;
                for k in keys {
                    u.tags.remove(k);
                }
            }
            UserOps::PutUserPolicy {
                policy_name,
                document,
                ..
            } => {
                let u = self.user_mut(op)?;
                let others: usize = u
                    .inline_policies
                    .iter()
                    .filter(|(k, _)| *k != policy_name)
                    .map(|(_, d)| d.size())
                    .sum();
                if others + document.size() > INLINE_USER_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!(
                            "maximum policy size of {INLINE_USER_LIMIT} bytes exceeded for user {}",
                            u.name
                        ),
                    ));
                }
                u.inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            UserOps::DeleteUserPolicy { policy_name, .. } => {
                let removed = self.user_mut(op)?.inline_policies.remove(policy_name);
                inline_deleted(removed.is_some(), "user", policy_name, op)?;
            }
            UserOps::AttachUserPolicy { policy_arn, .. } => {
                self.check_attachable(policy_arn, op)?;
                let limit = self.max_attached_policies;
                let u = self.user_mut(op)?;
                if !u.attached_policies.contains(policy_arn) && u.attached_policies.len() >= limit {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!("cannot exceed quota for PoliciesPerUser: {limit}"),
                    ));
                }
                u.attached_policies.insert(policy_arn.clone());
            }
            UserOps::DetachUserPolicy { policy_arn, .. } => {
                let removed = self.user_mut(op)?.attached_policies.remove(policy_arn);
                detached(removed, policy_arn, op)?;
            }
            UserOps::AddUserToGroup { group, .. } => {
                if !self.group_exists(group) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the group with name {group} cannot be found"),
                    ));
                }
                self.user_mut(op)?.groups.insert(group.clone());
            }
            UserOps::RemoveUserFromGroup { group, .. } => {
                if !self.user_mut(op)?.groups.remove(group) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the user is not in group {group}"),
                    ));
                }
            }
            UserOps::PutUserPermissionsBoundary { policy_arn, .. } => {
                if !self.policy_exists(policy_arn) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("policy {policy_arn} does not exist"),
                    ));
                }
                self.user_mut(op)?.permissions_boundary = Some(policy_arn.clone());
            }
            UserOps::DeleteUserPermissionsBoundary { .. } => {
                self.user_mut(op)?.permissions_boundary = None;
            }
            UserOps::CreateAccessKey { .. } => {
                self.next_key += 1;
                let n = self.next_key;
                let u = self.user_mut(op)?;
                if u.access_keys.len() >= ACCESS_KEY_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        format!("cannot exceed quota for AccessKeysPerUser: {ACCESS_KEY_LIMIT}"),
                    ));
                }
                const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
                let suffix: String = (0..12)
                    .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
                    .collect();
                let id = format!("AKIA{n:04}{suffix}");
                const B64: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let secret: String = (0..40)
                    .map(|_| B64[rng.random_range(0..B64.len())] as char)
                    .collect();
                u.access_keys.push(AccessKey {
                    id: id.clone(),
                    status: KeyStatus::Active,
                    created: now,
                    last_used: None,
                });
                return Ok(Outcome::AccessKey(NewAccessKey {
                    user: u.name.clone(),
                    id,
                    secret: Secret::new(secret),
                    created: now,
                }));
            }
            UserOps::UpdateAccessKey { key_id, status, .. } => {
                let u = self.user_mut(op)?;
                let key = u
                    .access_keys
                    .iter_mut()
                    .find(|k| &k.id == key_id)
                    .ok_or_else(|| {
                        err(
                            ErrorKind::NoSuchEntity,
                            op,
                            format!("the access key with id {key_id} cannot be found"),
                        )
                    })?;
                key.status = *status;
            }
            UserOps::DeleteAccessKey { key_id, .. }
            | UserOps::DeleteUndeliveredKey { key_id, .. } => {
                let u = self.user_mut(op)?;
                let before = u.access_keys.len();
                u.access_keys.retain(|k| &k.id != key_id);
                if u.access_keys.len() == before {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("the access key with id {key_id} cannot be found"),
                    ));
                }
            }
            UserOps::DeleteLoginProfile { .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                if !std::mem::take(&mut d.login_profile) {
                    return Err(err(
                        ErrorKind::NoSuchEntity,
                        op,
                        "login profile cannot be found",
                    ));
                }
            }
            UserOps::DeactivateMfaDevice { serial, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.mfa_devices, serial)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "MFA device not found"))?;
            }
            UserOps::DeleteSigningCertificate { certificate_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.signing_certificates, certificate_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "certificate not found"))?;
            }
            UserOps::DeleteSshPublicKey { key_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.ssh_public_keys, key_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "SSH key not found"))?;
            }
            UserOps::DeleteServiceSpecificCredential { credential_id, .. } => {
                let d = self
                    .user_mut(op)?
                    .dependents
                    .get_or_insert_with(Box::default);
                remove_item(&mut d.service_credentials, credential_id)
                    .ok_or_else(|| err(ErrorKind::NoSuchEntity, op, "credential not found"))?;
            }
            UserOps::DeleteUser { .. } => {
                let u = self.user_mut(op)?;
                let d = u.dependents.clone().unwrap_or_default();
                let blocker = if !u.access_keys.is_empty() {
                    Some("access keys")
                } else if !u.inline_policies.is_empty() {
                    Some("inline policies")
                } else if !u.attached_policies.is_empty() {
                    Some("attached policies")
                } else if !u.groups.is_empty() {
                    Some("group memberships")
                } else if d.login_profile {
                    Some("a login profile")
                } else if !d.mfa_devices.is_empty() {
                    Some("MFA devices")
                } else if !d.signing_certificates.is_empty() {
                    Some("signing certificates")
                } else if !d.ssh_public_keys.is_empty() {
                    Some("SSH public keys")
                } else if !d.service_credentials.is_empty() {
                    Some("service-specific credentials")
                } else {
                    None
                };
                if let Some(b) = blocker {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        format!("cannot delete entity, must remove {b} first"),
                    ));
                }
                let name = u.name.clone();
                self.users.remove(&name);
            }
        }
        Ok(Outcome::Done)
    }
}
