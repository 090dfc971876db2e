//! Shape checks on the YAML tree, driven by the JSON Schema generated from the raw spec types: unknown fields,
//! missing fields, wrong types and unknown enum values, all of them at once and each at its own position.

use crate::suggest::closest;
use std::sync::OnceLock;

use serde_json::Value as Json;

use super::diagnostic::{field_path, Diagnostic, Severity};
use super::raw::RawSpec;
use super::tree::{Node, Seg, Value};

fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::to_value(schemars::schema_for!(RawSpec)).unwrap_or(Json::Null))
}

/// Checks the tree against the spec's schema; returns every finding.
#[must_use]
pub fn check(root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    let root_schema = schema();
    check_node(root, root_schema, root_schema, &mut path, &mut out);
    out
}

fn resolve<'a>(root: &'a Json, mut schema: &'a Json) -> &'a Json {
    for _ in 0..8 {
        let Some(reference) = schema.get("$ref").and_then(Json::as_str) else {
            break;
        };
        let Some(name) = reference.strip_prefix("#/$defs/") else {
            break;
        };
        match root.get("$defs").and_then(|d| d.get(name)) {
            Some(s) => schema = s,
            None => break,
        }
    }
    schema
}

fn types(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Allowed string values of an enum schema (`enum`, or `oneOf`/`anyOf` of `const`s).
fn enum_values(schema: &Json) -> Option<Vec<String>> {
    if let Some(Json::Array(values)) = schema.get("enum") {
        return Some(
            values
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect(),
        );
    }
    let alts = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()?;
    alts.iter()
        .map(|alt| alt.get("const").and_then(Json::as_str).map(str::to_owned))
        .collect()
}

fn push(
    out: &mut Vec<Diagnostic>,
    node: &Node,
    path: &[Seg<'_>],
    message: String,
    help: Option<String>,
) {
    out.push(Diagnostic {
        severity: Severity::Error,
        field: field_path(path),
        message,
        help,
        pos: node.pos,
        rule: None,
    });
}

fn describe(types: &[&str]) -> String {
    let names: Vec<&str> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" => "a whole number",
            "boolean" => "true or false",
            other => other,
        })
        .collect();
    names.join(" or ")
}

