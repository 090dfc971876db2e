//! Backend errors: typed by what the caller can do about them, with a hint for people and the underlying cause
//! (the SDK's error) kept as the `source`, shown at `-v`.

use std::sync::Arc;

/// What kind of failure, as far as retrying and reporting care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// EntityAlreadyExists.
    AlreadyExists,
    /// NoSuchEntity.
    NoSuchEntity,
    /// DeleteConflict: something still depends on the entity.
    DeleteConflict,
    /// LimitExceeded: an IAM quota.
    LimitExceeded,
    /// AccessDenied / UnauthorizedOperation.
    AccessDenied,
    /// Credentials missing, invalid or expired.
    Credentials,
    /// Throttling / rate exceeded.
    Throttling,
    /// 5xx from the service.
    Server,
    /// The request may not have reached IAM (connect, timeout, dropped connection).
    Transport,
    /// The request was refused as malformed.
    Invalid,
    /// The endpoint does not implement the call (an emulator).
    Unsupported,
    /// The local account file is unusable.
    LocalFile,
    /// iamspec refused to send the call (the ownership guard).
    Refused,
    /// No connection could be made (refused, no route, DNS): the request was never sent.
    Unreachable,
    /// The client is misconfigured (endpoint, region): no request was sent, and retrying cannot help.
    Config,
    /// The response was not one IAM sends: larger than any IAM response, cut short, or pages that never end.
    BadResponse,
    /// Anything else.
    Other,
}

/// A failed backend call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}{}: {message}", target.as_deref().map(|t| format!(" {t}")).unwrap_or_default())]
pub struct BackendError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The API operation (`CreateUser`).
    pub operation: String,
    /// The entity it was about, if any.
    pub target: Option<String>,
    /// The service's message (never a secret).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether the request may have taken effect though it failed (a lost response).
    pub ambiguous: bool,
    /// The underlying error (the SDK's), for the "caused by" chain.
    #[source]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// A new error.
    #[must_use]
    pub fn new(kind: ErrorKind, operation: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self {
            kind,
            operation: operation.into(),
            target: None,
            message: message.into(),
            hint: None,
            ambiguous: false,
            source: None,
        };
        e.hint = default_hint(&e);
        e
    }

    /// The same error about `target`.
    #[must_use]
    pub fn on(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self.hint = default_hint(&self).or(self.hint);
        self
    }

    /// The same error caused by `source`.
    #[must_use]
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Whether retrying with backoff may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttling
                | ErrorKind::Server
                | ErrorKind::Transport
                | ErrorKind::Unreachable
        )
    }
}

fn default_hint(e: &BackendError) -> Option<String> {
    Some(match e.kind {
        ErrorKind::AccessDenied => format!(
            "the credentials in use may not call iam:{}{}; `iamspec self-policy` prints the policy iamspec needs",
            e.operation,
            e.target.as_deref().map(|t| format!(" on {t}")).unwrap_or_default()
        ),
        ErrorKind::Credentials => {
            "give credentials with --profile / AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or refresh \
             the session (aws sso login); `--local FILE` works without AWS"
                .into()
        }
        ErrorKind::Transport => "check the network and --endpoint-url / AWS_ENDPOINT_URL".into(),
        ErrorKind::Unreachable => {
            "is the endpoint up? check --endpoint-url / AWS_ENDPOINT_URL and the network".into()
        }
        ErrorKind::Config => "check --endpoint-url (it needs http:// or https://), --region and --profile".into(),
        ErrorKind::Throttling => "IAM is rate-limiting this account; retry later or lower --concurrency".into(),
        ErrorKind::LimitExceeded => "an IAM quota was reached; see the account's IAM quotas".into(),
        ErrorKind::BadResponse => {
            "the endpoint answered with something IAM never sends; check --endpoint-url / AWS_ENDPOINT_URL".into()
        }
        ErrorKind::DeleteConflict => "something still depends on it; re-run `iamspec plan` to see what".into(),
        _ => return None,
    })
}
