//! Loading: text -> serde (the fast path, in pieces for large specs) -> validation -> located diagnostics. When
//! serde refuses the file, the position-keeping tree explains every problem of it instead of serde's first.

use std::sync::Arc;

use super::diagnostic::{field_path, Diagnostic, Diagnostics, Severity};
use super::model::Loaded;
use super::raw::RawSpec;
use super::split;
use super::structure;
use super::tree::{self, Node, Pos, Seg};
use super::validate::{validate, Ctx, Finding, PathSeg};

/// Positions for findings. The position-keeping tree is parsed only when a finding needs a position: a valid spec
/// never pays for it (a 100,000-user spec would spend more time and memory on the tree than on everything else).
struct Locator<'a> {
    text: &'a str,
    tree: std::cell::OnceCell<Option<Node>>,
    users: std::cell::OnceCell<std::collections::HashMap<String, usize>>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            tree: std::cell::OnceCell::new(),
            users: std::cell::OnceCell::new(),
        }
    }

    fn diagnostic(&self, finding: Finding) -> Diagnostic {
        let path: Vec<Seg<'_>> = finding
            .path
            .iter()
            .map(|seg| match seg {
                PathSeg::Key(k) => Seg::Key(k),
                PathSeg::Index(i) => Seg::Index(*i),
            })
            .collect();
        Diagnostic {
            severity: finding.severity,
            field: field_path(&path),
            message: match finding.rule {
                Some(rule) => format!("{} [{}]", finding.message, rule.name()),
                None => finding.message,
            },
            help: finding.help,
            pos: self.locate(&path, finding.at_key),
            rule: finding.rule.map(super::Lint::name),
        }
    }

    fn locate(&self, path: &[Seg<'_>], at_key: bool) -> Pos {
        let Some(tree) = self.tree.get_or_init(|| tree::parse(self.text).ok()) else {
            return Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            };
        };
        // The users mapping can be huge: jump to the user through an index instead of scanning.
        let (base, rest, base_key) = match (path, tree.get("users")) {
            ([Seg::Key("users"), Seg::Key(name), rest @ ..], Some((_, users))) => {
                let index = self.users.get_or_init(|| match &users.value {
                    tree::Value::Map(entries) => entries
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (k, _))| k.as_str().map(|k| (k.to_owned(), i)))
                        .collect(),
                    _ => std::collections::HashMap::new(),
                });
                match (index.get(*name), &users.value) {
                    (Some(i), tree::Value::Map(entries)) => {
                        (&entries[*i].1, rest, Some(&entries[*i].0))
                    }
                    _ => (tree, path, None),
                }
            }
            _ => (tree, path, None),
        };
        for n in (0..=rest.len()).rev() {
            if let Some((node, key)) = base.find(&rest[..n]) {
                let key = key.or(if n == 0 { base_key } else { None });
                return match (at_key || n < rest.len(), key) {
                    (true, Some(key)) => key.pos,
                    _ => node.pos,
                };
            }
        }
        tree.pos
    }
}

/// Every located problem of a file serde refused: tree errors (syntax, hostile input), shape errors (unknown fields,
/// types), or, when the tree finds nothing, serde's own message at serde's position.
fn explain_refusal(text: &str, e: &serde_norway::Error) -> Vec<Diagnostic> {
    let doc = |message: String, help: Option<String>, pos: Pos| {
        vec![Diagnostic {
            severity: Severity::Error,
            field: "(document)".into(),
            message,
            help,
            pos,
            rule: None,
        }]
    };
    let tree = match tree::parse(text) {
        Ok(tree) => tree,
        Err(t) => {
            return match indenting_tab(text, t.pos.line) {
                Some(pos) => doc(
                    format!(
                        "a tab indents line {}: YAML indents with spaces only",
                        pos.line
                    ),
                    Some("replace the tab with spaces".into()),
                    pos,
                ),
                None => doc(t.message, t.help, t.pos),
            }
        }
    };
    if !matches!(tree.value, tree::Value::Map(_)) {
        return doc(
            format!(
                "a spec is a mapping with `version` and `users`, found {}",
                tree.kind()
            ),
            Some("start from one of the files in examples/".into()),
            tree.pos,
        );
    }
    let mut shape = structure::check(&tree);
    if !shape.is_empty() {
        // The rest of the file is checked too: a misspelt field must not hide an invalid account id.
        shape.extend(semantic_around(&tree, &shape, text));
        return shape;
    }
    let (line, col, offset) = e
        .location()
        .map_or((1, 1, 0), |l| (l.line(), l.column(), l.index()));
    if let Some(pos) = indenting_tab(text, line) {
        return doc(
            format!(
                "a tab indents line {}: YAML indents with spaces only",
                pos.line
            ),
            Some("replace the tab with spaces".into()),
            pos,
        );
    }
    doc(
        e.to_string(),
        None,
        Pos {
            line,
            col,
            offset,
            len: 1,
        },
    )
}

