//! Hostile input, one test per row of what broke: bounded memory and time on every input, no panic, nothing from
//! input printed raw to a terminal.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The bound on a run's wall time: a guard against what the bugs did (reading a device forever, quadratic work on
/// nesting or long lines: minutes), not a speed target. Linear work takes a second or more in a debug build on a
/// busy two-core machine, so a tighter bound would fail on the machine's load instead of on the code; speed is
/// measured in BENCHMARKS.md, and memory (which does not depend on load) is bounded tightly below.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// What a run of the CLI did: exit code, stderr and stdout, wall time, peak memory.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_kib: i64,
}

/// Runs iamspec and measures this child alone (wait4's rusage, not the whole test process's children).
fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let started = Instant::now();
    let child = Command::new(assert_cmd::cargo::cargo_bin("iamspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: the type is plain old data, zeroed is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let elapsed = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    std::mem::forget(child);
    Run {
        code,
        stdout: String::from_utf8_lossy(&std::fs::read(&out).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err).unwrap()).into_owned(),
        elapsed,
        peak_kib: usage.ru_maxrss,
    }
}

fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// No byte of a terminal control sequence and no invisible bidi control in an output.
fn assert_clean(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || ('\u{202a}'..='\u{202e}').contains(c)
                || ('\u{2066}'..='\u{2069}').contains(c)
        })
        .collect();
    assert!(bad.is_empty(), "{what} printed raw {bad:?}:\n{text}");
}

#[test]
fn a_spec_that_is_a_device_is_refused_at_once_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    for device in ["/dev/zero", "/dev/urandom"] {
        let link = dir
            .path()
            .join(format!("spec-{}.yaml", device.rsplit('/').next().unwrap()));
        std::os::unix::fs::symlink(device, &link).unwrap();
        let r = run(&["validate", "-f", link.to_str().unwrap()]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        assert!(r.elapsed < HANG_GUARD, "{device}: {:?}", r.elapsed);
        assert!(r.peak_kib < 100 * 1024, "{device}: {} KiB", r.peak_kib);
        // The same for the local account file.
        let r = run(&["plan", "-f", &example("team.yaml"), "--local", device]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        assert!(r.elapsed < HANG_GUARD && r.peak_kib < 100 * 1024);
    }
}

#[test]
fn a_spec_that_is_a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("spec.yaml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let r = run(&[
        "plan",
        "-f",
        fifo.to_str().unwrap(),
        "--local",
        "/nonexistent/a.json",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("a FIFO, not a regular file"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < HANG_GUARD);
}

#[test]
fn a_200_mb_spec_is_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(200 * 1024 * 1024).unwrap();
    let r = run(&["validate", "-f", big.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("the limit is 67108864 bytes"),
        "{}",
        r.stderr
    );
    assert!(r.peak_kib < 100 * 1024, "{} KiB", r.peak_kib);
}

#[test]
fn deep_flow_nesting_is_refused_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("brackets.yaml", "[".repeat(500_000)),
        ("braces.yaml", "{a: ".repeat(125_000)),
        (
            "mixed.yaml",
            format!("version: 1\nusers: {}", "[{".repeat(100_000)),
        ),
    ] {
        let spec = write(dir.path(), name, body);
        let r = run(&["validate", "-f", spec.to_str().unwrap()]);
        assert_eq!(r.code, Some(1), "{name}");
        assert!(
            r.stderr.contains("nesting deeper than 32 levels") || r.stderr.contains("recursion"),
            "{name}: {}",
            &r.stderr[..r.stderr.len().min(500)]
        );
        assert!(r.elapsed < HANG_GUARD, "{name}: {:?}", r.elapsed);
        // The snippet is cut to a window: a 500,000-character line is not printed.
        assert!(
            r.stderr.len() < 4_000,
            "{name}: {} bytes of diagnostics",
            r.stderr.len()
        );
    }
}

#[test]
fn fifty_thousand_errors_show_the_first_hundred_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("version: 1\nusers:\n");
    for i in 0..50_000 {
        body.push_str(&format!(
            "  u{i}:\n    grants: [{{buckets: [bad..b{i}], access: read}}]\n"
        ));
    }
    assert!(body.len() > 3_000_000);
    let spec = write(dir.path(), "errors.yaml", &body);
    let r = run(&["validate", "-f", spec.to_str().unwrap()]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.matches("is not a valid S3 bucket name").count(),
        100
    );
    assert!(
        r.stderr
            .contains("... and 49900 more finding(s) (49900 error(s), 0 warning(s))"),
        "{}",
        &r.stderr[r.stderr.len() - 400..]
    );
    assert!(r.stderr.contains("50000 error(s)"));
    // Was over 120 s (8,000 errors: 5.3 s); linear now: a few seconds in a debug build.
    assert!(r.elapsed < Duration::from_secs(30), "{:?}", r.elapsed);
}

#[test]
fn an_error_past_column_65535_is_shown_with_its_line_shortened() {
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<String> = (0..9_000).map(|i| format!("u{i}: {{}}")).collect();
    let line = format!("users: {{{}, \"bad user\": {{}}}}", users.join(", "));
    assert!(line.len() > 65_535);
    let spec = write(dir.path(), "long.yaml", format!("version: 1\n{line}\n"));
    let r = run(&["validate", "-f", spec.to_str().unwrap()]);
    assert_eq!(
        r.code,
        Some(1),
        "no panic (was exit 101): {}",
        &r.stderr[..r.stderr.len().min(300)]
    );
    assert!(
        r.stderr.contains(&format!(
            "long.yaml:2:{}: users.\"bad user\"",
            line.len() - 14
        )),
        "{}",
        &r.stderr[..r.stderr.len().min(400)]
    );
    assert!(
        r.stderr.lines().all(|l| l.chars().count() < 250),
        "lines are shortened"
    );
    assert!(r.elapsed < HANG_GUARD, "{:?}", r.elapsed);
}

