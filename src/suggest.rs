//! "Did you mean": the closest known name to a mistyped one, by edit distance.

/// Words longer than this get no suggestion: typos are short, and the distance costs the product of the lengths.
const MAX_WORD: usize = 256;

/// The candidate closest to `word` (case-insensitively), if close enough to be a likely typo: within two edits, or
/// a quarter of the candidate's length for long names. Ties go to the first candidate.
#[must_use]
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > MAX_WORD {
        return None;
    }
    let word = word.to_ascii_lowercase();
    candidates
        .filter(|c| c.len() <= MAX_WORD)
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
#[must_use]
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("grnats", "grants"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let users = ["iam_pixelshift", "ewww-optimizer"];
        assert_eq!(
            closest("iam_pixelshif", users.into_iter()),
            Some("iam_pixelshift")
        );
        assert_eq!(
            closest("IAM_PIXELSHIFT", users.into_iter()),
            Some("iam_pixelshift")
        );
        assert_eq!(closest("someone-else", users.into_iter()), None);
        assert_eq!(closest(&"x".repeat(10_000), users.into_iter()), None);
    }
}
