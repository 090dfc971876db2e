//! SDK errors as typed backend errors: IAM's error codes, HTTP statuses, and the transport's failures (refused
//! connections, timeouts, a body cut short) classified so the retry policy and the hints can act on them.

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::backend::{BackendError, ErrorKind};

/// Turns an SDK error into a typed backend error.
pub(super) fn map_err<E>(
    operation: &str,
    target: Option<&str>,
    e: SdkError<E, HttpResponse>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(why) = crate::backend::bounded::bad_response(&e) {
        let mut err = BackendError::new(ErrorKind::BadResponse, operation, why).caused_by(e);
        if let Some(t) = target {
            err = err.on(t);
        }
        return err;
    }
    let (kind, message, ambiguous) = match &e {
        SdkError::ServiceError(ctx) => {
            let err = ctx.err();
            let code = err.code().unwrap_or("Unknown");
            let status = ctx.raw().status().as_u16();
            let kind = match code {
                // A bare 500 with no IAM error code is not IAM talking: emulators answer so for calls they lack.
                "Unknown" if status == 500 => ErrorKind::Unsupported,
                "EntityAlreadyExists" => ErrorKind::AlreadyExists,
                "NoSuchEntity" => ErrorKind::NoSuchEntity,
                "DeleteConflict" => ErrorKind::DeleteConflict,
                "LimitExceeded" => ErrorKind::LimitExceeded,
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    ErrorKind::AccessDenied
                }
                "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidAccessKeyId"
                | "UnrecognizedClientException"
                | "MissingAuthenticationToken"
                | "IncompleteSignature" => ErrorKind::Credentials,
                "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "RequestThrottled" => ErrorKind::Throttling,
                "ServiceFailure" | "InternalFailure" | "ServiceUnavailable" | "InternalError" => {
                    ErrorKind::Server
                }
                "MalformedPolicyDocument" | "InvalidInput" | "ValidationError" => {
                    ErrorKind::Invalid
                }
                _ if ctx.raw().status().is_server_error() => ErrorKind::Server,
                _ => ErrorKind::Other,
            };
            let message = if kind == ErrorKind::Unsupported {
                format!("the endpoint does not implement {operation} (HTTP 500 without an IAM error code)")
            } else if code == "Unknown" && err.message().is_none() {
                // Not IAM's error shape (a wrong path, a proxy's page, malformed XML): say what came back.
                let body = ctx.raw().body().bytes().unwrap_or_default();
                let start = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
                format!(
                    "HTTP {status} without an IAM error; the response began: {}",
                    crate::display::Escaped(start.trim())
                )
            } else {
                format!("{code}: {}", err.message().unwrap_or("no message"))
            };
            // A 5xx may have been applied before the failure.
            (kind, message, kind == ErrorKind::Server)
        }
        SdkError::TimeoutError(_) => (
            ErrorKind::Transport,
            "timed out waiting for IAM".to_owned(),
            true,
        ),
        SdkError::DispatchFailure(d) => {
            // One line for people: the innermost cause ("Connection refused (os error 111)"); the SDK's whole
            // chain stays the source, shown at -v.
            let cause = innermost(&e);
            if chain_mentions(&e, "InvalidContentType") || chain_mentions(&e, "corrupt message") {
                // TLS to a server that answered in plain HTTP: no retry can help.
                (
                    ErrorKind::Config,
                    "the endpoint answered in plain HTTP to an https:// URL".to_owned(),
                    false,
                )
            } else if chain_mentions(&e, "tcp connect error") || chain_mentions(&e, "dns error") {
                // The connection was never made, so the request was never sent.
                (
                    ErrorKind::Unreachable,
                    format!("could not connect: {cause}"),
                    false,
                )
            } else if chain_mentions(&e, "credentials") && in_transit(&e) {
                // Fetching credentials (an assumed role's STS call) timed out or lost its connection: nothing was
                // sent to IAM yet, and another try may get them.
                (
                    ErrorKind::Transport,
                    format!("getting credentials failed: {cause}"),
                    false,
                )
            } else if chain_mentions(&e, "credentials") {
                (
                    ErrorKind::Credentials,
                    "no usable AWS credentials were found".to_owned(),
                    false,
                )
            } else if d.is_user() || chain_mentions(&e, "failed to apply endpoint") {
                // A request the SDK could not even build: configuration, which retrying cannot fix.
                (ErrorKind::Config, cause, false)
            } else {
                // Sent, perhaps served, and the connection lost: it may have taken effect.
                (
                    ErrorKind::Transport,
                    format!("connection lost: {cause}"),
                    true,
                )
            }
        }
        SdkError::ResponseError(_) => (
            ErrorKind::Transport,
            format!("the response could not be read: {}", innermost(&e)),
            true,
        ),
        _ => {
            let cause = innermost(&e);
            let kind = if chain_mentions(&e, "credentials") && in_transit(&e) {
                // As above: the credentials' own call failed in transit; IAM was not called.
                ErrorKind::Transport
            } else if chain_mentions(&e, "credentials") {
                ErrorKind::Credentials
            } else {
                ErrorKind::Config
            };
            (kind, cause, false)
        }
    };
    let mut err = BackendError::new(kind, operation, message).caused_by(e);
    if let Some(t) = target {
        err = err.on(t);
    }
    err.ambiguous = ambiguous;
    err
}

