//! Which policies apply to a user, for the evaluator: from the spec (what apply will make: the grants policy,
//! raw policies, the spec's own managed policies; AWS-managed policies, groups and boundaries named but not known
//! offline) or from a live read (inline and attached policies, the user's groups' policies, the boundary).

use std::collections::BTreeMap;

use super::Policies;
use crate::diff::kind::Reach;
use crate::model::{Account, Group};
use crate::plan::Target;
use crate::policy::PolicyDocument;
use crate::spec::Spec;

/// Where a principal's policy comes from: what a finding about it points at. Shown as the evaluator cites it
/// (`iamspec-grants`, `policy/team-read`, an ARN, `group writers: iamspec-grants`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// An inline policy of the principal (its grants policy included), by name.
    Inline(String),
    /// One of the spec's shared policies, by name.
    Shared(String),
    /// A managed policy by ARN (customer-managed or AWS-managed).
    Managed(String),
    /// A policy of one of the user's groups.
    Group {
        /// The group.
        group: String,
        /// The group's policy.
        policy: Box<Origin>,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(name) | Self::Managed(name) => f.write_str(name),
            Self::Shared(name) => write!(f, "policy/{name}"),
            Self::Group { group, policy } => write!(f, "group {group}: {policy}"),
        }
    }
}

/// The policies of one principal (a user or a role), owned: a [`Policies`] borrows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPolicies {
    /// The user or role.
    pub principal: Target,
    /// Known documents, by where they come from.
    pub known: Vec<(Origin, PolicyDocument)>,
    /// Policies that apply but whose documents are not known.
    pub unknown: Vec<String>,
    /// The permissions boundary's ARN and, when known, its document.
    pub boundary: Option<(String, Option<PolicyDocument>)>,
}

impl UserPolicies {
    /// The value of `aws:username` in its requests: users have one, roles do not.
    #[must_use]
    pub fn username(&self) -> Option<&str> {
        match crate::diff::kind::of(self.principal.kind()).reach() {
            Reach::Principal { username: true } => Some(self.principal.name()),
            Reach::Principal { username: false } | Reach::Members | Reach::Attached => None,
        }
    }

    /// Where the policy the evaluator cites as `cited` comes from.
    #[must_use]
    pub fn origin(&self, cited: &str) -> Option<&Origin> {
        self.known
            .iter()
            .map(|(o, _)| o)
            .find(|o| o.to_string() == cited)
    }

    /// The view the evaluator takes.
    #[must_use]
    pub fn policies(&self) -> Policies<'_> {
        Policies {
            known: self.known.iter().map(|(o, d)| (o.to_string(), d)).collect(),
            unknown: self.unknown.clone(),
            boundary: self.boundary.as_ref().map(|(n, d)| (n.clone(), d.as_ref())),
        }
    }
}

/// A principal named on the command line: `role/NAME` is a role (IAM user names cannot contain `/`), anything
/// else a user. The one place the text form is read.
#[must_use]
pub fn parse_principal(text: &str) -> Target {
    match text.strip_prefix("role/") {
        Some(role) => Target::Role(role.to_owned()),
        None => Target::User(text.to_owned()),
    }
}

/// The delegated boundary of a spec's principals, with its document where the spec alone decides it (no managed
/// policies whose documents only the account has).
fn delegated_boundary(spec: &Spec) -> Option<(String, Option<PolicyDocument>)> {
    let arn = crate::diff::boundary_arn(spec, None)?;
    let known = crate::boundary::managed_arns(spec).is_empty();
    Some((
        arn,
        known.then(|| crate::boundary::boundary(spec, &BTreeMap::new()).document),
    ))
}

