//! The least-privilege IAM policy iamspec itself needs for a spec (`iamspec self-policy`): account reads, creation
//! of exactly the spec's users and policies (with the owner tag), writes only to users and policies carrying the
//! owner tag, attachments of only the spec's policies, memberships of only the spec's groups, and the apply lock.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::OWNER_TAG;
use crate::spec::Spec;

/// IAM's size limit for a managed policy, whitespace excluded: beyond it, lists of ARNs fall back to the path.
const POLICY_LIMIT: usize = crate::policy::MANAGED_POLICY_LIMIT;

/// Writes and per-user reads on users the spec owns, besides attachments and boundaries (conditioned on what is
/// attached) and prune's deletions.
const OWNED_USER_ACTIONS: [&str; 11] = [
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:DeleteUserPermissionsBoundary",
    "iam:DeleteUserPolicy",
    "iam:DetachUserPolicy",
    "iam:GetAccessKeyLastUsed",
    "iam:ListAccessKeys",
    "iam:PutUserPolicy",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:UpdateAccessKey",
];

/// The actions on which IAM sends `iam:PermissionsBoundary` (Service Authorization Reference): for creation and
/// `Put*PermissionsBoundary` the boundary in the request, for the others the boundary the principal carries now.
/// A condition on the key anywhere else would deny the call: CreateAccessKey, AddUserToGroup, tagging and policy
/// versions are not among them.
pub const BOUNDARY_KEYED_ACTIONS: [&str; 15] = [
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DeleteUserPermissionsBoundary",
    "iam:DeleteUserPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
];

/// Managed policies whose holder administers IAM: attached by a spec, they make any cap meaningless.
const ADMIN_POLICIES: [&str; 2] = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

/// Adds `iam:PermissionsBoundary = boundary` to a condition block, when there is a boundary.
fn bounded(mut condition: Value, boundary: Option<&str>) -> Value {
    if let Some(b) = boundary {
        condition["StringEquals"]["iam:PermissionsBoundary"] = json!(b);
    }
    condition
}

/// The condition of a take-over by tagging: the request sets this owner's tag, and the object carries no owner tag
/// (creation, `adopt: true`) or exactly `from`'s (`adopt: {from_owner}`). `key` is the resource-tag key IAM sends
/// for the kind (`iam:ResourceTag/...` for users and roles, `aws:ResourceTag/...` for policies).
fn take_over(request_tag: &Value, key: &str, from: Option<&str>) -> Value {
    let mut condition = request_tag.clone();
    match from {
        Some(old) => condition["StringEquals"][key] = json!(old),
        None => condition["Null"] = json!({ key: "true" }),
    }
    condition
}

/// One statement per previous owner for `adopt: {from_owner}`: `action` on the ARNs taken from that owner only.
fn from_owner_statements<'a>(
    sid: &str,
    action: &str,
    key: &str,
    request_tag: &Value,
    taken: impl Iterator<Item = (&'a str, Vec<String>)>,
) -> Vec<Value> {
    let mut by_owner: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (old, arns) in taken {
        by_owner.entry(old).or_default().extend(arns);
    }
    by_owner
        .into_iter()
        .enumerate()
        .map(|(i, (old, arns))| {
            json!({
                "Sid": format!("{sid}{i}"),
                "Effect": "Allow",
                "Action": [action],
                "Resource": arns,
                "Condition": take_over(request_tag, key, Some(old))
            })
        })
        .collect()
}

/// What prune needs on an owned user that left the spec.
const PRUNE_USER_ACTIONS: [&str; 11] = [
    "iam:DeactivateMFADevice",
    "iam:DeleteLoginProfile",
    "iam:DeleteServiceSpecificCredential",
    "iam:DeleteSigningCertificate",
    "iam:DeleteSSHPublicKey",
    "iam:DeleteUser",
    "iam:GetLoginProfile",
    "iam:ListMFADevices",
    "iam:ListServiceSpecificCredentials",
    "iam:ListSigningCertificates",
    "iam:ListSSHPublicKeys",
];

/// The policy for a spec, and notes for people (printed to stderr).
#[derive(Debug, Clone, PartialEq)]
pub struct SelfPolicy {
    /// The policy document.
    pub document: Value,
    /// Where the policy had to be wider than ideal, and why.
    pub notes: Vec<String>,
}

