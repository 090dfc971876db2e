//! Spec diagnostics: every error and warning names file, line, column and field, and renders with miette.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::tree::Pos;
use crate::display::{escape, is_unsafe};

/// At most this many findings are shown; the rest are counted ("and 49,900 more"). A file with 50,000 mistakes
/// needs its first ones fixed, not a screenful each of all of them.
pub const SHOWN: usize = 100;

/// A snippet line longer than this many characters is cut to a window around the finding.
const WINDOW: usize = 160;

/// Error or lint warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Makes the spec invalid.
    Error,
    /// Allowed, but worth a second look; an error under `--strict`.
    Warning,
}

/// One located finding about a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The field path, e.g. `users.alice.grants[0].buckets[1]`.
    pub field: String,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where.
    pub pos: Pos,
    /// The lint rule of a warning (its name, as `lint.allow` takes it).
    pub rule: Option<&'static str>,
}

/// All findings for one spec file, with the source for snippets.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The file name as given on the command line.
    pub file: String,
    /// The file's text.
    pub source: Arc<str>,
    /// Findings in file order, errors and warnings mixed.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// How many errors and warnings.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        let errors = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        (errors, self.items.len() - errors)
    }

    /// One line per finding (plus its help), the first [`SHOWN`] of them, then how many more: the form used in CI
    /// logs and snapshots. Values from the file are escaped.
    #[must_use]
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for d in self.items.iter().take(SHOWN) {
            out.push_str(&format!("{}\n", self.headline(d)));
            if let Some(help) = &d.help {
                out.push_str(&format!("  help: {}\n", escape(help)));
            }
        }
        if let Some(more) = self.more() {
            out.push_str(&more);
            out.push('\n');
        }
        out
    }

    /// "... and N more findings", when more than [`SHOWN`] were found.
    #[must_use]
    pub fn more(&self) -> Option<String> {
        let hidden = self.items.len().checked_sub(SHOWN).filter(|n| *n > 0)?;
        let errors = self.items[SHOWN..]
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Some(format!(
            "... and {hidden} more finding(s) ({errors} error(s), {} warning(s)); fix these first",
            hidden - errors
        ))
    }

    /// `error: FILE:LINE:COL: FIELD: MESSAGE`.
    #[must_use]
    pub fn headline(&self, d: &Diagnostic) -> String {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!("{level}: {}", self.location(d))
    }

    fn location(&self, d: &Diagnostic) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            escape(&self.file),
            d.pos.line,
            d.pos.col,
            escape(&d.field),
            escape(&d.message)
        )
    }

    /// miette reports for the first [`SHOWN`] findings, each with a snippet of its own lines.
    #[must_use]
    pub fn reports(&self) -> Vec<Report> {
        self.items
            .iter()
            .take(SHOWN)
            .map(|d| {
                let source = Snippet::around(&self.file, &self.source, &d.pos);
                Report {
                    message: self.location(d),
                    severity: d.severity,
                    help: d.help.as_deref().map(|h| escape(h).into_owned()),
                    span: source.span,
                    source,
                }
            })
            .collect()
    }
}

/// The lines around one finding (the line before, its line, the line after), each cut to a window around the
/// finding's column and escaped, with their original line numbers: what miette renders instead of the whole
/// file. Rendering stays linear in the number of findings however large the file, a 100,000-character line shows
/// as 160, and a control character in the file cannot reach the terminal.
#[derive(Debug)]
pub struct Snippet {
    name: String,
    text: String,
    /// The original (0-based) number of the snippet's first line.
    first_line: usize,
    /// The finding's original (0-based) column: the window may start far along its line.
    col: usize,
    span: SourceSpan,
}

impl Snippet {
    fn around(file: &str, source: &str, pos: &Pos) -> Self {
        let offset = floor_char_boundary(source, pos.offset.min(source.len()));
        let start_of = |i: usize| source[..i].rfind('\n').map_or(0, |n| n + 1);
        let end_of = |i: usize| source[i..].find('\n').map_or(source.len(), |n| i + n);
        let line_start = start_of(offset);
        let line_end = end_of(line_start);
        // The window (in characters of the finding's line) every snippet line is cut to.
        let col = source[line_start..offset].chars().count();
        let from = col.saturating_sub(WINDOW / 2);
        let mut lines: Vec<(usize, usize)> = Vec::new();
        if line_start > 0 {
            lines.push((start_of(line_start - 1), line_start - 1));
        }
        lines.push((line_start, line_end));
        if line_end < source.len() {
            lines.push((line_end + 1, end_of(line_end + 1)));
        }
        let first_line = pos.line.saturating_sub(1 + usize::from(line_start > 0));
        let span_end = floor_char_boundary(source, (offset + pos.len.max(1)).min(line_end));
        let mut text = String::new();
        let mut span = (0, 0);
        for (i, (start, end)) in lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let this = *start == line_start;
            if from > 0 && source[*start..*end].chars().nth(from).is_some() {
                text.push('…');
            }
            for (shown, (byte, c)) in source[*start..*end].char_indices().skip(from).enumerate() {
                let at = start + byte;
                if this && at == offset {
                    span.0 = text.len();
                }
                if shown == WINDOW {
                    text.push('…');
                    break;
                }
                if c == '\t' || c == ' ' || !is_unsafe(c) {
                    text.push(c);
                } else {
                    text.push_str(&escape(c.encode_utf8(&mut [0; 4])));
                }
                if this && at < span_end {
                    span.1 = text.len();
                }
            }
            if this && offset >= *end {
                span.0 = text.len();
            }
        }
        let len = span.1.saturating_sub(span.0);
        Self {
            name: file.to_owned(),
            text,
            first_line,
            col: pos.col.saturating_sub(1),
            span: SourceSpan::new(span.0.into(), len),
        }
    }
}

/// The largest char boundary at or below `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // miette heads the snippet with the label's own line and column: give the original ones.
        let column = if *span == self.span {
            self.col
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            escape(&self.name).into_owned(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

/// One finding as a miette diagnostic.
#[derive(Debug)]
pub struct Report {
    message: String,
    severity: Severity,
    help: Option<String>,
    span: SourceSpan,
    source: Snippet,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            None, self.span,
        ))))
    }
}

/// Formats a field path from its segments: `users.alice.grants[0]`.
#[must_use]
pub fn field_path(path: &[super::tree::Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            super::tree::Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.contains(['.', '[', ' ']) || k.is_empty() {
                    out.push_str(&format!("{k:?}"));
                } else {
                    out.push_str(k);
                }
            }
            super::tree::Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push_str("(document)");
    }
    out
}
