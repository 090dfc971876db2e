//! The IAM requests each operation is, as IAM authorises them: the action, what it acts on, and what the request
//! itself carries that conditions can see (tags it sets, the policy it attaches, the boundary it sets). The AWS
//! backend sends exactly these calls, less the implied ones (tests/moto.rs compares them with what reached the
//! emulator), and the self-policy is proven against them (tests/selfpolicy.rs): neither keeps a table per kind.

use std::collections::BTreeMap;

use super::Op;

/// One IAM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The IAM action, without the `iam:` prefix (`CreateUser`).
    pub action: &'static str,
    /// What it acts on.
    pub resource: Resource<'a>,
    /// Tags the request sets (`aws:RequestTag/*`, `aws:TagKeys`).
    pub tags: Option<&'a BTreeMap<String, String>>,
    /// The managed policy it attaches or detaches (`iam:PolicyARN`).
    pub policy: Option<Attachment<'a>>,
    /// The permissions boundary the request sets (`iam:PermissionsBoundary` in the request).
    pub boundary: Option<&'a str>,
    /// Authorised as part of the call before it, not sent on its own (a create's tags need the Tag action).
    pub implied: bool,
}

/// A managed policy a request attaches or detaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment<'a> {
    /// Attached, by ARN: what the principal may do after depends on its document.
    Attach(&'a str),
    /// Detached, by ARN.
    Detach(&'a str),
}

impl<'a> Attachment<'a> {
    /// The policy's ARN.
    #[must_use]
    pub fn arn(self) -> &'a str {
        match self {
            Self::Attach(arn) | Self::Detach(arn) => arn,
        }
    }
}

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The operation's target, as it exists.
    Target,
    /// The target the operation creates, at this path.
    New {
        /// Its IAM path.
        path: &'a str,
    },
    /// A managed policy, by ARN.
    Policy(&'a str),
    /// A group, by name (a user joins or leaves it).
    Group(&'a str),
    /// An instance profile, by name (a role being deleted leaves it).
    InstanceProfile(&'a str),
}

impl<'a> Request<'a> {
    const fn on(action: &'static str, resource: Resource<'a>) -> Self {
        Self {
            action,
            resource,
            tags: None,
            policy: None,
            boundary: None,
            implied: false,
        }
    }

    fn target(action: &'static str) -> Self {
        Self::on(action, Resource::Target)
    }

    fn tagging(mut self, tags: &'a BTreeMap<String, String>) -> Self {
        self.tags = Some(tags);
        self
    }

    fn attaching(mut self, arn: &'a str) -> Self {
        self.policy = Some(Attachment::Attach(arn));
        self
    }

    fn detaching(mut self, arn: &'a str) -> Self {
        self.policy = Some(Attachment::Detach(arn));
        self
    }

    fn bounding(mut self, arn: Option<&'a str>) -> Self {
        self.boundary = arn;
        self
    }
}

/// A create that sets tags: the create itself, and the kind's Tag action IAM also authorises.
fn tagged_create<'a>(
    create: &'static str,
    tag: &'static str,
    path: &'a str,
    tags: &'a BTreeMap<String, String>,
    boundary: Option<&'a str>,
) -> Vec<Request<'a>> {
    vec![
        Request::on(create, Resource::New { path })
            .tagging(tags)
            .bounding(boundary),
        Request {
            implied: true,
            ..Request::on(tag, Resource::New { path }).tagging(tags)
        },
    ]
}

impl Op {
    /// The managed policy this operation attaches, detaches or sets as a boundary: its document decides what the
    /// principal may do after. (A policy's own document changes come with the operation.)
    #[must_use]
    pub fn attached_arn(&self) -> Option<&str> {
        self.requests()
            .into_iter()
            .find_map(|r| r.policy.map(Attachment::arn).or(r.boundary))
    }

