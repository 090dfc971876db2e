//! An evaluator of identity policies, after AWS's documented logic: an explicit Deny wins, then an Allow, else
//! the request is implicitly denied; a permissions boundary must allow too. Action/NotAction, Resource/NotResource,
//! `*` and `?` wildcards (actions ignoring case, resources not), policy variables (in `2012-10-17` documents only;
//! `${*}`, `${?}`, `${$}` literal), and the condition operators iamspec and typical hand-written policies use
//! (String*, Arn* part by part, Bool, Numeric*, Null, `...IfExists`, `ForAnyValue:` / `ForAllValues:`), with
//! context values the caller supplies. Whatever it does not implement (an operator, a condition key it has no
//! value for, a policy whose document it does not have) makes the answer "cannot decide", with the reason, never
//! a guess.

use std::collections::BTreeMap;
use std::fmt;

use crate::pattern::{self, Tok};
use crate::policy::{Effect, PolicyDocument, Statement};

/// Optional request parameters: when the caller supplies no value, the request does not carry them (a listing
/// without `prefix=` has no `s3:prefix`). Any other key without a value is unknown, and a condition on it
/// undecidable.
const OPTIONAL_KEYS: [&str; 4] = ["s3:prefix", "s3:delimiter", "s3:max-keys", "s3:versionid"];

/// What is known about a request's condition keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Lower-cased key -> its values, or `None` when the request is known not to carry it.
    values: BTreeMap<String, Option<Vec<String>>>,
}

/// One key's state in a [`Context`].
enum Lookup<'a> {
    Present(&'a [String]),
    Absent,
    Unknown,
}

impl Context {
    /// An empty context: only the optional request parameters are known (absent).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same context with `key` carrying `values`.
    #[must_use]
    pub fn with(mut self, key: &str, values: &[&str]) -> Self {
        self.values.insert(
            key.to_ascii_lowercase(),
            Some(values.iter().map(|v| (*v).to_owned()).collect()),
        );
        self
    }

    /// The same context with `key` known to be absent from the request.
    #[must_use]
    pub fn without(mut self, key: &str) -> Self {
        self.values.insert(key.to_ascii_lowercase(), None);
        self
    }

    fn get(&self, key: &str) -> Lookup<'_> {
        let key = key.to_ascii_lowercase();
        match self.values.get(&key) {
            Some(Some(values)) => Lookup::Present(values),
            Some(None) => Lookup::Absent,
            None if OPTIONAL_KEYS.contains(&key.as_str()) => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }
}

/// A request: an action on a resource, with what is known of its context.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `s3:GetObject`.
    pub action: &'a str,
    /// The resource ARN (`arn:aws:s3:::bucket/key`), or `*` for actions without resources.
    pub resource: &'a str,
    /// Condition keys.
    pub context: &'a Context,
}

/// A policy and statement that decided.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cite {
    /// The policy's name (`iamspec-grants`, `policy/team-read`, an ARN).
    pub policy: String,
    /// Its Sid, or its position (`statement 2`).
    pub statement: String,
}

impl fmt::Display for Cite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.policy, self.statement)
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this statement (and the boundary, if any).
    Allowed(Cite),
    /// Denied by this statement.
    ExplicitlyDenied(Cite),
    /// No statement allows it.
    ImplicitlyDenied,
    /// The identity policies allow it (this statement) but the permissions boundary does not.
    DeniedByBoundary(Cite),
    /// Something that matters could not be evaluated.
    Undecided(String),
}

impl Decision {
    /// Whether the request is allowed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }

    /// Whether the request is denied (explicitly, implicitly or by the boundary).
    #[must_use]
    pub fn is_denied(&self) -> bool {
        matches!(
            self,
            Self::ExplicitlyDenied(_) | Self::ImplicitlyDenied | Self::DeniedByBoundary(_)
        )
    }
}

/// The policies that apply to a principal.
#[derive(Debug, Clone, Default)]
pub struct Policies<'a> {
    /// Identity policies whose documents are known, by name.
    pub known: Vec<(String, &'a PolicyDocument)>,
    /// Names of identity policies that apply but whose documents are not known (AWS-managed policies offline).
    pub unknown: Vec<String>,
    /// The permissions boundary: its name and, when known, its document.
    pub boundary: Option<(String, Option<&'a PolicyDocument>)>,
}

/// Three-valued match.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Unknown(String),
}

