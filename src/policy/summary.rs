//! Policy documents read back as grants: which buckets (and prefixes) a document opens, and at which access level.
//!
//! The plan uses this to speak the spec's language ("grant photos-prod read -> read-write") before showing JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{AccessLevel, Effect, PolicyDocument};

/// A bucket (or bucket pattern) and an optional key prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GrantKey {
    /// The bucket name, pattern or `*`; `(kms) ARN` for a KMS key; `(other)` for statements that are not grants.
    pub bucket: String,
    /// The key prefix, if the grant is limited to one.
    pub prefix: Option<String>,
}

impl fmt::Display for GrantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prefix {
            Some(p) => write!(f, "{}/{}", self.bucket, p),
            None => f.write_str(&self.bucket),
        }
    }
}

/// What one bucket (and prefix) is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantSummary {
    /// The access level whose actions match exactly, if any.
    pub level: Option<AccessLevel>,
    /// The actions, sorted (with their original spelling).
    pub actions: BTreeSet<String>,
}

impl GrantSummary {
    /// The level name, or the action list when no level matches.
    #[must_use]
    pub fn describe(&self) -> String {
        match self.level {
            Some(level) => level.as_str().to_owned(),
            None => self.actions.iter().cloned().collect::<Vec<_>>().join(", "),
        }
    }
}

#[derive(Default)]
struct BucketAcc {
    bucket: BTreeSet<String>,
    objects: BTreeMap<String, BTreeSet<String>>,
    listed: BTreeMap<String, BTreeSet<String>>,
}

const FOLDABLE: [&str; 2] = ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"];

/// Summarises a document by bucket and prefix. Statements that are not plain S3 allows land under `(other)`.
#[must_use]
pub fn summarize(doc: &PolicyDocument) -> BTreeMap<GrantKey, GrantSummary> {
    let mut buckets: BTreeMap<String, BucketAcc> = BTreeMap::new();
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut other = BTreeSet::new();
    for st in &doc.statements {
        let plain = st.effect == Effect::Allow
            && !st.not_action
            && !st.not_resource
            && st.principal.is_none();
        let prefixes = listing_condition(st);
        for action in &st.actions {
            // Actions in the catalogue's spelling: `s3:getobject` is `s3:GetObject`, and reads as a level.
            let action =
                &crate::catalogue::lookup(action).map_or_else(|| action.clone(), |d| d.full_name());
            for resource in &st.resources {
                if plain
                    && st.condition.is_empty()
                    && resource.starts_with("arn:aws:kms:")
                    && action.starts_with("kms:")
                {
                    keys.entry(resource.clone())
                        .or_default()
                        .insert(action.clone());
                    continue;
                }
                let Some(rest) = resource.strip_prefix("arn:aws:s3:::").filter(|_| plain) else {
                    other.insert(action.clone());
                    continue;
                };
                match (rest.split_once('/'), &prefixes) {
                    (None, None) if st.condition.is_empty() => {
                        buckets
                            .entry(rest.to_owned())
                            .or_default()
                            .bucket
                            .insert(action.clone());
                    }
                    (None, Some(prefixes)) => {
                        let acc = buckets.entry(rest.to_owned()).or_default();
                        for p in prefixes {
                            acc.listed
                                .entry(p.clone())
                                .or_default()
                                .insert(action.clone());
                        }
                    }
                    (Some((bucket, pattern)), None)
                        if st.condition.is_empty() && pattern.ends_with('*') =>
                    {
                        let prefix = pattern.trim_end_matches('*');
                        if prefix.len() + 1 == pattern.len() {
                            buckets
                                .entry(bucket.to_owned())
                                .or_default()
                                .objects
                                .entry(prefix.to_owned())
                                .or_default()
                                .insert(action.clone());
                        } else {
                            other.insert(action.clone());
                        }
                    }
                    _ => {
                        other.insert(action.clone());
                    }
                }
            }
        }
    }

    let mut out = BTreeMap::new();
    for (bucket, mut acc) in buckets {
        let mut whole: BTreeSet<String> = acc.bucket.clone();
        if let Some(objects) = acc.objects.remove("") {
            whole.extend(objects);
        }
        let prefixes: BTreeSet<String> = acc
            .objects
            .keys()
            .chain(acc.listed.keys())
            .cloned()
            .collect();
        let folded = !prefixes.is_empty()
            && whole.len() == acc.bucket.len()
            && acc.bucket.iter().all(|a| FOLDABLE.contains(&a.as_str()));
        if !folded && !whole.is_empty() {
            let level = AccessLevel::ALL.into_iter().find(|l| {
                let expected: BTreeSet<&str> = l
                    .bucket_actions(false)
                    .iter()
                    .chain(l.list_actions())
                    .chain(l.object_actions())
                    .copied()
                    .collect();
                whole.iter().map(String::as_str).collect::<BTreeSet<_>>() == expected
            });
            out.insert(
                GrantKey {
                    bucket: bucket.clone(),
                    prefix: None,
                },
                GrantSummary {
                    level,
                    actions: whole,
                },
            );
        }
        for prefix in prefixes {
            let mut actions: BTreeSet<String> =
                acc.listed.get(&prefix).cloned().unwrap_or_default();
            actions.extend(acc.objects.get(&prefix).cloned().unwrap_or_default());
            let level = AccessLevel::ALL.into_iter().find(|l| {
                let core: BTreeSet<&str> = l
                    .list_actions()
                    .iter()
                    .chain(l.object_actions())
                    .copied()
                    .collect();
                let bucket_ok = !folded
                    || l.bucket_actions(true)
                        .iter()
                        .all(|a| acc.bucket.contains(*a));
                bucket_ok && actions.iter().map(String::as_str).collect::<BTreeSet<_>>() == core
            });
            if folded {
                actions.extend(acc.bucket.iter().cloned());
            }
            out.insert(
                GrantKey {
                    bucket: bucket.clone(),
                    prefix: Some(prefix),
                },
                GrantSummary { level, actions },
            );
        }
    }
    for (key, actions) in keys {
        out.insert(
            GrantKey {
                bucket: format!("(kms) {key}"),
                prefix: None,
            },
            GrantSummary {
                level: None,
                actions,
            },
        );
    }
    if !other.is_empty() {
        out.insert(
            GrantKey {
                bucket: "(other)".into(),
                prefix: None,
            },
            GrantSummary {
                level: None,
                actions: other,
            },
        );
    }
    out
}

