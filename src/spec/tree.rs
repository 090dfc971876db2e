//! A position-keeping YAML tree, parsed beside serde so that every diagnostic can point at its line and column.
//!
//! serde stops at the first error and keeps no per-value positions; this tree lets validation report every
//! problem of a file in one run. It is also where hostile input is stopped: size, nesting depth and alias expansion
//! are bounded before serde ever sees the text.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Largest spec accepted, in bytes. Far above any real spec (100,000 users fit), far below trouble.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting accepted; a valid spec needs 6.
pub const MAX_DEPTH: usize = 32;
/// Most nodes that aliases may expand to, in total: stops "billion laughs" documents.
pub const MAX_ALIAS_NODES: usize = 10_000;

/// Where a node starts in the source, and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Byte offset.
    pub offset: usize,
    /// Length in bytes (best effort for collections).
    pub len: usize,
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

/// A YAML value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// Any scalar, with whether it was quoted (quoted scalars are always strings).
    Scalar {
        /// The scalar's text.
        text: String,
        /// Whether the scalar was quoted or a block scalar.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key` of a mapping, with the key node.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The scalar text, if this is a scalar.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A short name for the kind of value, for "expected X, found Y" messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Follows a path of mapping keys and list indexes. Returns the node and, for a key step at the end, its key node.
    #[must_use]
    pub fn find(&self, path: &[Seg<'_>]) -> Option<(&Node, Option<&Node>)> {
        let mut node = self;
        let mut key = None;
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(k), Value::Map(_)) => {
                    let (kn, vn) = node.get(k)?;
                    key = Some(kn);
                    node = vn;
                }
                (Seg::Index(i), Value::Seq(items)) => {
                    node = items.get(*i)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }
}

/// One step of a path into the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// Why a document could not be turned into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    /// What went wrong.
    pub message: String,
    /// A hint for the user.
    pub help: Option<String>,
    /// Where.
    pub pos: Pos,
}

struct LineIndex {
    starts: Vec<usize>,
    /// Whether every character is one byte: columns are then byte offsets.
    ascii: bool,
    /// The last lookup (line, column, byte offset): positions mostly arrive in order, so walking on from it keeps
    /// a 100,000-character line linear rather than quadratic.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            starts,
            ascii: text.is_ascii(),
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    /// Byte offset of a 1-based line and 0-based character column.
    fn offset(&self, text: &str, line: usize, col0: usize) -> usize {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(text.len())
            .min(text.len());
        if self.ascii {
            return (start + col0).min(text.len());
        }
        let (last_line, last_col, last_byte) = self.last.get();
        let (from_col, from_byte) = if last_line == line && last_col <= col0 {
            (last_col, last_byte)
        } else {
            (0, start)
        };
        let byte = text[from_byte..]
            .char_indices()
            .nth(col0 - from_col)
            .map_or(text.len(), |(i, _)| from_byte + i);
        self.last.set((line, col0, byte));
        byte
    }
}

/// The deepest flow nesting (`[` / `{`) of a text, by a linear scan that knows quoted scalars and comments. Within
/// flow collections it sees what a YAML tokenizer sees (a flow plain scalar cannot hold `[`, `]`, `{`, `}` or
/// `,`), so nesting cannot hide behind closers; outside them it may count a bracket inside a plain or block scalar,
/// erring towards a higher depth. serde's YAML parser takes time quadratic in this depth, so it is measured
/// before serde runs, and a deep file goes to [`parse`] (linear, with its depth limit) instead.
#[must_use]
pub fn flow_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    // The last significant character: quotes open a scalar only where a token can start.
    let mut prev = b'\n';
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' if prev == b'\n' || i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' if matches!(prev, b'\n' | b'[' | b'{' | b',' | b':' | b'-' | b'?') => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if b == b'"' => i += 1,
                        b'\'' if b == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                        c if c == b => break,
                        _ => {}
                    }
                    i += 1;
                }
                prev = b;
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                prev = b;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                prev = b;
            }
            b' ' | b'\t' | b'\r' => {}
            b'\n' => {
                if depth == 0 {
                    prev = b'\n';
                }
            }
            _ => prev = b,
        }
        i += 1;
    }
    deepest
}

