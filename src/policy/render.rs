//! Grants -> one canonical, least-privilege policy document (DESIGN.md's access table), each action placed by the
//! action catalogue on the resource types it takes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{PolicyDocument, Statement};
use crate::catalogue::{self, ActionDef, ActionLevel};

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

/// The one bucket-wide action a grant limited to a prefix keeps: it reveals only the bucket's region.
pub const REGION_ACTION: &str = "s3:GetBucketLocation";

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

    /// Actions on the bucket ARN that take no `s3:prefix` condition. With a prefix, `s3:ListBucketMultipartUploads`
    /// is left out: it cannot be limited to the prefix and shows the keys of uploads anywhere in the bucket.
    #[must_use]
    pub fn bucket_actions(self, prefixed: bool) -> &'static [&'static str] {
        match (self, prefixed) {
            (Self::List | Self::Read, _) | (Self::Write | Self::ReadWrite, true) => {
                &[REGION_ACTION]
            }
            (Self::Write | Self::ReadWrite, false) => {
                &[REGION_ACTION, "s3:ListBucketMultipartUploads"]
            }
            (Self::Full, _) => &["s3:*"],
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

    /// What reading and writing objects of an SSE-KMS bucket needs of its key: reads decrypt; writes generate
    /// data keys, and decrypt too (multipart uploads read back their parts' keys).
    #[must_use]
    pub fn kms_actions(self) -> &'static [&'static str] {
        match self {
            Self::List => &[],
            Self::Read => &["kms:Decrypt"],
            Self::Write | Self::ReadWrite | Self::Full => &["kms:Decrypt", "kms:GenerateDataKey"],
        }
    }
}

/// What a grant gives: a named level or explicit actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantAccess {
    /// One of the access levels.
    Level(AccessLevel),
    /// Explicit `s3:` actions, each placed on the resource types it takes.
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
    /// KMS key ARNs of the buckets' SSE-KMS encryption.
    pub kms_keys: Vec<String>,
}

const S3_ARN: &str = "arn:aws:s3:::";

/// Where an explicit action (or pattern) goes, by the catalogue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placement {
    /// On object ARNs (`bucket/prefix*`).
    pub objects: bool,
    /// On the bucket ARN, unconditioned.
    pub bucket: bool,
    /// On the bucket ARN with the `s3:prefix` condition (grants with a prefix).
    pub listing: bool,
    /// On `*` (actions that take no resource, named exactly).
    pub star: bool,
}

/// Where `action` (a name or a wildcard) goes in a grant with or without a prefix. Matches that could not be
/// limited to the prefix, or that act on neither buckets nor objects, are not placed (validation refuses them).
#[must_use]
pub fn placement(action: &str, prefixed: bool) -> Placement {
    let wild = action.contains(['*', '?']);
    let defs = catalogue::expand(action);
    let mut p = Placement::default();
    for def in defs.iter().filter(|d| d.service == "s3") {
        p.objects |= def.on_object();
        // A wildcard is never put on `*`: it would grant every action it covers on every resource.
        p.star |= !wild && def.only_star();
        if def.on_bucket() {
            if !prefixed || (!wild && def.full_name() == REGION_ACTION) {
                p.bucket = true;
            } else if def.takes("s3:prefix") {
                p.listing = true;
            }
        }
    }
    p
}

/// The KMS actions explicit actions need of a bucket's key: decryption for object reads, data keys (and
/// decryption) for object writes.
#[must_use]
pub fn kms_actions_for(actions: &[String]) -> &'static [&'static str] {
    let defs: Vec<&ActionDef> = actions.iter().flat_map(|a| catalogue::expand(a)).collect();
    let writes = defs
        .iter()
        .any(|d| d.on_object() && d.level == ActionLevel::Write);
    let reads = defs
        .iter()
        .any(|d| d.on_object() && d.level == ActionLevel::Read);
    if writes {
        AccessLevel::Write.kms_actions()
    } else if reads {
        AccessLevel::Read.kms_actions()
    } else {
        &[]
    }
}

