//! Bounds on what an endpoint may send back, so a broken or hostile one costs bounded memory and time: a cap on
//! every response body, a response taken only when it arrived whole, and pagination that can neither loop nor grow
//! past what one account can hold.
//!
//! A smaller account read is worse than a failed one: plan would propose creating users that exist and drift would
//! report them missing. So a page that does not end where its document ends, or that lacks its truncation flag, is
//! an error, never a shorter account.

use std::collections::HashSet;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

use super::{BackendError, ErrorKind};

/// The largest response body taken. IAM's largest real page (1,000 managed policies with five versions of 6,144
/// characters each, URL-encoded) is under 100 MB; anything past this is not IAM.
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// The most objects one account read may return. IAM's quotas cap an account at 5,000 users and (raised) 10,000
/// roles, 10,000 customer-managed policies and 500 groups; twice their sum leaves room without leaving memory open.
pub const MAX_ITEMS: usize = 50_000;

/// The most pages one paginated read may take (IAM serves up to 1,000 items a page; fewer only near the end).
pub const MAX_PAGES: usize = 10_000;

/// Operations whose every page must carry `IsTruncated`: the account read, where a silently short page would be
/// taken as a smaller account.
const MUST_SAY_TRUNCATED: &[&str] = &["GetAccountAuthorizationDetails", "ListPolicyTags"];

/// What was wrong with a response, found by [`BoundedResponses`] (surfaces inside the SDK's error chain).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BadResponse(pub String);

/// The interceptor that caps response bodies and refuses responses that are not whole.
#[derive(Debug)]
pub struct BoundedResponses {
    /// The body cap, in bytes.
    pub limit: usize,
    /// Whether bodies are XML documents checked whole (IAM, STS); JSON services' bodies fail to parse when cut.
    pub xml: bool,
}

impl Default for BoundedResponses {
    fn default() -> Self {
        Self {
            limit: MAX_RESPONSE_BYTES,
            xml: true,
        }
    }
}

impl BoundedResponses {
    /// For a JSON service (Organizations): the cap only.
    #[must_use]
    pub fn json(limit: usize) -> Self {
        Self { limit, xml: false }
    }
}

impl Intercept for BoundedResponses {
    fn name(&self) -> &'static str {
        "iamspec bounded responses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(n) = declared.filter(|n| *n > self.limit as u64) {
            return Err(Box::new(too_large(self.limit, Some(n))));
        }
        let inner = response.take_body();
        *response.body_mut() = SdkBody::from_body_1_x(Capped {
            inner,
            read: 0,
            limit: self.limit,
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if !self.xml || !response.status().is_success() || context.output_or_error().is_err() {
            return Ok(());
        }
        let Some(body) = response.body().bytes() else {
            return Ok(());
        };
        let operation = cfg.load::<Metadata>().map_or("", Metadata::name);
        match whole(body, MUST_SAY_TRUNCATED.contains(&operation)) {
            Ok(()) => Ok(()),
            Err(why) => Err(Box::new(BadResponse(why))),
        }
    }
}

fn too_large(limit: usize, declared: Option<u64>) -> BadResponse {
    BadResponse(format!(
        "the response is larger than {} MiB{}: no IAM response is; is the endpoint IAM?",
        limit >> 20,
        declared
            .map(|n| format!(" ({n} bytes declared)"))
            .unwrap_or_default()
    ))
}

