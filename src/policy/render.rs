//! Grants -> one canonical, least-privilege policy document (DESIGN.md's access table).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{PolicyDocument, Statement};

/// The access levels a grant can name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLevel {
    /// List the bucket (or the prefix) and find its region.
    List,
    /// `list` plus object reads and versions.
    Read,
    /// Object writes, deletes and multipart uploads.
    Write,
    /// `read` and `write` together.
    ReadWrite,
    /// `s3:*` on the bucket and its objects.
    Full,
}

impl AccessLevel {
    /// Every level, in increasing breadth.
    pub const ALL: [Self; 5] = [
        Self::List,
        Self::Read,
        Self::Write,
        Self::ReadWrite,
        Self::Full,
    ];

    /// The spec's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Read => "read",
            Self::Write => "write",
            Self::ReadWrite => "read-write",
            Self::Full => "full",
        }
    }

    /// Actions on the bucket ARN that stay unconditioned even with a prefix.
    #[must_use]
    pub fn bucket_actions(self) -> &'static [&'static str] {
        match self {
            Self::List | Self::Read => &["s3:GetBucketLocation"],
            Self::Write => &["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            Self::ReadWrite => &["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            Self::Full => &["s3:*"],
        }
    }

    /// Listing actions on the bucket ARN; limited by an `s3:prefix` condition when the grant has a prefix.
    #[must_use]
    pub fn list_actions(self) -> &'static [&'static str] {
        match self {
            Self::List => &["s3:ListBucket"],
            Self::Read | Self::ReadWrite => &["s3:ListBucket", "s3:ListBucketVersions"],
            Self::Write | Self::Full => &[],
        }
    }

    /// Actions on `bucket/prefix*` objects.
    #[must_use]
    pub fn object_actions(self) -> &'static [&'static str] {
        match self {
            Self::List => &[],
            Self::Read => &["s3:GetObject", "s3:GetObjectVersion"],
            Self::Write => &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
            Self::ReadWrite => &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
            Self::Full => &["s3:*"],
        }
    }
}

/// What a grant gives: a named level or explicit actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantAccess {
    /// One of the access levels.
    Level(AccessLevel),
    /// Explicit `s3:` actions, on the bucket and its (prefixed) objects.
    Actions(Vec<String>),
}

/// One validated grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Bucket names, `*`, or patterns with `*`.
    pub buckets: Vec<String>,
    /// Optional key prefix.
    pub prefix: Option<String>,
    /// What is granted.
    pub access: GrantAccess,
}

const S3_ARN: &str = "arn:aws:s3:::";