    /// The managed policy the operation attaches, if it attaches one.
    #[must_use]
    pub fn attaches(&self) -> Option<&str> {
        self.requests().into_iter().find_map(|r| match r.policy {
            Some(Attachment::Attach(arn)) => Some(arn),
            Some(Attachment::Detach(_)) | None => None,
        })
    }

    /// The IAM requests this operation is, in the order the backend sends them. One table the compiler keeps
    /// complete: a new operation says what it asks of IAM here, and the self-policy audit checks it.
    #[must_use]
    pub fn requests(&self) -> Vec<Request<'_>> {
        let api = self.api_name();
        match self {
            // Tags given to a create need the kind's Tag action too.
            Self::CreateUser {
                path,
                tags,
                permissions_boundary,
                ..
            } => tagged_create(api, "TagUser", path, tags, permissions_boundary.as_deref()),
            Self::CreateRole {
                path,
                tags,
                permissions_boundary,
                ..
            } => tagged_create(api, "TagRole", path, tags, permissions_boundary.as_deref()),
            Self::CreatePolicy { path, tags, .. } => {
                tagged_create(api, "TagPolicy", path, tags, None)
            }
            Self::CreateGroup { path, .. } => vec![Request::on(api, Resource::New { path })],
            Self::TagUser { tags, .. }
            | Self::AdoptUser { tags, .. }
            | Self::TagRole { tags, .. }
            | Self::AdoptRole { tags, .. } => vec![Request::target(api).tagging(tags)],
            Self::AdoptPolicy {
                policy_arn, tags, ..
            } => vec![Request::on(api, Resource::Policy(policy_arn)).tagging(tags)],
            Self::AttachUserPolicy { policy_arn, .. }
            | Self::AttachRolePolicy { policy_arn, .. }
            | Self::AttachGroupPolicy { policy_arn, .. } => {
                vec![Request::target(api).attaching(policy_arn)]
            }
            Self::DetachUserPolicy { policy_arn, .. }
            | Self::DetachRolePolicy { policy_arn, .. }
            | Self::DetachGroupPolicy { policy_arn, .. } => {
                vec![Request::target(api).detaching(policy_arn)]
            }
            Self::PutUserPermissionsBoundary { policy_arn, .. }
            | Self::PutRolePermissionsBoundary { policy_arn, .. } => {
                vec![Request::target(api).bounding(Some(policy_arn))]
            }
            Self::AddUserToGroup { group, .. } | Self::RemoveUserFromGroup { group, .. } => {
                vec![Request::on(api, Resource::Group(group))]
            }
            Self::CreatePolicyVersion { policy_arn, .. }
            | Self::DeletePolicyVersion { policy_arn, .. } => {
                vec![Request::on(api, Resource::Policy(policy_arn))]
            }
            // DeletePolicy refuses while other versions exist.
            Self::DeletePolicy {
                policy_arn,
                versions,
                ..
            } => versions
                .iter()
                .map(|_| Request::on("DeletePolicyVersion", Resource::Policy(policy_arn)))
                .chain([Request::on(api, Resource::Policy(policy_arn))])
                .collect(),
            // DeleteRole refuses while an instance profile holds the role.
            Self::DeleteRole {
                instance_profiles, ..
            } => instance_profiles
                .iter()
                .map(|p| {
                    Request::on(
                        "RemoveRoleFromInstanceProfile",
                        Resource::InstanceProfile(p),
                    )
                })
                .chain([Request::target(api)])
                .collect(),
            // The owner marker is the group's last policy, and DeleteGroup refuses while it exists.
            Self::DeleteGroup { .. } => {
                vec![Request::target("DeleteGroupPolicy"), Request::target(api)]
            }
            Self::UntagUser { .. }
            | Self::PutUserPolicy { .. }
            | Self::DeleteUserPolicy { .. }
            | Self::DeleteUserPermissionsBoundary { .. }
            | Self::CreateAccessKey { .. }
            | Self::UpdateAccessKey { .. }
            | Self::DeleteAccessKey { .. }
            | Self::DeleteUndeliveredKey { .. }
            | Self::DeleteLoginProfile { .. }
            | Self::DeactivateMfaDevice { .. }
            | Self::DeleteSigningCertificate { .. }
            | Self::DeleteSshPublicKey { .. }
            | Self::DeleteServiceSpecificCredential { .. }
            | Self::DeleteUser { .. }
            | Self::UntagRole { .. }
            | Self::UpdateAssumeRolePolicy { .. }
            | Self::UpdateRole { .. }
            | Self::PutRolePolicy { .. }
            | Self::DeleteRolePolicy { .. }
            | Self::DeleteRolePermissionsBoundary { .. }
            | Self::MarkGroup { .. }
            | Self::PutGroupPolicy { .. }
            | Self::DeleteGroupPolicy { .. }
            | Self::RemoveGroupMember { .. } => vec![Request::target(api)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_ends_with_its_own_call() {
        let tags = BTreeMap::from([("iamspec:owner".to_owned(), "o".to_owned())]);
        let ops = [
            Op::CreateUser {
                user: "u".into(),
                path: "/p/".into(),
                tags: tags.clone(),
                permissions_boundary: Some("arn:b".into()),
            },
            Op::DeletePolicy {
                policy: "p".into(),
                policy_arn: "arn:p".into(),
                versions: vec!["v1".into(), "v2".into()],
            },
            Op::DeleteRole {
                role: "r".into(),
                instance_profiles: vec!["ip".into()],
            },
            Op::DeleteGroup { group: "g".into() },
            Op::AddUserToGroup {
                user: "u".into(),
                group: "g".into(),
            },
        ];
        let actions: Vec<Vec<&str>> = ops
            .iter()
            .map(|op| op.requests().iter().map(|r| r.action).collect())
            .collect();
        assert_eq!(
            actions,
            [
                vec!["CreateUser", "TagUser"],
                vec!["DeletePolicyVersion", "DeletePolicyVersion", "DeletePolicy"],
                vec!["RemoveRoleFromInstanceProfile", "DeleteRole"],
                vec!["DeleteGroupPolicy", "DeleteGroup"],
                vec!["AddUserToGroup"],
            ]
        );
        let create = ops[0].requests();
        assert_eq!(create[0].boundary, Some("arn:b"));
        assert_eq!(create[1].boundary, None, "TagUser sets no boundary");
        assert!(
            !create[0].implied && create[1].implied,
            "one call, two actions"
        );
        assert_eq!(create[0].resource, Resource::New { path: "/p/" });
        assert_eq!(
            ops[4].requests()[0].resource,
            Resource::Group("g"),
            "IAM authorises joining a group on the group"
        );
    }

    #[test]
    fn attaching_is_told_from_detaching_and_from_a_boundary() {
        let arn = "arn:aws:iam::aws:policy/P";
        let attach = Op::AttachRolePolicy {
            role: "r".into(),
            policy_arn: arn.into(),
        };
        let detach = Op::DetachGroupPolicy {
            group: "g".into(),
            policy_arn: arn.into(),
        };
        let bound = Op::PutUserPermissionsBoundary {
            user: "u".into(),
            policy_arn: arn.into(),
        };
        let create = Op::CreateRole {
            role: "r".into(),
            path: "/".into(),
            trust: crate::policy::PolicyDocument::parse(
                r#"{"Version":"2012-10-17","Statement":[]}"#,
            )
            .unwrap(),
            max_session_seconds: 3600,
            tags: BTreeMap::new(),
            permissions_boundary: Some(arn.into()),
        };
        let tag = Op::TagUser {
            user: "u".into(),
            tags: BTreeMap::new(),
        };
        assert_eq!(attach.attaches(), Some(arn));
        for op in [&detach, &bound, &create, &tag] {
            assert_eq!(op.attaches(), None, "{op:?}");
        }
        for op in [&attach, &detach, &bound, &create] {
            assert_eq!(op.attached_arn(), Some(arn), "{op:?}");
        }
        assert_eq!(tag.attached_arn(), None);
    }
}