/// Whether an XML response arrived whole: its document ends with the closing tag of its root element (a body cut
/// off with a matching Content-Length still parses as far as it goes), and it says whether more pages follow where
/// `must_say_truncated`.
fn whole(body: &[u8], must_say_truncated: bool) -> Result<(), String> {
    let text = body.trim_ascii();
    let mut rest = text;
    // The XML declaration and comments before the root, if any.
    while let Some(after) = rest
        .strip_prefix(b"<?")
        .or_else(|| rest.strip_prefix(b"<!--"))
    {
        let end = find(after, b">").ok_or("the response ends inside its XML prolog")?;
        rest = after[end + 1..].trim_ascii_start();
    }
    let open = rest
        .strip_prefix(b"<")
        .ok_or("the response is not an XML document")?;
    let name_len = open
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        .ok_or("the response ends inside its first tag")?;
    let name = &open[..name_len];
    if name.is_empty() {
        return Err("the response's root element has no name".into());
    }
    let mut closing = Vec::with_capacity(name.len() + 3);
    closing.extend_from_slice(b"</");
    closing.extend_from_slice(name);
    closing.push(b'>');
    if !text.ends_with(&closing) {
        return Err(format!(
            "the response was cut short: it does not end with {}",
            crate::display::Escaped(&String::from_utf8_lossy(&closing))
        ));
    }
    if must_say_truncated && find(text, b"<IsTruncated>").is_none() {
        return Err(
            "the page does not say whether more follow (no IsTruncated): it cannot be taken as complete".into(),
        );
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A body that fails once more than `limit` bytes have come through.
struct Capped {
    inner: SdkBody,
    read: usize,
    limit: usize,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len());
                    if this.read > this.limit {
                        return Poll::Ready(Some(Err(Box::new(too_large(this.limit, None)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// The error of a response refused here, if `e`'s chain holds one.
pub fn bad_response(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(bad) = err.downcast_ref::<BadResponse>() {
            return Some(bad.0.clone());
        }
        next = err.source();
    }
    None
}

/// Follows one paginated read: refuses a marker seen before (an endpoint looping forever), a page that says more
/// follow without saying where, and more pages or objects than one account can hold.
#[derive(Debug)]
pub struct Pages {
    operation: &'static str,
    seen: HashSet<String>,
    pages: usize,
    items: usize,
}

impl Pages {
    /// Starts following `operation`'s pages.
    #[must_use]
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            seen: HashSet::new(),
            pages: 0,
            items: 0,
        }
    }

    /// Takes a page of `items` objects and returns the marker of the next page, `None` after the last.
    ///
    /// # Errors
    /// [`ErrorKind::BadResponse`] for a repeated or missing marker, or past [`MAX_PAGES`] / [`MAX_ITEMS`].
    pub fn next(
        &mut self,
        truncated: bool,
        marker: Option<&str>,
        items: usize,
    ) -> Result<Option<String>, BackendError> {
        let bad = |message: String| {
            Err(BackendError::new(
                ErrorKind::BadResponse,
                self.operation,
                message,
            ))
        };
        self.pages += 1;
        self.items = self.items.saturating_add(items);
        if self.items > MAX_ITEMS {
            return bad(format!(
                "more than {MAX_ITEMS} objects came back, more than IAM's quotas allow in one account"
            ));
        }
        if !truncated {
            return Ok(None);
        }
        let Some(marker) = marker.filter(|m| !m.is_empty()) else {
            return bad("a page says more follow but gives no marker".into());
        };
        if self.pages >= MAX_PAGES {
            return bad(format!(
                "more than {MAX_PAGES} pages: the endpoint does not stop"
            ));
        }
        if !self.seen.insert(marker.to_owned()) {
            return bad(
                "the endpoint returned a page marker it had already given: it would never end"
                    .into(),
            );
        }
        Ok(Some(marker.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_whole_only_up_to_its_closing_root_tag() {
        let full = br#"<?xml version="1.0"?>
<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated></GetAccountAuthorizationDetailsResult>
</GetAccountAuthorizationDetailsResponse>
"#;
        assert_eq!(whole(full, true), Ok(()));
        let cut = &full[..full.len() - 50];
        assert!(whole(cut, true).unwrap_err().contains("cut short"));
        let no_flag = br"<ListUsersResponse><ListUsersResult/></ListUsersResponse>";
        assert_eq!(whole(no_flag, false), Ok(()));
        assert!(whole(no_flag, true).unwrap_err().contains("IsTruncated"));
        assert!(whole(b"", false).is_err());
        assert!(whole(b"<?xml", false).is_err());
        assert!(whole(b"<", false).is_err());
        assert!(whole(b"not xml", false).is_err());
    }

    #[test]
    fn pages_refuse_a_repeated_or_missing_marker_and_stop_at_the_quota() {
        let mut p = Pages::new("GetAccountAuthorizationDetails");
        assert_eq!(p.next(true, Some("a"), 10).unwrap().as_deref(), Some("a"));
        assert_eq!(p.next(true, Some("b"), 10).unwrap().as_deref(), Some("b"));
        let e = p.next(true, Some("a"), 10).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("already"), "{e}");
        assert!(Pages::new("x").next(true, None, 1).is_err());
        assert!(Pages::new("x").next(true, Some(""), 1).is_err());
        assert_eq!(Pages::new("x").next(false, None, 1).unwrap(), None);

        let mut big = Pages::new("x");
        let mut n = 0;
        let err = loop {
            n += 1;
            match big.next(true, Some(&format!("m{n}")), 1000) {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(n, MAX_ITEMS / 1000 + 1);
        assert!(err.message.contains("quotas"), "{err}");

        let mut empty = Pages::new("x");
        let mut n = 0;
        while empty.next(true, Some(&format!("m{n}")), 0).is_ok() {
            n += 1;
        }
        assert_eq!(n, MAX_PAGES - 1);
    }
}