/// Whether a credentials failure is the credentials' own call failing in transit (timed out, connection lost,
/// throttled), not a refusal.
fn in_transit(e: &(dyn std::error::Error + 'static)) -> bool {
    [
        "timeout",
        "tcp connect error",
        "connection closed",
        "Throttling",
    ]
    .iter()
    .any(|word| chain_mentions(e, word))
}

/// The deepest cause under a backend error (its own message when it has none).
pub(super) fn innermost_of(e: &BackendError) -> String {
    match std::error::Error::source(e) {
        Some(source) => innermost(source),
        None => e.message.clone(),
    }
}

/// The deepest error in `e`'s chain, which names the actual problem; the outer layers only say where it happened.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    deepest.to_string()
}

/// Whether any error in `e`'s chain mentions `word` (the SDK says "credentials" only in the outer layers).
fn chain_mentions(e: &(dyn std::error::Error + 'static), word: &str) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.to_string().contains(word) {
            return true;
        }
        next = err.source();
    }
    false
}

/// `.map_err_into(op, target)` on SDK futures.
pub(super) trait MapErrInto<T> {
    fn map_err_into(
        self,
        op: &'static str,
        target: &str,
    ) -> impl std::future::Future<Output = Result<T, BackendError>> + Send;
}

impl<T, E, F> MapErrInto<T> for F
where
    F: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>> + Send,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn map_err_into(
        self,
        op: &'static str,
        target: &str,
    ) -> impl std::future::Future<Output = Result<T, BackendError>> + Send {
        let target = target.to_owned();
        async move {
            self.await.map_err(|e| {
                map_err(
                    op,
                    Some(&target).filter(|t| !t.is_empty()).map(String::as_str),
                    e,
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::error::ErrorMetadata;
    use aws_sdk_iam::operation::get_user::GetUserError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service(
        status: u16,
        code: Option<&str>,
        body: &str,
    ) -> SdkError<GetUserError, HttpResponse> {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code).message("said IAM");
        }
        SdkError::service_error(
            GetUserError::generic(meta.build()),
            HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(body.to_owned()),
            ),
        )
    }

    #[test]
    fn iam_codes_and_statuses_become_kinds() {
        for (status, code, kind) in [
            (409, "EntityAlreadyExists", ErrorKind::AlreadyExists),
            (404, "NoSuchEntity", ErrorKind::NoSuchEntity),
            (409, "DeleteConflict", ErrorKind::DeleteConflict),
            (403, "AccessDenied", ErrorKind::AccessDenied),
            (403, "ExpiredToken", ErrorKind::Credentials),
            (400, "Throttling", ErrorKind::Throttling),
            (500, "ServiceFailure", ErrorKind::Server),
            (400, "MalformedPolicyDocument", ErrorKind::Invalid),
            (503, "SomethingNew", ErrorKind::Server),
            (400, "SomethingNew", ErrorKind::Other),
        ] {
            let e = map_err("GetUser", Some("alice"), service(status, Some(code), ""));
            assert_eq!(e.kind, kind, "{code}");
            assert!(e.to_string().contains(code), "{e}");
        }
    }

    #[test]
    fn answers_that_are_not_iam_say_what_came_back() {
        // An emulator's bare 500 for a call it lacks.
        let e = map_err("PutUserPermissionsBoundary", None, service(500, None, ""));
        assert_eq!(e.kind, ErrorKind::Unsupported);
        // A proxy's page: its start is shown, escaped.
        let e = map_err(
            "GetUser",
            None,
            service(404, None, "<html>\u{1b}[31mnot here</html>"),
        );
        assert_eq!(e.kind, ErrorKind::Other);
        let text = e.to_string();
        assert!(
            text.contains("HTTP 404 without an IAM error") && text.contains("<html>"),
            "{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "nothing raw reaches a terminal: {text}"
        );
    }
}
