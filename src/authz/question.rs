//! Questions as people ask them: an action or one of the spec's access words (`read`, `write`, ...), on an object,
//! a bucket, or "some object there" (`photos-prod/*`, `photos-prod/uploads/*`). A principal allowed under part of
//! such a place is allowed there, with the part named (`allowed under uploads/`), not "denied".

use std::collections::BTreeSet;

use super::{evaluate, lookup, Context, Decision, Policies, Request};
use crate::pattern::PROBE_ANY as ANY;
use crate::policy::{AccessLevel, PolicyDocument};

/// What is asked: one action, or an access level's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// An action in the catalogue's spelling.
    Action(String),
    /// The spec's access word.
    Level(AccessLevel),
}

impl Asked {
    /// How the question names it.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Action(a) => a.clone(),
            Self::Level(l) => l.as_str().to_owned(),
        }
    }
}

/// The answer to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Allowed (every action asked, somewhere in the place asked), denied, or undecided.
    pub decision: Decision,
    /// For "some object there": the parts it is allowed under, when not everywhere (`uploads/`).
    pub under: Vec<String>,
    /// For an access word: the actions of it not allowed, when others are.
    pub missing: Vec<String>,
}

/// `arn:aws:s3:::bucket/prefix*` asked as "some object there": the bucket and the key prefix.
fn some_object(resource: &str) -> Option<(&str, &str)> {
    let rest = resource.strip_prefix("arn:aws:s3:::")?;
    let place = rest.strip_suffix('*')?;
    if place.contains(['*', '?']) {
        return None;
    }
    let (bucket, prefix) = place.split_once('/')?;
    Some((bucket, prefix))
}

/// The actions an access word asks of a resource: object actions of an object or objects (and listing of their
/// prefix), listing and bucket actions of a bucket.
#[must_use]
pub fn level_actions(level: AccessLevel, resource: &str) -> Vec<&'static str> {
    let on_objects = resource
        .strip_prefix("arn:aws:s3:::")
        .is_some_and(|r| r.contains('/'));
    if on_objects {
        let mut out = level.object_actions().to_vec();
        if some_object(resource).is_some() {
            out.extend(level.list_actions());
        }
        out
    } else {
        let mut out = level.list_actions().to_vec();
        out.extend(level.bucket_actions(false));
        out
    }
}

/// The key prefixes under `bucket/prefix` that a principal's documents name (where an Allow or Deny starts):
/// the parts worth asking about when the whole place is not allowed.
fn parts(
    docs: &[&PolicyDocument],
    bucket: &str,
    prefix: &str,
    username: Option<&str>,
) -> Vec<String> {
    let head = format!("arn:aws:s3:::{bucket}/{prefix}");
    let mut out = BTreeSet::new();
    for doc in docs {
        for st in &doc.statements {
            for r in &st.resources {
                let r = match username {
                    Some(u) if doc.version == "2012-10-17" => r.replace("${aws:username}", u),
                    _ => r.clone(),
                };
                let literal = r.split(['*', '?', '$']).next().unwrap_or_default();
                if literal.len() > head.len() && literal.starts_with(&head) {
                    out.insert(literal[head.len() - prefix.len()..].to_owned());
                }
            }
        }
    }
    out.into_iter().collect()
}

/// One action on one concrete resource (a listing asked with its prefix).
fn one(policies: &Policies<'_>, action: &str, resource: &str, context: &Context) -> Decision {
    let listing = lookup(action).is_some_and(|d| d.on_bucket() && !d.on_object());
    if listing {
        if let Some(rest) = resource.strip_prefix("arn:aws:s3:::") {
            if let Some((bucket, key)) = rest.split_once('/') {
                let context = context.clone().with("s3:prefix", &[key]);
                return evaluate(
                    &Request {
                        action,
                        resource: &format!("arn:aws:s3:::{bucket}"),
                        context: &context,
                    },
                    policies,
                );
            }
        }
    }
    evaluate(
        &Request {
            action,
            resource,
            context,
        },
        policies,
    )
}

/// Every action asked, on one concrete resource: allowed when all are (citing the first), else the first deny or
/// undecided, with the actions not allowed.
fn all_of(
    policies: &Policies<'_>,
    actions: &[&str],
    resource: &str,
    context: &Context,
) -> (Decision, Vec<String>) {
    let mut first_allow = None;
    let mut refusal = None;
    let mut missing = Vec::new();
    for action in actions {
        match one(policies, action, resource, context) {
            Decision::Allowed(cite) => {
                first_allow.get_or_insert(Decision::Allowed(cite));
            }
            other => {
                missing.push((*action).to_owned());
                // Undecided outranks a denial: the honest answer for the whole is "cannot decide".
                if refusal.is_none() || matches!(other, Decision::Undecided(_)) {
                    refusal = Some(other);
                }
            }
        }
    }
    match (refusal, first_allow) {
        (None, Some(allow)) => (allow, missing),
        (Some(r), _) => (r, missing),
        (None, None) => (Decision::ImplicitlyDenied, missing),
    }
}