/// Renders a user's grants into one canonical document, or `None` when there are no grants.
///
/// Deterministic: the same grants in any order give byte-identical JSON. Statements share a resource list only when
/// their actions and condition are equal, and a (resource, condition) pair appears in exactly one statement.
#[must_use]
pub fn render_grants(grants: &[Grant]) -> Option<PolicyDocument> {
    // Every user's policy is rendered in the diff (and near a size limit, in validation too), so this works on
    // sorted lists of borrowed facts rather than maps of owned strings: each ARN is written once, into `arns`, and
    // actions stay `&str` until the statements are built.
    let mut arns: Vec<String> = Vec::new();
    // (resource, action), unconditioned
    let mut plain: Vec<(usize, &str)> = Vec::new();
    // (bucket ARN, listing action, prefix it is limited to)
    let mut listed: Vec<(usize, &str, &str)> = Vec::new();
    for grant in grants {
        let prefix = grant.prefix.as_deref().unwrap_or("");
        for bucket in &grant.buckets {
            let bucket_arn = arns.len();
            arns.push([S3_ARN, bucket].concat());
            // arn:aws:s3:::* already matches every object, so a prefix-less grant on all buckets needs no object ARN.
            let object_arn = if bucket != "*" || !prefix.is_empty() {
                arns.push([S3_ARN, bucket, "/", prefix, "*"].concat());
                Some(arns.len() - 1)
            } else {
                None
            };
            match &grant.access {
                GrantAccess::Actions(actions) => {
                    for action in actions {
                        plain.push((bucket_arn, action));
                        if let Some(object_arn) = object_arn {
                            plain.push((object_arn, action));
                        }
                    }
                }
                GrantAccess::Level(level) => {
                    plain.extend(level.bucket_actions().iter().map(|a| (bucket_arn, *a)));
                    let objects = object_arn.unwrap_or(bucket_arn);
                    plain.extend(level.object_actions().iter().map(|a| (objects, *a)));
                    for action in level.list_actions() {
                        if prefix.is_empty() {
                            plain.push((bucket_arn, action));
                        } else {
                            listed.push((bucket_arn, action, prefix));
                        }
                    }
                }
            }
        }
    }
    let arn = |i: usize| arns[i].as_str();
    plain.sort_unstable_by(|a, b| (arn(a.0), a.1).cmp(&(arn(b.0), b.1)));
    plain.dedup_by(|a, b| a.1 == b.1 && arn(a.0) == arn(b.0));
    listed.sort_unstable_by(|a, b| (arn(a.0), a.1, a.2).cmp(&(arn(b.0), b.1, b.2)));
    listed.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2 && arn(a.0) == arn(b.0));
    // An unconditioned listing already covers every prefix of that bucket.
    listed.retain(|(resource, action, _)| {
        plain
            .binary_search_by(|p| (arn(p.0), p.1).cmp(&(arn(*resource), *action)))
            .is_err()
    });

    // Regroup: resources sharing the same action set (and condition) share a statement. `plain` is sorted by
    // resource, so each resource's actions are a sorted run of it.
    let actions: Vec<&str> = plain.iter().map(|p| p.1).collect();
    let mut runs: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (i, (resource, _)) in plain.iter().enumerate() {
        match runs.last_mut() {
            Some((last, range)) if arn(*last) == arn(*resource) => range.end = i + 1,
            _ => runs.push((*resource, i..i + 1)),
        }
    }
    runs.sort_unstable_by(|a, b| {
        (&actions[a.1.clone()], arn(a.0)).cmp(&(&actions[b.1.clone()], arn(b.0)))
    });
    let mut statements: Vec<(u8, Statement)> = Vec::new();
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for group in runs.chunk_by(|a, b| actions[a.1.clone()] == actions[b.1.clone()]) {
        let resources: Vec<String> = group.iter().map(|(r, _)| arns[*r].clone()).collect();
        let class = if resources.iter().all(|r| r.contains('/')) {
            1
        } else if resources.iter().any(|r| r.contains('/')) {
            2
        } else {
            0
        };
        statements.push((
            class,
            Statement::allow(owned(&actions[group[0].1.clone()]), resources),
        ));
    }

    // Listings limited to prefixes: by (resource, prefixes) their actions, then by (actions, prefixes) resources.
    // The condition lists `prefix*`, sorted as those strings (not as the bare prefixes: `a!*` < `a*`).
    let mut by_prefixes: BTreeMap<(&str, Vec<String>), BTreeSet<&str>> = BTreeMap::new();
    for group in listed.chunk_by(|a, b| a.1 == b.1 && arn(a.0) == arn(b.0)) {
        let mut patterns: Vec<String> = group.iter().map(|l| [l.2, "*"].concat()).collect();
        patterns.sort_unstable();
        by_prefixes
            .entry((arn(group[0].0), patterns))
            .or_default()
            .insert(group[0].1);
    }
    let mut conditioned: BTreeMap<(BTreeSet<&str>, Vec<String>), BTreeSet<&str>> = BTreeMap::new();
    for ((resource, prefixes), actions) in by_prefixes {
        conditioned
            .entry((actions, prefixes))
            .or_default()
            .insert(resource);
    }
    for ((actions, prefixes), resources) in conditioned {
        let actions: Vec<&str> = actions.into_iter().collect();
        let resources: Vec<&str> = resources.into_iter().collect();
        let mut st = Statement::allow(owned(&actions), owned(&resources));
        st.condition
            .entry("StringLike".to_owned())
            .or_default()
            .insert("s3:prefix".to_owned(), prefixes);
        statements.push((3, st));
    }
    if statements.is_empty() {
        return None;
    }
    statements.sort_by(|a, b| {
        (a.0, &a.1.resources, &a.1.actions).cmp(&(b.0, &b.1.resources, &b.1.actions))
    });
    let mut counters = [0u32; 4];
    for (class, st) in &mut statements {
        counters[*class as usize] += 1;
        let name = ["Buckets", "Objects", "BucketsAndObjects", "ListPrefixes"][*class as usize];
        st.sid = Some([name, &counters[*class as usize].to_string()].concat());
    }
    Some(PolicyDocument::new(
        statements.into_iter().map(|(_, st)| st).collect(),
    ))
}