/// Parses one YAML document into a tree, refusing hostile input early.
pub fn parse(text: &str) -> Result<Node, TreeError> {
    if text.len() > MAX_BYTES {
        return Err(TreeError {
            message: format!(
                "spec is {} bytes; the limit is {} bytes",
                text.len(),
                MAX_BYTES
            ),
            help: Some(
                "a spec this large is not a hand-written spec; split it by team or account".into(),
            ),
            pos: Pos {
                line: 1,
                col: 1,
                ..Pos::default()
            },
        });
    }
    let lines = LineIndex::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder {
        text,
        lines: &lines,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        root: None,
        documents: 0,
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let pos = builder.pos(e.marker().line(), e.marker().col(), 1);
            TreeError {
                message: format!("YAML syntax error: {}", e.info()),
                help: Some(
                    "check indentation, quoting and that every `key:` is followed by a space"
                        .into(),
                ),
                pos,
            }
        })?;
        let pos = builder.pos(mark.line(), mark.col(), 0);
        if builder.event(event, pos)? {
            break;
        }
    }
    if let Some(root) = builder.root.as_mut() {
        // A block mapping's start event points past its first key; the document starts at the top.
        root.pos = Pos {
            line: 1,
            col: 1,
            offset: 0,
            len: 1,
        };
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        pos: Pos {
            line: 1,
            col: 1,
            ..Pos::default()
        },
    }))
}

enum Frame {
    Seq(Node, Vec<Node>, usize),
    Map(Node, Vec<(Node, Node)>, Option<Node>, usize, KeyIndex),
}

/// Finds duplicate keys: a scan for small mappings, a hash index once a mapping grows (the users mapping can hold
/// 100,000 entries, and a scan per key would be quadratic).
#[derive(Default)]
struct KeyIndex(Option<HashMap<String, usize>>);

impl KeyIndex {
    const SCAN_LIMIT: usize = 16;

    /// The line of an earlier identical key, if any; records this one.
    fn check(&mut self, entries: &[(Node, Node)], key: &Node) -> Option<usize> {
        let text = key.as_str().unwrap_or("~");
        if self.0.is_none() && entries.len() < Self::SCAN_LIMIT {
            return entries
                .iter()
                .find(|(k, _)| k.as_str() == key.as_str())
                .map(|(k, _)| k.pos.line);
        }
        let index = self.0.get_or_insert_with(|| {
            entries
                .iter()
                .map(|(k, _)| (k.as_str().unwrap_or("~").to_owned(), k.pos.line))
                .collect()
        });
        match index.get(text) {
            Some(line) => Some(*line),
            None => {
                index.insert(text.to_owned(), key.pos.line);
                None
            }
        }
    }
}

struct Builder<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_nodes: usize,
    root: Option<Node>,
    documents: usize,
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

