//! One grant validated: buckets, prefix, access or actions (each placed by the catalogue), KMS keys, and the
//! size of what it renders.

use std::collections::BTreeSet;

use super::super::lint::Lint;
use super::super::names::{bucket_problem, valid_policy_name};
use super::super::raw::RawGrant;
use super::super::tree::Seg;
use super::*;

/// The rendered size of `grants` when it exceeds `limit`. Renders only when the cheap bound says it might.
pub(super) fn size_over(grants: &[Grant], limit: usize) -> Option<usize> {
    if size_bound(grants) <= limit {
        return None;
    }
    render_grants(grants)
        .map(|d| d.size())
        .filter(|&size| size > limit)
}

pub(super) fn validate_grant(raw: &RawGrant, ctx: &mut Ctx, at: &[Seg<'_>]) -> Option<Grant> {
    let sub = |seg: Seg<'static>| -> Vec<Seg<'_>> {
        let mut p = at.to_vec();
        p.push(seg);
        p
    };
    let access = match (&raw.access, &raw.actions) {
        (Some(level), None) => Some(GrantAccess::Level(*level)),
        (None, Some(actions)) => Some(GrantAccess::Actions(actions.clone())),
        (Some(_), Some(_)) => {
            ctx.error(
                &sub(Seg::Key("actions")),
                "a grant has `access` or `actions`, not both".into(),
                Some("keep `access` for a standard level, or list every action under `actions`"),
            );
            None
        }
        (None, None) => {
            ctx.error(
                at,
                "a grant needs `access` (list, read, write, read-write, full) or `actions`".into(),
                None,
            );
            None
        }
    };
    if raw.buckets.is_empty() {
        ctx.error(
            &sub(Seg::Key("buckets")),
            "a grant needs at least one bucket".into(),
            None,
        );
    }
    let mut seen = BTreeSet::new();
    for (i, bucket) in raw.buckets.iter().enumerate() {
        let mut p = sub(Seg::Key("buckets"));
        p.push(Seg::Index(i));
        if !seen.insert(bucket.as_str()) {
            ctx.error(
                &p,
                format!("bucket `{bucket}` is listed twice in this grant"),
                None,
            );
        }
        check_bucket(ctx, &p, bucket);
    }
    let prefixed = raw.prefix.as_deref().is_some_and(|p| !p.is_empty());
    if let Some(prefix) = &raw.prefix {
        let p = sub(Seg::Key("prefix"));
        if prefix.is_empty() {
            ctx.error(
                &p,
                "an empty prefix; leave `prefix` out to grant the whole bucket".into(),
                None,
            );
        } else if prefix.chars().any(crate::display::is_unsafe) {
            ctx.error(
                &p,
                format!(
                    "prefix `{}` contains control or bidi characters",
                    crate::display::escape(prefix)
                ),
                Some("such characters can hide what a plan grants; S3 keys for iamspec grants must not use them"),
            );
        } else if prefix.contains(['*', '?']) || prefix.contains("${") {
            ctx.error(
                &p,
                format!(
                    "prefix `{prefix}` contains a wildcard or policy variable (`*`, `?`, `${{`)"
                ),
                Some("a prefix is literal; iamspec appends the `*` itself"),
            );
        } else if prefix.len() > 1024 {
            ctx.error(
                &p,
                "prefix is longer than S3's 1,024-byte key limit".into(),
                None,
            );
        } else if prefix.starts_with('/') || prefix.contains("//") {
            // S3 keys rarely start with `/`: `photos-prod//uploads/*` grants nothing anyone uploads.
            let fixed: String = prefix
                .split('/')
                .filter(|part| !part.is_empty())
                .map(|part| format!("{part}/"))
                .collect();
            ctx.error(
                &p,
                format!(
                    "prefix `{prefix}` {}: keys are written without them, so the grant would match nothing in use",
                    if prefix.starts_with('/') {
                        "starts with `/`"
                    } else {
                        "contains `//`"
                    }
                ),
                Some(&format!("write `prefix: {fixed}`")),
            );
        } else if !prefix.ends_with('/') {
            ctx.warn(
                Lint::PrefixWithoutSlash,
                &p,
                format!("prefix `{prefix}` also covers keys such as `{prefix}-secret/...` and `{prefix}s/...`"),
                Some(&format!("end it with `/` (`{prefix}/`) to mean that folder only")),
            );
        }
        // IAM's `*` matches `/` too: `arn:aws:s3:::*/team/*` matches `team/` at any depth of any key of any bucket.
        let patterns: Vec<&str> = raw
            .buckets
            .iter()
            .filter(|b| b.contains('*'))
            .map(String::as_str)
            .collect();
        if !prefix.is_empty() && !patterns.is_empty() {
            ctx.error(
                &p,
                format!(
                    "a prefix cannot be anchored to the top of `{}`: IAM's `*` also matches `/`, so `arn:aws:s3:::{}/{prefix}*` would match `{prefix}` at any depth of any key",
                    patterns.join("`, `"),
                    patterns[0]
                ),
                Some("name the buckets; no ARN can say \"this prefix at the top of any bucket\""),
            );
        }
        if raw.access == Some(AccessLevel::Full) {
            ctx.error(
                &p,
                "`full` cannot take a prefix: s3:* includes bucket-wide actions".into(),
                Some("use `read-write` with the prefix, or `full` on the whole bucket"),
            );
        }
    }
    if raw.access == Some(AccessLevel::Full) {
        ctx.warn(
            Lint::FullAccess,
            &sub(Seg::Key("access")),
            "`full` grants s3:*, including deleting the bucket and changing its policy".into(),
            Some("most services need `read-write`"),
        );
    }
    for (i, action) in raw.actions.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("actions"));
        p.push(Seg::Index(i));
        check_action(ctx, &p, action, raw.prefix.as_deref().filter(|_| prefixed));
    }
    let mut kms_keys = Vec::new();
    for (i, key) in raw.kms_keys.iter().flatten().enumerate() {
        let mut p = sub(Seg::Key("kms_keys"));
        p.push(Seg::Index(i));
        if !valid_kms_key_arn(key) {
            ctx.error(
                &p,
                format!("`{key}` is not a KMS key ARN"),
                Some("expected arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (the key of the bucket's SSE-KMS encryption)"),
            );
        } else if kms_keys.contains(key) {
            ctx.error(&p, format!("`{key}` is listed twice"), None);
        }
        kms_keys.push(key.clone());
    }
    let access = access?;
    if !kms_keys.is_empty() {
        let uses = match &access {
            GrantAccess::Level(level) => level.kms_actions(),
            GrantAccess::Actions(actions) => crate::policy::kms_actions_for(actions),
        };
        if uses.is_empty() {
            ctx.warn(
                Lint::KmsKeysUnused,
                &sub(Seg::Key("kms_keys")),
                "this grant reads and writes no objects, so its KMS keys get no permission".into(),
                None,
            );
        }
    }
    Some(Grant {
        buckets: raw.buckets.clone(),
        prefix: raw.prefix.clone(),
        access,
        kms_keys,
    })
}

