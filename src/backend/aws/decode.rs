//! IAM's account read turned into the model: one GetAccountAuthorizationDetails page's users, roles, groups and
//! customer-managed policies, their URL-encoded documents decoded and checked. Pure: no calls, so every shape an
//! endpoint may send is tested here.

use std::collections::BTreeMap;

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types::EntityType;

use super::seconds;
use crate::backend::{BackendError, ErrorKind};
use crate::model::{Account, User};
use crate::plan::TargetKind;
use crate::policy::PolicyDocument;

/// What the account read asks GetAccountAuthorizationDetails for to see objects of `kind` (`None`: they come with
/// another kind's details, or need a call of their own). A kind added to [`TargetKind`] is asked here how the read
/// sees it, next to where its details are decoded.
fn entity_type(kind: TargetKind) -> Option<EntityType> {
    match kind {
        TargetKind::User => Some(EntityType::User),
        TargetKind::Policy => Some(EntityType::LocalManagedPolicy),
        TargetKind::Role => Some(EntityType::Role),
        TargetKind::Group => Some(EntityType::Group),
    }
}

/// The entity types of the account read: every kind's.
pub(super) fn entity_types() -> Vec<EntityType> {
    TargetKind::ALL
        .into_iter()
        .filter_map(entity_type)
        .collect()
}

/// Adds one page of the account read to `account`; returns how many items the page held (for the page guard).
///
/// # Errors
/// A document that does not parse, naming its owner.
pub(super) fn add_page(
    account: &mut Account,
    page: &GetAccountAuthorizationDetailsOutput,
) -> Result<usize, BackendError> {
    for d in page.user_detail_list() {
        let name = d.user_name().unwrap_or_default().to_owned();
        let mut user = User::new(name.clone(), d.path().unwrap_or("/"));
        user.arn = d.arn().map(str::to_owned);
        user.tags = d
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        // Collected, then sorted once: a hostile endpoint may list any number of policies.
        user.inline_policies = d
            .user_policy_list()
            .iter()
            .map(|p| {
                let pname = p.policy_name().unwrap_or_default();
                let doc = decode_policy(&name, pname, p.policy_document().unwrap_or("{}"))?;
                Ok((pname.to_owned(), doc))
            })
            .collect::<Result<_, BackendError>>()?;
        user.attached_policies = d
            .attached_managed_policies()
            .iter()
            .filter_map(|a| a.policy_arn().map(str::to_owned))
            .collect();
        user.groups = d.group_list().iter().cloned().collect();
        user.permissions_boundary = d
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned);
        account.users.insert(name, user);
    }
    for d in page.role_detail_list() {
        let name = d.role_name().unwrap_or_default().to_owned();
        let trust = decode_policy(
            &name,
            "(trust policy)",
            d.assume_role_policy_document().unwrap_or("{}"),
        )?;
        let mut inline_policies = BTreeMap::new();
        for p in d.role_policy_list() {
            let pname = p.policy_name().unwrap_or_default();
            let doc = decode_policy(&name, pname, p.policy_document().unwrap_or("{}"))?;
            inline_policies.insert(pname.to_owned(), doc);
        }
        let role = crate::model::Role {
            name: name.clone(),
            path: d.path().unwrap_or("/").to_owned(),
            arn: d.arn().map(str::to_owned),
            tags: d
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            trust,
            inline_policies,
            attached_policies: d
                .attached_managed_policies()
                .iter()
                .filter_map(|a| a.policy_arn().map(str::to_owned))
                .collect(),
            permissions_boundary: d
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            instance_profiles: d
                .instance_profile_list()
                .iter()
                .map(|p| p.instance_profile_name().to_owned())
                .collect(),
        };
        account.roles.insert(name, role);
    }
    for g in page.group_detail_list() {
        let group = group_of(g)?;
        account.groups.insert(group.name.clone(), group);
    }
    for p in page.policies() {
        // moto leaves PolicyName out of this response; the ARN's last segment is the name.
        let Some(name) = p
            .policy_name()
            .or_else(|| p.arn().and_then(|a| a.rsplit('/').next()))
        else {
            continue;
        };
        let default = p.default_version_id().unwrap_or_default().to_owned();
        let mut versions: Vec<(i64, String)> = Vec::new();
        let mut document = None;
        for v in p.policy_version_list() {
            let id = v.version_id().unwrap_or_default().to_owned();
            if v.is_default_version() || id == default {
                document = Some(decode_policy(name, name, v.document().unwrap_or("{}"))?);
            } else {
                versions.push((seconds(v.create_date()), id));
            }
        }
        versions.sort();
        let Some(document) = document else { continue };
        account.policies.insert(
            name.to_owned(),
            crate::model::ManagedPolicy {
                name: name.to_owned(),
                path: p.path().unwrap_or("/").to_owned(),
                arn: p.arn().unwrap_or_default().to_owned(),
                description: p.description().map(str::to_owned),
                tags: None,
                document,
                default_version: default,
                other_versions: versions.into_iter().map(|(_, id)| id).collect(),
            },
        );
    }
    Ok(page.user_detail_list().len()
        + page.role_detail_list().len()
        + page.group_detail_list().len()
        + page.policies().len())
}