impl Builder<'_> {
    fn pos(&self, line: usize, col0: usize, len: usize) -> Pos {
        Pos {
            line,
            col: col0 + 1,
            offset: self.lines.offset(self.text, line, col0),
            len,
        }
    }

    /// Handles one event; returns true at the end of the stream.
    fn event(&mut self, event: Event, pos: Pos) -> Result<bool, TreeError> {
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(TreeError {
                        message: "a spec is one YAML document, found a second one".into(),
                        help: Some(
                            "remove the second `---`, or split the documents into files".into(),
                        ),
                        pos,
                    });
                }
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| TreeError {
                    message: "alias to an unknown anchor".into(),
                    help: None,
                    pos,
                })?;
                self.alias_nodes += count_nodes(&node);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(TreeError {
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        help: Some(
                            "this looks like an alias bomb; write the values out instead".into(),
                        ),
                        pos,
                    });
                }
                self.push(Node {
                    value: node.value,
                    pos,
                })?;
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = style != TScalarStyle::Plain;
                let len = text.len()
                    + if matches!(
                        style,
                        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                    ) {
                        2
                    } else {
                        0
                    };
                let value =
                    if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Scalar { text, quoted }
                    };
                let node = Node {
                    value,
                    pos: Pos {
                        len: len.max(1),
                        ..pos
                    },
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(
                    Frame::Seq(
                        Node {
                            value: Value::Null,
                            pos,
                        },
                        Vec::new(),
                        anchor,
                    ),
                    pos,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                self.open(
                    Frame::Map(
                        Node {
                            value: Value::Null,
                            pos,
                        },
                        Vec::new(),
                        None,
                        anchor,
                        KeyIndex::default(),
                    ),
                    pos,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(mut node, items, anchor)) => {
                        node.value = Value::Seq(items);
                        (node, anchor)
                    }
                    Some(Frame::Map(mut node, entries, _, anchor, _)) => {
                        // A block mapping's start event points past its first key: start it at that key instead.
                        if let Some((first, _)) = entries.first() {
                            node.pos = Pos {
                                len: node.pos.len.max(1),
                                ..first.pos
                            };
                        }
                        node.value = Value::Map(entries);
                        (node, anchor)
                    }
                    None => return Ok(false),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)?;
            }
        }
        Ok(false)
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), TreeError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(TreeError {
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                help: Some("a spec is at most a few levels deep; this input is not a spec".into()),
                pos,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<(), TreeError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, pending, _, index)) => match pending.take() {
                None => {
                    if !matches!(node.value, Value::Scalar { .. } | Value::Null) {
                        return Err(TreeError {
                            message: "mapping keys must be plain scalars".into(),
                            help: None,
                            pos: node.pos,
                        });
                    }
                    if let Some(line) = index.check(entries, &node) {
                        return Err(TreeError {
                            message: format!(
                                "duplicate key `{}` (first at line {line})",
                                node.as_str().unwrap_or("~"),
                            ),
                            help: Some(
                                "YAML keys must be unique within a mapping; merge the two entries"
                                    .into(),
                            ),
                            pos: node.pos,
                        });
                    }
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod flow_depth_tests {
    use super::*;

    #[test]
    fn counts_flow_nesting_but_not_quoted_or_commented_brackets() {
        assert_eq!(flow_depth("a: [b, [c, {d: e}]]\n"), 3);
        assert_eq!(flow_depth("a: \"[[[[\"\nb: '{{{'\n# [[[[[\n"), 0);
        assert_eq!(
            flow_depth("a: [\"]]]]\", [[x]]]\n"),
            3,
            "a quoted closer hides nothing"
        );
        assert_eq!(flow_depth("a: ['it''s', [don't]]\n"), 2);
        assert_eq!(flow_depth(&"[".repeat(100_000)), 100_000);
        assert_eq!(flow_depth(&"{a: ".repeat(1000)), 1000);
        assert_eq!(
            flow_depth("a: x]]]]\nb: [[y]]\n"),
            2,
            "stray closers never go below zero"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let tree = parse("version: 1\nusers:\n  alice:\n    tags: {a: b}\n").unwrap();
        let (node, key) = tree
            .find(&[Seg::Key("users"), Seg::Key("alice"), Seg::Key("tags")])
            .unwrap();
        assert_eq!(key.unwrap().pos.line, 4);
        assert_eq!(key.unwrap().pos.col, 5);
        assert_eq!(node.pos.line, 4);
    }

    #[test]
    fn alias_bomb_is_refused_fast() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&doc).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "[".repeat(40) + &"]".repeat(40);
        let err = parse(&doc).unwrap_err();
        assert!(
            err.message.contains("nesting deeper than 32"),
            "{}",
            err.message
        );
        // Far deeper input stops in the parser's own recursion guard, just as fast.
        let doc = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse(&doc).is_err());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("users:\n  alice: [\n").unwrap_err();
        assert!(err.message.starts_with("YAML syntax error"));
        assert!(err.pos.line >= 2);
    }

    #[test]
    fn byte_offsets_account_for_multibyte_characters() {
        let tree = parse("# é\nkey: value\n").unwrap();
        let (node, _) = tree.find(&[Seg::Key("key")]).unwrap();
        assert_eq!(
            &"# é\nkey: value\n"[node.pos.offset..node.pos.offset + 5],
            "value"
        );
    }
}