/// Checks one explicit action against the catalogue: it must exist, act on buckets, objects or `*`, and, in a
/// grant with a prefix, be limitable to it.
pub(super) fn check_action(ctx: &mut Ctx, at: &[Seg<'_>], action: &str, prefix: Option<&str>) {
    let Some(name) = action.get(3..).filter(|_| {
        action
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("s3:"))
    }) else {
        ctx.error(
            at,
            format!("action `{action}` is not an S3 action"),
            Some("grants manage S3 access only; actions start with `s3:` (KMS access comes with `kms_keys`)"),
        );
        return;
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
    {
        ctx.error(
            at,
            format!("action `{action}` is not a valid action name"),
            None,
        );
        return;
    }
    let wild = name.contains(['*', '?']);
    let covered = crate::catalogue::expand(action);
    if covered.is_empty() {
        let help = crate::catalogue::suggest(action).map(|s| format!("did you mean `{s}`?"));
        ctx.error(
            at,
            if wild {
                format!("`{action}` matches no S3 action")
            } else {
                format!("`{action}` is not an S3 action (AWS's Service Authorization Reference has no such name)")
            },
            help.as_deref(),
        );
        return;
    }
    if !wild {
        let def = covered[0];
        if !def.on_bucket() && !def.on_object() && !def.only_star() {
            ctx.error(
                at,
                format!(
                    "`{}` acts on {}, not on buckets or objects",
                    def.full_name(),
                    def.resources.join(", ")
                ),
                Some("grants cannot express it; keep it in `raw_policies`"),
            );
            return;
        }
        if def.only_star() {
            let what = if def.name == "ListAllMyBuckets" {
                "it reveals the name of every bucket in the account".to_owned()
            } else {
                "it is granted on `*`, for the whole account".to_owned()
            };
            ctx.warn(
                Lint::ResourcelessAction,
                at,
                format!("`{}` takes no resource: {what}", def.full_name()),
                Some("drop it unless the service needs it"),
            );
        }
    }
    if wild {
        let sensitive: Vec<String> = covered
            .iter()
            .filter(|d| d.level == crate::catalogue::ActionLevel::PermissionsManagement)
            .map(|d| d.full_name())
            .collect();
        if name == "*" {
            // Named like s3:Put*'s: the reviewer sees what hands the bucket's access to others.
            // The ones that hand the bucket to others first: policies, ACLs, public access.
            let mut ranked: Vec<&str> = sensitive.iter().map(String::as_str).collect();
            ranked.sort_by_key(|a| {
                !["BucketPolicy", "Acl", "PublicAccessBlock"]
                    .iter()
                    .any(|k| a.contains(k))
            });
            let shown: Vec<&str> = ranked.into_iter().take(6).collect();
            let more = sensitive.len().saturating_sub(shown.len());
            ctx.warn(
                Lint::S3Star,
                at,
                format!(
                    "`s3:*` allows every S3 action, including deleting buckets and {} permissions-management action(s): {}{}",
                    sensitive.len(),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
                Some("list the actions the service needs"),
            );
        } else if !sensitive.is_empty() {
            ctx.warn(
                Lint::WildcardPermissionsManagement,
                at,
                format!(
                    "`{action}` includes {} permissions-management action(s): {}",
                    sensitive.len(),
                    sensitive.join(", ")
                ),
                Some("a wildcard action can let the user change who else reaches the bucket; list the actions it needs"),
            );
        }
    }
    if let Some(prefix) = prefix {
        // A bucket-wide action sees or changes the whole bucket: only listings (conditioned on s3:prefix) and the
        // bucket's region can be granted with a prefix.
        let wide: Vec<String> = covered
            .iter()
            .filter(|d| {
                d.on_bucket()
                    && !d.takes("s3:prefix")
                    && (wild || d.full_name() != crate::policy::REGION_ACTION)
            })
            .map(|d| d.full_name())
            .collect();
        if !wide.is_empty() {
            let shown: Vec<&str> = wide.iter().take(6).map(String::as_str).collect();
            let more = if wide.len() > shown.len() {
                format!(" and {} more", wide.len() - shown.len())
            } else {
                String::new()
            };
            let message = if wild {
                format!(
                    "`{action}` includes actions on the whole bucket ({}{more}), which prefix `{prefix}` cannot limit",
                    shown.join(", ")
                )
            } else {
                format!("`{action}` acts on the whole bucket, which prefix `{prefix}` cannot limit")
            };
            ctx.error(
                at,
                message,
                Some("name object actions (s3:GetObject...) for the prefix, and put bucket-wide actions in a grant without a prefix"),
            );
        }
    }
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID`.
pub(super) fn valid_kms_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[3]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("key/").is_some_and(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

pub(super) fn check_bucket(ctx: &mut Ctx, at: &[Seg<'_>], bucket: &str) {
    if bucket == "*" {
        ctx.warn(
            Lint::EveryBucket,
            at,
            "grant on every bucket in the account".into(),
            Some("name the buckets the service works on"),
        );
        return;
    }
    // An ARN or an s3:// URL where a bare name belongs: the commonest slip when copying from a console.
    let lower = bucket.to_ascii_lowercase();
    let bare = lower.strip_prefix("s3://").or_else(|| {
        lower
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(":s3:::"))
            .map(|(_, name)| name)
    });
    if let Some(rest) = bare {
        let start = bucket.len() - rest.len();
        let (name, key) = bucket[start..]
            .split_once('/')
            .unwrap_or((&bucket[start..], ""));
        let help = if key.trim_matches(['/', '*']).is_empty() {
            format!("use the bare name `{name}`")
        } else {
            format!(
                "use the bare name `{name}`, and put the key part in `prefix: {}`",
                key.trim_end_matches('*')
            )
        };
        ctx.error(at, format!("`{bucket}` is not a bucket name"), Some(&help));
        return;
    }
    if bucket.contains('*') {
        let literal = bucket.replace('*', "");
        if literal
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
        {
            ctx.error(
                at,
                format!("bucket pattern `{bucket}` has characters no bucket name can have"),
                None,
            );
        } else {
            ctx.warn(
                Lint::BroadBucketPattern,
                at,
                format!("bucket pattern `{bucket}` also matches buckets created later"),
                None,
            );
        }
        return;
    }
    match bucket_problem(bucket) {
        None => {}
        Some(problem) => {
            let legacy = (3..=255).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && bucket.chars().any(|c| c.is_ascii_uppercase() || c == '_');
            if legacy {
                ctx.warn(
                    Lint::LegacyBucketName,
                    at,
                    format!("`{bucket}` is a legacy bucket name ({problem})"),
                    Some("only buckets created in us-east-1 before 2018 can have such names; check the spelling"),
                );
            } else {
                ctx.error(at, format!("`{bucket}` is not a valid S3 bucket name: {problem}"), Some("bucket names are 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit"));
            }
        }
    }
}

/// Help for a policy that is not an ARN: a bare name is most likely an AWS managed policy's.
pub(super) fn arn_help(given: &str) -> String {
    if !given.is_empty() && valid_policy_name(given) {
        format!(
            "managed policies are named by ARN: for the AWS managed policy write `arn:aws:iam::aws:policy/{given}`, \
             for one of your account's, `arn:aws:iam::ACCOUNT_ID:policy/{given}`"
        )
    } else {
        "expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/PATH/NAME"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(yaml: &str) -> (Option<Grant>, Vec<String>) {
        let raw: RawGrant = serde_norway::from_str(yaml).unwrap();
        let mut ctx = Ctx::default();
        let g = validate_grant(
            &raw,
            &mut ctx,
            &[Seg::Key("users"), Seg::Key("a"), Seg::Index(0)],
        );
        let found = ctx
            .found
            .iter()
            .map(|f| {
                let path: Vec<String> = f
                    .path
                    .iter()
                    .map(|s| match s {
                        PathSeg::Key(k) => k.clone(),
                        PathSeg::Index(i) => i.to_string(),
                    })
                    .collect();
                format!("{:?} {}: {}", f.severity, path.join("."), f.message)
            })
            .collect();
        (g, found)
    }

    #[test]
    fn a_grant_names_each_problem_at_its_field() {
        let (g, found) = grant("{buckets: [photos-prod], prefix: team/, access: read-write}");
        assert!(g.is_some() && found.is_empty(), "{found:?}");
        let (_, found) = grant("{buckets: [Bad_Bucket!], actions: [s3:GetObjekt]}");
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("Error users.a.0.buckets.0:")),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("Error users.a.0.actions.0:") && f.contains("s3:GetObjekt")),
            "{found:#?}"
        );
        let (_, found) = grant("{buckets: [photos-prod]}");
        assert!(
            found.iter().any(|f| f.contains("needs `access`")),
            "{found:#?}"
        );
    }
}