/// The spelling an action is rendered in: the catalogue's (`s3:getobject` -> `s3:GetObject`) for a known name,
/// as written for a pattern.
fn canonical(action: &str) -> std::borrow::Cow<'_, str> {
    if action.contains(['*', '?']) {
        return std::borrow::Cow::Borrowed(action);
    }
    catalogue::lookup(action).map_or(std::borrow::Cow::Borrowed(action), |d| {
        std::borrow::Cow::Owned(d.full_name())
    })
}

/// Renders a user's grants into one canonical document, or `None` when there are no grants.
///
/// Deterministic: the same grants in any order give byte-identical JSON. Statements share a resource list only when
/// their actions and condition are equal, and a (resource, condition) pair appears in exactly one statement.
#[must_use]
pub fn render_grants(grants: &[Grant]) -> Option<PolicyDocument> {
    // Every user's policy is rendered in the diff (and near a size limit, in validation too), so this works on
    // sorted lists of borrowed facts rather than maps of owned strings: each ARN is written once, into `arns`, and
    // actions stay borrowed until the statements are built (explicit actions in their catalogue spelling).
    let spelled: Vec<Vec<std::borrow::Cow<'_, str>>> = grants
        .iter()
        .map(|g| match &g.access {
            GrantAccess::Actions(actions) => actions.iter().map(|a| canonical(a)).collect(),
            GrantAccess::Level(_) => Vec::new(),
        })
        .collect();
    let mut arns: Vec<String> = Vec::new();
    // (resource, action), unconditioned
    let mut plain: Vec<(usize, &str)> = Vec::new();
    // (bucket ARN, listing action, prefix it is limited to)
    let mut listed: Vec<(usize, &str, &str)> = Vec::new();
    let mut star: Option<usize> = None;
    for (grant, spelled) in grants.iter().zip(&spelled) {
        let prefix = grant.prefix.as_deref().unwrap_or("");
        let prefixed = !prefix.is_empty();
        let kms: &[&str] = match &grant.access {
            GrantAccess::Level(level) => level.kms_actions(),
            GrantAccess::Actions(actions) => kms_actions_for(actions),
        };
        for key in &grant.kms_keys {
            arns.push(key.clone());
            let at = arns.len() - 1;
            plain.extend(kms.iter().map(|a| (at, *a)));
        }
        for bucket in &grant.buckets {
            let bucket_arn = arns.len();
            arns.push([S3_ARN, bucket].concat());
            // arn:aws:s3:::* already matches every object, so a prefix-less grant on all buckets needs no object ARN.
            let object_arn = if bucket != "*" || prefixed {
                arns.push([S3_ARN, bucket, "/", prefix, "*"].concat());
                Some(arns.len() - 1)
            } else {
                None
            };
            let objects = object_arn.unwrap_or(bucket_arn);
            match &grant.access {
                GrantAccess::Actions(_) => {
                    for action in spelled {
                        let p = placement(action, prefixed);
                        if p.bucket {
                            plain.push((bucket_arn, action));
                        }
                        if p.objects && (!p.bucket || objects != bucket_arn) {
                            plain.push((objects, action));
                        }
                        if p.listing {
                            listed.push((bucket_arn, action, prefix));
                        }
                        if p.star {
                            let at = *star.get_or_insert_with(|| {
                                arns.push("*".into());
                                arns.len() - 1
                            });
                            plain.push((at, action));
                        }
                    }
                }
                GrantAccess::Level(level) => {
                    plain.extend(
                        level
                            .bucket_actions(prefixed)
                            .iter()
                            .map(|a| (bucket_arn, *a)),
                    );
                    plain.extend(level.object_actions().iter().map(|a| (objects, *a)));
                    for action in level.list_actions() {
                        if prefixed {
                            listed.push((bucket_arn, action, prefix));
                        } else {
                            plain.push((bucket_arn, action));
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
        let class = class_of(&resources);
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
    let mut counters = [0u32; 6];
    for (class, st) in &mut statements {
        counters[*class as usize] += 1;
        let name = [
            "Buckets",
            "Objects",
            "BucketsAndObjects",
            "ListPrefixes",
            "KmsKeys",
            "AllResources",
        ][*class as usize];
        st.sid = Some([name, &counters[*class as usize].to_string()].concat());
    }
    Some(PolicyDocument::new(
        statements.into_iter().map(|(_, st)| st).collect(),
    ))
}

/// A statement's kind, for its Sid and its place in the document: buckets (0), objects (1), both (2), listings
/// limited to prefixes (3, set by the caller), KMS keys (4), `*` (5).
fn class_of(resources: &[String]) -> u8 {
    let object = |r: &String| {
        r.strip_prefix(S3_ARN)
            .is_some_and(|rest| rest.contains('/'))
    };
    let bucket = |r: &String| {
        r.strip_prefix(S3_ARN)
            .is_some_and(|rest| !rest.contains('/'))
    };
    if resources.iter().all(|r| r == "*") {
        5
    } else if resources.iter().all(|r| !r.starts_with(S3_ARN)) {
        4
    } else if resources.iter().all(object) {
        1
    } else if resources.iter().all(bucket) {
        0
    } else {
        2
    }
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
        if let GrantAccess::Actions(list) = &grant.access {
            // Resource-less actions go on `*`, in a statement of their own.
            total += statement + 4 + list.iter().map(|a| item(a)).sum::<usize>();
        }
        if !grant.kms_keys.is_empty() {
            total += statement
                + actions(AccessLevel::Write.kms_actions())
                + grant.kms_keys.iter().map(|k| item(k)).sum::<usize>();
        }
        for bucket in &grant.buckets {
            let bucket_arn = S3_ARN.len() + json_len(bucket) + 3;
            let object_arn = bucket_arn + 1 + json_len(prefix) + 1;
            let (on_bucket, on_objects, listing) = match &grant.access {
                // A known name is rendered in the catalogue's case: the same length as written.
                GrantAccess::Actions(list) => {
                    let all: usize = list.iter().map(|a| item(a)).sum();
                    (all, all, all)
                }
                GrantAccess::Level(level) => {
                    let listing = actions(level.list_actions());
                    let on_bucket = actions(level.bucket_actions(!prefix.is_empty()))
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
            kms_keys: Vec::new(),
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
            kms_keys: Vec::new(),
        };
        let doc = render_grants(&[g]).unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.statements[0].resources, vec!["arn:aws:s3:::*"]);
    }

    fn actions(buckets: &[&str], prefix: Option<&str>, list: &[&str], kms: &[&str]) -> Grant {
        Grant {
            buckets: buckets.iter().map(|s| (*s).to_owned()).collect(),
            prefix: prefix.map(str::to_owned),
            access: GrantAccess::Actions(list.iter().map(|s| (*s).to_owned()).collect()),
            kms_keys: kms.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// regression: explicit actions landed on every resource of the grant, so object actions sat on bucket ARNs and
    /// bucket actions on object ARNs; with a prefix, `s3:ListBucket` listed the whole bucket.
    #[test]
    fn explicit_actions_go_only_where_they_act() {
        let doc = render_grants(&[actions(
            &["payroll"],
            Some("team/"),
            &["s3:getobject", "s3:ListBucket", "s3:GetBucketLocation"],
            &[],
        )])
        .unwrap();
        let v = doc.to_value();
        let sts = v["Statement"].as_array().unwrap();
        let find = |action: &str| {
            sts.iter()
                .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
                .collect::<Vec<_>>()
        };
        let get = find("s3:GetObject");
        assert_eq!(get.len(), 1, "{v:#}");
        assert_eq!(
            get[0]["Resource"],
            serde_json::json!(["arn:aws:s3:::payroll/team/*"])
        );
        let list = find("s3:ListBucket");
        assert_eq!(
            list[0]["Resource"],
            serde_json::json!(["arn:aws:s3:::payroll"])
        );
        assert_eq!(
            list[0]["Condition"],
            serde_json::json!({"StringLike": {"s3:prefix": ["team/*"]}})
        );
        let region = find("s3:GetBucketLocation");
        assert!(region[0].get("Condition").is_none());
        assert_eq!(
            region[0]["Resource"],
            serde_json::json!(["arn:aws:s3:::payroll"])
        );

        // Without a prefix: bucket actions on the bucket, object actions on its objects, never both.
        let doc = render_grants(&[actions(
            &["b"],
            None,
            &["s3:GetObject", "s3:GetBucketPolicy"],
            &[],
        )])
        .unwrap();
        for st in &doc.statements {
            let object = st.resources.iter().all(|r| r.ends_with("/*"));
            assert_eq!(
                st.actions.contains(&"s3:GetObject".to_owned()),
                object,
                "{doc:?}"
            );
        }
    }

    #[test]
    fn resource_less_actions_go_on_star_and_wildcards_never_do() {
        let doc = render_grants(&[actions(
            &["b"],
            None,
            &["s3:ListAllMyBuckets", "s3:List*"],
            &[],
        )])
        .unwrap();
        let star: Vec<&Statement> = doc
            .statements
            .iter()
            .filter(|s| s.resources == ["*"])
            .collect();
        assert_eq!(star.len(), 1, "{doc:?}");
        assert_eq!(star[0].actions, ["s3:ListAllMyBuckets"]);
        assert_eq!(star[0].sid.as_deref(), Some("AllResources1"));
    }

    #[test]
    fn kms_keys_get_exactly_what_reads_and_writes_need() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1111";
        for (level, want) in [
            (AccessLevel::List, vec![]),
            (AccessLevel::Read, vec!["kms:Decrypt"]),
            (
                AccessLevel::Write,
                vec!["kms:Decrypt", "kms:GenerateDataKey"],
            ),
        ] {
            let mut g = grant(&["b"], None, level);
            g.kms_keys = vec![key.to_owned()];
            let doc = render_grants(&[g]).unwrap();
            let on_key: Vec<&Statement> = doc
                .statements
                .iter()
                .filter(|s| s.resources == [key])
                .collect();
            let got: Vec<&str> = on_key
                .iter()
                .flat_map(|s| s.actions.iter().map(String::as_str))
                .collect();
            assert_eq!(got, want, "{level:?}");
        }
        let g = actions(&["b"], None, &["s3:GetObject"], &[key]);
        let doc = render_grants(&[g]).unwrap();
        assert!(doc
            .statements
            .iter()
            .any(|s| s.resources == [key] && s.actions == ["kms:Decrypt"]));
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
            let expected = level.bucket_actions(false).len()
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
                prop::collection::vec(
                    prop_oneof![
                        "s3:[A-Za-z*]{1,30}",
                        prop::sample::select(vec![
                            "s3:ListAllMyBuckets",
                            "s3:getobject",
                            "s3:Put*",
                            "s3:ListBucket",
                            "s3:GetBucketLocation",
                            "s3:CreateJob"
                        ])
                        .prop_map(str::to_owned),
                    ],
                    1..6
                )
                .prop_map(GrantAccess::Actions),
            ];
            let kms = prop::collection::vec(
                "arn:aws:kms:[a-z]{2}-[a-z]{4,9}-[1-3]:[0-9]{12}:key/[a-f0-9-]{8,36}",
                0..3,
            );
            (prop::collection::vec(bucket, 1..6), prefix, access, kms).prop_map(
                |(buckets, prefix, access, kms)| Grant {
                    buckets,
                    prefix,
                    access,
                    kms_keys: kms,
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
