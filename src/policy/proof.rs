//! The least-privilege claim, proven rather than illustrated: for generated grant sets, the evaluator on the
//! rendered policy allows exactly what the grants mean, over a universe of probe requests (every catalogue action
//! that acts on buckets, objects or `*`, on resources inside and outside each bucket and prefix, listings with and
//! without `s3:prefix`, KMS keys). What a grant means is defined here from the README's access table and the
//! catalogue, independently of the renderer. And semantic equality agrees with the evaluator: documents that
//! compare equal are never told apart by a probe.

use proptest::prelude::*;

use crate::authz::{self, evaluate, ActionDef, Context, Policies, Request};
use crate::policy::{AccessLevel, Grant, GrantAccess, PolicyDocument, Statement, REGION_ACTION};

const BUCKETS: [&str; 4] = ["alpha", "beta", "al-x", "other"];
const KEYS: [&str; 7] = [
    "team/a.jpg",
    "team/sub/b.jpg",
    "teams/c",
    "team-secret/d",
    "logs/e",
    "other/team/f",
    "g",
];
const LISTINGS: [&str; 6] = ["team/", "team/sub/", "teams/", "logs/", "other/team/", ""];
const KMS_KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222";
const OTHER_KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/9999";

/// One probe: an action on a resource, with or without an `s3:prefix`.
struct Probe {
    action: &'static ActionDef,
    bucket: Option<&'static str>,
    key: Option<&'static str>,
    listing: Option<&'static str>,
    kms_key: Option<&'static str>,
}

impl Probe {
    fn resource(&self) -> String {
        match (self.kms_key, self.bucket, self.key) {
            (Some(k), _, _) => k.to_owned(),
            (None, Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
            (None, Some(b), None) => format!("arn:aws:s3:::{b}"),
            (None, None, _) => "*".to_owned(),
        }
    }
}

/// Every probe: object actions on every object, bucket actions on every bucket (listings with every prefix and
/// none), resource-less actions on `*`, the two KMS actions on two keys.
fn probes() -> Vec<Probe> {
    let mut out = Vec::new();
    for action in authz::of_service("s3") {
        if action.on_object() {
            for bucket in BUCKETS {
                for key in KEYS {
                    out.push(Probe {
                        action,
                        bucket: Some(bucket),
                        key: Some(key),
                        listing: None,
                        kms_key: None,
                    });
                }
            }
        }
        if action.on_bucket() {
            for bucket in BUCKETS {
                let listings: &[&'static str] = if action.takes("s3:prefix") {
                    &LISTINGS
                } else {
                    &[""]
                };
                for listing in listings {
                    let listing = (!listing.is_empty()).then_some(*listing);
                    out.push(Probe {
                        action,
                        bucket: Some(bucket),
                        key: None,
                        listing,
                        kms_key: None,
                    });
                }
            }
        }
        if action.only_star() {
            out.push(Probe {
                action,
                bucket: None,
                key: None,
                listing: None,
                kms_key: None,
            });
        }
    }
    for name in ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"] {
        let action = authz::lookup(name).unwrap();
        for key in [KMS_KEY, OTHER_KEY] {
            out.push(Probe {
                action,
                bucket: None,
                key: None,
                listing: None,
                kms_key: Some(key),
            });
        }
    }
    out
}

fn bucket_matches(pattern: &str, bucket: &str) -> bool {
    crate::pattern::wildcard(pattern, bucket)
}