/// The result over a set of documents: the first matching deny and allow, and why a statement could not be
/// evaluated.
#[derive(Default)]
struct Tally {
    deny: Option<Cite>,
    deny_unknown: Option<String>,
    allow: Option<Cite>,
    allow_unknown: Option<String>,
}

impl Tally {
    fn add(&mut self, name: &str, doc: &PolicyDocument, req: &Request<'_>) {
        let variables = doc.version == VARIABLES_VERSION;
        for (i, st) in doc.statements.iter().enumerate() {
            let cite = || Cite {
                policy: name.to_owned(),
                statement: st
                    .sid
                    .clone()
                    .unwrap_or_else(|| format!("statement {}", i + 1)),
            };
            let (hit, unknown) = match st.effect {
                Effect::Deny => (&mut self.deny, &mut self.deny_unknown),
                Effect::Allow => (&mut self.allow, &mut self.allow_unknown),
            };
            match statement_matches(st, req, variables) {
                Tri::Yes => {
                    hit.get_or_insert_with(cite);
                }
                Tri::Unknown(why) => {
                    unknown.get_or_insert_with(|| format!("{}: {why}", cite()));
                }
                Tri::No => {}
            }
        }
    }
}

/// Decides `req` for a principal with `policies`.
#[must_use]
pub fn evaluate(req: &Request<'_>, policies: &Policies<'_>) -> Decision {
    let mut t = Tally::default();
    for (name, doc) in &policies.known {
        t.add(name, doc, req);
    }
    if let Some(cite) = t.deny {
        return Decision::ExplicitlyDenied(cite);
    }
    let Some(allow) = t.allow else {
        if let Some(why) = t.allow_unknown {
            return Decision::Undecided(why);
        }
        if !policies.unknown.is_empty() {
            return Decision::Undecided(format!(
                "no known policy allows it, and {} could: not evaluated",
                policies.unknown.join(", ")
            ));
        }
        return Decision::ImplicitlyDenied;
    };
    if let Some(why) = t.deny_unknown {
        return Decision::Undecided(format!("allowed by {allow}, unless a Deny applies: {why}"));
    }
    if !policies.unknown.is_empty() {
        return Decision::Undecided(format!(
            "allowed by {allow}, unless {} denies it: not evaluated",
            policies.unknown.join(", ")
        ));
    }
    match &policies.boundary {
        None => Decision::Allowed(allow),
        Some((name, None)) => Decision::Undecided(format!(
            "allowed by {allow}, but the permissions boundary {name} was not evaluated"
        )),
        Some((name, Some(doc))) => {
            let mut b = Tally::default();
            b.add(name, doc, req);
            match (b.deny, b.deny_unknown, b.allow, b.allow_unknown) {
                (Some(cite), _, _, _) => Decision::DeniedByBoundary(cite),
                (None, Some(why), _, _) | (None, None, None, Some(why)) => Decision::Undecided(
                    format!("allowed by {allow}; the permissions boundary: {why}"),
                ),
                (None, None, Some(_), _) => Decision::Allowed(allow),
                (None, None, None, None) => Decision::DeniedByBoundary(Cite {
                    policy: name.clone(),
                    statement: "no statement allows it".into(),
                }),
            }
        }
    }
}

/// Policy variables mean something only in documents of the current language version; in `2008-10-17` (or
/// without a Version) `${aws:username}` is literal text.
const VARIABLES_VERSION: &str = "2012-10-17";

