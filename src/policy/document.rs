//! IAM policy documents: lenient parsing of what IAM returns, canonical serialisation of what iamspec sends, and
//! equality by meaning rather than by text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::sorted::SortedMap;

/// An IAM policy document.
///
/// Equality is semantic (DESIGN.md "Grants -> policy"): two documents are equal when they allow and deny the same
/// set of (effect, lower-cased action, resource, condition), whatever their statement split, order, duplicates or
/// Sids. This is what keeps plans free of false changes.
#[derive(Clone)]
pub struct PolicyDocument {
    /// The policy language version, `2012-10-17` for everything iamspec writes.
    pub version: String,
    /// The statements in document order.
    pub statements: Vec<Statement>,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// A statement's `Condition`: operator -> condition key -> values, in order. Kept as sorted vectors: most
/// statements have one operator with one key.
pub type Conditions = SortedMap<String, SortedMap<String, Vec<String>>>;

/// One statement. Rarely used elements (Principal, NotAction, NotResource) are kept so nothing a human wrote is
/// lost, and compared as opaque canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The optional statement id.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Action` (or, with `not_action`, `NotAction`) entries.
    pub actions: Vec<String>,
    /// Whether `actions` came from `NotAction`.
    pub not_action: bool,
    /// `Resource` (or `NotResource`) entries.
    pub resources: Vec<String>,
    /// Whether `resources` came from `NotResource`.
    pub not_resource: bool,
    /// `Condition`: operator -> condition key -> values.
    pub condition: Conditions,
    /// `Principal` (or `NotPrincipal`), verbatim. Boxed: only trust policies have one, and it would double the
    /// size of every statement.
    pub principal: Option<Box<(String, Value)>>,
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyParseError {
    /// Not JSON at all.
    #[error("parse policy JSON")]
    Json(#[from] serde_json::Error),
    /// JSON, but not of a policy's shape.
    #[error("read policy document: {0}")]
    Shape(String),
}

impl PolicyDocument {
    /// A document with the current policy language version.
    #[must_use]
    pub fn new(mut statements: Vec<Statement>) -> Self {
        // Kept for as long as the account is held (every user's, at 100,000 users): no spare capacity.
        statements.shrink_to_fit();
        for s in &mut statements {
            s.actions.shrink_to_fit();
            s.resources.shrink_to_fit();
        }
        Self {
            version: "2012-10-17".to_owned(),
            statements,
        }
    }

    /// Parses a document as IAM returns it (already URL-decoded): strings or lists, any order.
    pub fn parse(text: &str) -> Result<Self, PolicyParseError> {
        let value: Value = serde_json::from_str(text)?;
        Self::from_value(&value)
    }

    /// Reads a document from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, PolicyParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| PolicyParseError::Shape("a policy must be a JSON object".into()))?;
        let version = match obj.get("Version") {
            None => "2008-10-17".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(PolicyParseError::Shape("Version must be a string".into())),
        };
        let statements = match obj.get("Statement") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(Statement::from_value)
                .collect::<Result<_, _>>()?,
            Some(single @ Value::Object(_)) => vec![Statement::from_value(single)?],
            Some(_) => {
                return Err(PolicyParseError::Shape(
                    "Statement must be an object or a list".into(),
                ))
            }
        };
        Ok(Self {
            version,
            statements,
        })
    }

    /// The canonical JSON value iamspec sends: fixed key order, every list sorted.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("Version".into(), Value::String(self.version.clone()));
        obj.insert(
            "Statement".into(),
            Value::Array(self.statements.iter().map(Statement::to_value).collect()),
        );
        Value::Object(obj)
    }

    /// Compact canonical JSON, the form sent to IAM. Written directly (same text as `to_value().to_string()`):
    /// validation sizes every user's policy, and building a `Value` tree first costs more than the rest of it.
    #[must_use]
    pub fn to_compact_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        out.push_str("{\"Version\":");
        push_json_str(out, &self.version);
        out.push_str(",\"Statement\":[");
        for (i, st) in self.statements.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            st.write_compact(out);
        }
        out.push_str("]}");
    }

    /// Indented canonical JSON, the form shown to people.
    #[must_use]
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }

    /// Size as IAM counts it: characters of the compact form, whitespace excluded.
    #[must_use]
    pub fn size(&self) -> usize {
        // Validation sizes every user's policy: one buffer per thread instead of a string per call.
        thread_local!(static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) });
        BUF.with_borrow_mut(|buf| {
            buf.clear();
            self.write_compact(buf);
            non_whitespace_len(buf)
        })
    }

    /// The set of atoms this document means; the basis of equality.
    #[must_use]
    pub fn atoms(&self) -> BTreeSet<Atom> {
        let mut atoms = BTreeSet::new();
        if self.version != "2012-10-17" {
            // Policy variables mean something else under the old version; keep that visible to comparison.
            atoms.insert(Atom {
                effect: Effect::Allow,
                action: format!("version:{}", self.version),
                resource: String::new(),
                extra: String::new(),
            });
        }
        for st in &self.statements {
            st.atoms_into(&mut atoms);
        }
        atoms
    }
}