fn check_node<'a>(
    node: &'a Node,
    schema: &Json,
    root: &Json,
    path: &mut Vec<Seg<'a>>,
    out: &mut Vec<Diagnostic>,
) {
    let mut schema = resolve(root, schema);
    // Option<T> of a reference: `anyOf: [{$ref}, {type: null}]`.
    if let Some(alts) = schema.get("anyOf").and_then(Json::as_array) {
        if enum_values(schema).is_none() {
            if matches!(node.value, Value::Null) && alts.iter().any(|a| types(a).contains(&"null"))
            {
                return;
            }
            if let Some(alt) = alts.iter().find(|a| !types(a).contains(&"null")) {
                schema = resolve(root, alt);
            }
        }
    }
    let allowed = types(schema);
    if matches!(node.value, Value::Null) {
        if allowed.contains(&"null") {
            return;
        }
        let expected = if allowed.is_empty() {
            "a value".to_owned()
        } else {
            describe(&allowed)
        };
        // `alice:` with nothing under it: often the next line, a field of hers, lost its indentation.
        let help = match path.last() {
            Some(Seg::Key(name)) if allowed.contains(&"object") => Some(format!(
                "an entry with nothing to set is written `{name}: {{}}`; if the lines below belong to it, indent them"
            )),
            _ => None,
        };
        push(
            out,
            node,
            path,
            format!("expected {expected}, found nothing"),
            help,
        );
        return;
    }
    if let Some(values) = enum_values(schema) {
        let ok = node.as_str().is_some_and(|s| values.iter().any(|v| v == s));
        if !ok {
            let found = node
                .as_str()
                .map_or_else(|| node.kind().to_owned(), |s| format!("`{s}`"));
            let help = node
                .as_str()
                .and_then(|s| closest(s, values.iter().map(String::as_str)));
            push(
                out,
                node,
                path,
                format!("{found} is not one of: {}", values.join(", ")),
                help.map(|h| format!("did you mean `{h}`?")),
            );
        }
        return;
    }
    match &node.value {
        Value::Map(entries) if allowed.contains(&"object") => {
            let props = schema.get("properties").and_then(Json::as_object);
            let additional = schema.get("additionalProperties");
            for (key, value) in entries {
                let Some(name) = key.as_str() else { continue };
                path.push(Seg::Key(name));
                match (props.and_then(|p| p.get(name)), additional) {
                    (Some(sub), _) => check_node(value, sub, root, path, out),
                    (None, Some(Json::Object(_))) => {
                        check_node(value, additional.unwrap_or(&Json::Null), root, path, out);
                    }
                    (None, Some(Json::Bool(true))) => {}
                    (None, _) => {
                        let fields: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let help = closest(name, fields.iter().copied()).map_or_else(
                            || format!("known fields: {}", fields.join(", ")),
                            |c| format!("did you mean `{c}`?"),
                        );
                        push(
                            out,
                            key,
                            path,
                            format!("unknown field `{name}`"),
                            Some(help),
                        );
                    }
                }
                path.pop();
            }
            if let Some(required) = schema.get("required").and_then(Json::as_array) {
                for field in required.iter().filter_map(Json::as_str) {
                    if node.get(field).is_none() {
                        push(out, node, path, format!("missing field `{field}`"), None);
                    }
                }
            }
        }
        Value::Seq(items) if allowed.contains(&"array") => {
            let item_schema = schema.get("items").cloned().unwrap_or(Json::Bool(true));
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                check_node(item, &item_schema, root, path, out);
                path.pop();
            }
        }
        Value::Scalar { text, quoted } if !allowed.is_empty() => {
            let ok = allowed.iter().any(|t| match *t {
                "string" => true,
                "integer" => !quoted && text.parse::<u64>().is_ok(),
                "boolean" => {
                    !quoted
                        && matches!(
                            text.as_str(),
                            "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
                        )
                }
                "number" => !quoted && text.parse::<f64>().is_ok(),
                _ => false,
            });
            if !ok {
                push(
                    out,
                    node,
                    path,
                    format!("expected {}, found `{text}`", describe(&allowed)),
                    None,
                );
            } else if allowed.contains(&"integer") && !allowed.contains(&"string") {
                let max = schema
                    .get("maximum")
                    .and_then(Json::as_u64)
                    .unwrap_or(u64::from(u32::MAX));
                if text.parse::<u64>().is_ok_and(|v| v > max) {
                    push(out, node, path, format!("`{text}` is too large"), None);
                }
            }
        }
        _ if allowed.is_empty() => {}
        _ => {
            // `grants:` one level too far left lands where an entry is expected: its name is one of the entry's
            // own fields.
            let misplaced = match path.last() {
                Some(Seg::Key(name)) => schema
                    .get("properties")
                    .and_then(Json::as_object)
                    .is_some_and(|p| p.contains_key(*name))
                    .then(|| format!("`{name}` is a field of the entry above, not an entry: indent it under that entry")),
                _ => None,
            };
            push(
                out,
                node,
                path,
                format!("expected {}, found {}", describe(&allowed), node.kind()),
                misplaced,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tree::parse;

    fn findings(yaml: &str) -> Vec<String> {
        check(&parse(yaml).unwrap())
            .into_iter()
            .map(|d| format!("{}:{} {}: {}", d.pos.line, d.pos.col, d.field, d.message))
            .collect()
    }

    #[test]
    fn reports_every_problem_at_once() {
        let f = findings(
            "version: 1\nusers:\n  a:\n    grnats: []\n  b:\n    grants:\n      - buckets: x\n        access: rw\n",
        );
        assert_eq!(
            f,
            vec![
                "4:5 users.a.grnats: unknown field `grnats`",
                "7:18 users.b.grants[0].buckets: expected a list, found `x`",
                "8:17 users.b.grants[0].access: `rw` is not one of: list, read, write, read-write, full",
            ]
        );
    }

    #[test]
    fn missing_version_and_wrong_types() {
        let f = findings("users:\n  a:\n    adopt: maybe\n    access_keys: {count: two}\n");
        assert!(
            f.contains(&"1:1 (document): missing field `version`".to_owned()),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|l| l.contains("adopt: expected true or false")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|l| l.contains("count: expected a whole number")),
            "{f:?}"
        );
    }

    #[test]
    fn typo_suggestion() {
        assert_eq!(
            closest("grnats", ["tags", "grants"].into_iter()),
            Some("grants")
        );
        assert_eq!(closest("zzzzzz", ["tags", "grants"].into_iter()), None);
    }
}