/// The first tab in the leading whitespace of lines up to `line` (1-based), which is what a syntax error near it
/// is about: the parser's own message ("cannot start any token") does not say so, and may name a later line.
fn indenting_tab(text: &str, line: usize) -> Option<Pos> {
    let mut offset = 0;
    for (i, l) in text
        .split_inclusive('\n')
        .enumerate()
        .take(line.saturating_add(1))
    {
        let lead = l.len() - l.trim_start_matches([' ', '\t']).len();
        if let Some(col) = l[..lead].find('\t') {
            return Some(Pos {
                line: i + 1,
                col: col + 1,
                offset: offset + col,
                len: 1,
            });
        }
        offset += l.len();
    }
    None
}

/// The semantic findings of a document whose shape is wrong: validation of the document without the nodes the
/// shape findings point at, keeping only findings unrelated to those nodes (a removed `access` must not also be
/// reported as "neither access nor actions").
fn semantic_around(tree: &Node, shape: &[Diagnostic], text: &str) -> Vec<Diagnostic> {
    let bad: std::collections::HashSet<&str> = shape.iter().map(|d| d.field.as_str()).collect();
    let mut path = Vec::new();
    let json = to_json(tree, &bad, &mut path);
    let Ok(raw) = serde::Deserialize::deserialize(json).map_err(|_: serde_json::Error| ()) else {
        return Vec::new();
    };
    let raw: RawSpec = raw;
    let mut ctx = Ctx::default();
    let _ = validate(raw, &mut ctx);
    let locator = Locator::new(text);
    let related = |field: &str| {
        shape.iter().any(|d| {
            let f = d.field.as_str();
            f == "(document)" || field.starts_with(f) || f.starts_with(field)
        })
    };
    ctx.found
        .into_iter()
        .map(|f| locator.diagnostic(f))
        .filter(|d| d.severity == Severity::Error && !related(&d.field))
        .collect()
}

/// The tree as JSON, without the nodes at `skip` paths. Plain scalars take YAML's core types, as serde would read
/// them.
fn to_json<'a>(
    node: &'a Node,
    skip: &std::collections::HashSet<&str>,
    path: &mut Vec<Seg<'a>>,
) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        tree::Value::Null => J::Null,
        tree::Value::Scalar { text, quoted: true } => J::String(text.clone()),
        tree::Value::Scalar { text, .. } => match text.as_str() {
            "null" | "Null" | "NULL" | "~" => J::Null,
            "true" | "True" | "TRUE" => J::Bool(true),
            "false" | "False" | "FALSE" => J::Bool(false),
            t => t
                .parse::<i64>()
                .map(J::from)
                .or_else(|_| t.parse::<u64>().map(J::from))
                .unwrap_or_else(|_| J::String(t.to_owned())),
        },
        tree::Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                if !skip.contains(field_path(path).as_str()) {
                    out.push(to_json(item, skip, path));
                }
                path.pop();
            }
            J::Array(out)
        }
        tree::Value::Map(entries) => {
            let mut out = serde_json::Map::new();
            for (k, v) in entries {
                let Some(key) = k.as_str() else { continue };
                path.push(Seg::Key(key));
                if !skip.contains(field_path(path).as_str()) {
                    let value = to_json(v, skip, path);
                    out.insert(key.to_owned(), value);
                }
                path.pop();
            }
            J::Object(out)
        }
    }
}

/// A finding made after loading (a guardrail breach, which needs the evaluator; a drifted object), to be placed in
/// the spec's text like validation's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Error or warning.
    pub severity: Severity,
    /// The field it is about (empty: the document).
    pub path: Vec<PathSeg>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Its kind, for reports that group findings by rule (SARIF).
    pub rule: Option<&'static str>,
}