/// One (effect, action, resource, condition) fact of a policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Atom {
    effect: Effect,
    action: String,
    resource: String,
    extra: String,
}

impl PartialEq for PolicyDocument {
    fn eq(&self, other: &Self) -> bool {
        // Identical statements are the common case (IAM hands back what iamspec wrote): skip building atom sets.
        (self.version == other.version && self.statements == other.statements)
            || self.atoms() == other.atoms()
    }
}

impl Eq for PolicyDocument {}

impl fmt::Debug for PolicyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_compact_json())
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for PolicyDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PolicyDocument".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "An IAM policy document (Version, Statement)",
            "required": ["Statement"]
        })
    }
}

fn string_or_list(value: &Value, what: &str) -> Result<Vec<String>, PolicyParseError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                scalar_string(v).ok_or_else(|| {
                    PolicyParseError::Shape(format!("{what} entries must be strings"))
                })
            })
            .collect(),
        other => scalar_string(other).map(|s| vec![s]).ok_or_else(|| {
            PolicyParseError::Shape(format!("{what} must be a string or a list of strings"))
        }),
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn list_value(items: &[String]) -> Value {
    let mut sorted: Vec<&String> = items.iter().collect();
    sorted.sort();
    sorted.dedup();
    Value::Array(
        sorted
            .into_iter()
            .map(|s| Value::String(s.clone()))
            .collect(),
    )
}

impl Statement {
    /// An Allow statement on actions and resources, with no condition.
    #[must_use]
    pub fn allow(actions: Vec<String>, resources: Vec<String>) -> Self {
        Self {
            sid: None,
            effect: Effect::Allow,
            actions,
            not_action: false,
            resources,
            not_resource: false,
            condition: Conditions::new(),
            principal: None,
        }
    }