pub(super) fn decode_policy(
    user: &str,
    name: &str,
    encoded: &str,
) -> Result<PolicyDocument, BackendError> {
    // IAM returns documents URL-encoded; percent-decoding only (`+` stays `+`).
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    PolicyDocument::parse(&text).map_err(|e| {
        BackendError::new(
            ErrorKind::Other,
            "GetAccountAuthorizationDetails",
            format!("inline policy {name} is unreadable: {e}"),
        )
        .on(user.to_owned())
    })
}

/// A group of the account read, with its inline policies and attachments: the one conversion both account reads
/// (the whole account, and groups only for `can --live`) use.
pub(super) fn group_of(
    g: &aws_sdk_iam::types::GroupDetail,
) -> Result<crate::model::Group, BackendError> {
    let name = g.group_name().unwrap_or_default().to_owned();
    let mut group = crate::model::Group {
        name: name.clone(),
        path: g.path().unwrap_or("/").to_owned(),
        ..crate::model::Group::default()
    };
    for p in g.group_policy_list() {
        let pname = p.policy_name().unwrap_or_default();
        let doc = decode_policy(&name, pname, p.policy_document().unwrap_or("{}"))?;
        group.inline_policies.insert(pname.to_owned(), doc);
    }
    group.attached_policies = g
        .attached_managed_policies()
        .iter()
        .filter_map(|a| a.policy_arn().map(str::to_owned))
        .collect();
    Ok(group)
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::{
        GroupDetail, ManagedPolicyDetail, PolicyDetail, PolicyVersion, RoleDetail, Tag, UserDetail,
    };
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

    use super::*;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}]}"#;
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;

    fn encoded(doc: &str) -> String {
        utf8_percent_encode(doc, NON_ALPHANUMERIC).to_string()
    }

    fn page() -> GetAccountAuthorizationDetailsOutput {
        let version = |id: &str, default: bool| {
            PolicyVersion::builder()
                .version_id(id)
                .document(encoded(DOC))
                .is_default_version(default)
                .build()
        };
        GetAccountAuthorizationDetailsOutput::builder()
            .user_detail_list(
                UserDetail::builder()
                    .user_name("alice")
                    .path("/team/")
                    .tags(Tag::builder().key("k").value("v").build().unwrap())
                    .user_policy_list(
                        PolicyDetail::builder()
                            .policy_name("grants")
                            .policy_document(encoded(DOC))
                            .build(),
                    )
                    .group_list("crew")
                    .build(),
            )
            .role_detail_list(
                RoleDetail::builder()
                    .role_name("svc")
                    .assume_role_policy_document(encoded(TRUST))
                    .build(),
            )
            .group_detail_list(GroupDetail::builder().group_name("crew").build())
            // moto leaves PolicyName out: the ARN's last segment names it.
            .policies(
                ManagedPolicyDetail::builder()
                    .arn("arn:aws:iam::123456789012:policy/team/shared")
                    .path("/team/")
                    .default_version_id("v2")
                    .policy_version_list(version("v1", false))
                    .policy_version_list(version("v2", true))
                    .build(),
            )
            .is_truncated(false)
            .build()
    }

    #[test]
    fn a_page_becomes_the_account_with_its_documents_decoded() {
        let mut account = Account::default();
        assert_eq!(add_page(&mut account, &page()).unwrap(), 4);
        let doc = PolicyDocument::parse(DOC).unwrap();
        let alice = &account.users["alice"];
        assert_eq!(alice.path, "/team/");
        assert_eq!(alice.tags.get("k").map(String::as_str), Some("v"));
        assert_eq!(
            alice.inline_policies.get("grants"),
            Some(&doc),
            "percent-decoded only: the + in the bucket name stays"
        );
        assert!(alice.groups.iter().any(|g| g == "crew"));
        assert_eq!(
            account.roles["svc"].trust,
            PolicyDocument::parse(TRUST).unwrap()
        );
        assert_eq!(account.groups["crew"].path, "/");
        let shared = &account.policies["shared"];
        assert_eq!(shared.document, doc);
        assert_eq!(shared.default_version, "v2");
        assert_eq!(shared.other_versions, ["v1"]);
        assert_eq!(shared.tags, None, "tags are read only where they matter");
    }

    #[test]
    fn the_read_asks_for_every_kind_it_decodes() {
        assert_eq!(
            entity_types(),
            [
                EntityType::User,
                EntityType::LocalManagedPolicy,
                EntityType::Role,
                EntityType::Group
            ]
        );
    }

    #[test]
    fn an_unreadable_document_is_an_error_naming_its_owner() {
        let page = GetAccountAuthorizationDetailsOutput::builder()
            .user_detail_list(
                UserDetail::builder()
                    .user_name("mallory")
                    .user_policy_list(
                        PolicyDetail::builder()
                            .policy_name("odd")
                            .policy_document("%7Bnot%20json")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let e = add_page(&mut Account::default(), &page).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Other);
        let text = e.to_string();
        assert!(
            text.contains("mallory") && text.contains("inline policy odd is unreadable"),
            "{text}"
        );
    }

    #[test]
    fn a_policy_without_its_default_version_is_left_out() {
        let page = GetAccountAuthorizationDetailsOutput::builder()
            .policies(
                ManagedPolicyDetail::builder()
                    .arn("arn:aws:iam::123456789012:policy/p")
                    .default_version_id("v9")
                    .build(),
            )
            .build();
        let mut account = Account::default();
        assert_eq!(add_page(&mut account, &page).unwrap(), 1);
        assert!(account.policies.is_empty());
    }
}
