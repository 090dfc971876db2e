//! A broken or hostile IAM endpoint: pages that never end, bodies without end, responses cut short. Each costs
//! bounded memory and time, ends in exit 1 with a clear message, and never passes for a smaller account.

mod common;

use std::time::{Duration, Instant};

use common::{iam_client, rt, run, text, write_spec, Faults, Proxy};

fn gaad_page(users: &[&str], truncated: Option<&str>, next: Option<&str>) -> String {
    let members: String = users
        .iter()
        .map(|u| format!("<member><UserName>{u}</UserName><Path>/iamspec/</Path><Arn>arn:aws:iam::123456789012:user/iamspec/{u}</Arn><UserId>AIDA{u}</UserId><CreateDate>2026-01-01T00:00:00Z</CreateDate><Tags><member><Key>iamspec:owner</Key><Value>iamspec</Value></member></Tags><UserPolicyList/><GroupList/><AttachedManagedPolicies/></member>"))
        .collect();
    let truncated = truncated
        .map(|t| format!("<IsTruncated>{t}</IsTruncated>"))
        .unwrap_or_default();
    let marker = next
        .map(|m| format!("<Marker>{m}</Marker>"))
        .unwrap_or_default();
    format!("<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetAccountAuthorizationDetailsResult><UserDetailList>{members}</UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>{truncated}{marker}</GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>")
}

fn spec(dir: &std::path::Path) -> String {
    write_spec(dir, "version: 1\nusers:\n  a1: {}\n  a2: {}\n")
        .to_str()
        .unwrap()
        .to_owned()
}

fn plan_fails_with(faults: Faults, expected: &str) -> Duration {
    let proxy = Proxy::new();
    proxy.set_faults(faults);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path());
    let started = Instant::now();
    let o = run(&proxy, &["plan", "-f", &spec]);
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(expected), "{}", text(&o));
    // Never the plan of a smaller account.
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("to add"),
        "{}",
        text(&o)
    );
    took
}

#[test]
fn a_marker_given_twice_ends_the_read_instead_of_looping_forever() {
    let took = plan_fails_with(
        Faults {
            gaad_pages: Some(vec![gaad_page(&["a1"], Some("true"), Some("page-0"))]),
            ..Faults::default()
        },
        "a page marker it had already given",
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn a_page_cut_short_is_an_error_not_a_smaller_account() {
    // A whole first page with a marker, then a second page cut off right after its first user: the proxy sends a
    // Content-Length that matches what it sends, so only the document itself shows it is not whole.
    let second = gaad_page(&["a2"], Some("false"), None);
    let cut = second[..second.find("</member>").unwrap() + "</member>".len()].to_owned();
    plan_fails_with(
        Faults {
            gaad_pages: Some(vec![gaad_page(&["a1"], Some("true"), Some("page-1")), cut]),
            ..Faults::default()
        },
        "cut short",
    );
}

#[test]
fn a_page_that_does_not_say_whether_more_follow_is_refused() {
    plan_fails_with(
        Faults {
            gaad_pages: Some(vec![gaad_page(&["a1", "a2"], None, None)]),
            ..Faults::default()
        },
        "IsTruncated",
    );
}

#[test]
fn a_page_saying_more_follow_without_a_marker_is_refused() {
    plan_fails_with(
        Faults {
            gaad_pages: Some(vec![gaad_page(&["a1"], Some("true"), None)]),
            ..Faults::default()
        },
        "gives no marker",
    );
}

/// Peak resident memory of this process's finished children, in bytes (each child's own peak; the largest).
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) },
        0
    );
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

#[test]
fn an_endless_body_is_cut_off_at_the_cap_in_bounded_memory() {
    let proxy = Proxy::new();
    proxy.set_faults(Faults {
        endless: Some("GetAccountAuthorizationDetails".into()),
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path());
    let o = run(&proxy, &["plan", "-f", &spec]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("larger than 256 MiB"),
        "{}",
        text(&o)
    );
    // The client hung up soon after the cap (one read, no retries of a body that can never fit).
    let sent = proxy.endless_sent();
    assert!(sent < 600 << 20, "the proxy sent {sent} bytes");
    let peak = children_peak_rss();
    assert!(peak < 1536 << 20, "a child peaked at {} MiB", peak >> 20);
}

#[test]
fn an_apply_that_meets_a_looping_endpoint_fails_and_releases_its_lock() {
    let proxy = Proxy::new();
    proxy.set_faults(Faults {
        gaad_pages: Some(vec![gaad_page(&["a1"], Some("true"), Some("page-0"))]),
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path());
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already given"),
        "{}",
        text(&o)
    );
    assert!(
        proxy.actions().iter().any(|a| a == "CreatePolicy"),
        "the lock was taken first: {:?}",
        proxy.actions()
    );
    proxy.set_faults(Faults::default());
    let iam = iam_client(&proxy);
    let policies = rt()
        .block_on(
            iam.list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .send(),
        )
        .unwrap();
    assert!(
        policies.policies().is_empty(),
        "the lock is still there: {:?}",
        policies.policies()
    );
    assert!(proxy.writes().iter().all(|w| w != "CreateUser"));
}

/// What operators met (issue: endpoint and credential errors): each fails at once and says what is wrong.
mod operator_errors {
    use super::*;
    use common::run_at;

    #[test]
    fn https_to_a_plain_http_endpoint_fails_at_once_and_says_so() {
        // moto itself: a plain-HTTP server that answers a TLS hello with an HTTP error page.
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path());
        let started = Instant::now();
        let o = run_at(
            &format!("https://{}", common::moto().addr),
            &["plan", "-f", &spec],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("plain HTTP"),
            "{}",
            text(&o)
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_response_that_is_not_iams_names_its_status_and_first_bytes() {
        let proxy = Proxy::new();
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path());
        proxy.set_faults(Faults {
            gaad_pages: Some(vec!["<html><body>\u{1b}[31mNot Found</body></html>".into()]),
            ..Faults::default()
        });
        let o = run(&proxy, &["plan", "-f", &spec]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("HTTP 200 without an IAM error; the response began: <html><body>\\u{1b}[31mNot Found"),
            "{}",
            text(&o)
        );
        assert!(!e.contains('\u{1b}'), "escaped: {}", text(&o));
    }

    #[test]
    fn a_mistyped_profile_names_the_profiles_there_are() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n[profile dev]\nregion = us-east-1\n[sso-session corp]\nsso_region = us-east-1\n",
        )
        .unwrap();
        let spec = spec(dir.path());
        let o = run_at(
            "http://127.0.0.1:9",
            &["plan", "-f", &spec, "--profile", "deve"],
            &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("profile `deve` is not in the AWS config or credentials files")
                && e.contains("did you mean `dev`?")
                && e.contains("profiles there: default, dev"),
            "{}",
            text(&o)
        );
    }

    #[test]
    fn local_with_an_endpoint_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path());
        let local = dir.path().join("a.json");
        let o = run_at(
            "http://127.0.0.1:9",
            &["plan", "-f", &spec, "--local", local.to_str().unwrap()],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("cannot be used with"),
            "{}",
            text(&o)
        );
    }
}
