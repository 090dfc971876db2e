//! Spec diagnostics: every error and warning names file, line, column and field, and renders with miette.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

use super::tree::Pos;

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

    /// One line per finding (plus its help), the form used in CI logs and snapshots.
    #[must_use]
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&format!("{}\n", self.headline(d)));
            if let Some(help) = &d.help {
                out.push_str(&format!("  help: {help}\n"));
            }
        }
        out
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
            self.file, d.pos.line, d.pos.col, d.field, d.message
        )
    }

    /// miette reports, one per finding, for graphical rendering with source snippets.
    #[must_use]
    pub fn reports(&self) -> Vec<Report> {
        let source = NamedSource::new(self.file.clone(), Arc::clone(&self.source));
        self.items
            .iter()
            .map(|d| Report {
                message: self.location(d),
                severity: d.severity,
                help: d.help.clone(),
                span: SourceSpan::new(d.pos.offset.min(self.source.len()).into(), d.pos.len),
                source: source.clone(),
            })
            .collect()
    }
}

/// One finding as a miette diagnostic.
#[derive(Debug)]
pub struct Report {
    message: String,
    severity: Severity,
    help: Option<String>,
    span: SourceSpan,
    source: NamedSource<Arc<str>>,
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