fn statement_matches(st: &Statement, req: &Request<'_>, variables: bool) -> Tri {
    if st.principal.is_some() {
        return Tri::Unknown("a statement with a Principal is not an identity policy's".into());
    }
    let action_in = st
        .actions
        .iter()
        .any(|p| pattern::wildcard_ignore_case(p, req.action));
    if action_in == st.not_action {
        return Tri::No;
    }
    if st.resources.is_empty() && !st.not_resource {
        // An identity policy statement without Resource applies to nothing.
        return Tri::No;
    }
    let mut resource_in = false;
    for resource in &st.resources {
        if !variables || !resource.contains("${") {
            resource_in |= pattern::wildcard(resource, req.resource);
            continue;
        }
        match substitute(resource, req.context, variables) {
            Ok(p) => resource_in |= pattern::matches(&p, req.resource, false),
            Err(why) => return Tri::Unknown(why),
        }
    }
    if resource_in == st.not_resource {
        return Tri::No;
    }
    let mut result = Tri::Yes;
    for (op, keys) in &st.condition {
        for (key, values) in keys {
            match condition(op, key, values, req.context, variables) {
                Tri::No => return Tri::No,
                Tri::Unknown(why) => result = Tri::Unknown(why),
                Tri::Yes => {}
            }
        }
    }
    result
}

/// `text` as a pattern, with `${key}` policy variables replaced by the context's single value (taken literally:
/// a value is never a wildcard); unknown when it has none. `${*}`, `${?}` and `${$}` are the characters
/// themselves, never wildcards. Without `variables`, `${...}` is plain text.
fn substitute(text: &str, context: &Context, variables: bool) -> Result<Vec<Tok>, String> {
    if !variables || !text.contains("${") {
        return Ok(pattern::parse(text));
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend(rest[..start].chars().map(pattern::special));
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("unterminated policy variable in `{text}`"));
        };
        let var = &rest[start + 2..start + end];
        match var {
            "*" | "?" | "$" => out.extend(pattern::literal(var)),
            key => match context.get(key) {
                Lookup::Present([value]) => out.extend(pattern::literal(value)),
                _ => {
                    return Err(format!(
                        "policy variable ${{{key}}} has no value (give it with --context)"
                    ))
                }
            },
        }
        rest = &rest[start + end + 1..];
    }
    out.extend(rest.chars().map(pattern::special));
    Ok(out)
}