/// What one grant means for one probe, from the access table and the catalogue.
fn grant_allows(g: &Grant, p: &Probe) -> bool {
    let name = p.action.full_name();
    let prefix = g.prefix.as_deref().unwrap_or("");
    let prefixed = !prefix.is_empty();
    if let Some(key) = p.kms_key {
        let uses = match &g.access {
            GrantAccess::Level(level) => level.kms_actions(),
            GrantAccess::Actions(actions) => crate::policy::kms_actions_for(actions),
        };
        return g.kms_keys.iter().any(|k| k == key) && uses.contains(&name.as_str());
    }
    let Some(bucket) = p.bucket else {
        // `*`: only a resource-less action named exactly.
        return matches!(&g.access, GrantAccess::Actions(a) if a.iter().any(|x| authz::lookup(x).is_some_and(|d| d.full_name() == name)));
    };
    if !g.buckets.iter().any(|b| bucket_matches(b, bucket)) {
        return false;
    }
    let listed_ok = || !prefixed || p.listing.is_some_and(|l| l.starts_with(prefix));
    match (&g.access, p.key) {
        (GrantAccess::Level(level), Some(key)) => {
            key.starts_with(prefix)
                && (level.object_actions().contains(&name.as_str()) || *level == AccessLevel::Full)
        }
        (GrantAccess::Level(level), None) => {
            *level == AccessLevel::Full
                || level.bucket_actions(prefixed).contains(&name.as_str())
                || (level.list_actions().contains(&name.as_str()) && listed_ok())
        }
        (GrantAccess::Actions(actions), key) => {
            let named = actions
                .iter()
                .any(|a| authz::lookup(a).is_some_and(|d| d.full_name() == name));
            let covered = named
                || actions.iter().any(|a| {
                    a.contains(['*', '?']) && authz::expand(a).iter().any(|d| d.full_name() == name)
                });
            match key {
                Some(key) => covered && p.action.on_object() && key.starts_with(prefix),
                None if !prefixed => covered,
                None if p.action.takes("s3:prefix") => covered && listed_ok(),
                None => named && name == REGION_ACTION,
            }
        }
    }
}

fn check(doc: Option<&PolicyDocument>, grants: &[Grant]) -> Result<(), TestCaseError> {
    for p in probes() {
        let resource = p.resource();
        let context = match p.listing {
            Some(l) => Context::new().with("s3:prefix", &[l]),
            None => Context::new(),
        };
        let action = p.action.full_name();
        let req = Request {
            action: &action,
            resource: &resource,
            context: &context,
        };
        let decision = doc.map_or(authz::Decision::ImplicitlyDenied, |d| {
            evaluate(
                &req,
                &Policies {
                    known: vec![("grants".into(), d)],
                    ..Policies::default()
                },
            )
        });
        prop_assert!(
            !matches!(decision, authz::Decision::Undecided(_)),
            "{decision:?}"
        );
        let expected = grants.iter().any(|g| grant_allows(g, &p));
        prop_assert_eq!(
            decision.is_allowed(),
            expected,
            "{} on {} (s3:prefix {:?}) for {:?}\n{}",
            action,
            resource,
            p.listing,
            grants,
            doc.map(PolicyDocument::to_pretty_json).unwrap_or_default()
        );
    }
    Ok(())
}

