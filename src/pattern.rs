//! IAM's wildcard patterns, in one place: `*` matches any run of characters (`/` included), `?` any one
//! character. Policy variables can put a literal `*` or `?` into a pattern (`${*}`, `${?}`, or a substituted
//! value), so a pattern is a list of tokens rather than a string. Linear in the text for any number of `*`
//! (backtracking only to the last star). A leaf: it imports nothing of the crate.

/// Stands for "any characters" in a probe request: no policy names it, so only a wildcard matches it. The access
/// questions ("some object there"), the access changes and the guardrails ask at resources made with it.
pub const PROBE_ANY: &str = "\u{1}";

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// This character, literally.
    Lit(char),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: any one character.
    AnyOne,
}

/// The tokens of `text` read as a pattern: `*` and `?` are wildcards, everything else literal.
#[must_use]
pub fn parse(text: &str) -> Vec<Tok> {
    text.chars().map(special).collect()
}

/// The token for one character of pattern text.
#[must_use]
pub fn special(c: char) -> Tok {
    match c {
        '*' => Tok::AnyRun,
        '?' => Tok::AnyOne,
        c => Tok::Lit(c),
    }
}

/// The tokens of `text` taken literally (a substituted variable's value).
pub fn literal(text: &str) -> impl Iterator<Item = Tok> + '_ {
    text.chars().map(Tok::Lit)
}

/// The pattern's text with wildcards written as `*` and `?` (for string comparison operators, where they are
/// plain characters).
#[must_use]
pub fn text(tokens: &[Tok]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::AnyRun => '*',
            Tok::AnyOne => '?',
        })
        .collect()
}

/// The matcher over any pattern and text elements: `tok` reads a pattern element, `same` compares a literal
/// with a text element. Allocation-free, so the evaluator can ask it millions of times.
fn core<P: Copy, C: Copy>(
    pattern: &[P],
    text: &[C],
    tok: impl Fn(P) -> Tok,
    same: impl Fn(char, C) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < text.len() {
        match pattern.get(pi).map(|p| tok(*p)) {
            Some(Tok::AnyOne) => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some(Tok::Lit(p)) if same(p, text[ti]) => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some(Tok::AnyRun) => {
                star = Some(pi);
                mark = ti;
                pi += 1;
                continue;
            }
            _ => {}
        }
        let Some(s) = star else { return false };
        pi = s + 1;
        mark += 1;
        ti = mark;
    }
    pattern[pi..].iter().all(|p| tok(*p) == Tok::AnyRun)
}

fn same_char(ignore_case: bool) -> impl Fn(char, char) -> bool {
    move |p, c| p == c || (ignore_case && p.eq_ignore_ascii_case(&c))
}

/// Whether `tokens` match all of `text`; `ignore_case` compares ASCII letters without case.
#[must_use]
pub fn matches(tokens: &[Tok], text: &str, ignore_case: bool) -> bool {
    let same = same_char(ignore_case);
    if text.is_ascii() {
        core(
            tokens,
            text.as_bytes(),
            |t| t,
            |p, c| same(p, char::from(c)),
        )
    } else {
        let t: Vec<char> = text.chars().collect();
        core(tokens, &t, |t| t, same)
    }
}

fn text_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let same = same_char(ignore_case);
    if pattern.is_ascii() && text.is_ascii() {
        core(
            pattern.as_bytes(),
            text.as_bytes(),
            |b| special(char::from(b)),
            |p, c| same(p, char::from(c)),
        )
    } else {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        core(&p, &t, special, same)
    }
}

/// `pattern` (`*` and `?` wildcards) matches all of `text`, case-sensitively (resources, ARNs).
#[must_use]
pub fn wildcard(pattern: &str, text: &str) -> bool {
    text_match(pattern, text, false)
}

/// `pattern` matches all of `text`, ignoring ASCII case (action names, IAM names).
#[must_use]
pub fn wildcard_ignore_case(pattern: &str, text: &str) -> bool {
    text_match(pattern, text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(
            "arn:aws:s3:::*/team/*",
            "arn:aws:s3:::b/other/team/x"
        ));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
        assert!(wildcard("*", "") && wildcard("a*", "a"));
        assert!(!wildcard("arn:aws:s3:::b/p*", "arn:aws:s3:::b/q"));
        assert!(!wildcard("s3:Get*", "s3:getobject"));
        assert!(wildcard_ignore_case("S3:get*", "s3:GetObject"));
        let long = "x".repeat(10_000);
        assert!(
            !wildcard(&format!("{}y", "*x".repeat(50)), &long),
            "no exponential backtracking"
        );
    }

    #[test]
    fn literal_tokens_are_not_wildcards() {
        let mut p = parse("b/");
        p.extend(literal("*"));
        assert!(matches(&p, "b/*", false));
        assert!(!matches(&p, "b/x", false));
        p.push(Tok::AnyRun);
        assert!(matches(&p, "b/*x", false) && !matches(&p, "b/x", false));
        assert_eq!(text(&p), "b/**");
    }

    #[test]
    fn non_ascii_text_and_patterns() {
        assert!(wildcard("b/é*", "b/éa") && !wildcard("b/é?", "b/é"));
        assert!(matches(&parse("b/*"), "b/日本", false));
        assert!(wildcard_ignore_case("É*", "É") && !wildcard_ignore_case("é", "É"));
    }
}