fn condition(op: &str, key: &str, values: &[String], context: &Context, variables: bool) -> Tri {
    let (set, rest) = if let Some(r) = op.strip_prefix("ForAnyValue:") {
        (Some(true), r)
    } else if let Some(r) = op.strip_prefix("ForAllValues:") {
        (Some(false), r)
    } else {
        (None, op)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let lookup = context.get(key);
    if base == "Null" {
        let absent = match lookup {
            Lookup::Present(_) => false,
            Lookup::Absent => true,
            Lookup::Unknown => {
                return Tri::Unknown(format!("condition key {key} is not known for this request"))
            }
        };
        // Values are ORed: `["true", "false"]` holds whether or not the key is there.
        let holds = values.iter().any(|v| {
            (v.eq_ignore_ascii_case("true") && absent)
                || (v.eq_ignore_ascii_case("false") && !absent)
        });
        return if holds { Tri::Yes } else { Tri::No };
    }
    let Some((matcher, negated)) = matcher(base) else {
        return Tri::Unknown(format!("condition operator {op} is not implemented"));
    };
    let present = match lookup {
        Lookup::Unknown => {
            return Tri::Unknown(format!(
                "condition key {key} is not known for this request (give it with --context {key}=VALUE)"
            ))
        }
        // A missing key: IfExists and ForAllValues hold, ForAnyValue does not, a negated operator holds.
        Lookup::Absent => {
            let holds = if_exists || set == Some(false) || (set.is_none() && negated);
            return if holds { Tri::Yes } else { Tri::No };
        }
        Lookup::Present(present) => present,
    };
    let mut patterns = Vec::with_capacity(values.len());
    for v in values {
        match substitute(v, context, variables) {
            Ok(p) => patterns.push(p),
            Err(why) => return Tri::Unknown(why),
        }
    }
    if base.starts_with("Arn") {
        if let Some(short) = patterns.iter().find(|p| arn_parts(p).is_none()) {
            return Tri::Unknown(format!(
                "{op} value `{}` is not an ARN of six parts",
                pattern::text(short)
            ));
        }
    }
    let matches_any = |value: &str| patterns.iter().any(|p| matcher(p, value));
    let holds = match (set, negated) {
        // Without a set operator, a (single-valued) key holds when a value matches (negated: when none does).
        (None | Some(true), false) => present.iter().any(|v| matches_any(v)),
        (None, true) => !present.iter().any(|v| matches_any(v)),
        (Some(true), true) => present.iter().any(|v| !matches_any(v)),
        (Some(false), false) => present.iter().all(|v| matches_any(v)),
        (Some(false), true) => present.iter().all(|v| !matches_any(v)),
    };
    if holds {
        Tri::Yes
    } else {
        Tri::No
    }
}

/// Whether a policy value (a pattern for the `Like` and `Arn` operators) matches a request value.
type Compare = fn(&[Tok], &str) -> bool;

/// The comparison of a base operator, and whether the operator is negated.
fn matcher(base: &str) -> Option<(Compare, bool)> {
    fn equals(p: &[Tok], v: &str) -> bool {
        pattern::text(p) == v
    }
    fn equals_ignore_case(p: &[Tok], v: &str) -> bool {
        pattern::text(p).eq_ignore_ascii_case(v)
    }
    fn like(p: &[Tok], v: &str) -> bool {
        pattern::matches(p, v, false)
    }
    fn arn(p: &[Tok], v: &str) -> bool {
        // Each of the six colon-separated parts is compared on its own: a `*` never spans a colon.
        let (Some(p), Some(v)) = (arn_parts(p), split_arn(v)) else {
            return false;
        };
        p.iter().zip(v).all(|(p, v)| pattern::matches(p, v, false))
    }
    fn boolean(p: &[Tok], v: &str) -> bool {
        let p = pattern::text(p);
        p.eq_ignore_ascii_case(v)
            && (p.eq_ignore_ascii_case("true") || p.eq_ignore_ascii_case("false"))
    }
    fn number(p: &[Tok], v: &str) -> Option<std::cmp::Ordering> {
        let (p, v) = (
            pattern::text(p).parse::<f64>().ok()?,
            v.parse::<f64>().ok()?,
        );
        v.partial_cmp(&p)
    }
    fn num_eq(p: &[Tok], v: &str) -> bool {
        number(p, v).is_some_and(std::cmp::Ordering::is_eq)
    }
    fn num_lt(p: &[Tok], v: &str) -> bool {
        number(p, v).is_some_and(std::cmp::Ordering::is_lt)
    }
    fn num_le(p: &[Tok], v: &str) -> bool {
        number(p, v).is_some_and(std::cmp::Ordering::is_le)
    }
    fn num_gt(p: &[Tok], v: &str) -> bool {
        number(p, v).is_some_and(std::cmp::Ordering::is_gt)
    }
    fn num_ge(p: &[Tok], v: &str) -> bool {
        number(p, v).is_some_and(std::cmp::Ordering::is_ge)
    }
    Some(match base {
        "StringEquals" => (equals as Compare, false),
        "StringNotEquals" => (equals, true),
        "StringEqualsIgnoreCase" => (equals_ignore_case, false),
        "StringNotEqualsIgnoreCase" => (equals_ignore_case, true),
        "StringLike" => (like, false),
        "StringNotLike" => (like, true),
        // ArnEquals behaves as ArnLike: both take wildcards in every part.
        "ArnLike" | "ArnEquals" => (arn, false),
        "ArnNotLike" | "ArnNotEquals" => (arn, true),
        "Bool" => (boolean, false),
        "NumericEquals" => (num_eq, false),
        "NumericNotEquals" => (num_eq, true),
        "NumericLessThan" => (num_lt, false),
        "NumericLessThanEquals" => (num_le, false),
        "NumericGreaterThan" => (num_gt, false),
        "NumericGreaterThanEquals" => (num_ge, false),
        _ => return None,
    })
}

/// An ARN's six parts (the last may hold colons).
fn split_arn(v: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    (parts.len() == 6).then_some(parts)
}

/// A pattern's six ARN parts: split at its first five literal colons.
fn arn_parts(p: &[Tok]) -> Option<Vec<&[Tok]>> {
    let mut parts = Vec::with_capacity(6);
    let mut rest = p;
    while parts.len() < 5 {
        let at = rest.iter().position(|t| *t == Tok::Lit(':'))?;
        parts.push(&rest[..at]);
        rest = &rest[at + 1..];
    }
    parts.push(rest);
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> PolicyDocument {
        PolicyDocument::parse(json).unwrap()
    }

    fn decide(
        docs: &[&PolicyDocument],
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Decision {
        let policies = Policies {
            known: docs
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("p{i}"), *d))
                .collect(),
            ..Policies::default()
        };
        evaluate(
            &Request {
                action,
                resource,
                context,
            },
            &policies,
        )
    }

    const READ: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/team/*"]},
        {"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":["team/*"]}}}]}"#;

    #[test]
    fn allow_needs_action_resource_and_condition() {
        let d = doc(READ);
        let none = Context::new();
        assert_eq!(
            decide(
                &[&d],
                "S3:getobject",
                "arn:aws:s3:::photos/team/a.jpg",
                &none
            ),
            Decision::Allowed(Cite {
                policy: "p0".into(),
                statement: "Objects".into()
            })
        );
        assert_eq!(
            decide(
                &[&d],
                "s3:GetObject",
                "arn:aws:s3:::photos/other/a.jpg",
                &none
            ),
            Decision::ImplicitlyDenied
        );
        assert_eq!(
            decide(
                &[&d],
                "s3:GetObject",
                "arn:aws:s3:::PHOTOS/team/a.jpg",
                &none
            ),
            Decision::ImplicitlyDenied,
            "resources keep case"
        );
        assert_eq!(
            decide(&[&d], "s3:ListBucket", "arn:aws:s3:::photos", &none),
            Decision::ImplicitlyDenied,
            "no prefix: s3:prefix absent"
        );
        let inside = Context::new().with("s3:prefix", &["team/2026/"]);
        assert!(decide(&[&d], "s3:ListBucket", "arn:aws:s3:::photos", &inside).is_allowed());
        let outside = Context::new().with("s3:prefix", &["payroll/"]);
        assert!(decide(&[&d], "s3:ListBucket", "arn:aws:s3:::photos", &outside).is_denied());
    }

    #[test]
    fn explicit_deny_wins_and_not_action_not_resource_invert() {
        let allow = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        );
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"NotResource":"arn:aws:s3:::scratch/*"}]}"#,
        );
        let none = Context::new();
        assert_eq!(
            decide(
                &[&allow, &deny],
                "s3:DeleteObject",
                "arn:aws:s3:::prod/x",
                &none
            ),
            Decision::ExplicitlyDenied(Cite {
                policy: "p1".into(),
                statement: "NoDelete".into()
            })
        );
        assert!(decide(
            &[&allow, &deny],
            "s3:DeleteObject",
            "arn:aws:s3:::scratch/x",
            &none
        )
        .is_allowed());
        assert!(decide(
            &[&allow, &deny],
            "s3:GetObject",
            "arn:aws:s3:::prod/x",
            &none
        )
        .is_allowed());
    }

    #[test]
    fn what_is_not_implemented_is_undecided_never_guessed() {
        let ip = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        );
        let none = Context::new();
        assert!(
            matches!(decide(&[&ip], "s3:GetObject", "arn:aws:s3:::b/k", &none), Decision::Undecided(why) if why.contains("IpAddress"))
        );
        let tls = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#,
        );
        assert!(
            matches!(decide(&[&tls], "s3:GetObject", "arn:aws:s3:::b/k", &none), Decision::Undecided(why) if why.contains("aws:SecureTransport"))
        );
        let https = Context::new().with("aws:SecureTransport", &["true"]);
        assert!(decide(&[&tls], "s3:GetObject", "arn:aws:s3:::b/k", &https).is_allowed());
        // A Deny that cannot be evaluated leaves an Allow undecided, but cannot make a request allowed.
        let maybe_deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        );
        let allow = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        );
        assert!(matches!(
            decide(&[&allow, &maybe_deny], "s3:GetObject", "x", &none),
            Decision::Undecided(_)
        ));
        assert_eq!(
            decide(&[&maybe_deny], "s3:GetObject", "x", &none),
            Decision::ImplicitlyDenied
        );
        // Policies that apply but are not known.
        let policies = Policies {
            known: vec![("g".into(), &allow)],
            unknown: vec!["arn:aws:iam::aws:policy/X".into()],
            boundary: None,
        };
        let req = Request {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            context: &none,
        };
        assert!(
            matches!(evaluate(&req, &policies), Decision::Undecided(why) if why.contains("unless arn:aws:iam::aws:policy/X denies"))
        );
    }

    #[test]
    fn operators_if_exists_null_and_set_qualifiers() {
        let d = |cond: &str| {
            doc(&format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{cond}}}]}}"#
            ))
        };
        let absent = Context::new();
        let with = |v: &[&str]| Context::new().with("s3:prefix", v);
        let allowed = |cond: &str, ctx: &Context| {
            decide(&[&d(cond)], "s3:ListBucket", "arn:aws:s3:::b", ctx).is_allowed()
        };
        assert!(allowed(
            r#"{"StringLikeIfExists":{"s3:prefix":"a/*"}}"#,
            &absent
        ));
        assert!(!allowed(r#"{"StringLike":{"s3:prefix":"a/*"}}"#, &absent));
        assert!(
            allowed(r#"{"StringNotLike":{"s3:prefix":"a/*"}}"#, &absent),
            "negated: a missing key holds"
        );
        assert!(allowed(r#"{"Null":{"s3:prefix":"true"}}"#, &absent));
        assert!(!allowed(r#"{"Null":{"s3:prefix":"true"}}"#, &with(&["x"])));
        assert!(allowed(
            r#"{"StringEqualsIgnoreCase":{"s3:prefix":"A/"}}"#,
            &with(&["a/"])
        ));
        assert!(!allowed(
            r#"{"StringEquals":{"s3:prefix":"A/"}}"#,
            &with(&["a/"])
        ));
        assert!(allowed(
            r#"{"ForAllValues:StringLike":{"s3:prefix":["a/*","b/*"]}}"#,
            &with(&["a/1", "b/2"])
        ));
        assert!(!allowed(
            r#"{"ForAllValues:StringLike":{"s3:prefix":["a/*"]}}"#,
            &with(&["a/1", "c/2"])
        ));
        assert!(allowed(
            r#"{"ForAnyValue:StringLike":{"s3:prefix":["a/*"]}}"#,
            &with(&["c/1", "a/2"])
        ));
        assert!(!allowed(
            r#"{"ForAnyValue:StringLike":{"s3:prefix":["a/*"]}}"#,
            &absent
        ));
        assert!(
            allowed(
                r#"{"ForAllValues:StringLike":{"s3:prefix":["a/*"]}}"#,
                &absent
            ),
            "vacuously"
        );
        assert!(allowed(
            r#"{"StringLike":{"s3:prefix":["x/*"]},"StringNotLike":{"s3:prefix":["x/secret/*"]}}"#,
            &with(&["x/1"])
        ));
        assert!(!allowed(
            r#"{"StringLike":{"s3:prefix":["x/*"]},"StringNotLike":{"s3:prefix":["x/secret/*"]}}"#,
            &with(&["x/secret/1"])
        ));
    }

    #[test]
    fn boundaries_intersect_and_variables_substitute() {
        let allow = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
        );
        let boundary = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#,
        );
        let me = Context::new().with("aws:username", &["alice"]);
        let policies = Policies {
            known: vec![("mine".into(), &allow)],
            unknown: vec![],
            boundary: Some(("edge".into(), Some(&boundary))),
        };
        let ask = |action, resource, ctx| {
            evaluate(
                &Request {
                    action,
                    resource,
                    context: ctx,
                },
                &policies,
            )
        };
        assert!(ask("s3:GetObject", "arn:aws:s3:::home/alice/x", &me).is_allowed());
        assert!(matches!(
            ask("s3:PutObject", "arn:aws:s3:::home/alice/x", &me),
            Decision::DeniedByBoundary(_)
        ));
        assert_eq!(
            ask("s3:GetObject", "arn:aws:s3:::home/bob/x", &me),
            Decision::ImplicitlyDenied
        );
        assert!(
            matches!(ask("s3:GetObject", "arn:aws:s3:::home/alice/x", &Context::new()), Decision::Undecided(why) if why.contains("aws:username"))
        );
    }
}
