//! No input may panic, and none may take more than time linear in its size. Thousands of generated and mutated
//! specs (raw bytes, every fixture and example with random edits, spec-shaped YAML with hostile values) go
//! through load, validation, rendering, a plan against an empty account, both plan views, drift and
//! self-policy. A stand-in for a coverage-guided fuzzer that runs in CI in seconds.

use std::time::{Duration, Instant};

use iamspec::diff::{diff, DiffOptions};
use iamspec::model::Account;
use proptest::prelude::*;

/// Every stage a spec goes through, on `text`. Panics propagate to proptest, which shrinks and reports them.
fn exercise(text: &str) {
    let Ok(loaded) = iamspec::spec::load("fuzz.yaml", text) else {
        return;
    };
    for user in &loaded.spec.users {
        if let Some(doc) = user.grants_policy() {
            let _ = doc.size();
            let _ = doc.to_pretty_json();
        }
    }
    let _ = iamspec::selfpolicy::policy(&loaded.spec);
    let opts = DiffOptions {
        now: 1_700_000_000,
        only: None,
        account_id: Some("123456789012".into()),
    };
    let Ok(plan) = diff(&loaded.spec, &Account::default(), &opts) else {
        return;
    };
    let mut out = Vec::new();
    iamspec::render::text::plan(&mut out, &plan, iamspec::render::text::View::default()).unwrap();
    iamspec::render::json::plan(&mut out, &plan, iamspec::render::json::PlanFor::default())
        .unwrap();
    let report = iamspec::drift::report(
        &plan,
        &Account::default(),
        None,
        "123456789012",
        String::new(),
    );
    iamspec::render::text::drift(
        &mut out,
        &report,
        iamspec::render::text::Style::default(),
        true,
    )
    .unwrap();
}

/// Runs [`exercise`] and checks it took time linear in the input: a generous constant per byte, so only a
/// super-linear blow-up (seconds where milliseconds are due) fails.
fn linear(text: &str) {
    let started = Instant::now();
    exercise(text);
    let budget = Duration::from_millis(1_500) + Duration::from_micros(60) * text.len() as u32;
    let took = started.elapsed();
    assert!(
        took < budget,
        "{} bytes took {took:?} (budget {budget:?})",
        text.len()
    );
}

fn fixtures() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["tests/fixtures/invalid", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    for entry in std::fs::read_dir(root.join("tests/fixtures/plans")).unwrap() {
        files.push(entry.unwrap().path().join("spec.yaml"));
    }
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Pieces that mean something to YAML or to iamspec, and hostile characters.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    "- ",
    ",",
    "\n",
    "\n  ",
    "\t",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "---\n",
    "...\n",
    "~",
    "!!str ",
    "!!binary ",
    "? ",
    "|\n",
    ">-\n",
    "\u{1b}[2K",
    "\u{202e}",
    "\u{0}",
    "\r\n",
    "\u{feff}",
    "version: 1",
    "users:",
    "grants:",
    "buckets: [",
    "access: read",
    "prefix: ",
    "actions: [s3:*]",
    "*",
    "${aws:username}",
    "policies:",
    "adopt: true",
    "prune: true",
    "access_keys: {count: 2}",
    "managed_policies: [",
    "arn:aws:iam::aws:policy/X",
    "9999999999999999999999",
    "-1",
    "1e400",
    "users: ~",
    "&x [*x, *x, *x]",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (0..TOKENS.len(), 1usize..3_000).prop_map(|(t, n)| Edit::Repeat(t, n)),
    ]
}

fn floor(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, e: &Edit) {
    match *e {
        Edit::Insert(at, t) => {
            let at = floor(text, at);
            text.insert_str(at, TOKENS[t]);
        }
        Edit::Delete(at, n) => {
            let a = floor(text, at);
            let b = floor(text, (a + n).min(text.len()));
            if b > a {
                text.replace_range(a..b, "");
            }
        }
        Edit::DuplicateLine(i) | Edit::SwapLines(i, _) if text.lines().count() == 0 => {
            let _ = i;
        }
        Edit::DuplicateLine(i) => {
            let mut lines: Vec<&str> = text.lines().collect();
            let i = i % lines.len();
            lines.insert(i, lines[i]);
            *text = lines.join("\n");
        }
        Edit::SwapLines(a, b) => {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
            *text = lines.join("\n");
        }
        Edit::Repeat(t, n) => text.push_str(&TOKENS[t].repeat(n)),
    }
}