    fn from_value(value: &Value) -> Result<Self, PolicyParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| PolicyParseError::Shape("each statement must be an object".into()))?;
        let effect = match obj.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => {
                return Err(PolicyParseError::Shape(
                    "Effect must be \"Allow\" or \"Deny\"".into(),
                ))
            }
        };
        let (actions, not_action) = match (obj.get("Action"), obj.get("NotAction")) {
            (Some(v), None) => (string_or_list(v, "Action")?, false),
            (None, Some(v)) => (string_or_list(v, "NotAction")?, true),
            _ => {
                return Err(PolicyParseError::Shape(
                    "a statement needs exactly one of Action, NotAction".into(),
                ))
            }
        };
        let (resources, not_resource) = match (obj.get("Resource"), obj.get("NotResource")) {
            (Some(v), None) => (string_or_list(v, "Resource")?, false),
            (None, Some(v)) => (string_or_list(v, "NotResource")?, true),
            (None, None) => (Vec::new(), false),
            _ => {
                return Err(PolicyParseError::Shape(
                    "a statement has both Resource and NotResource".into(),
                ))
            }
        };
        let mut condition = Conditions::new();
        if let Some(cond) = obj.get("Condition") {
            let ops = cond
                .as_object()
                .ok_or_else(|| PolicyParseError::Shape("Condition must be an object".into()))?;
            // Collected, then sorted once: a document from a hostile endpoint may hold any number of keys.
            condition = ops
                .iter()
                .map(|(op, keys)| {
                    let keys = keys.as_object().ok_or_else(|| {
                        PolicyParseError::Shape(format!("Condition {op} must be an object"))
                    })?;
                    let entry = keys
                        .iter()
                        .map(|(key, values)| {
                            Ok((key.clone(), string_or_list(values, "Condition values")?))
                        })
                        .collect::<Result<SortedMap<_, _>, PolicyParseError>>()?;
                    Ok((op.clone(), entry))
                })
                .collect::<Result<_, PolicyParseError>>()?;
        }
        let principal = ["Principal", "NotPrincipal"]
            .iter()
            .find_map(|k| obj.get(*k).map(|v| Box::new(((*k).to_owned(), v.clone()))));
        Ok(Self {
            sid: obj.get("Sid").and_then(Value::as_str).map(str::to_owned),
            effect,
            actions,
            not_action,
            resources,
            not_resource,
            condition,
            principal,
        })
    }

    fn to_value(&self) -> Value {
        let mut obj = Map::new();
        if let Some(sid) = &self.sid {
            obj.insert("Sid".into(), Value::String(sid.clone()));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        obj.insert("Effect".into(), Value::String(effect.into()));
        if let Some((key, value)) = self.principal.as_deref() {
            obj.insert(key.clone(), value.clone());
        }
        let action_key = if self.not_action {
            "NotAction"
        } else {
            "Action"
        };
        obj.insert(action_key.into(), list_value(&self.actions));
        if !self.resources.is_empty() || self.not_resource {
            let key = if self.not_resource {
                "NotResource"
            } else {
                "Resource"
            };
            obj.insert(key.into(), list_value(&self.resources));
        }
        if !self.condition.is_empty() {
            let mut ops = Map::new();
            for (op, keys) in &self.condition {
                let mut entry = Map::new();
                for (key, values) in keys {
                    entry.insert(key.clone(), list_value(values));
                }
                ops.insert(op.clone(), Value::Object(entry));
            }
            obj.insert("Condition".into(), Value::Object(ops));
        }
        Value::Object(obj)
    }

    /// The compact form of `to_value`, written directly.
    fn write_compact(&self, out: &mut String) {
        out.push('{');
        if let Some(sid) = &self.sid {
            out.push_str("\"Sid\":");
            push_json_str(out, sid);
            out.push(',');
        }
        out.push_str(match self.effect {
            Effect::Allow => "\"Effect\":\"Allow\"",
            Effect::Deny => "\"Effect\":\"Deny\"",
        });
        if let Some((key, value)) = self.principal.as_deref() {
            out.push(',');
            push_json_str(out, key);
            out.push(':');
            out.push_str(&value.to_string());
        }
        out.push_str(if self.not_action {
            ",\"NotAction\":"
        } else {
            ",\"Action\":"
        });
        push_json_list(out, &self.actions);
        if !self.resources.is_empty() || self.not_resource {
            out.push_str(if self.not_resource {
                ",\"NotResource\":"
            } else {
                ",\"Resource\":"
            });
            push_json_list(out, &self.resources);
        }
        if !self.condition.is_empty() {
            out.push_str(",\"Condition\":{");
            for (i, (op, keys)) in self.condition.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(out, op);
                out.push_str(":{");
                for (j, (key, values)) in keys.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    push_json_str(out, key);
                    out.push(':');
                    push_json_list(out, values);
                }
                out.push('}');
            }
            out.push('}');
        }
        out.push('}');
    }

    fn atoms_into(&self, out: &mut BTreeSet<Atom>) {
        // Condition keys are case-insensitive in IAM, operators and values are not; string == one-item list.
        let mut cond: BTreeMap<&str, BTreeMap<String, BTreeSet<&str>>> = BTreeMap::new();
        for (op, keys) in &self.condition {
            let entry = cond.entry(op.as_str()).or_default();
            for (key, values) in keys {
                entry
                    .entry(key.to_ascii_lowercase())
                    .or_default()
                    .extend(values.iter().map(String::as_str));
            }
        }
        let mut suffix = String::new();
        if let Some((key, value)) = self.principal.as_deref() {
            suffix.push_str(&format!("|{key}:{value}"));
        }
        if self.not_action {
            suffix.push_str("|NotAction");
        }
        if self.not_resource {
            suffix.push_str("|NotResource");
        }
        let resources: Vec<&str> = if self.resources.is_empty() {
            vec![""]
        } else {
            self.resources.iter().map(String::as_str).collect()
        };
        for variant in split_any_of(&cond) {
            let mut extra = serde_json::to_string(&variant).unwrap_or_default();
            extra.push_str(&suffix);
            for action in &self.actions {
                for resource in &resources {
                    out.insert(Atom {
                        effect: self.effect,
                        action: action.to_ascii_lowercase(),
                        resource: (*resource).to_owned(),
                        extra: extra.clone(),
                    });
                }
            }
        }
    }
}

