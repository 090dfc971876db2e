//! Users, roles and groups validated: names, paths, tags, adoption, attachments, keys, and their grants (through
//! [`super::grants`]).

use std::collections::{BTreeMap, BTreeSet};

use super::super::model::{KeyPolicy, SpecGroup, SpecPolicy, SpecRole, SpecUser};
use super::super::names::{
    iam_name_char, tag_char, valid_policy_arn, valid_policy_name, valid_user_name,
};
use super::super::raw::{RawAdopt, RawSpec, RawUser};
use super::super::tree::Seg;
use super::*;

/// The spec's managed groups: names, and the users' checks for grants and managed policies.
pub(super) fn validate_groups(
    raw: &RawSpec,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> Vec<SpecGroup> {
    let mut groups = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, rg) in raw.groups.iter().flatten() {
        let at = [Seg::Key("groups"), Seg::Key(name)];
        if name.is_empty() || name.len() > 128 || !name.chars().all(iam_name_char) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a valid IAM group name"),
                Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            ctx.error_at_key(
                &at,
                format!(
                    "group `{name}` duplicates `{first}`: IAM group names are case-insensitive"
                ),
                Some("keep one of them"),
            );
        }
        let shared = RawUser {
            grants: rg.grants.clone(),
            managed_policies: rg.managed_policies.clone(),
            policies: rg.policies.clone(),
            ..RawUser::default()
        };
        if let Some(checked) = validate_user(name, &shared, ctx, &at, max_attached, known) {
            groups.push(SpecGroup {
                name: name.clone(),
                grants: checked.grants,
                managed_policies: checked.managed_policies,
                policies: checked.policies,
                adopt: rg.adopt.as_ref().is_some_and(RawAdopt::adopts),
                adopt_from: rg
                    .adopt
                    .as_ref()
                    .and_then(RawAdopt::from_owner)
                    .map(str::to_owned),
            });
        }
    }
    groups
}