/// A scalar: often valid, sometimes hostile.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{2,20}",
        "[A-Za-z0-9_./*?$\\{\\}-]{0,30}",
        proptest::sample::select(TOKENS.to_vec()).prop_map(|t| format!("{t:?}")),
        "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
        (1usize..2_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Spec-shaped YAML: the real field names with generated values, in block or flow style.
fn spec_text() -> impl Strategy<Value = String> {
    let grant = (
        proptest::collection::vec(value(), 0..4),
        proptest::option::of(value()),
        proptest::option::of(proptest::sample::select(vec![
            "list",
            "read",
            "write",
            "read-write",
            "full",
            "bogus",
        ])),
        proptest::option::of(proptest::collection::vec(value(), 0..4)),
    )
        .prop_map(|(buckets, prefix, access, actions)| {
            let mut g = format!("{{buckets: [{}]", buckets.join(", "));
            if let Some(p) = prefix {
                g.push_str(&format!(", prefix: {p}"));
            }
            if let Some(a) = access {
                g.push_str(&format!(", access: {a}"));
            }
            if let Some(a) = actions {
                g.push_str(&format!(", actions: [{}]", a.join(", ")));
            }
            g.push('}');
            g
        });
    let user = (
        value(),
        proptest::collection::vec(grant, 0..3),
        proptest::collection::vec((value(), value()), 0..3),
        proptest::option::of(0u32..4),
        any::<bool>(),
    )
        .prop_map(|(name, grants, tags, keys, adopt)| {
            let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let mut u = format!(
                "  {name}:\n    grants: [{}]\n    tags: {{{}}}\n",
                grants.join(", "),
                tags.join(", ")
            );
            if let Some(n) = keys {
                u.push_str(&format!("    access_keys: {{count: {n}}}\n"));
            }
            if adopt {
                u.push_str("    adopt: true\n");
            }
            u
        });
    (
        proptest::collection::vec(user, 0..6),
        proptest::option::of(value()),
        proptest::option::of(value()),
        any::<bool>(),
    )
        .prop_map(|(users, owner, path, prune)| {
            let mut s = String::from("version: 1\naccount_id: \"123456789012\"\n");
            if let Some(o) = owner {
                s.push_str(&format!("owner: {o}\n"));
            }
            if let Some(p) = path {
                s.push_str(&format!("path: {p}\n"));
            }
            if prune {
                s.push_str("prune: true\n");
            }
            s.push_str("users:\n");
            for u in users {
                s.push_str(&u);
            }
            s
        })
}

/// 3,000 cases per strategy in CI; `PROPTEST_CASES=100000 cargo test --release --test fuzz` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn raw_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        linear(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn edited_fixtures_never_panic(pick in any::<usize>(), edits in proptest::collection::vec(edit(), 1..8)) {
        let all = fixtures();
        let mut text = all[pick % all.len()].clone();
        for e in &edits {
            apply(&mut text, e);
        }
        linear(&text);
    }

    #[test]
    fn generated_specs_never_panic(text in spec_text()) {
        linear(&text);
    }
}

/// The shapes that were super-linear before, at sizes where a quadratic cost would show.
#[test]
fn known_pathological_shapes_are_linear() {
    for text in [
        "[".repeat(200_000),
        "{a: ".repeat(60_000),
        format!(
            "version: 1\nusers: {{{}}}\n",
            (0..20_000)
                .map(|i| format!("u{i}: {{}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("version: 1\nusers:\n{}", "  - [\n".repeat(30_000)),
        format!(
            "a: &a [{}]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
            "x, ".repeat(10_000)
        ),
    ] {
        linear(&text);
    }
}