/// The prefixes of a statement whose only condition is `StringLike s3:prefix ["p*", ...]`.
fn listing_condition(st: &super::Statement) -> Option<Vec<String>> {
    if st.condition.len() != 1 {
        return None;
    }
    let keys = st.condition.get("StringLike")?;
    if keys.len() != 1 {
        return None;
    }
    let (key, values) = keys.iter().next()?;
    if !key.eq_ignore_ascii_case("s3:prefix") {
        return None;
    }
    values
        .iter()
        .map(|v| v.strip_suffix('*').map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{render_grants, Grant, GrantAccess};
    use super::*;

    fn grant(bucket: &str, prefix: Option<&str>, level: AccessLevel) -> Grant {
        Grant {
            buckets: vec![bucket.to_owned()],
            prefix: prefix.map(str::to_owned),
            access: GrantAccess::Level(level),
            kms_keys: Vec::new(),
        }
    }

    #[test]
    fn every_level_reads_back_as_itself() {
        for level in AccessLevel::ALL {
            for prefix in [None, Some("p/")] {
                if level == AccessLevel::Full && prefix.is_some() {
                    continue;
                }
                let doc = render_grants(&[grant("bkt", prefix, level)]).unwrap();
                let summary = summarize(&doc);
                assert_eq!(summary.len(), 1, "{level:?} {prefix:?}: {summary:?}");
                let (key, value) = summary.into_iter().next().unwrap();
                assert_eq!(key.prefix.as_deref(), prefix);
                assert_eq!(value.level, Some(level), "{level:?} {prefix:?}");
            }
        }
    }

    #[test]
    fn mixed_grants_are_separated() {
        let doc = render_grants(&[
            grant("a", None, AccessLevel::Read),
            grant("b", Some("x/"), AccessLevel::Write),
            grant("b", Some("y/"), AccessLevel::Read),
        ])
        .unwrap();
        let summary = summarize(&doc);
        let described: Vec<String> = summary
            .iter()
            .map(|(k, v)| format!("{k} {}", v.describe()))
            .collect();
        assert_eq!(described, vec!["a read", "b/x/ write", "b/y/ read"]);
    }

    #[test]
    fn non_s3_statements_are_other() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        )
        .unwrap();
        let summary = summarize(&doc);
        assert_eq!(summary.keys().next().unwrap().bucket, "(other)");
    }
}
