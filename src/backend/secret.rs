//! Secret-holding types. Their Debug and Display never show the secret, so no log line or error can leak it.

use std::fmt;

/// A secret access key. Only [`Secret::expose`] gives the text, and only secret sinks call it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret text, for writing to a secret sink.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A key CreateAccessKey just made.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    /// The user.
    pub user: String,
    /// The access key id (not secret).
    pub id: String,
    /// The secret.
    pub secret: Secret,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let k = NewAccessKey {
            user: "u".into(),
            id: "AKIAEXAMPLE".into(),
            secret: Secret::new("wJalrXUtnFEMI/K7MDENG".into()),
            created: 0,
        };
        let shown = format!("{k:?} {}", k.secret);
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE"));
    }
}