/// The spec's roles. The fields roles share with users (tags, grants, managed policies) get the users' checks,
/// at the role's own positions.
pub(super) fn validate_roles(
    raw: &RawSpec,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> (Vec<SpecRole>, Vec<(String, SpecPolicy)>) {
    let mut roles = Vec::new();
    let mut own_policies = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, rr) in raw.roles.iter().flatten() {
        let at = [Seg::Key("roles"), Seg::Key(name)];
        let sub = |key: &'static str| {
            let mut p = at.to_vec();
            p.push(Seg::Key(key));
            p
        };
        if !valid_user_name(name) {
            ctx.error_at_key(
                &at,
                format!("`{name}` is not a valid IAM role name"),
                Some("use 1-64 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            ctx.error_at_key(
                &at,
                format!("role `{name}` duplicates `{first}`: IAM role names are case-insensitive"),
                Some("keep one of them"),
            );
        }
        let shared = RawUser {
            tags: rr.tags.clone(),
            grants: rr.grants.clone(),
            managed_policies: rr.managed_policies.clone(),
            policies: rr.policies.clone(),
            permissions_boundary: rr.permissions_boundary.clone(),
            ..RawUser::default()
        };
        let checked = validate_user(name, &shared, ctx, &at, max_attached, known);
        let principal = match (&rr.trust.account, &rr.trust.role_arn) {
            (Some(account), None) => {
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    let mut p = sub("trust");
                    p.push(Seg::Key("account"));
                    ctx.error(
                        &p,
                        format!("account `{account}` is not 12 digits"),
                        Some("quote it (\"012345678901\") so YAML keeps leading zeros"),
                    );
                }
                Some((format!("arn:aws:iam::{account}:root"), account.clone()))
            }
            (None, Some(arn)) => {
                let account = arn
                    .strip_prefix("arn:aws:iam::")
                    .and_then(|rest| rest.split_once(":role/"))
                    .filter(|(acct, name)| {
                        acct.len() == 12
                            && acct.bytes().all(|b| b.is_ascii_digit())
                            && !name.is_empty()
                            && name
                                .split('/')
                                .all(|part| !part.is_empty() && part.chars().all(iam_name_char))
                    })
                    .map(|(acct, _)| acct.to_owned());
                if account.is_none() {
                    let mut p = sub("trust");
                    p.push(Seg::Key("role_arn"));
                    ctx.error(
                        &p,
                        format!("`{arn}` is not a role ARN"),
                        Some("expected arn:aws:iam::123456789012:role/NAME"),
                    );
                }
                account.map(|a| (arn.clone(), a))
            }
            _ => {
                ctx.error(
                    &sub("trust"),
                    "`trust` needs exactly one of `account` and `role_arn`".into(),
                    Some("`trust: { account: \"232482882421\", external_id: ... }` for a service's account"),
                );
                None
            }
        };
        if let Some(id) = &rr.trust.external_id {
            let ok = (2..=1224).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
            if !ok {
                let mut p = sub("trust");
                p.push(Seg::Key("external_id"));
                ctx.error(
                    &p,
                    "the external ID is not valid".into(),
                    Some("2-1224 characters from A-Z a-z 0-9 and + = , . @ : / - _"),
                );
            }
        }
        if let Some((_, account)) = &principal {
            // Another account without an external ID is the confused-deputy hole the external ID closes.
            if rr.trust.external_id.is_none() && raw.account_id.as_deref() != Some(account.as_str())
            {
                ctx.error(
                    &sub("trust"),
                    format!("trusting account {account} needs the `external_id` its service gave you"),
                    Some("without one, anyone using that service could reach your buckets through it; if the account is your own, pin it as the spec's `account_id`"),
                );
            }
        }
        let hours = rr.max_session_hours.unwrap_or(1);
        if !(1..=12).contains(&hours) {
            ctx.error(
                &sub("max_session_hours"),
                format!("{hours} hours is outside IAM's 1-12"),
                None,
            );
        }
        if let (Some(mut user), Some((principal, _))) = (checked, principal) {
            // policy_mode: managed: the grants go to the role's own managed policy, planned like a shared one.
            if rr.policy_mode == Some(crate::spec::PolicyMode::Managed) && !user.grants.is_empty() {
                let policy = SpecPolicy {
                    name: crate::names::role_policy(name),
                    description: Some(format!("Grants of role {name} (policy_mode: managed)")),
                    grants: std::mem::take(&mut user.grants),
                    adopt: false,
                    adopt_from: None,
                };
                if let Some(size) = size_over(&policy.grants, crate::policy::MANAGED_POLICY_LIMIT) {
                    ctx.error(
                        &sub("policy_mode"),
                        format!(
                            "the grants of role `{name}` render to {size} characters, over IAM's {}-character limit for a managed policy",
                            crate::policy::MANAGED_POLICY_LIMIT
                        ),
                        Some("move some grants to a shared policy under `policies`"),
                    );
                }
                user.policies.insert(policy.name.clone());
                own_policies.push((name.clone(), policy));
            }
            roles.push(SpecRole {
                name: name.clone(),
                principal,
                external_id: rr.trust.external_id.clone(),
                tags: user.tags,
                grants: user.grants,
                managed_policies: user.managed_policies,
                policies: user.policies,
                permissions_boundary: user.permissions_boundary,
                max_session_seconds: hours.clamp(1, 12) * 3600,
                adopt: rr.adopt.as_ref().is_some_and(RawAdopt::adopts),
                adopt_from: rr
                    .adopt
                    .as_ref()
                    .and_then(RawAdopt::from_owner)
                    .map(str::to_owned),
            });
        }
    }
    (roles, own_policies)
}