/// What apply makes of every spec user, then every spec role, in spec order.
#[must_use]
pub fn from_spec(spec: &Spec) -> Vec<UserPolicies> {
    let delegated = delegated_boundary(spec);
    let shared: BTreeMap<&str, Option<PolicyDocument>> = spec
        .policies
        .iter()
        .map(|p| (p.name.as_str(), p.document()))
        .collect();
    let groups: BTreeMap<String, &crate::spec::SpecGroup> = spec
        .groups
        .iter()
        .map(|g| (g.name.to_ascii_lowercase(), g))
        .collect();
    spec.users
        .iter()
        .map(|su| {
            let mut known = Vec::new();
            if let Some(doc) = su.grants_policy() {
                known.push((Origin::Inline(su.grants_policy_name.clone()), doc));
            }
            known.extend(
                su.raw_policies
                    .iter()
                    .map(|(n, d)| (Origin::Inline(n.clone()), d.clone())),
            );
            for name in &su.policies {
                if let Some(Some(doc)) = shared.get(name.as_str()) {
                    known.push((Origin::Shared(name.clone()), doc.clone()));
                }
            }
            let mut unknown: Vec<String> = su.managed_policies.iter().cloned().collect();
            // Groups of the spec are known: their grants are what apply gives them. Others are the account's.
            for g in &su.groups {
                match groups.get(&g.to_ascii_lowercase()) {
                    Some(sg) => {
                        let via = |policy| Origin::Group {
                            group: sg.name.clone(),
                            policy: Box::new(policy),
                        };
                        if let Some(doc) = sg.grants_policy() {
                            known.push((
                                via(Origin::Inline(crate::model::GRANTS_POLICY.to_owned())),
                                doc,
                            ));
                        }
                        unknown.extend(sg.managed_policies.iter().cloned());
                        for name in &sg.policies {
                            if let Some(Some(doc)) = shared.get(name.as_str()) {
                                known.push((via(Origin::Shared(name.clone())), doc.clone()));
                            }
                        }
                    }
                    None => unknown.push(format!("group {g}")),
                }
            }
            UserPolicies {
                principal: Target::User(su.name.clone()),
                known,
                unknown,
                boundary: delegated
                    .clone()
                    .or_else(|| su.permissions_boundary.clone().map(|arn| (arn, None))),
            }
        })
        .chain(spec.roles.iter().map(|sr| {
            let mut known: Vec<(Origin, PolicyDocument)> = sr
                .grants_policy()
                .map(|doc| (Origin::Inline(crate::model::GRANTS_POLICY.to_owned()), doc))
                .into_iter()
                .collect();
            for name in &sr.policies {
                if let Some(Some(doc)) = shared.get(name.as_str()) {
                    known.push((Origin::Shared(name.clone()), doc.clone()));
                }
            }
            UserPolicies {
                principal: Target::Role(sr.name.clone()),
                known,
                unknown: sr.managed_policies.iter().cloned().collect(),
                boundary: delegated
                    .clone()
                    .or_else(|| sr.permissions_boundary.clone().map(|arn| (arn, None))),
            }
        }))
        .collect()
}

/// What the live account gives every user: `documents` holds the managed policy documents that could be read (by
/// ARN), `groups` the groups by name.
#[must_use]
pub fn from_live(
    live: &Account,
    groups: &BTreeMap<String, Group>,
    documents: &BTreeMap<String, PolicyDocument>,
) -> Vec<UserPolicies> {
    let mut customer: BTreeMap<&str, &PolicyDocument> =
        documents.iter().map(|(arn, d)| (arn.as_str(), d)).collect();
    for p in live.policies.values() {
        customer.insert(p.arn.as_str(), &p.document);
    }
    let attach = |arn: &String,
                  via: &dyn Fn(Origin) -> Origin,
                  known: &mut Vec<(Origin, PolicyDocument)>,
                  unknown: &mut Vec<String>| {
        match customer.get(arn.as_str()) {
            Some(doc) => known.push((via(Origin::Managed(arn.clone())), (*doc).clone())),
            None => unknown.push(arn.clone()),
        }
    };
    let direct = |o: Origin| o;
    live.users
        .values()
        .map(|u| {
            let mut known: Vec<(Origin, PolicyDocument)> = u
                .inline_policies
                .iter()
                .map(|(n, d)| (Origin::Inline(n.clone()), d.clone()))
                .collect();
            let mut unknown = Vec::new();
            for arn in &u.attached_policies {
                attach(arn, &direct, &mut known, &mut unknown);
            }
            for g in &u.groups {
                match groups.get(g) {
                    Some(group) => {
                        let via = |policy| Origin::Group {
                            group: g.clone(),
                            policy: Box::new(policy),
                        };
                        known.extend(
                            group
                                .inline_policies
                                .iter()
                                .map(|(n, d)| (via(Origin::Inline(n.clone())), d.clone())),
                        );
                        for arn in &group.attached_policies {
                            attach(arn, &via, &mut known, &mut unknown);
                        }
                    }
                    None => unknown.push(format!("group {g}")),
                }
            }
            UserPolicies {
                principal: Target::User(u.name.clone()),
                known,
                unknown,
                boundary: u.permissions_boundary.as_ref().map(|arn| {
                    (
                        arn.clone(),
                        customer.get(arn.as_str()).map(|d| (*d).clone()),
                    )
                }),
            }
        })
        .chain(live.roles.values().map(|r| {
            let mut known: Vec<(Origin, PolicyDocument)> = r
                .inline_policies
                .iter()
                .map(|(n, d)| (Origin::Inline(n.clone()), d.clone()))
                .collect();
            let mut unknown = Vec::new();
            for arn in &r.attached_policies {
                attach(arn, &direct, &mut known, &mut unknown);
            }
            UserPolicies {
                principal: Target::Role(r.name.clone()),
                known,
                unknown,
                boundary: r.permissions_boundary.as_ref().map(|arn| {
                    (
                        arn.clone(),
                        customer.get(arn.as_str()).map(|d| (*d).clone()),
                    )
                }),
            }
        }))
        .collect()
}