/// Operators whose values are alternatives: a key holds when any value matches. A statement with
/// `StringLike {s3:prefix: [a/*, b/*]}` means the same as two statements with one value each, so its meaning is
/// split into one condition per combination of values (conditions on several keys are a conjunction, so the
/// combinations are their cross product). Negated and `ForAllValues:` operators are not alternatives and stay
/// whole, as do products beyond a small bound.
fn split_any_of<'a>(
    cond: &BTreeMap<&'a str, BTreeMap<String, BTreeSet<&'a str>>>,
) -> Vec<BTreeMap<&'a str, BTreeMap<String, BTreeSet<&'a str>>>> {
    const ANY_OF: [&str; 6] = [
        "StringEquals",
        "StringLike",
        "StringEqualsIgnoreCase",
        "ArnEquals",
        "ArnLike",
        "Bool",
    ];
    let splittable = |op: &str| {
        let base = op.strip_prefix("ForAnyValue:").unwrap_or(op);
        let base = base.strip_suffix("IfExists").unwrap_or(base);
        ANY_OF.contains(&base)
    };
    let product: usize = cond
        .iter()
        .filter(|(op, _)| splittable(op))
        .flat_map(|(_, keys)| keys.values().map(BTreeSet::len))
        .try_fold(1usize, |acc, n| acc.checked_mul(n.max(1)))
        .unwrap_or(usize::MAX);
    if product <= 1 || product > 256 {
        return vec![cond.clone()];
    }
    let mut variants = vec![BTreeMap::new()];
    for (op, keys) in cond {
        for (key, values) in keys {
            let choices: Vec<BTreeSet<&str>> = if splittable(op) {
                values.iter().map(|v| BTreeSet::from([*v])).collect()
            } else {
                vec![values.clone()]
            };
            variants = variants
                .into_iter()
                .flat_map(|v: BTreeMap<&str, BTreeMap<String, BTreeSet<&str>>>| {
                    choices.iter().map(move |choice| {
                        let mut next = v.clone();
                        next.entry(*op)
                            .or_default()
                            .insert(key.clone(), choice.clone());
                        next
                    })
                })
                .collect();
        }
    }
    variants
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Whole runs without anything to escape (ARNs and actions are nothing else) are copied at once.
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|b| b < 0x20 || b == b'"' || b == b'\\')
    {
        out.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b => out.push_str(&format!("\\u{b:04x}")),
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// A sorted, de-duplicated JSON list of strings.
fn push_json_list(out: &mut String, items: &[String]) {
    out.push('[');
    if items.is_sorted_by(|a, b| a < b) {
        // What iamspec renders is sorted already: no copy to sort.
        push_json_items(out, items);
    } else {
        let mut sorted: Vec<&String> = items.iter().collect();
        sorted.sort();
        sorted.dedup();
        push_json_items(out, sorted);
    }
    out.push(']');
}

fn push_json_items<'a>(out: &mut String, items: impl IntoIterator<Item = &'a String>) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, item);
    }
}

/// Characters of `text` that are not whitespace, as IAM counts policy sizes.
#[must_use]
pub fn non_whitespace_len(text: &str) -> usize {
    if text.is_ascii() {
        // ASCII whitespace as `char::is_whitespace` has it (space, \t \n \x0b \x0c \r), counted byte by byte.
        let whitespace: usize = text
            .bytes()
            .map(|b| usize::from(b == b' ' || b.wrapping_sub(b'\t') < 5))
            .sum();
        return text.len() - whitespace;
    }
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_equals_one_item_list_and_order_is_ignored() {
        let a = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        )
        .unwrap();
        let b = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Action":["S3:getobject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}"#,
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn statement_split_is_ignored_but_resources_are_not() {
        let merged = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"}]}"#,
        )
        .unwrap();
        let split = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        )
        .unwrap();
        let other = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::c/*"}]}"#,
        )
        .unwrap();
        assert_eq!(merged, split);
        assert_ne!(merged, other);
    }

    #[test]
    fn condition_values_and_key_case() {
        let a = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"a/*"}}}]}"#,
        )
        .unwrap();
        let b = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"S3:Prefix":["a/*"]}}}]}"#,
        )
        .unwrap();
        let c = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["b/*"]}}}]}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn deny_differs_from_allow() {
        let allow = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#).unwrap();
        let deny = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#).unwrap();
        assert_ne!(allow, deny);
    }

    #[test]
    fn canonical_form_round_trips() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:b","s3:a"],"Resource":"arn:aws:s3:::x"}]}"#,
        )
        .unwrap();
        assert_eq!(
            doc.to_compact_json(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:a","s3:b"],"Resource":["arn:aws:s3:::x"]}]}"#
        );
        assert_eq!(PolicyDocument::parse(&doc.to_compact_json()).unwrap(), doc);
    }

    #[test]
    fn direct_compact_form_equals_serde_json() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A\"b","Effect":"Deny","Principal":{"AWS":["x","y"]},"NotAction":["s3:b","s3:a","s3:a"],"NotResource":"arn:aws:s3:::x/\u0001\\","Condition":{"StringLike":{"s3:prefix":["b*","a\n*"]},"Bool":{"aws:SecureTransport":false}}},{"Effect":"Allow","Action":"s3:*"}]}"#,
        )
        .unwrap();
        assert_eq!(doc.to_compact_json(), doc.to_value().to_string());
    }

    #[test]
    fn rejects_malformed_documents() {
        assert!(PolicyDocument::parse("[]").is_err());
        assert!(
            PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe","Action":"s3:*"}]}"#).is_err()
        );
        assert!(PolicyDocument::parse("{").is_err());
    }

    #[test]
    fn whitespace_does_not_count() {
        assert_eq!(non_whitespace_len("{ \"a\" :\n 1 }"), 7);
        assert_eq!(non_whitespace_len("a\u{0b}\u{0c}\r\t b"), 2);
        assert_eq!(non_whitespace_len("a\u{2003}\u{a0}é b"), 3);
    }
}
