//! Text from outside (spec values, live IAM names, tags, policy documents, service messages) made safe for a
//! terminal: control characters and the Unicode controls that reorder or hide text are shown escaped, so an
//! `ESC` sequence cannot rewrite a reviewer's screen and a bidi override cannot make a plan read differently from
//! what it does.

use std::borrow::Cow;
use std::fmt;

/// Whether a character must not reach a terminal as itself: C0 and C1 controls (tab and newline included: a
/// value never spans lines), DEL, and the invisible bidi and formatting controls.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with every unsafe character escaped (`\n`, `\t`, `\u{1b}`, `\u{202e}`); borrowed when nothing needs it.
#[must_use]
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes a line for a terminal but keeps it on one line: as [`escape`], for use in `format!` (`{}`).
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(escape("photos-prod/ünï"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape("x\u{1b}[2Ky"), "x\\u{1b}[2Ky");
        assert_eq!(escape("\u{0}"), "\\u{0}");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("\u{9b}"), "\\u{9b}", "C1 CSI");
        assert_eq!(Escaped("a\u{7f}").to_string(), "a\\u{7f}");
    }
}