/// One user of the spec, with `first` the earlier name it repeats (case-insensitively), if any: the validated user
/// and, in `policy_mode: managed`, the policy its grants go to.
pub(super) fn validate_entry(
    name: &str,
    raw_user: &RawUser,
    first: Option<&str>,
    ctx: &mut Ctx,
    max_attached: usize,
    known: &BTreeSet<String>,
) -> (Option<SpecUser>, Option<SpecPolicy>) {
    let at = [Seg::Key("users"), Seg::Key(name)];
    if !valid_user_name(name) {
        ctx.error_at_key(
            &at,
            format!("`{name}` is not a valid IAM user name"),
            Some("use 1-64 characters from A-Z a-z 0-9 and + = , . @ _ -"),
        );
    }
    if let Some(first) = first {
        ctx.error_at_key(
            &at,
            format!("user `{name}` duplicates `{first}`: IAM user names are case-insensitive"),
            Some("keep one of them"),
        );
    }
    let Some(mut user) = validate_user(name, raw_user, ctx, &at, max_attached, known) else {
        return (None, None);
    };
    if raw_user.policy_mode != Some(crate::spec::PolicyMode::Managed) || user.grants.is_empty() {
        return (Some(user), None);
    }
    // The user's own managed policy, planned like any shared one.
    let policy = SpecPolicy {
        name: crate::names::user_policy(name),
        description: Some(format!("Grants of {name} (policy_mode: managed)")),
        grants: std::mem::take(&mut user.grants),
        adopt: false,
        adopt_from: None,
    };
    let mut p = at.to_vec();
    p.push(Seg::Key("policy_mode"));
    if let Some(size) = size_over(&policy.grants, crate::policy::MANAGED_POLICY_LIMIT) {
        ctx.error(
            &p,
            format!(
                "the grants of `{name}` render to {size} characters, {} over IAM's {}-character limit for a managed policy",
                size - crate::policy::MANAGED_POLICY_LIMIT,
                crate::policy::MANAGED_POLICY_LIMIT
            ),
            Some("move some grants to a shared policy under `policies`"),
        );
    }
    user.policies.insert(policy.name.clone());
    (Some(user), Some(policy))
}