/// [`Located`] findings with their positions in `text`.
#[must_use]
pub fn locate(file: &str, text: &str, findings: Vec<Located>) -> Diagnostics {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let locator = Locator::new(text);
    let mut items: Vec<Diagnostic> = findings
        .into_iter()
        .map(|f| {
            // An object's finding points at its name, where a reader looks for it.
            let at_key = matches!(f.path.last(), Some(PathSeg::Key(_)));
            let mut d = locator.diagnostic(Finding {
                severity: f.severity,
                path: f.path,
                at_key,
                message: f.message,
                help: f.help,
                rule: None,
            });
            d.rule = f.rule;
            d
        })
        .collect();
    items.sort_by_key(|d| (d.pos.offset, d.severity));
    Diagnostics {
        file: file.to_owned(),
        source: Arc::from(if items.is_empty() { "" } else { text }),
        items,
    }
}

/// Loads and validates a spec from its text. Pure: the caller reads the file.
///
/// # Errors
/// Every error in the file (with the warnings), when there is at least one.
pub fn load(file: &str, text: &str) -> Result<Loaded, Diagnostics> {
    // A UTF-8 byte order mark is not part of the document, as other YAML tools agree.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The source is kept for snippets only when there is something to show: a 30 MB spec is not copied for none.
    let fail = |items: Vec<Diagnostic>| Diagnostics {
        file: file.to_owned(),
        source: Arc::from(if items.is_empty() { "" } else { text }),
        items,
    };
    if text.len() > tree::MAX_BYTES {
        return Err(fail(vec![Diagnostic {
            severity: Severity::Error,
            field: "(document)".into(),
            message: format!(
                "spec is {} bytes; the limit is {} bytes",
                text.len(),
                tree::MAX_BYTES
            ),
            help: Some(
                "a spec this large is not a hand-written spec; split it by team or account".into(),
            ),
            pos: Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            },
            rule: None,
        }]));
    }
    // serde first: it is fast, and it bounds recursion and alias expansion itself. Only when it refuses the file
    // does the position-keeping tree run, to report every problem of the file (serde stops at the first). serde's
    // time grows with the square of the flow nesting depth, so deep nesting goes to the tree first, which stops
    // at its depth limit in linear time.
    if tree::flow_depth(text) > tree::MAX_DEPTH {
        if let Err(t) = tree::parse(text) {
            return Err(fail(vec![Diagnostic {
                severity: Severity::Error,
                field: "(document)".into(),
                message: t.message,
                help: t.help,
                pos: t.pos,
                rule: None,
            }]));
        }
    }
    let cut = (text.len() >= split::MIN_BYTES)
        .then(|| split::read(text, split::PIECE_BYTES))
        .flatten();
    let raw: RawSpec = match cut.map_or_else(|| serde_norway::from_str(text), Ok) {
        Ok(raw) => raw,
        Err(e) => {
            let mut items = explain_refusal(text, &e);
            items.sort_by_key(|d| (d.pos.offset, d.severity));
            return Err(fail(items));
        }
    };
    let mut ctx = Ctx::default();
    let spec = validate(raw, &mut ctx);
    let locator = Locator::new(text);
    let mut items: Vec<Diagnostic> = ctx
        .found
        .into_iter()
        .map(|f| locator.diagnostic(f))
        .collect();
    items.sort_by_key(|d| (d.pos.offset, d.severity));
    let diags = fail(items);
    if diags.has_errors() {
        return Err(diags);
    }
    let mut allowed: Vec<Diagnostic> = ctx
        .allowed
        .into_iter()
        .map(|f| locator.diagnostic(f))
        .collect();
    allowed.sort_by_key(|d| d.pos.offset);
    Ok(Loaded {
        spec,
        warnings: diags,
        allowed: Diagnostics {
            file: file.to_owned(),
            source: Arc::from(if allowed.is_empty() { "" } else { text }),
            items: allowed,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_design_example() {
        let text = r#"
version: 1
account_id: "123456789012"
owner: web-platform
path: /iamspec/
prune: false
users:
  iam_pixelshift:
    tags: { team: web }
    grants:
      - buckets: [photos-prod, photos-thumbs]
        access: read-write
      - buckets: [photos-archive]
        prefix: originals/
        access: read
    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    access_keys: { count: 1, max_age_days: 90, grace_days: 7 }
  ewww-optimizer:
    grants:
      - buckets: ["*"]
        actions: [s3:CreateBucket, s3:DeleteObject, "s3:Put*", "s3:Get*", "s3:List*"]
"#;
        let loaded = load("spec.yaml", text).unwrap();
        assert_eq!(loaded.spec.users.len(), 2);
        assert_eq!(loaded.spec.owner, "web-platform");
        let warnings: Vec<&str> = loaded
            .warnings
            .items
            .iter()
            .map(|d| d.field.as_str())
            .collect();
        assert_eq!(
            warnings,
            vec![
                "users.ewww-optimizer.grants[0].buckets[0]",
                "users.ewww-optimizer.grants[0].actions[2]"
            ]
        );
    }

    #[test]
    fn a_prefix_without_a_slash_is_warned() {
        let loaded = load(
            "s.yaml",
            "version: 1\nusers:\n  u:\n    grants: [{buckets: [bkt], prefix: team, access: read}]\n",
        )
        .unwrap();
        let plain = loaded.warnings.to_plain();
        assert!(
            plain.contains("also covers keys such as `team-secret/...`"),
            "{plain}"
        );
    }

    #[test]
    fn max_unused_days_is_read_and_zero_is_refused_at_its_line() {
        let ok = load(
            "s.yaml",
            "version: 1\nusers:\n  u:\n    access_keys: { count: 1, max_unused_days: 45 }\n",
        )
        .unwrap();
        assert_eq!(
            ok.spec.users[0].access_keys.map(|k| k.max_unused_days),
            Some(Some(45))
        );
        let err = load(
            "s.yaml",
            "version: 1\nusers:\n  u:\n    access_keys:\n      max_unused_days: 0\n",
        )
        .unwrap_err()
        .to_plain();
        assert!(
            err.contains("s.yaml:5:") && err.contains("max_unused_days must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn case_insensitive_duplicates_name_both() {
        let err = load("s.yaml", "version: 1\nusers:\n  Alice: {}\n  alice: {}\n").unwrap_err();
        let plain = err.to_plain();
        assert!(
            plain.contains("s.yaml:4:3: users.alice: user `alice` duplicates `Alice`"),
            "{plain}"
        );
    }

    /// A spec big enough to be read in pieces and validated on every core reports exactly what a small one would:
    /// each finding once, at its own line, in file order, duplicates found across parts.
    #[test]
    fn large_specs_report_like_small_ones() {
        let mut text = String::from("version: 1\nowner: big\nusers:\n");
        let mut lines = 3;
        let mut expect = Vec::new();
        for i in 0..8_000 {
            let bucket = if i == 17 { "bad..bucket" } else { "assets" };
            let name = if i == 7_500 {
                "USER-0017".to_owned()
            } else {
                format!("user-{i:04}")
            };
            text.push_str(&format!(
                "  {name}:\n    tags: {{ team: web, index: \"{i}\" }}\n    grants:\n      - buckets: [{bucket}, logs-{i}]\n        prefix: u{i}/\n        access: read\n"
            ));
            if i == 17 {
                expect.push(format!("error: s.yaml:{}:", lines + 4));
            }
            if i == 7_500 {
                expect.push(format!(
                    "error: s.yaml:{}:3: users.USER-0017: user `USER-0017` duplicates `user-0017`",
                    lines + 1
                ));
            }
            lines += 6;
        }
        assert!(text.len() > split::MIN_BYTES, "{} bytes", text.len());
        let plain = load("s.yaml", &text).unwrap_err().to_plain();
        let found: Vec<&str> = plain.lines().filter(|l| l.contains("s.yaml:")).collect();
        assert_eq!(found.len(), 2, "{plain}");
        for (line, want) in found.iter().zip(&expect) {
            assert!(line.starts_with(want.as_str()), "{line} / {want}");
        }
        assert!(found[0].contains("bad..bucket"), "{plain}");

        let valid = text
            .replace("bad..bucket", "assets")
            .replace("USER-0017", "user-8000");
        let spec = load("s.yaml", &valid)
            .map_err(|e| e.to_plain())
            .unwrap()
            .spec;
        assert_eq!(spec.users.len(), 8_000);
        assert_eq!(spec.users[7_999].name, "user-7999");
        assert_eq!(spec.users[7_500].name, "user-8000");
    }
}
