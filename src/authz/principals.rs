//! Which policies apply to a user, for the evaluator: from the spec (what apply will make: the grants policy,
//! raw policies, the spec's own managed policies; AWS-managed policies, groups and boundaries named but not known
//! offline) or from a live read (inline and attached policies, the user's groups' policies, the boundary).

use std::collections::BTreeMap;

use super::Policies;
use crate::model::{Account, Group};
use crate::policy::PolicyDocument;
use crate::spec::Spec;

/// The policies of one user, owned: a [`Policies`] borrows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPolicies {
    /// The user name.
    pub user: String,
    /// Known documents by the name they are cited with.
    pub known: Vec<(String, PolicyDocument)>,
    /// Policies that apply but whose documents are not known.
    pub unknown: Vec<String>,
    /// The permissions boundary's ARN and, when known, its document.
    pub boundary: Option<(String, Option<PolicyDocument>)>,
}

impl UserPolicies {
    /// The view the evaluator takes.
    #[must_use]
    pub fn policies(&self) -> Policies<'_> {
        Policies {
            known: self.known.iter().map(|(n, d)| (n.clone(), d)).collect(),
            unknown: self.unknown.clone(),
            boundary: self.boundary.as_ref().map(|(n, d)| (n.clone(), d.as_ref())),
        }
    }
}

/// How a role is named among principals: `role/NAME`, as plans show it.
#[must_use]
pub fn role_principal(name: &str) -> String {
    format!("role/{name}")
}

/// What apply makes of every spec user, then every spec role (`role/NAME`), in spec order.
#[must_use]
pub fn from_spec(spec: &Spec) -> Vec<UserPolicies> {
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
                known.push((su.grants_policy_name.clone(), doc));
            }
            known.extend(su.raw_policies.iter().map(|(n, d)| (n.clone(), d.clone())));
            for name in &su.policies {
                if let Some(Some(doc)) = shared.get(name.as_str()) {
                    known.push((format!("policy/{name}"), doc.clone()));
                }
            }
            let mut unknown: Vec<String> = su.managed_policies.iter().cloned().collect();
            // Groups of the spec are known: their grants are what apply gives them. Others are the account's.
            for g in &su.groups {
                match groups.get(&g.to_ascii_lowercase()) {
                    Some(sg) => {
                        if let Some(doc) = sg.grants_policy() {
                            known.push((
                                format!("group {}: {}", sg.name, crate::model::GRANTS_POLICY),
                                doc,
                            ));
                        }
                        unknown.extend(sg.managed_policies.iter().cloned());
                        for name in &sg.policies {
                            if let Some(Some(doc)) = shared.get(name.as_str()) {
                                known.push((
                                    format!("group {}: policy/{name}", sg.name),
                                    doc.clone(),
                                ));
                            }
                        }
                    }
                    None => unknown.push(format!("group {g}")),
                }
            }
            UserPolicies {
                user: su.name.clone(),
                known,
                unknown,
                boundary: su.permissions_boundary.clone().map(|arn| (arn, None)),
            }
        })
        .chain(spec.roles.iter().map(|sr| {
            UserPolicies {
                user: role_principal(&sr.name),
                known: sr
                    .grants_policy()
                    .map(|doc| (crate::model::GRANTS_POLICY.to_owned(), doc))
                    .into_iter()
                    .collect(),
                unknown: sr.managed_policies.iter().cloned().collect(),
                boundary: None,
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
    let attach =
        |arn: &String, known: &mut Vec<(String, PolicyDocument)>, unknown: &mut Vec<String>| {
            match customer.get(arn.as_str()) {
                Some(doc) => known.push((arn.clone(), (*doc).clone())),
                None => unknown.push(arn.clone()),
            }
        };
    live.users
        .values()
        .map(|u| {
            let mut known: Vec<(String, PolicyDocument)> = u
                .inline_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.clone()))
                .collect();
            let mut unknown = Vec::new();
            for arn in &u.attached_policies {
                attach(arn, &mut known, &mut unknown);
            }
            for g in &u.groups {
                match groups.get(g) {
                    Some(group) => {
                        known.extend(
                            group
                                .inline_policies
                                .iter()
                                .map(|(n, d)| (format!("group {g}: {n}"), d.clone())),
                        );
                        for arn in &group.attached_policies {
                            attach(arn, &mut known, &mut unknown);
                        }
                    }
                    None => unknown.push(format!("group {g}")),
                }
            }
            UserPolicies {
                user: u.name.clone(),
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
            let mut known: Vec<(String, PolicyDocument)> = r
                .inline_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.clone()))
                .collect();
            let mut unknown = Vec::new();
            for arn in &r.attached_policies {
                attach(arn, &mut known, &mut unknown);
            }
            UserPolicies {
                user: role_principal(&r.name),
                known,
                unknown,
                boundary: None,
            }
        }))
        .collect()
}