/// The answer for a principal (its `policies`, and its documents for the parts of a place).
#[must_use]
pub fn answer(
    policies: &Policies<'_>,
    asked: &Asked,
    resource: &str,
    context: &Context,
    username: Option<&str>,
) -> Answer {
    let actions: Vec<&str> = match asked {
        Asked::Action(a) => vec![a.as_str()],
        Asked::Level(level) => level_actions(*level, resource),
    };
    let Some((bucket, prefix)) = some_object(resource) else {
        let (decision, missing) = all_of(policies, &actions, resource, context);
        let missing = if decision.is_allowed() || missing.len() == actions.len() {
            Vec::new()
        } else {
            missing
        };
        return Answer {
            decision,
            under: Vec::new(),
            missing,
        };
    };
    let probe = |part: &str| format!("arn:aws:s3:::{bucket}/{part}{ANY}");
    let (everywhere, missing) = all_of(policies, &actions, &probe(prefix), context);
    if everywhere.is_allowed() || matches!(everywhere, Decision::Undecided(_)) {
        return Answer {
            decision: everywhere,
            under: Vec::new(),
            missing: Vec::new(),
        };
    }
    let docs: Vec<&PolicyDocument> = policies.known.iter().map(|(_, d)| *d).collect();
    let mut under = Vec::new();
    let mut first = None;
    for part in parts(&docs, bucket, prefix, username) {
        let (d, _) = all_of(policies, &actions, &probe(&part), context);
        if d.is_allowed() {
            first.get_or_insert(d);
            under.push(part);
        }
    }
    match first {
        Some(allowed) => Answer {
            decision: allowed,
            under,
            missing: Vec::new(),
        },
        None => Answer {
            missing: if missing.len() == actions.len() {
                Vec::new()
            } else {
                missing
            },
            decision: everywhere,
            under: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(doc: &str, asked: Asked, resource: &str) -> Answer {
        let doc = PolicyDocument::parse(doc).unwrap();
        let policies = Policies {
            known: vec![("p".into(), &doc)],
            unknown: vec![],
            boundary: None,
        };
        let me = Context::new().with("aws:username", &["alice"]);
        answer(&policies, &asked, resource, &me, Some("alice"))
    }

    const UPLOADS: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::photos/uploads/*"},
        {"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/home/${aws:username}/*"}]}"#;

    #[test]
    fn some_object_there_names_the_parts_allowed() {
        let a = ask(
            UPLOADS,
            Asked::Action("s3:PutObject".into()),
            "arn:aws:s3:::photos/*",
        );
        assert!(a.decision.is_allowed());
        assert_eq!(a.under, ["home/alice/", "uploads/"]);
        let a = ask(
            UPLOADS,
            Asked::Action("s3:PutObject".into()),
            "arn:aws:s3:::photos/uploads/*",
        );
        assert!(a.decision.is_allowed() && a.under.is_empty(), "{a:?}");
        let a = ask(
            UPLOADS,
            Asked::Action("s3:DeleteObject".into()),
            "arn:aws:s3:::photos/*",
        );
        assert!(a.decision.is_denied() && a.under.is_empty());
        // A literal key named `*` is not "some object".
        let a = ask(
            UPLOADS,
            Asked::Action("s3:PutObject".into()),
            "arn:aws:s3:::photos/a.jpg",
        );
        assert!(a.decision.is_denied());
    }

    #[test]
    fn access_words_ask_every_action_of_the_level() {
        let rw = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::photos/*"},
            {"Effect":"Allow","Action":["s3:ListBucket","s3:ListBucketVersions"],"Resource":"arn:aws:s3:::photos"}]}"#;
        let a = ask(
            rw,
            Asked::Level(AccessLevel::Read),
            "arn:aws:s3:::photos/a.jpg",
        );
        assert!(a.decision.is_allowed(), "{a:?}");
        let a = ask(rw, Asked::Level(AccessLevel::Read), "arn:aws:s3:::photos/*");
        assert!(a.decision.is_allowed(), "listing the prefix counts: {a:?}");
        let a = ask(
            UPLOADS,
            Asked::Level(AccessLevel::ReadWrite),
            "arn:aws:s3:::photos/uploads/a",
        );
        assert!(a.decision.is_denied());
        assert_eq!(
            a.missing,
            [
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObjectVersion",
                "s3:ListMultipartUploadParts"
            ]
        );
    }
}