#[test]
fn control_and_bidi_characters_are_refused_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "prefix",
            "grants: [{buckets: [photos], prefix: \"x\\e[2Ky/\", access: read}]",
            "x\\u{1b}[2Ky/",
        ),
        (
            "prefix",
            "grants: [{buckets: [photos], prefix: \"a\\u202Ecod/\", access: read}]",
            "a\\u{202e}cod/",
        ),
        (
            "tag",
            "tags: {team: \"web\\r\\nowner: evil\"}",
            "web\\r\\nowner: evil",
        ),
        ("tag", "tags: {\"te\\u2066am\": web}", "te\\u{2066}am"),
        ("tag", "tags: {team: \"a\\0b\"}", "a\\u{0}b"),
    ];
    for (what, user, escaped) in cases {
        let spec = write(
            dir.path(),
            "spec.yaml",
            format!("version: 1\nusers:\n  alice:\n    {user}\n"),
        );
        let r = run(&["validate", "-f", spec.to_str().unwrap()]);
        assert_eq!(r.code, Some(1), "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains(escaped),
            "{what}: {escaped} not shown:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("spec.yaml:4:"),
            "file:line:col: {}",
            r.stderr
        );
        assert_clean(what, &r.stderr);
    }
    let spec = write(
        dir.path(),
        "names.yaml",
        "version: 1\nusers:\n  \"ali\\e]0;pwned\\u0007ce\": {}\n",
    );
    let r = run(&["validate", "-f", spec.to_str().unwrap()]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("ali\\u{1b}]0;pwned\\u{7}ce"),
        "{}",
        r.stderr
    );
    assert_clean("name", &r.stderr);
}

/// What live IAM (here a local account file someone edited) says is escaped in every text output.
#[test]
fn live_data_is_escaped_in_plans_drift_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::photos/\u{1b}[2J\u{202e}x/*"}]});
    let user = |name: &str, tags: serde_json::Value| {
        serde_json::json!({"name": name, "path": "/iamspec/", "tags": tags,
            "inline_policies": {"hand\u{1b}[31m": doc}, "attached_policies": [], "groups": ["g\u{2066}rp"]})
    };
    let account = serde_json::json!({"iamspec_local_account": 1, "account_id": "123456789012", "users": {
        "alice": user("alice", serde_json::json!({"iamspec:owner": "iamspec", "team": "x\u{1b}[1Ay\u{202e}"})),
        "stray\u{1b}[2K": user("stray\u{1b}[2K", serde_json::json!({})),
    }});
    std::fs::write(&acct, account.to_string()).unwrap();
    let spec = write(
        dir.path(),
        "spec.yaml",
        "version: 1\nusers:\n  alice:\n    grants: [{buckets: [photos], access: read}]\n",
    );
    let (s, a) = (spec.to_str().unwrap(), acct.to_str().unwrap());
    let plan = run(&["plan", "-f", s, "--local", a]);
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    for shown in [
        "inline policy hand\\u{1b}[31m",
        "group g\\u{2066}rp",
        "stray\\u{1b}[2K",
        "photos/\\u001b[2J\\u{202e}x",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}:\n{}", plan.stdout);
    }
    assert_clean("plan", &plan.stdout);
    let drift = run(&["drift", "-f", s, "--local", a]);
    assert_eq!(drift.code, Some(2));
    assert_clean("drift", &drift.stdout);
    // A spec user that collides with the live stray user by name is an error naming it, escaped.
    let spec = write(dir.path(), "spec.yaml", "version: 1\nusers:\n  alice: {}\n");
    let o = run(&[
        "apply",
        "-f",
        spec.to_str().unwrap(),
        "--local",
        a,
        "--auto-approve",
    ]);
    assert_clean("apply", &(o.stdout.clone() + &o.stderr));
}

#[test]
fn a_byte_order_mark_and_null_users_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let bom = write(
        dir.path(),
        "bom.yaml",
        b"\xef\xbb\xbfversion: 1\nusers:\n  alice: {}\n",
    );
    let r = run(&["validate", "-f", bom.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("1 user(s)"));
    for body in [
        "version: 1\nusers: ~\n",
        "version: 1\nusers:\n",
        "version: 1\nusers: null\n",
    ] {
        let spec = write(dir.path(), "none.yaml", body);
        let r = run(&["validate", "-f", spec.to_str().unwrap()]);
        assert_eq!(r.code, Some(0), "{body:?}: {}", r.stderr);
        assert!(r.stdout.contains("0 user(s)"), "{body:?}");
    }
}

#[test]
fn a_file_given_as_secrets_dir_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "secrets", "x");
    let spec = write(
        dir.path(),
        "spec.yaml",
        "version: 1\nusers:\n  u:\n    access_keys: {count: 1}\n",
    );
    let acct = dir.path().join("a.json");
    let r = run(&[
        "apply",
        "-f",
        spec.to_str().unwrap(),
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
        "--secrets-dir",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("is not a directory"), "{}", r.stderr);
    assert!(!acct.exists());
}

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}
