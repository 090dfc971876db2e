//! IAM and S3 naming rules: user, group, policy and bucket names, tag keys and values, paths, policy ARNs.

use std::net::Ipv4Addr;

/// What is wrong with a bucket name under today's S3 rules, if anything.
pub(super) fn bucket_problem(b: &str) -> Option<&'static str> {
    if b.len() < 3 || b.len() > 63 {
        return Some("it must be 3-63 characters long");
    }
    if b.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("it has capital letters");
    }
    if !b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Some("it has characters other than a-z 0-9 . -");
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(b.chars().next()) || !edge(b.chars().last()) {
        return Some("it must start and end with a letter or digit");
    }
    if b.contains("..") {
        return Some("it has two adjacent periods");
    }
    if b.parse::<Ipv4Addr>().is_ok() {
        return Some("it is formatted as an IP address");
    }
    if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| b.starts_with(p))
    {
        return Some("it starts with a reserved prefix");
    }
    if ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        .iter()
        .any(|s| b.ends_with(s))
    {
        return Some("it ends with a reserved suffix");
    }
    None
}

pub(super) fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

pub(super) fn valid_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(iam_name_char)
}

pub(super) fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(iam_name_char)
}

pub(super) fn tag_char(c: char) -> bool {
    // IAM's tag alphabet is letters, digits, separators and _ . : / = + - @; control characters (newlines and tabs
    // among them) and invisible bidi controls are neither, and would reach terminals through plans.
    (c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
        && !crate::display::is_unsafe(c)
}

pub(super) fn valid_iam_path(path: &str) -> bool {
    path == "/"
        || (path.len() <= 512
            && path.len() >= 2
            && path.starts_with('/')
            && path.ends_with('/')
            && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
            && !path.contains("//"))
}

/// `arn:PARTITION:iam::(aws|ACCOUNT):policy/[PATH/]NAME`.
pub(crate) fn valid_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        return false;
    }
    if !matches!(
        parts[1],
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    ) {
        return false;
    }
    if parts[4] != "aws" && !(parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let Some(rest) = parts[5].strip_prefix("policy/") else {
        return false;
    };
    let name = rest.rsplit('/').next().unwrap_or("");
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(iam_name_char)
        && rest.chars().all(|c| c == '/' || iam_name_char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        assert_eq!(bucket_problem("photos-prod"), None);
        assert_eq!(bucket_problem("a.b-c1"), None);
        assert!(bucket_problem("ab").is_some());
        assert!(bucket_problem("192.168.1.1").is_some());
        assert!(bucket_problem("a..b").is_some());
        assert!(bucket_problem("-abc").is_some());
        assert!(bucket_problem("xn--abc").is_some());
        assert!(bucket_problem(&"a".repeat(64)).is_some());
    }
    #[test]
    fn policy_arns() {
        assert!(valid_policy_arn(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ));
        assert!(valid_policy_arn(
            "arn:aws:iam::123456789012:policy/team/s3-read"
        ));
        assert!(!valid_policy_arn("arn:aws:iam::12345:policy/x"));
        assert!(!valid_policy_arn("AmazonS3ReadOnlyAccess"));
        assert!(!valid_policy_arn("arn:aws:iam::aws:role/x"));
    }
    #[test]
    fn paths() {
        assert!(valid_iam_path("/"));
        assert!(valid_iam_path("/iamspec/"));
        assert!(valid_iam_path("/a/b/"));
        assert!(!valid_iam_path("iamspec/"));
        assert!(!valid_iam_path("/iamspec"));
        assert!(!valid_iam_path("/a//b/"));
    }
}