/// The policy document for `spec`.
#[must_use]
pub fn policy(spec: &Spec) -> SelfPolicy {
    let account = spec.account_id.as_deref().unwrap_or("*");
    let mut notes = Vec::new();
    if spec.account_id.is_none() {
        notes.push(
            "the spec pins no account_id: ARNs name every account (`*`); pin it for a tighter policy".into(),
        );
    }
    let arn = |kind: &str, rest: &str| format!("arn:aws:iam::{account}:{kind}/{rest}");
    let path = spec.path.trim_start_matches('/');
    let path_users = arn("user", &format!("{path}*"));
    let path_policies = arn("policy", &format!("{path}*"));
    let owner = &spec.owner;
    let request_tag = json!({ "StringEquals": { format!("aws:RequestTag/{OWNER_TAG}"): owner } });
    let user_tag = json!({ "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner } });
    let policy_tag = json!({ "StringEquals": { format!("aws:ResourceTag/{OWNER_TAG}"): owner } });
    // Tagging with the owner tag is how an object becomes iamspec's: only an object without any owner tag (being
    // created, or adopted) may get it, never another owner's.
    let user_key = format!("iam:ResourceTag/{OWNER_TAG}");
    let unowned_request_tag = take_over(&request_tag, &user_key, None);
    let boundary_arn = spec.delegate.then(|| {
        arn(
            "policy",
            &format!("{path}{}", crate::names::boundary_policy(owner)),
        )
    });
    let boundary = boundary_arn.as_deref();
    delegation_notes(spec, &mut notes);

    let adopted: Vec<String> = spec
        .users
        .iter()
        .filter(|u| u.adopt)
        .flat_map(|u| [arn("user", &u.name), arn("user", &format!("*/{}", u.name))])
        .collect();
    let mut owned_users = vec![path_users.clone()];
    owned_users.extend(adopted.iter().cloned());
    let spec_policy_arns: Vec<String> = spec
        .policies
        .iter()
        .map(|p| arn("policy", &format!("{path}{}", p.name)))
        .collect();

    let mut statements = vec![json!({
        "Sid": "ReadAccount",
        "Effect": "Allow",
        "Action": ["iam:GetAccountAuthorizationDetails"],
        "Resource": "*"
    })];
    // Keys are read from the credential report: one account-wide read instead of one ListAccessKeys per user. It
    // holds no secrets (slots, dates, last use) and IAM allows it on `*` only.
    if spec.users.iter().any(|u| u.access_keys.is_some()) {
        statements.push(json!({
            "Sid": "ReadCredentialReport",
            "Effect": "Allow",
            "Action": ["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
            "Resource": "*"
        }));
    }
    // A managed policy the spec attaches must exist before anything is written (GetPolicy, where the account read
    // does not already show it); its document tells the plan what access attaching it changes (GetPolicyVersion).
    let checked = crate::boundary::managed_arns(spec);
    if !checked.is_empty() {
        statements.push(json!({
            "Sid": "CheckAttachedPolicies",
            "Effect": "Allow",
            "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
            "Resource": checked
        }));
    }
    // Ownership of policies under the path is their tag, read where it matters.
    statements.push(json!({
        "Sid": "ReadPolicyOwners",
        "Effect": "Allow",
        "Action": ["iam:ListPolicyTags"],
        "Resource": path_policies
    }));
    if !spec.users.is_empty() {
        let names: Vec<String> = spec
            .users
            .iter()
            .map(|u| arn("user", &format!("{path}{}", u.name)))
            .collect();
        statements.push(json!({
            "Sid": "CreateSpecUsers",
            "Effect": "Allow",
            "Action": ["iam:CreateUser"],
            "Resource": names,
            "Condition": bounded(request_tag.clone(), boundary)
        }));
        // CreateUser with tags is also authorized as TagUser; IAM sends no boundary key for it.
        statements.push(json!({
            "Sid": "TagNewSpecUsers",
            "Effect": "Allow",
            "Action": ["iam:TagUser"],
            "Resource": names,
            "Condition": unowned_request_tag
        }));
    }
    let mut owned_actions: Vec<&str> = OWNED_USER_ACTIONS.to_vec();
    if boundary.is_some() {
        // Writing a policy adds access: only on users that carry the boundary. Removing the boundary: never.
        owned_actions
            .retain(|a| *a != "iam:PutUserPolicy" && *a != "iam:DeleteUserPermissionsBoundary");
        statements.push(json!({
            "Sid": "WriteBoundedUsers",
            "Effect": "Allow",
            "Action": ["iam:PutUserPolicy"],
            "Resource": owned_users,
            "Condition": bounded(user_tag.clone(), boundary)
        }));
    }
    if spec.prune {
        owned_actions.extend(PRUNE_USER_ACTIONS);
        owned_actions.sort_unstable();
    }
    statements.push(json!({
        "Sid": "ManageOwnedUsers",
        "Effect": "Allow",
        "Action": owned_actions,
        "Resource": owned_users,
        "Condition": user_tag
    }));
    let attachable: Vec<String> = spec
        .users
        .iter()
        .flat_map(|u| u.managed_policies.iter().cloned())
        .chain(spec_policy_arns.iter().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !attachable.is_empty() {
        statements.push(json!({
            "Sid": "AttachSpecPolicies",
            "Effect": "Allow",
            "Action": ["iam:AttachUserPolicy"],
            "Resource": owned_users,
            "Condition": bounded(json!({
                "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner },
                "ArnEquals": { "iam:PolicyARN": attachable }
            }), boundary)
        }));
    }
    let boundaries: std::collections::BTreeSet<&String> = match &boundary_arn {
        Some(b) if !spec.users.is_empty() => std::iter::once(b).collect(),
        Some(_) => std::collections::BTreeSet::new(),
        None => spec
            .users
            .iter()
            .filter_map(|u| u.permissions_boundary.as_ref())
            .collect(),
    };
    if !boundaries.is_empty() {
        statements.push(json!({
            "Sid": "SetSpecBoundaries",
            "Effect": "Allow",
            "Action": ["iam:PutUserPermissionsBoundary"],
            "Resource": owned_users,
            "Condition": {
                "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner },
                "ArnEquals": { "iam:PermissionsBoundary": boundaries }
            }
        }));
    }
    if !adopted.is_empty() {
        // An adopted user has no owner tag yet: tagging it (with this owner) is how iamspec takes it over.
        statements.push(json!({
            "Sid": "AdoptSpecUsers",
            "Effect": "Allow",
            "Action": ["iam:TagUser"],
            "Resource": adopted,
            "Condition": unowned_request_tag
        }));
        statements.push(json!({
            "Sid": "ReadAdoptedKeys",
            "Effect": "Allow",
            "Action": ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys"],
            "Resource": adopted
        }));
    }
    // `adopt: {from_owner}`: tagging takes a user from that owner only, named one by one.
    statements.extend(from_owner_statements(
        "AdoptUsersFromOwner",
        "iam:TagUser",
        &user_key,
        &request_tag,
        spec.users.iter().filter_map(|u| {
            let old = u.adopt_from.as_deref()?;
            Some((
                old,
                vec![arn("user", &u.name), arn("user", &format!("*/{}", u.name))],
            ))
        }),
    ));
    let groups: std::collections::BTreeSet<&String> =
        spec.users.iter().flat_map(|u| u.groups.iter()).collect();
    if !groups.is_empty() {
        let group_arns: Vec<String> = groups
            .iter()
            .flat_map(|g| [arn("group", g), arn("group", &format!("*/{g}"))])
            .collect();
        statements.push(json!({
            "Sid": "SpecGroupMemberships",
            "Effect": "Allow",
            "Action": ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
            "Resource": group_arns
        }));
    }
    if spec.prune {
        // A user being pruned leaves whatever groups it is in, which the pruning spec no longer names; IAM offers no
        // condition on the member (the action's resource is the group), so removal is allowed from any group.
        statements.push(json!({
            "Sid": "PruneGroupMemberships",
            "Effect": "Allow",
            "Action": ["iam:RemoveUserFromGroup"],
            "Resource": arn("group", "*")
        }));
        notes.push(
            "with prune: true the policy allows iam:RemoveUserFromGroup on every group: a pruned user leaves groups the spec no longer names, and IAM cannot condition that action on the member".into(),
        );
    }
    if !spec_policy_arns.is_empty() {
        statements.push(json!({
            "Sid": "CreateSpecPolicies",
            "Effect": "Allow",
            "Action": ["iam:CreatePolicy"],
            "Resource": spec_policy_arns,
            "Condition": request_tag
        }));
        // Tagging with the owner tag takes a policy over: at creation or adoption, never from another owner...
        let policy_key = format!("aws:ResourceTag/{OWNER_TAG}");
        let unowned_policy = take_over(&request_tag, &policy_key, None);
        statements.push(json!({
            "Sid": "TagNewSpecPolicies",
            "Effect": "Allow",
            "Action": ["iam:TagPolicy"],
            "Resource": spec_policy_arns,
            "Condition": unowned_policy
        }));
        // ...unless the spec says `adopt: {from_owner}`, and then from that owner only.
        statements.extend(from_owner_statements(
            "AdoptPoliciesFromOwner",
            "iam:TagPolicy",
            &policy_key,
            &request_tag,
            spec.policies.iter().filter_map(|p| {
                let old = p.adopt_from.as_deref()?;
                Some((old, vec![arn("policy", &format!("{path}{}", p.name))]))
            }),
        ));
        statements.push(json!({
            "Sid": "VersionOwnedSpecPolicies",
            "Effect": "Allow",
            "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion"],
            "Resource": spec_policy_arns,
            "Condition": policy_tag
        }));
    }
    if spec.prune {
        statements.push(json!({
            "Sid": "PruneOwnedPolicies",
            "Effect": "Allow",
            "Action": ["iam:DeletePolicy", "iam:DeletePolicyVersion"],
            "Resource": path_policies,
            "Condition": policy_tag
        }));
    }
    if !spec.roles.is_empty() || spec.prune {
        role_statements(spec, &arn, path, boundary, &mut statements, &mut notes);
    }
    if let Some(b) = boundary {
        statements.extend(boundary_denials(b));
    }
    if !spec.groups.is_empty() || spec.prune {
        group_statements(spec, &arn, path, &mut statements, &mut notes);
    }
    let lock = arn(
        "policy",
        &format!("{path}{}", crate::names::lock_policy(owner)),
    );
    statements.push(json!({
        "Sid": "TakeApplyLock",
        "Effect": "Allow",
        "Action": ["iam:CreatePolicy", "iam:TagPolicy"],
        "Resource": lock,
        "Condition": request_tag
    }));
    statements.push(json!({
        "Sid": "ReleaseApplyLock",
        "Effect": "Allow",
        "Action": ["iam:GetPolicy", "iam:DeletePolicy"],
        "Resource": lock
    }));

    // Too many spec users or policies for one managed policy: name them by path instead (still conditioned on
    // the owner tag), and say so.
    let mut document = json!({ "Version": "2012-10-17", "Statement": statements });
    if size(&document) > POLICY_LIMIT {
        for st in document["Statement"].as_array_mut().into_iter().flatten() {
            match st["Sid"].as_str() {
                Some("CreateSpecUsers" | "TagNewSpecUsers") => st["Resource"] = json!(path_users),
                Some("CreateSpecPolicies" | "TagNewSpecPolicies" | "VersionOwnedSpecPolicies") => {
                    st["Resource"] = json!(path_policies);
                }
                _ => {}
            }
        }
        notes.push(format!(
            "the spec's users and policies, named one by one, exceed IAM's {POLICY_LIMIT}-character policy limit: creation is allowed by path ({path_users}) instead, still only with the owner tag"
        ));
    }
    SelfPolicy { document, notes }
}

/// What the pipeline may never do under `delegate: true`, whatever else allows it: remove a boundary, set any
/// other, create a principal without it, or change the boundary itself (the admin step's).
fn boundary_denials(boundary: &str) -> Vec<Value> {
    vec![
        json!({
            "Sid": "NeverRemoveTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*"
        }),
        json!({
            "Sid": "NoPrincipalWithoutTheBoundary",
            "Effect": "Deny",
            "Action": [
                "iam:CreateRole",
                "iam:CreateUser",
                "iam:PutRolePermissionsBoundary",
                "iam:PutUserPermissionsBoundary"
            ],
            "Resource": "*",
            "Condition": { "StringNotEquals": { "iam:PermissionsBoundary": boundary } }
        }),
        json!({
            "Sid": "TheBoundaryIsTheAdminStepsToChange",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy"
            ],
            "Resource": boundary
        }),
    ]
}

/// What the policy's holder can still do that the spec does not say, in plain words.
fn delegation_notes(spec: &Spec, notes: &mut Vec<String>) {
    let admin: Vec<&str> = crate::boundary::managed_arns(spec)
        .into_iter()
        .filter_map(|a| ADMIN_POLICIES.iter().find(|p| **p == a).copied())
        .collect();
    let analysis = crate::boundary::boundary(spec, &std::collections::BTreeMap::new());
    if !admin.is_empty() || !analysis.admin_equivalent.is_empty() {
        let why: Vec<String> = admin
            .iter()
            .map(|a| format!("the spec attaches {a}"))
            .chain(analysis.admin_equivalent.iter().cloned())
            .collect();
        notes.push(format!(
            "this role is admin-equivalent whatever its conditions, because the spec's own needs administer IAM: {}",
            why.join("; ")
        ));
        return;
    }
    if !spec.delegate {
        if !spec.users.is_empty() || !spec.roles.is_empty() {
            notes.push(
                "without `delegate: true` this role is admin-equivalent for the principals it owns: it may put any inline policy on an owned user or role and create keys for it; set `delegate: true` so every principal carries a boundary capped to the spec (see README, Running in CI)".into(),
            );
        }
        return;
    }
    let writable_groups: Vec<&str> = spec
        .groups
        .iter()
        .filter(|g| {
            !g.grants.is_empty() || !g.managed_policies.is_empty() || !g.policies.is_empty()
        })
        .map(|g| g.name.as_str())
        .collect();
    if !writable_groups.is_empty() {
        notes.push(format!(
            "groups take no boundary and AddUserToGroup cannot be limited by member: a holder that rewrites the documents of group(s) {} can give any user of the account anything, so this role is admin-equivalent through them; move those grants to users or roles, or keep the groups' documents with the admin step",
            writable_groups.join(", ")
        ));
    }
}

/// Size as IAM counts it: compact JSON, whitespace excluded.
/// What roles need: creation of the spec's roles with the owner tag, every write the diff makes to owned roles
/// (conditioned on the tag), attachments of the spec's managed policies, adoption, and with `prune` deletion.
fn role_statements(
    spec: &Spec,
    arn: &dyn Fn(&str, &str) -> String,
    path: &str,
    boundary: Option<&str>,
    statements: &mut Vec<Value>,
    notes: &mut Vec<String>,
) {
    let owner = &spec.owner;
    let request_tag = json!({ "StringEquals": { format!("aws:RequestTag/{OWNER_TAG}"): owner } });
    let role_tag = json!({ "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner } });
    let role_key = format!("iam:ResourceTag/{OWNER_TAG}");
    let unowned_request_tag = take_over(&request_tag, &role_key, None);
    let path_roles = arn("role", &format!("{path}*"));
    let adopted: Vec<String> = spec
        .roles
        .iter()
        .filter(|r| r.adopt)
        .flat_map(|r| [arn("role", &r.name), arn("role", &format!("*/{}", r.name))])
        .collect();
    let mut owned = vec![path_roles];
    owned.extend(adopted.iter().cloned());
    if !spec.roles.is_empty() {
        let names: Vec<String> = spec
            .roles
            .iter()
            .map(|r| arn("role", &format!("{path}{}", r.name)))
            .collect();
        statements.push(json!({
            "Sid": "CreateSpecRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateRole"],
            "Resource": names,
            "Condition": bounded(request_tag.clone(), boundary)
        }));
        statements.push(json!({
            "Sid": "TagNewSpecRoles",
            "Effect": "Allow",
            "Action": ["iam:TagRole"],
            "Resource": names,
            "Condition": unowned_request_tag.clone()
        }));
    }
    let mut actions = vec![
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
    ];
    if boundary.is_some() {
        // A policy or a new trust widens what the role gives: only on roles that carry the boundary.
        actions.retain(|a| {
            !matches!(
                *a,
                "iam:PutRolePolicy"
                    | "iam:UpdateAssumeRolePolicy"
                    | "iam:DeleteRolePermissionsBoundary"
            )
        });
    }
    statements.push(json!({
        "Sid": "ManageOwnedRoles",
        "Effect": "Allow",
        "Action": actions,
        "Resource": owned,
        "Condition": role_tag.clone()
    }));
    if boundary.is_some() {
        statements.push(json!({
            "Sid": "WriteBoundedRoles",
            "Effect": "Allow",
            "Action": ["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"],
            "Resource": owned,
            "Condition": bounded(role_tag.clone(), boundary)
        }));
    }
    if spec.prune {
        // A role adopted outside the path and later dropped from the spec is pruned where it is: its name is no
        // longer in the spec, so only its owner tag can say it is ours.
        statements.push(json!({
            "Sid": "PruneOwnedRoles",
            "Effect": "Allow",
            "Action": ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"],
            "Resource": arn("role", "*"),
            "Condition": role_tag
        }));
    }
    let attachable: std::collections::BTreeSet<String> = spec
        .roles
        .iter()
        .flat_map(|r| {
            r.managed_policies.iter().cloned().chain(
                r.policies
                    .iter()
                    .map(|p| arn("policy", &format!("{path}{p}"))),
            )
        })
        .collect();
    if !attachable.is_empty() {
        statements.push(json!({
            "Sid": "AttachSpecRolePolicies",
            "Effect": "Allow",
            "Action": ["iam:AttachRolePolicy"],
            "Resource": owned,
            "Condition": bounded(json!({
                "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner },
                "ArnEquals": { "iam:PolicyARN": attachable }
            }), boundary)
        }));
    }
    let delegated = boundary.map(str::to_owned);
    let boundaries: std::collections::BTreeSet<&String> = match &delegated {
        Some(b) if !spec.roles.is_empty() => std::iter::once(b).collect(),
        Some(_) => std::collections::BTreeSet::new(),
        None => spec
            .roles
            .iter()
            .filter_map(|r| r.permissions_boundary.as_ref())
            .collect(),
    };
    if !boundaries.is_empty() {
        statements.push(json!({
            "Sid": "SetSpecRoleBoundaries",
            "Effect": "Allow",
            "Action": ["iam:PutRolePermissionsBoundary"],
            "Resource": owned,
            "Condition": {
                "StringEquals": { format!("iam:ResourceTag/{OWNER_TAG}"): owner },
                "ArnEquals": { "iam:PermissionsBoundary": boundaries }
            }
        }));
    }
    statements.extend(from_owner_statements(
        "AdoptRolesFromOwner",
        "iam:TagRole",
        &role_key,
        &request_tag,
        spec.roles.iter().filter_map(|r| {
            let old = r.adopt_from.as_deref()?;
            Some((
                old,
                vec![arn("role", &r.name), arn("role", &format!("*/{}", r.name))],
            ))
        }),
    ));
    if !adopted.is_empty() {
        statements.push(json!({
            "Sid": "AdoptSpecRoles",
            "Effect": "Allow",
            "Action": ["iam:TagRole"],
            "Resource": adopted,
            "Condition": unowned_request_tag
        }));
    }
    if spec.prune {
        // The action's resource is the instance profile, which carries no owner tag of iamspec's.
        statements.push(json!({
            "Sid": "PruneRolesFromInstanceProfiles",
            "Effect": "Allow",
            "Action": ["iam:RemoveRoleFromInstanceProfile"],
            "Resource": arn("instance-profile", "*")
        }));
        notes.push(
            "with prune: true the policy allows iam:RemoveRoleFromInstanceProfile on every instance profile: a pruned role must leave them, and IAM cannot condition that action on the role".into(),
        );
    }
}

/// What managed groups need. Groups take no tags, so no condition can say "owned": the spec's groups are named
/// one by one, and with `prune` every group under the path may be emptied and deleted (the diff only does that to
/// groups carrying this owner's marker; the policy cannot check it).
fn group_statements(
    spec: &Spec,
    arn: &dyn Fn(&str, &str) -> String,
    path: &str,
    statements: &mut Vec<Value>,
    notes: &mut Vec<String>,
) {
    let names: Vec<String> = spec
        .groups
        .iter()
        .flat_map(|g| {
            if g.adopt {
                vec![
                    arn("group", &g.name),
                    arn("group", &format!("*/{}", g.name)),
                ]
            } else {
                vec![arn("group", &format!("{path}{}", g.name))]
            }
        })
        .collect();
    if !names.is_empty() {
        statements.push(json!({
            "Sid": "ManageSpecGroups",
            "Effect": "Allow",
            "Action": [
                "iam:CreateGroup",
                "iam:DeleteGroupPolicy",
                "iam:DetachGroupPolicy",
                "iam:PutGroupPolicy"
            ],
            "Resource": names
        }));
        let attachable: std::collections::BTreeSet<String> = spec
            .groups
            .iter()
            .flat_map(|g| {
                g.managed_policies.iter().cloned().chain(
                    g.policies
                        .iter()
                        .map(|p| arn("policy", &format!("{path}{p}"))),
                )
            })
            .collect();
        if !attachable.is_empty() {
            statements.push(json!({
                "Sid": "AttachSpecGroupPolicies",
                "Effect": "Allow",
                "Action": ["iam:AttachGroupPolicy"],
                "Resource": names,
                "Condition": { "ArnEquals": { "iam:PolicyARN": attachable } }
            }));
        }
    }
    if spec.prune {
        statements.push(json!({
            "Sid": "PruneOwnedGroups",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteGroup",
                "iam:DeleteGroupPolicy",
                "iam:DetachGroupPolicy",
                "iam:RemoveUserFromGroup"
            ],
            "Resource": arn("group", &format!("{path}*"))
        }));
        notes.push(format!(
            "groups take no tags: with prune: true the policy allows deleting any group under {}; iamspec itself deletes only groups carrying its owner marker",
            spec.path
        ));
    }
}

fn size(doc: &Value) -> usize {
    crate::policy::non_whitespace_len(&doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no {sid}: {doc}"))
    }

    #[test]
    fn scopes_writes_to_owned_users_and_spec_objects() {
        let text = "version: 1\naccount_id: \"123456789012\"\nowner: web\npath: /svc/\nusers:\n  a: {adopt: true}\n  b:\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    groups: [readers]\n";
        let spec = crate::spec::load("s.yaml", text).unwrap().spec;
        let p = policy(&spec).document;
        let manage = statement(&p, "ManageOwnedUsers");
        assert_eq!(
            manage["Resource"][0],
            "arn:aws:iam::123456789012:user/svc/*"
        );
        assert_eq!(
            manage["Condition"]["StringEquals"]["iam:ResourceTag/iamspec:owner"],
            "web"
        );
        assert!(!manage["Action"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "iam:AttachUserPolicy" || a == "iam:DeleteUser"));
        let create = statement(&p, "CreateSpecUsers");
        assert_eq!(
            create["Resource"],
            json!([
                "arn:aws:iam::123456789012:user/svc/a",
                "arn:aws:iam::123456789012:user/svc/b"
            ])
        );
        let attach = statement(&p, "AttachSpecPolicies");
        assert_eq!(
            attach["Condition"]["ArnEquals"]["iam:PolicyARN"],
            json!(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
        );
        assert_eq!(
            statement(&p, "SpecGroupMemberships")["Resource"][0],
            "arn:aws:iam::123456789012:group/readers"
        );
        assert_eq!(
            statement(&p, "AdoptSpecUsers")["Resource"][0],
            "arn:aws:iam::123456789012:user/a"
        );
        assert_eq!(
            statement(&p, "TakeApplyLock")["Resource"],
            "arn:aws:iam::123456789012:policy/svc/iamspec-lock-web"
        );
        assert!(crate::policy::PolicyDocument::from_value(&p).is_ok());
        assert!(size(&p) <= POLICY_LIMIT);
    }

    #[test]
    fn a_large_spec_falls_back_to_the_path_and_says_so() {
        let mut text = String::from("version: 1\naccount_id: \"123456789012\"\nusers:\n");
        for i in 0..400 {
            text.push_str(&format!("  user-{i}: {{}}\n"));
        }
        let spec = crate::spec::load("s.yaml", &text).unwrap().spec;
        let p = policy(&spec);
        assert!(size(&p.document) <= POLICY_LIMIT, "{}", size(&p.document));
        assert_eq!(
            statement(&p.document, "CreateSpecUsers")["Resource"],
            "arn:aws:iam::123456789012:user/iamspec/*"
        );
        assert!(
            p.notes.iter().any(|n| n.contains("exceed IAM's")),
            "{:?}",
            p.notes
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("without `delegate: true`")),
            "{:?}",
            p.notes
        );
    }
}