/// An upper bound of the size (as IAM counts it) of what [`render_grants`] makes of `grants`, in one pass and no
/// allocation: validation checks every user against IAM's limits, and only users near a limit need the exact size.
///
/// It charges every (grant, bucket) its own statements, each with the longest Sid and the full action list, as if
/// nothing were shared: rendering only merges (a resource listed twice, statements sharing actions, a listing the
/// unconditioned one covers), and merging only shortens the document.
#[must_use]
pub fn size_bound(grants: &[Grant]) -> usize {
    // `{"Sid":"BucketsAndObjects","Effect":"Allow","Action":[],"Resource":[]},` without the Sid's number.
    const STATEMENT: usize = 70;
    // `,"Condition":{"StringLike":{"s3:prefix":[]}}`
    const CONDITION: usize = 45;
    // `{"Version":"2012-10-17","Statement":[]}`
    const DOCUMENT: usize = 39;
    // A listed string: its quotes and a comma.
    let item = |s: &str| json_len(s) + 3;
    let actions = |list: &[&str]| list.iter().map(|a| item(a)).sum::<usize>();
    let pairs: usize = grants.iter().map(|g| g.buckets.len()).sum();
    // Sids are numbered per kind; no kind has more statements than all of them.
    let sid_digits = (3 * pairs).max(1).ilog10() as usize + 1;
    let statement = STATEMENT + sid_digits;
    let mut total = DOCUMENT;
    for grant in grants {
        let prefix = grant.prefix.as_deref().unwrap_or("");
        for bucket in &grant.buckets {
            let bucket_arn = S3_ARN.len() + json_len(bucket) + 3;
            let object_arn = bucket_arn + 1 + json_len(prefix) + 1;
            let (on_bucket, on_objects, listing) = match &grant.access {
                GrantAccess::Actions(list) => {
                    let all: usize = list.iter().map(|a| item(a)).sum();
                    (all, all, 0)
                }
                GrantAccess::Level(level) => {
                    let listing = actions(level.list_actions());
                    let on_bucket = actions(level.bucket_actions())
                        + if prefix.is_empty() { listing } else { 0 };
                    (on_bucket, actions(level.object_actions()), listing)
                }
            };
            // On a prefix-less `*` the object actions join the bucket statement: one statement fewer than charged.
            total += statement + bucket_arn + on_bucket;
            total += statement + object_arn + on_objects + on_bucket;
            if !prefix.is_empty() && listing > 0 {
                total += statement + CONDITION + bucket_arn + listing + item(prefix) + 1;
            }
        }
    }
    total
}

