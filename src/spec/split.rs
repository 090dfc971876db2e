//! Reading a large spec's `users` mapping in pieces, on every core.
//!
//! serde_norway (like serde_yaml) turns a whole document into a buffer of events before deserialising any of it:
//! a 30 MB spec of 100,000 users costs about 450 MiB of events, and touching that much fresh memory is most of the
//! time on a VM. Here the top-level `users:` block is cut at its entries' lines into pieces of about
//! `piece_bytes`, each read by serde_norway as its own document `users:\n<entries>` (so with the same nesting and
//! limits as in the whole file), while the rest of the file is read with a marker user in place of the block.
//!
//! The cut is only a fast path. Whenever the text is not plainly a block mapping of plain user names, or any piece
//! or the rest fails to read (a cut inside a quoted or flow scalar leaves one unterminated; an alias to another
//! piece's anchor is unknown there), or a user name repeats across pieces, it answers `None` and the caller reads
//! the whole file as one document, which also produces the errors users see. When it answers, the result equals
//! reading the whole file (tested below against serde_norway on the fixtures and on generated specs).

use indexmap::IndexMap;
use serde::Deserialize;

use super::raw::{unique_map, RawSpec, RawUser};

/// Below this size a spec is read whole: cutting gains nothing.
pub(super) const MIN_BYTES: usize = 1024 * 1024;

/// The size of a piece: big enough that per-document overhead vanishes, small enough that a piece's events stay
/// in memory the allocator already has.
pub(super) const PIECE_BYTES: usize = 64 * 1024;

/// Stands for the `users` block while the rest of the file is read. Not a valid IAM user name (it has spaces), so
/// it can never be a real user.
const MARKER: &str = "iamspec cut marker";

/// One piece: `users:` then some of the file's user entries.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Piece {
    #[serde(deserialize_with = "unique_map")]
    users: IndexMap<String, RawUser>,
}

/// Where the file's `users:` block is and where its entries start.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// Offset of the `users:` line.
    key: usize,
    /// Offset just past the block (the next top-level line, or the end).
    end: usize,
    /// Offsets of the entry lines, in order.
    entries: Vec<usize>,
}

/// Reads `text` in pieces of about `piece_bytes` on every core, or `None` when the fast path does not
/// apply (see the module docs).
pub(super) fn read(text: &str, piece_bytes: usize) -> Option<RawSpec> {
    let layout = layout(text)?;
    let mut rest = String::with_capacity(layout.key + text.len() - layout.end + 64);
    rest.push_str(&text[..layout.key]);
    rest.push_str("users: {");
    rest.push_str(MARKER);
    rest.push_str(": {}}\n");
    rest.push_str(&text[layout.end..]);
    let mut raw: RawSpec = serde_norway::from_str(&rest).ok()?;
    // The marker comes back as the only user exactly when the `users:` line is a top-level key of the file (and
    // not, say, a line inside a multi-line quoted scalar).
    if raw.users.len() != 1 || !raw.users.contains_key(MARKER) {
        return None;
    }

    let mut starts = Vec::new();
    let mut last = usize::MAX;
    for &at in &layout.entries {
        if last == usize::MAX || at - last >= piece_bytes {
            starts.push(at);
            last = at;
        }
    }
    let pieces: Vec<&str> = starts
        .iter()
        .enumerate()
        .map(|(i, &from)| &text[from..starts.get(i + 1).copied().unwrap_or(layout.end)])
        .collect();
    raw.users = read_pieces(pieces)?;
    Some(raw)
}

/// Reads the pieces on every core and joins their users in file order; `None` on a failure or on a name that two
/// pieces share.
fn read_pieces(pieces: Vec<&str>) -> Option<IndexMap<String, RawUser>> {
    let parts = crate::par::map_parts(pieces, 1, |part| {
        let mut doc = String::new();
        part.into_iter()
            .map(|piece| {
                doc.clear();
                doc.push_str("users:\n");
                doc.push_str(piece);
                serde_norway::from_str::<Piece>(&doc).ok().map(|p| p.users)
            })
            .collect::<Option<Vec<_>>>()
    });
    let parts = parts.into_iter().collect::<Option<Vec<_>>>()?;
    let mut users = IndexMap::with_capacity(parts.iter().flatten().map(IndexMap::len).sum());
    for (name, user) in parts.into_iter().flatten().flatten() {
        if users.insert(name, user).is_some() {
            return None;
        }
    }
    Some(users)
}