pub(super) fn validate_user(
    name: &str,
    raw: &RawUser,
    ctx: &mut Ctx,
    at: &[Seg<'_>],
    max_attached: usize,
    known_policies: &BTreeSet<String>,
) -> Option<SpecUser> {
    let sub = |seg: Seg<'static>| -> Vec<Seg<'_>> {
        let mut p = at.to_vec();
        p.push(seg);
        p
    };
    let mut tags = BTreeMap::new();
    let mut tag_keys_lower = BTreeSet::new();
    for (key, value) in raw.tags.iter().flatten() {
        let mut p = sub(Seg::Key("tags"));
        p.push(Seg::Key(key));
        check_tag_key(ctx, &p, key);
        if key.eq_ignore_ascii_case(OWNER_TAG) {
            ctx.error_at_key(
                &p,
                format!("`{OWNER_TAG}` is set by iamspec from `owner`"),
                Some("remove this tag"),
            );
        } else if key.to_ascii_lowercase().starts_with("iamspec:") {
            ctx.error_at_key(
                &p,
                format!("tag key `{key}` uses the `iamspec:` prefix iamspec keeps for itself"),
                None,
            );
        }
        if !tag_keys_lower.insert(key.to_ascii_lowercase()) {
            ctx.error_at_key(
                &p,
                format!("tag key `{key}` repeats another key but for case"),
                None,
            );
        }
        if value.chars().count() > 256 || !value.chars().all(tag_char) {
            ctx.error(
                &p,
                format!("tag value `{value}` is not valid"),
                Some("use at most 256 letters, digits, spaces and _ . : / = + - @"),
            );
        }
        tags.insert(key.clone(), value.clone());
    }
    // iamspec's own tags: the owner tag, and with keys `keys-since` plus one tag per key. During a rotation a user
    // holds IAM's two keys whatever its count, each with its tag.
    let reserved = 1 + raw.access_keys.as_ref().map_or(0, |_| 1 + ACCESS_KEY_LIMIT);
    if tags.len() + reserved > TAG_LIMIT {
        ctx.error_at_key(
            &sub(Seg::Key("tags")),
            format!(
                "{} tags plus iamspec's {reserved} exceed IAM's {TAG_LIMIT} tags per user by {}",
                tags.len(),
                tags.len() + reserved - TAG_LIMIT
            ),
            Some("iamspec keeps the owner tag, and with access_keys one tag per key plus one"),
        );
    }

    let mut grants = Vec::new();
    for (i, grant) in raw.grants.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("grants"));
        p.push(Seg::Index(i));
        if let Some(g) = validate_grant(grant, ctx, &p) {
            grants.push(g);
        }
    }

    let mut managed_policies = crate::sorted::SortedSet::new();
    for (i, arn) in raw.managed_policies.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("managed_policies"));
        p.push(Seg::Index(i));
        if !valid_policy_arn(arn) {
            ctx.error(
                &p,
                format!("`{arn}` is not a managed policy ARN"),
                Some(&arn_help(arn)),
            );
        }
        if !managed_policies.insert(arn.clone()) {
            ctx.error(&p, format!("`{arn}` is listed twice"), None);
        }
    }
    let mut policies = BTreeSet::new();
    for (i, policy) in raw.policies.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("policies"));
        p.push(Seg::Index(i));
        if !known_policies.contains(policy) {
            let help = known_policies
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            ctx.error(
                &p,
                format!("no policy `{policy}` in the spec's `policies`"),
                Some(&format!("known: {help}")),
            );
        }
        policies.insert(policy.clone());
    }
    let own_policy = raw.policy_mode == Some(crate::spec::PolicyMode::Managed)
        && raw.grants.as_ref().is_some_and(|g| !g.is_empty());
    let attached = managed_policies.len() + policies.len() + usize::from(own_policy);
    if attached > max_attached {
        ctx.error_at_key(
            &sub(Seg::Key(if raw.managed_policies.is_some() {
                "managed_policies"
            } else {
                "policies"
            })),
            format!(
                "{attached} managed policies exceed the quota of {max_attached} per user by {}",
                attached - max_attached
            ),
            Some("raise `max_attached_policies` (up to 20) if the account's quota was raised"),
        );
    }
    let mut groups = BTreeSet::new();
    for (i, group) in raw.groups.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("groups"));
        p.push(Seg::Index(i));
        if group.is_empty() || group.len() > 128 || !group.chars().all(iam_name_char) {
            ctx.error(
                &p,
                format!("`{group}` is not a valid IAM group name"),
                Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
            );
        }
        if !groups.insert(group.clone()) {
            ctx.error(&p, format!("group `{group}` is listed twice"), None);
        }
    }
    if let Some(arn) = &raw.permissions_boundary {
        if !valid_policy_arn(arn) {
            ctx.error(
                &sub(Seg::Key("permissions_boundary")),
                format!("`{arn}` is not a managed policy ARN"),
                Some(&arn_help(arn)),
            );
        }
    }
    let access_keys = raw.access_keys.as_ref().map(|k| {
        let count = k.count.unwrap_or(1) as usize;
        if count > ACCESS_KEY_LIMIT {
            let mut p = sub(Seg::Key("access_keys"));
            p.push(Seg::Key("count"));
            ctx.error(
                &p,
                format!("{count} access keys exceed IAM's limit of {ACCESS_KEY_LIMIT} per user"),
                None,
            );
        }
        let max_age_days = k.max_age_days.unwrap_or(90);
        if max_age_days == 0 {
            let mut p = sub(Seg::Key("access_keys"));
            p.push(Seg::Key("max_age_days"));
            ctx.error(&p, "max_age_days must be at least 1".into(), None);
        }
        if k.max_unused_days == Some(0) {
            let mut p = sub(Seg::Key("access_keys"));
            p.push(Seg::Key("max_unused_days"));
            ctx.error(
                &p,
                "max_unused_days must be at least 1".into(),
                Some("a new key is unused until its secret reaches whoever uses it; 45 or 90 are usual"),
            );
        }
        KeyPolicy {
            count,
            max_age_days,
            grace_days: k.grace_days.unwrap_or(7),
            max_unused_days: k.max_unused_days,
        }
    });

    let grants_policy_name = raw
        .grants_policy_name
        .clone()
        .unwrap_or_else(|| crate::model::GRANTS_POLICY.to_owned());
    if !valid_policy_name(&grants_policy_name) {
        ctx.error(
            &sub(Seg::Key("grants_policy_name")),
            format!("`{grants_policy_name}` is not a valid inline policy name"),
            Some("use 1-128 characters from A-Z a-z 0-9 and + = , . @ _ -"),
        );
    }
    let mut raw_policies = crate::sorted::SortedMap::new();
    for (policy, doc) in raw.raw_policies.iter().flatten() {
        let mut p = sub(Seg::Key("raw_policies"));
        p.push(Seg::Key(policy));
        if !valid_policy_name(policy) {
            ctx.error_at_key(
                &p,
                format!("`{policy}` is not a valid inline policy name"),
                None,
            );
        }
        if *policy == grants_policy_name {
            ctx.error_at_key(
                &p,
                format!("`{policy}` is the name the grants render into"),
                Some("rename one of them"),
            );
        }
        raw_policies.insert(policy.clone(), doc.clone());
    }
    let user = SpecUser {
        name: name.to_owned(),
        tags: tags.into(),
        grants,
        managed_policies,
        policies,
        groups,
        permissions_boundary: raw.permissions_boundary.clone(),
        adopt: raw.adopt.as_ref().is_some_and(RawAdopt::adopts),
        adopt_from: raw
            .adopt
            .as_ref()
            .and_then(RawAdopt::from_owner)
            .map(str::to_owned),
        access_keys,
        grants_policy_name,
        raw_policies,
    };
    let raw_size: usize = user.raw_policies.values().map(PolicyDocument::size).sum();
    let inline_grants = raw.policy_mode != Some(crate::spec::PolicyMode::Managed);
    let grants_size = |exact: bool| match (inline_grants && !user.grants.is_empty(), exact) {
        (false, _) => 0,
        (true, false) => size_bound(&user.grants),
        (true, true) => user.grants_policy().map_or(0, |d| d.size()),
    };
    // The exact size costs a render: only users whose bound comes near the limit pay for it.
    if raw_size + grants_size(false) > INLINE_USER_LIMIT {
        let size = raw_size + grants_size(true);
        if size > INLINE_USER_LIMIT {
            ctx.error_at_key(
                &sub(Seg::Key("grants")),
                format!(
                    "the inline policies of `{name}` total {size} characters, {} over IAM's {INLINE_USER_LIMIT}-character limit",
                    size - INLINE_USER_LIMIT
                ),
                Some("`policy_mode: managed` moves the grants to a managed policy (6,144 characters); or group buckets with one access level into one grant"),
            );
        }
    }
    Some(user)
}

pub(super) fn check_tag_key(ctx: &mut Ctx, at: &[Seg<'_>], key: &str) {
    if key.is_empty() || key.chars().count() > 128 || !key.chars().all(tag_char) {
        ctx.error_at_key(
            at,
            format!("tag key `{key}` is not valid"),
            Some("use 1-128 letters, digits, spaces and _ . : / = + - @"),
        );
    } else if key.to_ascii_lowercase().starts_with("aws:") {
        ctx.error_at_key(
            at,
            format!("tag key `{key}` uses the reserved `aws:` prefix"),
            None,
        );
    }
}
