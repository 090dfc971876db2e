//! One call per write operation: each [`Op`] as the IAM request that carries it out.

use aws_sdk_iam::types::StatusType;

use super::errors::MapErrInto;
use super::{seconds, tags_of, AwsBackend};
use crate::backend::{BackendError, ErrorKind, NewAccessKey, Outcome, Secret};
use crate::model::KeyStatus;
use crate::plan::Op;

impl AwsBackend {
    /// Sends one operation's call (DeletePolicy's versions are the caller's).
    pub(super) async fn send(&self, op: &Op) -> Result<Outcome, BackendError> {
        let name = op.api_name();
        let iam = &self.iam;
        let user = op.target_name();
        match op {
            Op::CreateUser {
                path,
                tags,
                permissions_boundary,
                ..
            } => {
                iam.create_user()
                    .user_name(user)
                    .path(path)
                    .set_tags(Some(tags_of(tags)))
                    .set_permissions_boundary(permissions_boundary.clone())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::TagUser { tags, .. } | Op::AdoptUser { tags, .. } => {
                iam.tag_user()
                    .user_name(user)
                    .set_tags(Some(tags_of(tags)))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::UntagUser { keys, .. } => {
                iam.untag_user()
                    .user_name(user)
                    .set_tag_keys(Some(keys.clone()))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::PutUserPolicy {
                policy_name,
                document,
                ..
            } => {
                iam.put_user_policy()
                    .user_name(user)
                    .policy_name(policy_name)
                    .policy_document(document.to_compact_json())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteUserPolicy { policy_name, .. } => {
                iam.delete_user_policy()
                    .user_name(user)
                    .policy_name(policy_name)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::AttachUserPolicy { policy_arn, .. } => {
                iam.attach_user_policy()
                    .user_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DetachUserPolicy { policy_arn, .. } => {
                iam.detach_user_policy()
                    .user_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::AddUserToGroup { group, .. } => {
                iam.add_user_to_group()
                    .user_name(user)
                    .group_name(group)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::RemoveUserFromGroup { group, .. } => {
                iam.remove_user_from_group()
                    .user_name(user)
                    .group_name(group)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::PutUserPermissionsBoundary { policy_arn, .. } => {
                iam.put_user_permissions_boundary()
                    .user_name(user)
                    .permissions_boundary(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteUserPermissionsBoundary { .. } => {
                iam.delete_user_permissions_boundary()
                    .user_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::CreateAccessKey { .. } => {
                let out = iam
                    .create_access_key()
                    .user_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
                let key = out.access_key().ok_or_else(|| {
                    let mut e =
                        BackendError::new(ErrorKind::Other, name, "the response has no access key")
                            .on(user);
                    e.ambiguous = true;
                    e
                })?;
                return Ok(Outcome::AccessKey(NewAccessKey {
                    user: user.to_owned(),
                    id: key.access_key_id().to_owned(),
                    secret: Secret::new(key.secret_access_key().to_owned()),
                    created: seconds(key.create_date()),
                }));
            }
            Op::UpdateAccessKey { key_id, status, .. } => {
                let status = match status {
                    KeyStatus::Active => StatusType::Active,
                    KeyStatus::Inactive => StatusType::Inactive,
                };
                iam.update_access_key()
                    .user_name(user)
                    .access_key_id(key_id)
                    .status(status)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteAccessKey { key_id, .. } | Op::DeleteUndeliveredKey { key_id, .. } => {
                iam.delete_access_key()
                    .user_name(user)
                    .access_key_id(key_id)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteLoginProfile { .. } => {
                iam.delete_login_profile()
                    .user_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeactivateMfaDevice { serial, .. } => {
                iam.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(serial)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteSigningCertificate { certificate_id, .. } => {
                iam.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(certificate_id)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteSshPublicKey { key_id, .. } => {
                iam.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(key_id)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteServiceSpecificCredential { credential_id, .. } => {
                iam.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(credential_id)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::CreatePolicy {
                path,
                description,
                document,
                tags,
                ..
            } => {
                iam.create_policy()
                    .policy_name(user)
                    .path(path)
                    .set_description(description.clone())
                    .policy_document(document.to_compact_json())
                    .set_tags(Some(tags_of(tags)))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::CreatePolicyVersion {
                policy_arn,
                document,
                ..
            } => {
                iam.create_policy_version()
                    .policy_arn(policy_arn)
                    .policy_document(document.to_compact_json())
                    .set_as_default(true)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeletePolicyVersion {
                policy_arn,
                version_id,
                ..
            } => {
                iam.delete_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version_id)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::AdoptPolicy {
                policy_arn, tags, ..
            } => {
                iam.tag_policy()
                    .policy_arn(policy_arn)
                    .set_tags(Some(tags_of(tags)))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeletePolicy { policy_arn, .. } => {
                iam.delete_policy()
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteUser { .. } => {
                iam.delete_user()
                    .user_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::CreateRole {
                path,
                trust,
                max_session_seconds,
                tags,
                permissions_boundary,
                ..
            } => {
                iam.create_role()
                    .role_name(user)
                    .path(path)
                    .assume_role_policy_document(trust.to_compact_json())
                    .max_session_duration(i32::try_from(*max_session_seconds).unwrap_or(3600))
                    .set_tags(Some(tags_of(tags)))
                    .set_permissions_boundary(permissions_boundary.clone())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::TagRole { tags, .. } | Op::AdoptRole { tags, .. } => {
                iam.tag_role()
                    .role_name(user)
                    .set_tags(Some(tags_of(tags)))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::UntagRole { keys, .. } => {
                iam.untag_role()
                    .role_name(user)
                    .set_tag_keys(Some(keys.clone()))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::UpdateAssumeRolePolicy { document, .. } => {
                iam.update_assume_role_policy()
                    .role_name(user)
                    .policy_document(document.to_compact_json())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::UpdateRole {
                max_session_seconds,
                ..
            } => {
                iam.update_role()
                    .role_name(user)
                    .max_session_duration(i32::try_from(*max_session_seconds).unwrap_or(3600))
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::PutRolePolicy {
                policy_name,
                document,
                ..
            } => {
                iam.put_role_policy()
                    .role_name(user)
                    .policy_name(policy_name)
                    .policy_document(document.to_compact_json())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteRolePolicy { policy_name, .. } => {
                iam.delete_role_policy()
                    .role_name(user)
                    .policy_name(policy_name)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::AttachRolePolicy { policy_arn, .. } => {
                iam.attach_role_policy()
                    .role_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DetachRolePolicy { policy_arn, .. } => {
                iam.detach_role_policy()
                    .role_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::PutRolePermissionsBoundary { policy_arn, .. } => {
                iam.put_role_permissions_boundary()
                    .role_name(user)
                    .permissions_boundary(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteRolePermissionsBoundary { .. } => {
                iam.delete_role_permissions_boundary()
                    .role_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteRole { .. } => {
                iam.delete_role()
                    .role_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::CreateGroup { path, .. } => {
                iam.create_group()
                    .group_name(user)
                    .path(path)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::MarkGroup { document, .. } => {
                iam.put_group_policy()
                    .group_name(user)
                    .policy_name(crate::model::GROUP_OWNER_POLICY)
                    .policy_document(document.to_compact_json())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::PutGroupPolicy {
                policy_name,
                document,
                ..
            } => {
                iam.put_group_policy()
                    .group_name(user)
                    .policy_name(policy_name)
                    .policy_document(document.to_compact_json())
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteGroupPolicy { policy_name, .. } => {
                iam.delete_group_policy()
                    .group_name(user)
                    .policy_name(policy_name)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::AttachGroupPolicy { policy_arn, .. } => {
                iam.attach_group_policy()
                    .group_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DetachGroupPolicy { policy_arn, .. } => {
                iam.detach_group_policy()
                    .group_name(user)
                    .policy_arn(policy_arn)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::RemoveGroupMember { user: member, .. } => {
                iam.remove_user_from_group()
                    .group_name(user)
                    .user_name(member)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
            Op::DeleteGroup { .. } => {
                iam.delete_group()
                    .group_name(user)
                    .send()
                    .map_err_into(name, user)
                    .await?;
            }
        }
        Ok(Outcome::Done)
    }
}