/// Bytes of `s` as a JSON string body: at least its characters after escaping.
fn json_len(s: &str) -> usize {
    s.len()
        + s.bytes()
            .map(|b| match b {
                b'"' | b'\\' => 1,
                0..0x20 => 5,
                _ => 0,
            })
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn grant(buckets: &[&str], prefix: Option<&str>, level: AccessLevel) -> Grant {
        Grant {
            buckets: buckets.iter().map(|s| (*s).to_owned()).collect(),
            prefix: prefix.map(str::to_owned),
            access: GrantAccess::Level(level),
        }
    }

    #[test]
    fn read_write_on_two_buckets_merges_resources() {
        let doc = render_grants(&[grant(
            &["photos-prod", "photos-thumbs"],
            None,
            AccessLevel::ReadWrite,
        )])
        .unwrap();
        let json = doc.to_pretty_json();
        assert_eq!(doc.statements.len(), 2, "{json}");
        assert_eq!(
            doc.statements[0].resources,
            vec!["arn:aws:s3:::photos-prod", "arn:aws:s3:::photos-thumbs"]
        );
        assert_eq!(
            doc.statements[0].actions,
            vec![
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:ListBucketVersions"
            ]
        );
        assert_eq!(
            doc.statements[1].resources,
            vec!["arn:aws:s3:::photos-prod/*", "arn:aws:s3:::photos-thumbs/*"]
        );
    }

    #[test]
    fn prefix_conditions_listing_only() {
        let doc =
            render_grants(&[grant(&["archive"], Some("originals/"), AccessLevel::Read)]).unwrap();
        let v = doc.to_value();
        let sts = v["Statement"].as_array().unwrap();
        assert_eq!(sts.len(), 3);
        assert_eq!(
            sts[0]["Action"],
            serde_json::json!(["s3:GetBucketLocation"])
        );
        assert!(sts[0].get("Condition").is_none());
        assert_eq!(
            sts[1]["Resource"],
            serde_json::json!(["arn:aws:s3:::archive/originals/*"])
        );
        assert_eq!(
            sts[2]["Condition"],
            serde_json::json!({"StringLike": {"s3:prefix": ["originals/*"]}})
        );
        assert_eq!(
            sts[2]["Action"],
            serde_json::json!(["s3:ListBucket", "s3:ListBucketVersions"])
        );
    }

    #[test]
    fn several_prefixes_on_one_bucket_share_one_list() {
        let doc = render_grants(&[
            grant(&["b1"], Some("a/"), AccessLevel::Read),
            grant(&["b1"], Some("c/"), AccessLevel::Read),
        ])
        .unwrap();
        let cond: Vec<_> = doc
            .statements
            .iter()
            .filter(|s| !s.condition.is_empty())
            .collect();
        assert_eq!(cond.len(), 1);
        assert_eq!(
            cond[0].condition["StringLike"]["s3:prefix"],
            vec!["a/*", "c/*"]
        );
    }

    #[test]
    fn unprefixed_listing_covers_prefixed_one() {
        let doc = render_grants(&[
            grant(&["b1"], None, AccessLevel::List),
            grant(&["b1"], Some("x/"), AccessLevel::Read),
        ])
        .unwrap();
        let conditioned: Vec<_> = doc
            .statements
            .iter()
            .filter(|s| !s.condition.is_empty())
            .collect();
        assert_eq!(conditioned.len(), 1);
        assert_eq!(conditioned[0].actions, vec!["s3:ListBucketVersions"]);
    }

    #[test]
    fn order_of_grants_does_not_matter() {
        let a = grant(&["one"], None, AccessLevel::Read);
        let b = grant(&["two"], Some("p/"), AccessLevel::Write);
        let x = render_grants(&[a.clone(), b.clone()])
            .unwrap()
            .to_compact_json();
        let y = render_grants(&[b, a]).unwrap().to_compact_json();
        assert_eq!(x, y);
    }

    #[test]
    fn all_buckets_with_actions_is_one_resource() {
        let g = Grant {
            buckets: vec!["*".into()],
            prefix: None,
            access: GrantAccess::Actions(vec!["s3:Get*".into(), "s3:List*".into()]),
        };
        let doc = render_grants(&[g]).unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.statements[0].resources, vec!["arn:aws:s3:::*"]);
    }

    #[test]
    fn no_grants_no_policy() {
        assert!(render_grants(&[]).is_none());
    }

    #[test]
    fn every_level_renders_its_table_row() {
        for level in AccessLevel::ALL {
            let doc = render_grants(&[grant(&["bkt"], None, level)]).unwrap();
            let atoms = doc.atoms();
            let expected = level.bucket_actions().len()
                + level.list_actions().len()
                + level.object_actions().len();
            assert_eq!(atoms.len(), expected, "{level:?}");
        }
    }

    mod bound {
        use super::*;
        use proptest::prelude::*;

        fn any_grant() -> impl Strategy<Value = Grant> {
            let bucket = prop_oneof![Just("*".to_owned()), "[a-z0-9.-]{3,63}", "[a-c]{1,2}",];
            let prefix = prop::option::of(prop_oneof![
                Just(String::new()),
                "[a-z/]{1,20}",
                "[ -~]{1,20}",
                "[\\x00-\\x1f\"\\\\]{1,5}",
                "\\PC{1,10}",
            ]);
            let access = prop_oneof![
                (0..AccessLevel::ALL.len()).prop_map(|i| GrantAccess::Level(AccessLevel::ALL[i])),
                prop::collection::vec("s3:[A-Za-z*]{1,30}", 1..6).prop_map(GrantAccess::Actions),
            ];
            (prop::collection::vec(bucket, 1..6), prefix, access).prop_map(
                |(buckets, prefix, access)| Grant {
                    buckets,
                    prefix,
                    access,
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]
            #[test]
            fn never_below_the_rendered_size(grants in prop::collection::vec(any_grant(), 0..8)) {
                let size = render_grants(&grants).map_or(0, |d| d.size());
                prop_assert!(size_bound(&grants) >= size, "bound {} < size {size}", size_bound(&grants));
            }
        }

        #[test]
        fn close_enough_that_typical_users_skip_rendering() {
            let grants = [
                super::grant(&["assets-0001", "thumbs-0001"], None, AccessLevel::Read),
                super::grant(&["logs-0001"], Some("svc-000001/"), AccessLevel::ReadWrite),
                super::grant(&["shared-exports"], Some("teams/web/"), AccessLevel::Read),
            ];
            let size = render_grants(&grants).unwrap().size();
            let bound = size_bound(&grants);
            assert!(
                bound >= size && bound < crate::policy::INLINE_USER_LIMIT,
                "{size} <= {bound}"
            );
        }
    }
}
