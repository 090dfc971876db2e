//! The least-privilege IAM policy iamspec itself needs for a spec: reads on the account, writes only on users under
//! the spec's path that carry its owner tag (or that it adopts).

use serde_json::{json, Value};

use crate::model::OWNER_TAG;
use crate::spec::Spec;

/// Every IAM write or per-user read iamspec makes on users it manages.
pub const USER_ACTIONS: [&str; 24] = [
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:DeactivateMFADevice",
    "iam:DeleteAccessKey",
    "iam:DeleteLoginProfile",
    "iam:DeleteServiceSpecificCredential",
    "iam:DeleteSigningCertificate",
    "iam:DeleteSSHPublicKey",
    "iam:DeleteUser",
    "iam:DeleteUserPermissionsBoundary",
    "iam:DeleteUserPolicy",
    "iam:DetachUserPolicy",
    "iam:GetLoginProfile",
    "iam:ListAccessKeys",
    "iam:ListMFADevices",
    "iam:ListServiceSpecificCredentials",
    "iam:ListSigningCertificates",
    "iam:ListSSHPublicKeys",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:UpdateAccessKey",
    "iam:ListUserTags",
];

/// The policy document for `spec`.
#[must_use]
pub fn policy(spec: &Spec) -> Value {
    let account = spec.account_id.as_deref().unwrap_or("*");
    let path_users = format!("arn:aws:iam::{account}:user{}*", spec.path);
    let adopted: Vec<String> = spec
        .users
        .iter()
        .filter(|u| u.adopt)
        .flat_map(|u| {
            [
                format!("arn:aws:iam::{account}:user/{}", u.name),
                format!("arn:aws:iam::{account}:user/*/{}", u.name),
            ]
        })
        .collect();
    let mut managed = vec![path_users.clone()];
    managed.extend(adopted.iter().cloned());
    let owner_condition =
        |key: &str| json!({ "StringEquals": { format!("{key}/{OWNER_TAG}"): spec.owner } });
    let mut statements = vec![
        json!({
            "Sid": "ReadAccount",
            "Effect": "Allow",
            "Action": ["iam:GetAccountAuthorizationDetails", "iam:GetAccountSummary"],
            "Resource": "*"
        }),
        json!({
            "Sid": "CreateOwnedUsers",
            "Effect": "Allow",
            "Action": ["iam:CreateUser", "iam:TagUser"],
            "Resource": path_users,
            "Condition": owner_condition("aws:RequestTag")
        }),
        json!({
            "Sid": "ManageOwnedUsers",
            "Effect": "Allow",
            "Action": USER_ACTIONS,
            "Resource": managed,
            "Condition": owner_condition("iam:ResourceTag")
        }),
        json!({
            "Sid": "GroupMemberships",
            "Effect": "Allow",
            "Action": ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
            "Resource": format!("arn:aws:iam::{account}:group/*")
        }),
    ];
    if !spec.policies.is_empty() || spec.prune {
        statements.push(json!({
            "Sid": "ManageSharedPolicies",
            "Effect": "Allow",
            "Action": ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:TagPolicy"],
            "Resource": format!("arn:aws:iam::{account}:policy{}*", spec.path)
        }));
    }
    if !adopted.is_empty() {
        // An adopted user has no owner tag yet: tagging it is how iamspec takes it over.
        statements.push(json!({
            "Sid": "AdoptUsers",
            "Effect": "Allow",
            "Action": ["iam:TagUser", "iam:ListAccessKeys"],
            "Resource": adopted
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_writes_to_path_and_owner() {
        let text = "version: 1\naccount_id: \"123456789012\"\nowner: web\npath: /svc/\nusers:\n  a: {adopt: true}\n";
        let spec = crate::spec::load("s.yaml", text).unwrap().spec;
        let p = policy(&spec);
        let manage = &p["Statement"][2];
        assert_eq!(
            manage["Resource"][0],
            "arn:aws:iam::123456789012:user/svc/*"
        );
        assert_eq!(
            manage["Condition"]["StringEquals"]["iam:ResourceTag/iamspec:owner"],
            "web"
        );
        assert_eq!(p["Statement"][4]["Sid"], "AdoptUsers");
        assert!(crate::policy::PolicyDocument::from_value(&p).is_ok());
    }
}