/// A grant as spec YAML, from a small vocabulary that reaches every placement rule.
fn grant_yaml() -> impl Strategy<Value = String> {
    let buckets = prop_oneof![
        proptest::sample::subsequence(vec!["alpha", "beta"], 1..=2).prop_map(|b| b.join(", ")),
        Just("\"*\"".to_owned()),
        Just("\"al*\"".to_owned()),
    ];
    let prefix = proptest::option::of(proptest::sample::select(vec![
        "team/",
        "team/sub/",
        "logs/",
        "team",
    ]));
    let access = prop_oneof![
        proptest::sample::select(vec!["list", "read", "write", "read-write", "full"])
            .prop_map(|l| format!("access: {l}")),
        proptest::sample::subsequence(
            vec![
                "s3:GetObject",
                "s3:putobject",
                "s3:DeleteObject",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:GetBucketLocation",
                "s3:GetObject*",
                "s3:Put*",
                "s3:ListAllMyBuckets",
                "s3:AbortMultipartUpload",
                "s3:GetBucketPolicy",
                "s3:ListBucketMultipartUploads",
                "s3:*",
                "s3:List*",
            ],
            1..4,
        )
        .prop_map(|a| format!(
            "actions: [{}]",
            a.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    ];
    let kms = proptest::option::of(Just(KMS_KEY));
    (buckets, prefix, access, kms).prop_map(|(buckets, prefix, access, kms)| {
        let mut g = format!("{{buckets: [{buckets}], {access}");
        if let Some(p) = prefix {
            g.push_str(&format!(", prefix: {p}"));
        }
        if let Some(k) = kms {
            g.push_str(&format!(", kms_keys: [\"{k}\"]"));
        }
        g.push('}');
        g
    })
}

/// Valid grant sets, through the real spec loader (invalid combinations are refused there and skipped here).
fn grants() -> impl Strategy<Value = Vec<Grant>> {
    proptest::collection::vec(grant_yaml(), 1..4).prop_filter_map("invalid grant set", |gs| {
        let text = format!(
            "version: 1\nusers:\n  u:\n    policy_mode: managed\n    grants: [{}]\n",
            gs.join(", ")
        );
        crate::spec::load("proof.yaml", &text)
            .ok()
            .map(|l| l.spec.policies[0].grants.clone())
    })
}

/// The same document spelled differently: one statement per action and per condition value, actions in lower
/// case, statements reversed and one repeated. It means the same, so it must compare equal.
fn respell(doc: &PolicyDocument) -> PolicyDocument {
    let mut statements = Vec::new();
    for st in &doc.statements {
        for action in &st.actions {
            let values: Vec<Option<String>> = match st
                .condition
                .get("StringLike")
                .and_then(|k| k.get("s3:prefix"))
            {
                Some(v) => v.iter().cloned().map(Some).collect(),
                None => vec![None],
            };
            for value in values {
                let mut s =
                    Statement::allow(vec![action.to_ascii_lowercase()], st.resources.clone());
                if let Some(v) = value {
                    s.condition
                        .entry("StringLike".into())
                        .or_default()
                        .insert("S3:Prefix".into(), vec![v]);
                }
                statements.push(s);
            }
        }
    }
    statements.reverse();
    if let Some(first) = statements.first().cloned() {
        statements.push(first);
    }
    PolicyDocument::new(statements)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn rendered_policies_allow_exactly_what_the_grants_mean(grants in grants()) {
        let doc = crate::policy::render_grants(&grants);
        check(doc.as_ref(), &grants)?;
    }

    #[test]
    fn equal_documents_are_never_told_apart(a in grants(), b in grants()) {
        let (da, db) = (crate::policy::render_grants(&a).unwrap(), crate::policy::render_grants(&b).unwrap());
        let respelled = respell(&da);
        prop_assert_eq!(&respelled, &da, "a respelling must compare equal");
        check(Some(&respelled), &a)?;
        if da == db {
            for p in probes() {
                let resource = p.resource();
                let context = p.listing.map_or_else(Context::new, |l| Context::new().with("s3:prefix", &[l]));
                let action = p.action.full_name();
                let req = Request { action: &action, resource: &resource, context: &context };
                let on = |d: &PolicyDocument| evaluate(&req, &Policies { known: vec![("p".into(), d)], ..Policies::default() }).is_allowed();
                prop_assert_eq!(on(&da), on(&db), "equal documents differ on {} {}", action, resource);
            }
        }
    }
}

/// regression: policies that only differed in how `s3:prefix` values were split across statements showed as a
/// change; they mean the same to the evaluator and now compare equal.
#[test]
fn split_prefix_values_compare_equal() {
    let one = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["a/*","c/*"]}}}]}"#).unwrap();
    let two = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"c/*"}}},{"Effect":"Allow","Action":"s3:listbucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"a/*"}}}]}"#).unwrap();
    let narrower = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"a/*"}}}]}"#).unwrap();
    assert_eq!(one, two);
    assert_ne!(one, narrower);
    // A negated operator's values are not alternatives: not split.
    let not_one = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringNotLike":{"s3:prefix":["a/*","c/*"]}}}]}"#).unwrap();
    let not_two = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringNotLike":{"s3:prefix":"a/*"}}},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringNotLike":{"s3:prefix":"c/*"}}}]}"#).unwrap();
    assert_ne!(not_one, not_two);
}