/// Finds the top-level `users:` line and the entry lines of its block, or `None` unless every line of the block is
/// blank, a comment, an entry line (`NAME:` at the block's indentation, NAME an IAM name) or more indented.
fn layout(text: &str) -> Option<Layout> {
    let mut lines = lines(text);
    let key = lines.find(|&(_, line)| is_users_key(line))?.0;
    let mut indent = None;
    let mut entries = Vec::new();
    let mut end = text.len();
    for (at, line) in lines {
        let body = line.trim_end_matches(['\n', '\r']);
        let spaces = body.len() - body.trim_start_matches(' ').len();
        let content = &body[spaces..];
        if content.trim_start_matches([' ', '\t']).is_empty() || content.starts_with('#') {
            continue;
        }
        if spaces == 0 {
            end = at;
            break;
        }
        let n = *indent.get_or_insert(spaces);
        if spaces < n {
            return None;
        }
        if spaces == n {
            if !is_entry(content) {
                return None;
            }
            entries.push(at);
        }
    }
    (!entries.is_empty()).then_some(Layout { key, end, entries })
}

/// Lines with their offsets, each with its line break.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |at, line| {
        let start = *at;
        *at += line.len();
        Some((start, line))
    })
}

/// `users:` at the start of a line, with nothing after it but spaces and a comment.
fn is_users_key(line: &str) -> bool {
    line.strip_prefix("users:").is_some_and(|rest| {
        let rest = rest.trim_end_matches(['\n', '\r']).trim_start_matches(' ');
        rest.is_empty() || rest.starts_with('#')
    })
}

/// `NAME:` ending the line or followed by a space, NAME made of IAM name characters (a plain YAML key).
fn is_entry(content: &str) -> bool {
    let name_len = content
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(b))
        .count();
    name_len > 0
        && content[name_len..]
            .strip_prefix(':')
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with serde_norway on the whole file whenever it answers; returns whether it answered.
    fn agrees(text: &str, piece_bytes: usize) -> bool {
        let whole = serde_norway::from_str::<RawSpec>(text);
        match (read(text, piece_bytes), whole) {
            (None, _) => false,
            (Some(cut), Ok(whole)) => {
                assert_eq!(
                    serde_json::to_value(&cut).unwrap(),
                    serde_json::to_value(&whole).unwrap(),
                    "{text}"
                );
                true
            }
            (Some(_), Err(e)) => panic!("cut read a file serde refuses ({e}):\n{text}"),
        }
    }

    const TWO: &str = "version: 1\nusers:\n  alice:\n    tags: {team: web}\n  bob:\n    grants:\n      - buckets: [b1]\n        access: read\n";

    #[test]
    fn cuts_at_every_entry() {
        assert!(agrees(TWO, 1));
        assert!(agrees(TWO, usize::MAX));
        let layout = layout(TWO).unwrap();
        assert_eq!(layout.entries.len(), 2);
        assert_eq!(layout.end, TWO.len());
    }

    #[test]
    fn keys_after_the_block_comments_and_crlf() {
        let text = "# head\nversion: 1\nusers:   # all of them\n\n  # first\n  alice: {}\n# a column-0 comment\n  bob:\n    adopt: true\nowner: team-a\nprune: false\n";
        assert!(agrees(text, 1));
        assert!(agrees(&text.replace('\n', "\r\n"), 1));
    }

    #[test]
    fn block_scalars_and_multiline_plain_values() {
        let text = "version: 1\nusers:\n  alice:\n    tags:\n      note: a\n        long plain value\n  bob:\n    raw_policies:\n      p: {Version: '2012-10-17', Statement: []}\n";
        assert!(agrees(text, 1));
    }

    #[test]
    fn falls_back_where_a_cut_would_change_the_meaning() {
        // The `users:` line is inside a quoted scalar: the marker does not come back.
        let quoted = "version: 1\nowner: \"a\nusers:\n  x: y\n\"\n";
        assert!(!agrees(quoted, 1));
        // A quoted scalar spanning an entry-like line leaves a piece unterminated.
        let spanning =
            "version: 1\nusers:\n  alice:\n    tags: {a: \"x\n  bob: y\"}\n  carol: {}\n";
        assert!(!agrees(spanning, 1));
        // An alias to another piece's anchor, and a flow root.
        let alias = "version: 1\nusers:\n  alice: &u {adopt: true}\n  bob: *u\n";
        assert!(!agrees(alias, 1));
        assert!(agrees(alias, usize::MAX), "one piece holds both");
        assert!(!agrees("{\nversion: 1,\nusers:\n  {a: {}}\n}\n", 1));
        // Names that are not plain IAM names, a value on the key line, a second document, tabs.
        for text in [
            "version: 1\nusers:\n  \"alice\": {}\n",
            "version: 1\nusers:\n  ? alice\n  : {}\n",
            "version: 1\nusers: {alice: {}}\n",
            "version: 1\nusers:\n  alice: {}\n   bob: {}\n",
            "version: 1\nusers:\n    alice: {}\n  bob: {}\n",
            "version: 1\nusers:\n  alice: {}\n---\nversion: 1\n",
            "version: 1\nusers:\n\talice: {}\n",
        ] {
            assert!(!agrees(text, 1), "{text}");
        }
    }

    #[test]
    fn a_name_in_two_pieces_falls_back() {
        let text = "version: 1\nusers:\n  alice: {}\n  bob: {}\n  alice: {adopt: true}\n";
        assert!(!agrees(text, 1));
        assert!(serde_norway::from_str::<RawSpec>(text).is_err());
    }

    #[test]
    fn every_fixture_and_example_reads_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (mut seen, mut answered) = (0, 0);
        for dir in ["examples", "tests/fixtures/invalid", "tests/fixtures/plans"] {
            let mut stack = vec![root.join(dir)];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|e| e == "yaml") {
                        let text = std::fs::read_to_string(&path).unwrap();
                        answered += usize::from(agrees(&text, 1));
                        seen += 1;
                    }
                }
            }
        }
        // The valid files take the fast path (28 of 50 when this was written); the others are refused by serde.
        assert!(
            seen > 40 && answered > 20,
            "{answered} of {seen} files read in pieces"
        );
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z][a-z0-9]{0,5}".prop_map(|s| s),
                "[A-Z][a-z]{0,3}".prop_map(|s| s),
            ]
        }

        fn user_body() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(" {}".to_owned()),
                Just("\n    adopt: true".to_owned()),
                Just(" {tags: {team: web, \"k\": 'v'}}".to_owned()),
                Just("\n    tags:\n      team: \"multi\n        line\"".to_owned()),
                Just("\n    grants:\n      - buckets: [b1, b2]\n        prefix: in/\n        access: read".to_owned()),
                Just("\n    grants:\n    - {buckets: [b3], actions: ['s3:GetObject']}".to_owned()),
                Just("\n    managed_policies:\n      - arn:aws:iam::aws:policy/ReadOnlyAccess  # ro".to_owned()),
                Just("\n    tags: {note: \"a: b\"}".to_owned()),
                Just("\n    unknown_field: 1".to_owned()),
                Just(" &anchor {adopt: true}".to_owned()),
                Just(" *anchor".to_owned()),
                Just("\n    tags:\n      k: [unclosed".to_owned()),
            ]
        }

        fn spec() -> impl Strategy<Value = String> {
            (
                prop::collection::vec((name(), user_body(), any::<bool>()), 0..8),
                any::<bool>(),
            )
                .prop_map(|(users, tail)| {
                    let mut text = String::from("version: 1\nusers:\n");
                    for (name, body, comment) in users {
                        if comment {
                            text.push_str("# between\n");
                        }
                        text.push_str(&format!("  {name}:{body}\n"));
                    }
                    if tail {
                        text.push_str("owner: team-a\n");
                    }
                    text
                })
        }

        proptest! {
            #[test]
            fn cut_reads_agree_with_whole_reads(text in spec(), piece in 1usize..200) {
                agrees(&text, piece);
            }
        }
    }
}
