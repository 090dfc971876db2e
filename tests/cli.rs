//! The command line as a user meets it, on the local account: validation corpus, golden plans, the apply cycle,
//! saved plans, guards, exit codes and the generated schemas.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;

fn iamspec() -> Command {
    let mut cmd = Command::cargo_bin("iamspec").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn run(args: &[&str]) -> Output {
    iamspec().args(args).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> String {
    root()
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

#[test]
fn invalid_specs_report_every_error_with_position() {
    insta::glob!("fixtures/invalid/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let diags = iamspec::spec::load(&name, &text).expect_err("fixture must be invalid");
        assert!(diags.has_errors());
        insta::assert_snapshot!(diags.to_plain());
    });
}

#[test]
fn the_cli_shows_errors_with_source_and_makes_no_call() {
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("account.json");
    let o = run(&[
        "plan",
        "-f",
        &fixture("invalid/many-errors-at-once.yaml"),
        "--local",
        account.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(e.contains("many-errors-at-once.yaml:7:3: users.\"Bad User\": `Bad User` is not a valid IAM user name"), "{e}");
    assert!(e.contains("no AWS call was made"), "{e}");
    assert!(e.contains(" 7 │   Bad User:"), "snippet missing: {e}");
    assert!(!account.exists());
}

#[test]
fn golden_plans() {
    insta::glob!("fixtures/plans/*/spec.yaml", |spec| {
        let dir = spec.parent().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let live = tmp.path().join("live.json");
        std::fs::copy(dir.join("live.json"), &live).unwrap();
        let spec = spec.display().to_string();
        let plan_as = |format: &str| {
            run(&[
                "plan",
                "-f",
                &spec,
                "--local",
                live.to_str().unwrap(),
                "--format",
                format,
            ])
        };
        let text = plan_as("text");
        assert_eq!(text.status.code(), Some(0), "{}", err(&text));
        let json = plan_as("json");
        assert_eq!(json.status.code(), Some(0), "{}", err(&json));
        let parsed: serde_json::Value =
            serde_json::from_slice(&json.stdout).expect("stdout is one JSON document");
        let markdown = plan_as("markdown");
        assert_eq!(markdown.status.code(), Some(0), "{}", err(&markdown));
        assert!(out(&markdown).chars().count() <= 65_536);
        // GitLab's report counts what the summary counts.
        let gitlab = plan_as("gitlab");
        let report: serde_json::Value = serde_json::from_slice(&gitlab.stdout).unwrap();
        assert_eq!(
            report,
            serde_json::json!({
                "create": parsed["summary"]["add"],
                "update": parsed["summary"]["change"],
                "delete": parsed["summary"]["destroy"],
            })
        );
        let filters = vec![
            (r"\d+ days old", "[N] days old"),
            (r"inactive:\d+", "inactive:[now]"),
            (
                r"inactive since \d{4}-\d{2}-\d{2}",
                "inactive since [today]",
            ),
            (
                r"local account file \S+/live.json",
                "local account file [tmp]/live.json",
            ),
        ];
        insta::with_settings!({filters => filters}, {
            insta::assert_snapshot!("text", out(&text));
            insta::assert_json_snapshot!("json", parsed);
            insta::assert_snapshot!("markdown", out(&markdown));
        });
    });
}

/// A many-account spec against `--local DIR`: one account file per account, each object where its `accounts:`
/// puts it, then no changes anywhere; the many-account flags refused on a single-account spec.
#[test]
fn many_accounts_apply_to_a_local_directory_then_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = dir.path().join("accounts");
    let local = accounts.to_str().unwrap();
    let spec = example("accounts.yaml");
    // A pull-request comment found by its first line, every account in it; GitLab's counts summed.
    let o = run(&[
        "plan", "-f", &spec, "--local", local, "--format", "markdown",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let comment = out(&o);
    assert!(
        comment.starts_with("<!-- iamspec plan -->\n### iamspec plan for 2 accounts"),
        "{comment}"
    );
    assert!(
        comment.contains("| prod (111111111111) | Plan: 4 to add, 0 to change, 0 to destroy. |"),
        "{comment}"
    );
    assert!(
        comment.contains("### iamspec plan for account 222222222222"),
        "{comment}"
    );
    assert_eq!(
        comment.matches("<!-- iamspec plan -->").count(),
        1,
        "{comment}"
    );
    let o = run(&["plan", "-f", &spec, "--local", local, "--format", "gitlab"]);
    let counts: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        counts,
        serde_json::json!({"create": 6, "update": 0, "delete": 0})
    );
    let o = run(&["apply", "-f", &spec, "--local", local, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("prod (111111111111): Apply complete: 4 change(s) made."),
        "{}",
        out(&o)
    );
    let staging = std::fs::read_to_string(accounts.join("222222222222.json")).unwrap();
    assert!(staging.contains("ci-deployer") && !staging.contains("cdn-uploader"));
    let o = run(&["plan", "-f", &spec, "--local", local, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("Accounts: 2 (0 with changes, 0 failed)"),
        "{}",
        out(&o)
    );
    let o = run(&[
        "plan",
        "-f",
        &spec,
        "--local",
        local,
        "--account",
        "staging",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(doc["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(doc["accounts"][0]["result"]["account_id"], "222222222222");
    let o = run(&["plan", "-f", &spec, "--local", &example("team.yaml")]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("is a file, and a many-account spec keeps one account file per account"),
        "{}",
        err(&o)
    );
    // A saved plan of both accounts; edited to claim one account's part is the other's, it is refused whole.
    let planfile = dir.path().join("plan.json");
    let o = run(&[
        "plan",
        "-f",
        &spec,
        "--local",
        local,
        "--out",
        planfile.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planfile).unwrap()).unwrap();
    assert_eq!(saved["accounts"].as_array().unwrap().len(), 2);
    saved["accounts"][1]["account_id"] = "111111111111".into();
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, saved.to_string()).unwrap();
    let o = run(&[
        "apply",
        "-f",
        &spec,
        "--local",
        local,
        forged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("is a plan of account 222222222222"),
        "{}",
        err(&o)
    );
    let o = run(&[
        "apply",
        "-f",
        &spec,
        "--local",
        local,
        planfile.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("Already applied"), "{}", out(&o));
    let single = dir.path().join("one.json");
    let o = run(&[
        "plan",
        "-f",
        &example("team.yaml"),
        "--local",
        single.to_str().unwrap(),
        "--account",
        "prod",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("this spec is for one account"),
        "{}",
        err(&o)
    );
    // self-policy: the deployer role's policy per account, its trust, and what the CI caller needs.
    let o = run(&[
        "self-policy",
        "-f",
        &spec,
        "--trust",
        "arn:aws:iam::999999999999:role/ci",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        doc["accounts"][1]["trust"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        "x-7f3a"
    );
    assert_eq!(
        doc["accounts"][0]["trust"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999999999999:role/ci"
    );
    assert_eq!(
        doc["caller"]["Statement"][0]["Resource"],
        serde_json::json!([
            "arn:aws:iam::111111111111:role/iamspec-deployer",
            "arn:aws:iam::222222222222:role/ci/iamspec"
        ])
    );
    let policy = doc["accounts"][1]["policy"].to_string();
    assert!(
        policy.contains("arn:aws:iam::222222222222:user/iamspec/*"),
        "{policy}"
    );
    assert!(!policy.contains("111111111111"), "{policy}");
}

#[test]
fn quick_start_apply_then_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("demo-account.json");
    let acct = account.to_str().unwrap();
    let secrets = dir.path().join("secrets");
    let secrets = secrets.to_str().unwrap();
    for name in [
        "team.yaml",
        "pixelshift.yaml",
        "ewww-s3-optimizer.yaml",
        "cloudinary-role.yaml",
        "team-groups.yaml",
    ] {
        let spec = example(name);
        let o = run(&[
            "apply",
            "-f",
            &spec,
            "--local",
            acct,
            "--auto-approve",
            "--secrets-dir",
            secrets,
        ]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", err(&o));
        assert!(out(&o).contains("Apply complete"));
        let o = run(&["plan", "-f", &spec, "--local", acct, "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}{}", out(&o), err(&o));
        assert!(out(&o).contains("No changes."), "{}", out(&o));
    }
}

#[test]
fn detailed_exitcode_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let o = run(&[
        "plan",
        "-f",
        &example("team.yaml"),
        "--local",
        acct.to_str().unwrap(),
        "--detailed-exitcode",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "plan",
        "-f",
        &example("team.yaml"),
        "--local",
        acct.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    // A typo is an error (1), never "changes present" (2).
    assert_eq!(run(&["plan", "--detailed-exitcod"]).status.code(), Some(1));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(1));
    let o = run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).starts_with(concat!("iamspec ", env!("CARGO_PKG_VERSION"))));
    let help = out(&run(&["--help"]));
    assert!(
        help.contains("Examples:") && help.contains("Exit codes"),
        "{help}"
    );
    let comp = run(&["completions", "bash"]);
    assert_eq!(comp.status.code(), Some(0));
    assert!(out(&comp).contains("_iamspec"));
}

#[test]
fn apply_without_a_terminal_needs_approval_or_yes_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let apply = |stdin: &str| {
        iamspec()
            .args([
                "apply",
                "-f",
                &example("team.yaml"),
                "--local",
                acct.to_str().unwrap(),
            ])
            .write_stdin(stdin)
            .output()
            .unwrap()
    };
    for refused in ["", "no\n", "y\n", "yes please\n", "\nyes\n"] {
        let o = apply(refused);
        assert_eq!(o.status.code(), Some(1), "{refused:?}: {}", err(&o));
        assert!(err(&o).contains("no terminal to ask on"), "{}", err(&o));
        assert!(err(&o).contains("--auto-approve"), "{}", err(&o));
        assert!(!acct.exists(), "{refused:?}: nothing may be written");
    }
    // `echo yes | iamspec apply`: an explicit answer, as terraform takes it.
    let o = apply("yes\n");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("Apply complete"), "{}", out(&o));
    assert!(acct.exists());
}

#[test]
fn max_deletes_refuses_the_whole_apply() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    std::fs::copy(fixture("plans/prune/live.json"), &acct).unwrap();
    let before = std::fs::read(&acct).unwrap();
    let spec = fixture("plans/prune/spec.yaml");
    let o = run(&[
        "apply",
        "-f",
        &spec,
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
        "--max-deletes",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("destructive changes, more than --max-deletes 3"),
        "{}",
        err(&o)
    );
    assert_eq!(std::fs::read(&acct).unwrap(), before);
    let o = run(&[
        "apply",
        "-f",
        &spec,
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
        "--max-deletes",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(&["plan", "-f", &spec, "--local", acct.to_str().unwrap()]);
    assert!(out(&o).contains("No changes."), "{}", out(&o));
}

#[test]
fn keys_need_a_secrets_destination() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "version: 1\nusers:\n  uploader:\n    access_keys: {count: 1}\n",
    )
    .unwrap();
    let o = run(&[
        "apply",
        "-f",
        spec.to_str().unwrap(),
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("no --secrets-dir"), "{}", err(&o));
    assert!(!acct.exists());
    let secrets = dir.path().join("secrets");
    let o = run(&[
        "apply",
        "-f",
        spec.to_str().unwrap(),
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
        "--secrets-dir",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let files: Vec<_> = std::fs::read_dir(&secrets).unwrap().collect();
    assert_eq!(files.len(), 1);
    let o = run(&[
        "plan",
        "-f",
        spec.to_str().unwrap(),
        "--local",
        acct.to_str().unwrap(),
    ]);
    assert!(out(&o).contains("No changes."), "{}", out(&o));
}

#[test]
fn saved_plans_apply_exactly_once_and_refuse_when_stale_or_edited() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let acct_s = acct.to_str().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::copy(example("team.yaml"), &spec).unwrap();
    let spec_s = spec.to_str().unwrap();
    let planfile = dir.path().join("plan.json");
    let pf = planfile.to_str().unwrap();

    let o = run(&["plan", "-f", spec_s, "--local", acct_s, "--out", pf]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // The command it suggests is one that works: the spec with -f, the account options given.
    assert!(
        err(&o).contains(&format!(
            "Apply it with: iamspec apply -f {spec_s} --local {acct_s} {pf}"
        )),
        "{}",
        err(&o)
    );
    // Edited plan file: refused.
    let original = std::fs::read_to_string(&planfile).unwrap();
    std::fs::write(&planfile, original.replace("assets-prod", "assets-evil")).unwrap();
    let o = run(&["apply", pf, "-f", spec_s, "--local", acct_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("cannot be applied") && err(&o).contains("edited"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("grant assets-evil"), "{}", err(&o));
    assert!(!acct.exists(), "nothing was written");
    std::fs::write(&planfile, &original).unwrap();
    // The plan names its spec by an absolute path: without -f that is refused (a forged plan could name any file).
    let o = run(&["apply", pf, "--local", acct_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("pass the spec with -f"), "{}", err(&o));
    // Fresh plan: applies without asking, exactly its changes.
    let o = run(&["apply", pf, "-f", spec_s, "--local", acct_s]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("Apply complete: 7 change(s) made."),
        "{}",
        out(&o)
    );
    // Applying it again: already applied, nothing to do (not "stale").
    let o = run(&["apply", pf, "-f", spec_s, "--local", acct_s]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("Already applied"), "{}", out(&o));
    // Stale: what it touches changed behind its back, and the spec still wants something.
    let text = std::fs::read_to_string(&spec).unwrap();
    let wanted = dir.path().join("spec-wanted.yaml");
    std::fs::write(&wanted, text.replace("team: web", "team: webz")).unwrap();
    let wanted_s = wanted.to_str().unwrap();
    let o = run(&["plan", "-f", wanted_s, "--local", acct_s, "--out", pf]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let meanwhile = dir.path().join("spec-meanwhile.yaml");
    std::fs::write(&meanwhile, text.replace("team: web", "team: webx")).unwrap();
    let o = run(&[
        "apply",
        "-f",
        meanwhile.to_str().unwrap(),
        "--local",
        acct_s,
        "--auto-approve",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(&["apply", pf, "-f", wanted_s, "--local", acct_s]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        err(&o).contains("stale") && err(&o).contains("changed since the plan was made"),
        "{}",
        err(&o)
    );
    // Another account: refused.
    let o = run(&[
        "plan",
        "-f",
        spec_s,
        "--local",
        dir.path().join("other.json").to_str().unwrap(),
        "--out",
        pf,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let foreign = dir.path().join("foreign.json");
    std::fs::write(
        &foreign,
        r#"{"iamspec_local_account": 1, "account_id": "999999999999"}"#,
    )
    .unwrap();
    let o = run(&[
        "apply",
        pf,
        "-f",
        spec_s,
        "--local",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("made for account 123456789012"),
        "{}",
        err(&o)
    );
}

#[test]
fn user_filter_limits_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let o = run(&[
        "plan",
        "-f",
        &example("team.yaml"),
        "--local",
        acct.to_str().unwrap(),
        "--user",
        "CDN-ORIGIN",
    ]);
    let text = out(&o);
    assert!(text.contains("+ cdn-origin: create user"), "{text}");
    assert!(!text.contains("backup-agent"), "{text}");
}

#[test]
fn render_and_validate() {
    let o = run(&["render", "-f", &example("ewww-s3-optimizer.yaml")]);
    assert_eq!(o.status.code(), Some(0));
    let text = out(&o);
    let json_start = text.find('{').unwrap();
    let doc = iamspec::policy::PolicyDocument::parse(text[json_start..].trim()).unwrap();
    // The image-optimizer guide's hand-written policy, pasted verbatim, means the same as the grant.
    let guide = std::fs::read_to_string(fixture("ewww-guide-policy.json")).unwrap();
    assert_eq!(doc, iamspec::policy::PolicyDocument::parse(&guide).unwrap());

    let o = run(&["validate", "-f", &example("ewww-s3-optimizer.yaml")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err(&o).contains("grant on every bucket in the account"),
        "{}",
        err(&o)
    );
    let o = run(&[
        "validate",
        "--strict",
        "-f",
        &example("ewww-s3-optimizer.yaml"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["validate", "-f", "/nonexistent/spec.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("read /nonexistent/spec.yaml"),
        "{}",
        err(&o)
    );
}

#[test]
fn local_account_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let o = run(&[
        "plan",
        "-f",
        &example("team.yaml"),
        "--local",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("not valid JSON"), "{}", err(&o));
}

fn check_schema(rel: &str, generated: &str) {
    let path = root().join(rel);
    if std::env::var_os("IAMSPEC_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{rel} is stale; run `IAMSPEC_UPDATE_SCHEMAS=1 cargo test --test cli schemas` and commit it"
    );
}

#[test]
fn schemas_are_fresh() {
    check_schema("schemas/iamspec.schema.json", &iamspec::spec::json_schema());
    check_schema(
        "schemas/plan.schema.json",
        &iamspec::render::json::plan_schema(),
    );
    check_schema("schemas/drift.schema.json", &iamspec::drift::json_schema());
    check_schema(
        "schemas/accounts.schema.json",
        &iamspec::render::json::accounts_schema(),
    );
    let o = run(&["schema"]);
    assert_eq!(out(&o), iamspec::spec::json_schema());
}

#[test]
fn examples_validate_against_their_schema_fields() {
    for name in [
        "team.yaml",
        "pixelshift.yaml",
        "ewww-s3-optimizer.yaml",
        "cloudinary-role.yaml",
        "team-groups.yaml",
        "accounts.yaml",
    ] {
        let text = std::fs::read_to_string(example(name)).unwrap();
        iamspec::spec::load(name, &text).unwrap_or_else(|d| panic!("{}", d.to_plain()));
    }
}

/// The iamspec command lines of a shell script, split into words (quotes dropped, variables kept as text).
fn iamspec_commands(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("iamspec "))
        .map(|l| {
            let l = l.split(" > ").next().unwrap_or(l);
            l.split_whitespace()
                .map(|w| w.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn ci_examples_are_valid_and_use_real_commands() {
    use clap::Parser;
    let parse = |words: &[String]| {
        iamspec::cli::Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    };
    let text = std::fs::read_to_string(root().join("examples/ci/github-actions.yaml")).unwrap();
    let wf: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    for trigger in ["pull_request", "push", "schedule"] {
        assert!(wf["on"].get(trigger).is_some(), "workflow lacks {trigger}");
    }
    let cron = wf["on"]["schedule"][0]["cron"].as_str().unwrap();
    assert_eq!(cron.split_whitespace().count(), 5);
    let mut seen = Vec::new();
    for job in ["plan", "apply", "drift"] {
        assert_eq!(
            wf["jobs"][job]["permissions"]["id-token"].as_str(),
            Some("write"),
            "OIDC needs id-token: write ({job})"
        );
        let steps = wf["jobs"][job]["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("job {job} has no steps"));
        assert!(wf["jobs"][job]["runs-on"].as_str().is_some());
        for step in steps {
            if let Some(run) = step.get("run").and_then(|r| r.as_str()) {
                for words in iamspec_commands(run) {
                    parse(&words);
                    seen.push(words[1].clone());
                }
            }
            // This repository's action: its `command` is iamspec's arguments.
            let uses = step
                .get("uses")
                .and_then(|u| u.as_str())
                .unwrap_or_default();
            if uses.starts_with("iamspec/iamspec@") {
                // GitHub expands `${{ ... }}` before the action splits the command on whitespace.
                let mut command = step["with"]["command"].as_str().unwrap().to_owned();
                while let Some(start) = command.find("${{") {
                    let end = command[start..].find("}}").unwrap() + start + 2;
                    command.replace_range(start..end, "EXPR");
                }
                let words: Vec<String> = std::iter::once("iamspec".to_owned())
                    .chain(command.split_whitespace().map(str::to_owned))
                    .collect();
                parse(&words);
                seen.push(words[1].clone());
            }
        }
    }
    assert_eq!(seen, ["validate", "plan", "apply", "drift", "drift"]);
    assert!(
        text.contains("<!-- iamspec plan -->"),
        "the comment is found by the plan's marker"
    );
    assert_eq!(
        iamspec::render::markdown::MARKER,
        "<!-- iamspec plan -->",
        "the example finds its comment by this marker"
    );
    assert!(
        wf["jobs"]["apply"]["concurrency"]["group"]
            .as_str()
            .is_some(),
        "applies must be serialised"
    );

    // The action: every input a step reads is declared, every run step names its shell.
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = action["inputs"].as_mapping().unwrap();
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        if step.get("run").is_some() {
            assert!(step.get("shell").is_some(), "{step:?} has no shell");
        }
    }
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            inputs.contains_key(serde_norway::Value::String(name.clone())),
            "action.yml reads undeclared input {name}"
        );
    }

    // Many accounts: one apply, drift shards of a matrix, their reports merged; every command real.
    let text =
        std::fs::read_to_string(root().join("examples/ci/github-actions-accounts.yaml")).unwrap();
    let wf: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut accounts_seen = Vec::new();
    for job in ["apply", "drift", "report"] {
        for step in wf["jobs"][job]["steps"].as_sequence().unwrap() {
            let uses = step
                .get("uses")
                .and_then(|u| u.as_str())
                .unwrap_or_default();
            if uses.starts_with("iamspec/iamspec@") {
                let command = step["with"]["command"]
                    .as_str()
                    .unwrap()
                    .replace("${{ matrix.shard }}", "2")
                    .replace("${{ runner.temp }}", "/tmp");
                let words: Vec<String> = std::iter::once("iamspec".to_owned())
                    .chain(command.split_whitespace().map(str::to_owned))
                    .collect();
                parse(&words);
                accounts_seen.push(words[1].clone());
            }
        }
    }
    assert_eq!(accounts_seen, ["apply", "drift", "merge-reports"]);
    assert_eq!(
        wf["jobs"]["drift"]["strategy"]["matrix"]["shard"]
            .as_sequence()
            .map(Vec::len),
        Some(4)
    );

    // GitLab: the report the merge-request widget reads, and real commands.
    let text = std::fs::read_to_string(root().join("examples/ci/gitlab-ci.yml")).unwrap();
    let gl: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(
        gl["plan"]["artifacts"]["reports"]["terraform"].as_str(),
        Some("plan-report.json")
    );
    let mut gitlab_seen = Vec::new();
    for job in ["validate", "plan", "apply", "drift"] {
        for line in gl[job]["script"].as_sequence().unwrap() {
            for words in iamspec_commands(line.as_str().unwrap()) {
                parse(&words);
                gitlab_seen.push(words[1].clone());
            }
        }
    }
    assert_eq!(gitlab_seen, ["validate", "plan", "plan", "apply", "drift"]);

    let text =
        std::fs::read_to_string(root().join("examples/ci/kubernetes-drift-cronjob.yaml")).unwrap();
    let job: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("CronJob"));
    assert_eq!(
        job["spec"]["schedule"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        5
    );
    assert_eq!(job["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
    let container = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let mut words = vec!["iamspec".to_owned()];
    words.extend(
        container["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned()),
    );
    iamspec::cli::Cli::try_parse_from(&words).unwrap();
}

#[test]
fn drift_reports_and_exits_2_then_0_after_apply() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    std::fs::copy(fixture("plans/changes/live.json"), &acct).unwrap();
    let spec = fixture("plans/changes/spec.yaml");
    let a = acct.to_str().unwrap();
    let text = run(&["drift", "-f", &spec, "--local", a]);
    assert_eq!(text.status.code(), Some(2));
    insta::assert_snapshot!("drift_text", out(&text));
    let json = run(&["drift", "-f", &spec, "--local", a, "--format", "json"]);
    assert_eq!(json.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["account_id"], "123456789012");
    assert_eq!(report["counts"]["changed"], 1);
    assert!(report["timestamp"].as_str().unwrap().ends_with('Z'));
    insta::assert_json_snapshot!("drift_json", report, {".timestamp" => "[timestamp]"});
    assert_eq!(
        run(&["apply", "-f", &spec, "--local", a, "--auto-approve"])
            .status
            .code(),
        Some(0)
    );
    let clean = run(&["drift", "-f", &spec, "--local", a]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(
        out(&clean),
        "No drift: account 123456789012 matches the spec.\n"
    );
}

#[test]
fn policy_mode_managed_moves_large_grants_to_the_users_own_policy() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("invalid/inline-policy-too-large.yaml")).unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        text.replace("  alice:\n", "  alice:\n    policy_mode: managed\n"),
    )
    .unwrap();
    let acct = dir.path().join("a.json");
    let (s, a) = (spec.to_str().unwrap(), acct.to_str().unwrap());
    let o = run(&["apply", "-f", s, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let plan = out(&o);
    assert!(
        plan.contains("+ policy/iamspec-alice: create managed policy"),
        "{plan}"
    );
    assert!(plan.contains("+ alice: attach iamspec-alice"), "{plan}");
    assert!(!plan.contains("put inline policy"), "{plan}");
    let o = run(&["plan", "-f", s, "--local", a, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// A local account with a hand-made user and another team's user under iamspec's path.
fn account_with_foreign_users(path: &std::path::Path) {
    let user = |name: &str, tags: serde_json::Value| {
        serde_json::json!({"name": name, "path": "/iamspec/", "tags": tags, "inline_policies": {},
            "attached_policies": [], "groups": []})
    };
    let acct = serde_json::json!({
        "iamspec_local_account": 1,
        "account_id": "123456789012",
        "users": {
            "victim": user("victim", serde_json::json!({})),
            "theirs": user("theirs", serde_json::json!({"iamspec:owner": "team-b"})),
        }
    });
    std::fs::write(path, serde_json::to_string_pretty(&acct).unwrap()).unwrap();
}

/// regression: a forged saved plan deleted a user iamspec does not own, and a widened grant was applied. The
/// checksum was the file's own hash, so an editor recomputed it; now apply re-plans from the spec and refuses any
/// difference, with no write made.
#[test]
fn a_forged_saved_plan_is_refused_with_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    account_with_foreign_users(&acct);
    let before = std::fs::read(&acct).unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "version: 1\nusers:\n  uploader:\n    grants: [{buckets: [photos], access: read}]\n",
    )
    .unwrap();
    let (a, s) = (acct.to_str().unwrap(), spec.to_str().unwrap());
    let planfile = dir.path().join("plan.json");
    let pf = planfile.to_str().unwrap();
    let o = run(&["plan", "-f", s, "--local", a, "--out", pf]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planfile).unwrap()).unwrap();

    let delete = |user: &str| {
        serde_json::json!({"target": {"kind": "user", "name": user}, "action": "delete",
            "op": {"op": "delete_user", "user": user}, "reason": "owned, not in the spec, prune: true"})
    };
    let mut forged = original.clone();
    let changes = forged["plan"]["changes"].as_array_mut().unwrap();
    changes.push(delete("victim"));
    changes.push(delete("theirs"));
    std::fs::write(&planfile, forged.to_string()).unwrap();
    let o = run(&["apply", pf, "-f", s, "--local", a]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("in the file only"), "{}", err(&o));
    // Listed one per line, not run together by escaping the line breaks.
    assert!(
        err(&o).lines().any(|l| l.trim() == "in the file only:"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("- victim: delete user"), "{}", err(&o));
    assert_eq!(std::fs::read(&acct).unwrap(), before, "no write");

    // A grant widened to s3:* on every bucket, the plan's own summary left as it was.
    let widened = original
        .to_string()
        .replace("\"s3:GetObject\"", "\"s3:*\"")
        .replace("arn:aws:s3:::photos/*", "arn:aws:s3:::*");
    assert_ne!(widened, original.to_string());
    std::fs::write(&planfile, widened).unwrap();
    let o = run(&["apply", pf, "-f", s, "--local", a]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("cannot be applied"), "{}", err(&o));
    assert_eq!(std::fs::read(&acct).unwrap(), before, "no write");

    // The untouched plan applies, and the foreign users are still there.
    std::fs::write(&planfile, original.to_string()).unwrap();
    let o = run(&["apply", pf, "-f", s, "--local", a]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&acct).unwrap()).unwrap();
    for name in ["victim", "theirs", "uploader"] {
        assert!(after["users"].get(name).is_some(), "{name} missing");
    }
}

/// regression: users of another owner under the same path made `drift` exit 2 forever while `plan` said "No
/// changes", so a scheduled drift job failed every night. They are information now; an untagged user is drift.
#[test]
fn another_owners_objects_are_not_drift() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    std::fs::copy(fixture("plans/two-owners/live.json"), &acct).unwrap();
    let spec = fixture("plans/two-owners/spec.yaml");
    let a = acct.to_str().unwrap();
    let o = run(&["drift", "-f", &spec, "--local", a]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // One line by default (they are information, not news); each at -v.
    assert!(
        out(&o).contains(
            "3 object(s) under the path belong to other owners and are left alone (-v lists them)"
        ) && !out(&o).contains("bob"),
        "{}",
        out(&o)
    );
    let o = run(&["drift", "-f", &spec, "--local", a, "-v"]);
    assert!(
        out(&o).contains("bob: under /iamspec/ but owned by `team-b`"),
        "{}",
        out(&o)
    );
    let json = run(&["drift", "-f", &spec, "--local", a, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["drifted"], false, "{report}");
    // Team A prunes: team B's objects stay.
    let o = run(&["apply", "-f", &spec, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&acct).unwrap()).unwrap();
    assert!(after["users"].get("bob").is_some() && after["managed"].get("b-read").is_some());
    // An untagged user under the path is real drift.
    let mut live: serde_json::Value = after.clone();
    live["users"]["hand-made"] = serde_json::json!({"name": "hand-made", "path": "/iamspec/", "tags": {},
        "inline_policies": {}, "attached_policies": [], "groups": []});
    std::fs::write(&acct, live.to_string()).unwrap();
    let o = run(&["drift", "-f", &spec, "--local", a]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}

/// regression: two applies of different specs to one `--local` file both exited 0 and the file kept only one
/// run's users. Every operation now re-reads and writes the file under a file lock.
#[test]
fn concurrent_applies_to_one_local_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("shared.json");
    let spec = |team: &str| {
        let mut body = format!("version: 1\nowner: {team}\npath: /{team}/\nusers:\n");
        for i in 0..60 {
            body.push_str(&format!(
                "  {team}-{i}:\n    grants: [{{buckets: [{team}-bucket], access: read}}]\n"
            ));
        }
        let path = dir.path().join(format!("{team}.yaml"));
        std::fs::write(&path, body).unwrap();
        path
    };
    let (a, b) = (spec("alpha"), spec("beta"));
    let a_acct = acct.to_str().unwrap();
    let (x, y) = std::thread::scope(|s| {
        let one = s.spawn(|| {
            run(&[
                "apply",
                "-f",
                a.to_str().unwrap(),
                "--local",
                a_acct,
                "--auto-approve",
            ])
        });
        let two = s.spawn(|| {
            run(&[
                "apply",
                "-f",
                b.to_str().unwrap(),
                "--local",
                a_acct,
                "--auto-approve",
            ])
        });
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_eq!(x.status.code(), Some(0), "{}", err(&x));
    assert_eq!(y.status.code(), Some(0), "{}", err(&y));
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&acct).unwrap()).unwrap();
    let users = after["users"].as_object().unwrap();
    assert_eq!(users.len(), 120, "both runs' users are there");
    for spec in [&a, &b] {
        let o = run(&["plan", "-f", spec.to_str().unwrap(), "--local", a_acct]);
        assert!(out(&o).contains("No changes."), "{}", out(&o));
    }
    for team in ["alpha", "beta"] {
        let lock = dir.path().join(format!("shared.json.iamspec-lock-{team}"));
        assert!(!lock.exists(), "{} released", lock.display());
    }
}

/// `can` and `who-can` answer from the spec: exit 0 allowed, 2 denied, 1 cannot decide; the deciding policy
/// named; a prefix grant tested inside and outside its prefix.
#[test]
fn can_and_who_can_answer_from_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "version: 1\naccount_id: \"123456789012\"\npolicies:\n  shared-read: {grants: [{buckets: [photos-archive], access: read}]}\nusers:\n  uploader:\n    grants:\n      - {buckets: [photos-prod], prefix: incoming/, access: write}\n  reader:\n    grants:\n      - {buckets: [photos-prod], access: read}\n  mystery:\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3FullAccess]\nroles:\n  media:\n    trust: {account: \"123456789012\"}\n    policies: [shared-read]\n  capped:\n    trust: {account: \"123456789012\"}\n    grants: [{buckets: [photos-prod], access: read}]\n    permissions_boundary: arn:aws:iam::aws:policy/AWSDenyAll\n",
    )
    .unwrap();
    let s = spec.to_str().unwrap();
    let can = |args: &[&str]| {
        let mut all = vec!["can", "-f", s];
        all.extend(args);
        run(&all)
    };
    let o = can(&["uploader", "s3:PutObject", "photos-prod/incoming/a.jpg"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(
        out(&o)
            .contains("allowed: uploader s3:PutObject on arn:aws:s3:::photos-prod/incoming/a.jpg"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("by iamspec-grants, Objects1"),
        "{}",
        out(&o)
    );
    let o = can(&["uploader", "s3:PutObject", "photos-prod/published/a.jpg"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("no policy allows it"));
    // Listing: only with a prefix inside the grant's; in-progress uploads are not visible with a prefix.
    let o = can(&["uploader", "s3:ListBucketMultipartUploads", "photos-prod"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let o = can(&[
        "reader",
        "s3:ListBucket",
        "photos-prod",
        "--context",
        "s3:prefix=any/",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = can(&["mystery", "s3:GetObject", "photos-prod/a"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("cannot decide") && out(&o).contains("AmazonS3FullAccess"),
        "{}",
        out(&o)
    );
    // Mistakes are errors, not "denied".
    let o = can(&["uploader", "s3:PutObjekt", "photos-prod/x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("did you mean `s3:PutObject`"),
        "{}",
        err(&o)
    );
    let o = can(&["nobody", "s3:PutObject", "photos-prod/x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("no user `nobody`"), "{}", err(&o));

    let o = run(&[
        "who-can",
        "-f",
        s,
        "s3:GetObject",
        "photos-prod/incoming/a.jpg",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format_version"], 2);
    assert_eq!(
        doc["allowed"],
        serde_json::json!([{"principal": {"kind": "user", "name": "reader"}, "policy": "iamspec-grants", "statement": "Objects1", "under": []}])
    );
    assert_eq!(
        doc["undecided"][0]["principal"],
        serde_json::json!({"kind": "user", "name": "mystery"})
    );
    // A role is a role, never a user named `role/...`; its boundary counts (unknown offline: cannot decide).
    assert_eq!(
        doc["denied"],
        serde_json::json!([{"kind": "user", "name": "uploader"}, {"kind": "role", "name": "media"}])
    );
    assert_eq!(
        doc["undecided"][1]["principal"],
        serde_json::json!({"kind": "role", "name": "capped"})
    );
    // regression: roles' shared policies and boundaries never reached can.
    let o = can(&["role/media", "s3:GetObject", "photos-archive/a"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("by policy/shared-read"), "{}", out(&o));
    let o = can(&["role/capped", "s3:GetObject", "photos-prod/a"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("AWSDenyAll"), "{}", out(&o));
    let o = can(&["media", "s3:GetObject", "photos-archive/a"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("`media` is a role: ask `iamspec can role/media"),
        "{}",
        err(&o)
    );
    let o = can(&["readr", "s3:GetObject", "photos-prod/a"]);
    assert!(err(&o).contains("did you mean `reader`?"), "{}", err(&o));
    let o = run(&[
        "who-can",
        "-f",
        s,
        "s3:PutObject",
        "photos-prod/incoming/a.jpg",
    ]);
    let text = out(&o);
    assert!(
        text.contains("allowed        uploader")
            && text.contains("1 allowed, 1 undecided, 3 denied (of 3 user(s) and 2 role(s))."),
        "{text}"
    );
}

/// The newcomer's trip-ups (one test per item of the report): each must fail clearly or just work.
mod newcomer {
    use super::*;

    fn local(dir: &tempfile::TempDir) -> String {
        dir.path().join("a.json").to_str().unwrap().to_owned()
    }

    #[test]
    fn a_typo_in_user_is_an_error_with_a_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let spec = example("pixelshift.yaml");
        for args in [
            vec![
                "plan",
                "-f",
                &spec,
                "--local",
                &acct,
                "--user",
                "iam_pixelshif",
            ],
            vec![
                "apply",
                "-f",
                &spec,
                "--local",
                &acct,
                "--auto-approve",
                "--user",
                "iam_pixelshif",
            ],
            vec![
                "drift",
                "-f",
                &spec,
                "--local",
                &acct,
                "--user",
                "iam_pixelshif",
            ],
            vec!["render", "-f", &spec, "--user", "iam_pixelshif"],
        ] {
            let o = run(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out(&o));
            assert!(
                err(&o).contains("--user iam_pixelshif: no such user"),
                "{args:?}: {}",
                err(&o)
            );
            assert!(
                err(&o).contains("did you mean `iam_pixelshift`?"),
                "{}",
                err(&o)
            );
            assert!(!out(&o).contains("No changes"), "{}", out(&o));
        }
        // Names are case-insensitive, as IAM's are.
        let o = run(&[
            "plan",
            "-f",
            &spec,
            "--local",
            &acct,
            "--user",
            "IAM_Pixelshift",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    }

    #[test]
    fn a_spec_given_as_a_plan_file_says_use_f() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let spec = example("team.yaml");
        let o = run(&["apply", &spec, "--local", &acct]);
        assert_eq!(o.status.code(), Some(1));
        let e = err(&o);
        assert!(e.contains("is a spec, not a saved plan"), "{e}");
        assert!(e.contains(&format!("iamspec apply -f {spec}")), "{e}");
        assert!(!e.contains("stale"), "{e}");
        assert!(!std::path::Path::new(&acct).exists(), "no write");
    }

    /// Every command that prints must survive a reader that leaves (`| head -c1`): no panic, no message.
    #[test]
    fn a_closed_stdout_is_no_panic() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let team = example("team.yaml");
        for args in [
            vec!["completions", "bash"],
            vec!["self-policy", "-f", &team],
            vec!["schema"],
            vec!["render", "-f", &team],
            vec!["validate", "-f", &team],
            vec!["plan", "-f", &team, "--local", &acct],
            vec!["plan", "-f", &team, "--local", &acct, "--format", "json"],
            vec!["drift", "-f", &team, "--local", &acct],
            vec!["who-can", "-f", &team, "s3:GetObject", "*"],
        ] {
            let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("iamspec"))
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .stdin(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Close the read end before the child writes.
            drop(child.stdout.take());
            let o = child.wait_with_output().unwrap();
            assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {}", err(&o));
            assert!(!err(&o).contains("panicked"), "{args:?}: {}", err(&o));
            assert!(!err(&o).contains("Broken pipe"), "{args:?}: {}", err(&o));
        }
    }

    #[test]
    fn verbosity_levels() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let team = example("team.yaml");
        let quiet = run(&["plan", "-f", &team, "--local", &acct]);
        assert_eq!(err(&quiet), "", "nothing on stderr by default");
        let v = run(&["plan", "-f", &team, "--local", &acct, "-v"]);
        let e = err(&v);
        for phase in [
            "reading live IAM",
            "read live IAM",
            "planned",
            "API calls: 2",
        ] {
            assert!(e.contains(phase), "-v shows {phase}: {e}");
        }
    }

    #[test]
    fn a_missing_spec_file_is_one_line_with_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let o = iamspec()
            .current_dir(dir.path())
            .args(["plan", "--local", "a.json", "-v"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let e = err(&o);
        assert_eq!(
            e.matches("No such file").count(),
            1,
            "the cause once, even at -v: {e}"
        );
        assert!(e.contains("read iamspec.yaml"), "{e}");
        assert!(e.contains("-f defaults to iamspec.yaml"), "{e}");
    }

    #[test]
    fn a_bad_encrypt_to_names_the_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let o = iamspec()
            .current_dir(dir.path())
            .args([
                "apply",
                "-f",
                &example("pixelshift.yaml"),
                "--local",
                &acct,
                "--auto-approve",
                "--encrypt-to",
                "age1bogus",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let e = err(&o);
        assert!(
            e.contains("--encrypt-to `age1bogus` is not an age recipient"),
            "{e}"
        );
        assert!(e.contains("age-keygen -y"), "{e}");
        assert!(!e.contains("secrets directory"), "{e}");
        assert!(!dir.path().join("iamspec-secrets").exists());
        assert!(!std::path::Path::new(&acct).exists());
    }

    #[test]
    fn the_plan_names_the_account_and_new_users_read_in_the_specs_words() {
        let dir = tempfile::tempdir().unwrap();
        let acct = local(&dir);
        let spec = example("pixelshift.yaml");
        let o = run(&["plan", "-f", &spec, "--local", &acct]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let text = out(&o);
        assert!(
            text.starts_with("Account 123456789012 (local account file "),
            "{text}"
        );
        assert!(
            text.contains("      + grant photos-prod read-write"),
            "{text}"
        );
        assert!(
            !text.contains("\"Statement\""),
            "no JSON by default: {text}"
        );
        assert!(text.contains("--show-policies prints its JSON"), "{text}");
        // What a reader counts at the margin is what the summary says.
        let marks = |c: char| {
            text.lines()
                .filter(|l| l.starts_with(&format!("{c} ")))
                .count()
        };
        assert!(
            text.contains(&format!(
                "Plan: {} to add, {} to change, {} to destroy.",
                marks('+'),
                marks('~'),
                marks('-')
            )),
            "{text}"
        );
        let o = run(&["plan", "-f", &spec, "--local", &acct, "--show-policies"]);
        assert!(out(&o).contains("\"Statement\""), "{}", out(&o));
        // JSON keeps everything.
        let o = run(&["plan", "-f", &spec, "--local", &acct, "--format", "json"]);
        assert!(out(&o).contains("\"Statement\""), "{}", out(&o));
    }

    #[test]
    fn help_gives_global_options_their_heading_and_offline_commands_no_aws_flags() {
        let top = out(&run(&["--help"]));
        assert!(
            top.contains("--auto-approve --secrets-dir ./secrets"),
            "an example split mid-flag: {top}"
        );
        assert!(top.lines().all(|l| l.chars().count() <= 100), "{top}");
        for offline in ["validate", "render", "schema", "self-policy"] {
            let help = out(&run(&[offline, "--help"]));
            assert!(help.contains("Global options:"), "{offline}: {help}");
            for aws in ["--profile", "--endpoint-url", "--region", "--local"] {
                assert!(!help.contains(aws), "{offline} lists {aws}: {help}");
            }
        }
        let plan = out(&run(&["plan", "--help"]));
        let global = plan.find("Global options:").expect("heading");
        assert!(plan.find("--verbose").unwrap() > global, "{plan}");
        assert!(plan.find("--profile").unwrap() < global, "{plan}");
    }
}

/// `delegate: true`: plan refuses until the admin step made the boundary; `bootstrap` prints it and `--apply`
/// writes it once; every principal is created with it; the next plan has no changes.
#[test]
fn delegation_needs_the_admin_step_then_creates_every_principal_with_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("account.json");
    let local = local.to_str().unwrap();
    let spec = example("delegated.yaml");
    let account = ["--local", local];
    let with = |args: &[&str]| run(&[args, &account[..]].concat());

    let o = with(&["plan", "-f", &spec]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("iamspec-boundary-media") && err(&o).contains("bootstrap --apply"),
        "{}",
        err(&o)
    );
    let o = with(&["bootstrap", "-f", &spec]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let text = doc.to_string();
    assert!(
        text.contains("arn:aws:s3:::photos-thumbs/*") && !text.contains("iam:"),
        "{text}"
    );
    assert!(err(&o).contains("does not exist yet"), "{}", err(&o));
    let o = with(&["bootstrap", "-f", &spec, "--apply"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("Wrote the boundary"), "{}", out(&o));
    let o = with(&["bootstrap", "-f", &spec, "--apply"]);
    assert!(out(&o).contains("Nothing to do"), "{}", out(&o));

    let o = with(&["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("create user (path /iamspec/, tags iamspec:owner=media, permissions boundary iamspec-boundary-media)"),
        "{}",
        out(&o)
    );
    let o = with(&["plan", "-f", &spec, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(local).unwrap()).unwrap();
    let b = "arn:aws:iam::123456789012:policy/iamspec/iamspec-boundary-media";
    assert_eq!(file["users"]["iam_pixelshift"]["permissions_boundary"], b);
    assert_eq!(file["roles"]["cloudinary-media"]["permissions_boundary"], b);

    // The pipeline's policy requires the boundary and says nothing is admin-equivalent; without delegation it
    // says plainly that it is.
    let o = run(&["self-policy", "-f", &spec]);
    assert!(out(&o).contains("iam:PermissionsBoundary"), "{}", out(&o));
    assert!(!err(&o).contains("admin-equivalent"), "{}", err(&o));
    let o = run(&["self-policy", "-f", &example("pixelshift.yaml")]);
    assert!(err(&o).contains("admin-equivalent"), "{}", err(&o));
    // bootstrap of a spec that does not delegate is a usage error.
    let o = with(&["bootstrap", "-f", &example("pixelshift.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("does not delegate"), "{}", err(&o));
}

/// A saved plan names its spec relative to where it was made; applied from elsewhere without -f, the error says
/// the path came from the plan and how to give it.
#[test]
fn a_saved_plans_spec_path_that_does_not_resolve_says_where_it_came_from() {
    let made = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(example("team.yaml"), made.path().join("spec.yaml")).unwrap();
    let acct = made.path().join("a.json");
    let planfile = made.path().join("plan.json");
    let o = iamspec()
        .current_dir(made.path())
        .args([
            "plan",
            "-f",
            "spec.yaml",
            "--local",
            acct.to_str().unwrap(),
            "--out",
        ])
        .arg(&planfile)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = iamspec()
        .current_dir(elsewhere.path())
        .args([
            "apply",
            planfile.to_str().unwrap(),
            "--local",
            acct.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("the spec `spec.yaml` it was made from is not there from this directory")
            && err(&o).contains("pass the spec with -f"),
        "{}",
        err(&o)
    );
}

/// `force-unlock` without a terminal: a piped `yes` answers, as for apply; anything else says what it needs.
#[test]
fn force_unlock_takes_a_piped_yes() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let spec = example("team.yaml");
    let o = run(&[
        "apply",
        "-f",
        &spec,
        "--local",
        acct.to_str().unwrap(),
        "--auto-approve",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let lock = dir.path().join("a.json.iamspec-lock-web-platform");
    std::fs::write(
        &lock,
        "iamspec 0.1.0 apply by ci@runner (pid 1) since 2026-01-01T00:00:00Z [00000000]",
    )
    .unwrap();
    let unlock = |stdin: &str| {
        iamspec()
            .args([
                "force-unlock",
                "-f",
                &spec,
                "--local",
                acct.to_str().unwrap(),
            ])
            .write_stdin(stdin)
            .output()
            .unwrap()
    };
    let o = unlock("no\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("pipe `yes` to it"), "{}", err(&o));
    assert!(lock.exists());
    let o = unlock("yes\n");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(!lock.exists());
}

/// After a crash between storing a key's secret and recording it (kill -9), the next apply deletes the key (never
/// used, never recorded) and removes its secret file, saying so without printing it; that recovery is not a
/// deletion the spec asks for, so it does not count against --max-deletes.
#[test]
fn recovering_keys_after_a_crash_removes_their_secret_files_and_is_not_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let a = acct.to_str().unwrap();
    let secrets = dir.path().join("secrets");
    let sd = secrets.to_str().unwrap();
    let mut body = String::from("version: 1\nusers:\n");
    for i in 0..6 {
        body.push_str(&format!("  svc-{i}: {{access_keys: {{count: 1}}}}\n"));
    }
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, body).unwrap();
    let s = spec.to_str().unwrap();
    let o = run(&[
        "apply",
        "-f",
        s,
        "--local",
        a,
        "--auto-approve",
        "--secrets-dir",
        sd,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let first: Vec<String> = std::fs::read_dir(&secrets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(first.len(), 6);
    // The crash: secrets stored, delivery never recorded.
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&acct).unwrap()).unwrap();
    for user in file["users"].as_object_mut().unwrap().values_mut() {
        let tags = user["tags"].as_object_mut().unwrap();
        tags.retain(|k, _| !k.starts_with("iamspec:key:"));
    }
    std::fs::write(&acct, file.to_string()).unwrap();

    let o = run(&[
        "apply",
        "-f",
        s,
        "--local",
        a,
        "--auto-approve",
        "--secrets-dir",
        sd,
        "--max-deletes",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("(never delivered, never used)"),
        "{}",
        out(&o)
    );
    assert_eq!(
        err(&o).matches("is removed").count(),
        6,
        "each old secret file said: {}",
        err(&o)
    );
    let now: Vec<String> = std::fs::read_dir(&secrets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(now.len(), 6, "one secret per live key: {now:?}");
    assert!(
        now.iter().all(|f| !first.contains(f)),
        "the old files are gone: {now:?}"
    );
    // No secret reaches the output.
    let leaked = std::fs::read_dir(&secrets).unwrap().any(|e| {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let secret = v["SecretAccessKey"].as_str().unwrap().to_owned();
        out(&o).contains(&secret) || err(&o).contains(&secret)
    });
    assert!(!leaked);
}

/// Each warning names its rule; `lint.allow` on the spec, a user or a grant accepts it there (validate -v still
/// lists it); what is allowed in one place still warns elsewhere.
#[test]
fn lint_allow_acknowledges_a_warning_where_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    let body = "version: 1\nusers:\n  ewww:\n    grants:\n      - buckets: [\"photos-*\"]\n        access: read\n        lint: { allow: [broad-bucket-pattern] }\n  other:\n    grants:\n      - buckets: [\"thumbs-*\"]\n        access: read\n";
    std::fs::write(&spec, body).unwrap();
    let s = spec.to_str().unwrap();
    let o = run(&["validate", "-f", s]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("1 warning(s)"), "{}", out(&o));
    assert!(
        err(&o).contains("`thumbs-*` also matches buckets created later [broad-bucket-pattern]")
            && !err(&o).contains("photos-*"),
        "{}",
        err(&o)
    );
    let o = run(&["validate", "-f", s, "-v"]);
    assert!(
        err(&o).contains("allowed: ") && err(&o).contains("users.ewww.grants[0].buckets[0]"),
        "{}",
        err(&o)
    );
    // On the user, and on the spec, it covers everything below.
    std::fs::write(
        &spec,
        format!("lint: {{ allow: [broad-bucket-pattern] }}\n{body}"),
    )
    .unwrap();
    let o = run(&["validate", "-f", s, "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

/// A team split or rename: `adopt: {from_owner: OLD}` moves a user, role, group or policy from that owner only,
/// as its own change; an object of any other owner stays a conflict.
#[test]
fn adopt_from_owner_moves_objects_of_that_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("a.json");
    let a = acct.to_str().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let body = |owner: &str, adopt: &str| {
        format!(
            "version: 1\naccount_id: \"123456789012\"\nowner: {owner}\npolicies:\n  shared: {{grants: [{{buckets: [b-one], access: read}}]{adopt}}}\ngroups:\n  crew: {{grants: [{{buckets: [b-two], access: read}}]{adopt}}}\nusers:\n  mover: {{groups: [crew], policies: [shared]{adopt}}}\nroles:\n  svc: {{trust: {{account: \"123456789012\"}}{adopt}}}\n"
        )
    };
    let old = write("old.yaml", &body("old-team", ""));
    let o = run(&["apply", "-f", &old, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    // Without adopt: a conflict whose hint says how to move it.
    let plain = write("plain.yaml", &body("new-team", ""));
    let o = run(&["plan", "-f", &plain, "--local", a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("adopt: {from_owner: old-team}"),
        "{}",
        err(&o)
    );
    // From another owner than the one that has them: still a conflict.
    let wrong = write(
        "wrong.yaml",
        &body("new-team", ", adopt: {from_owner: team-c}"),
    );
    let o = run(&["plan", "-f", &wrong, "--local", a]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(err(&o).contains("owned by `old-team`"), "{}", err(&o));

    let new = write(
        "new.yaml",
        &body("new-team", ", adopt: {from_owner: old-team}"),
    );
    let o = run(&["plan", "-f", &new, "--local", a]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    for expected in [
        "~ mover: adopt (tag iamspec:owner=new-team)  # adopt: {from_owner: old-team}; taken over from that owner",
        "~ role/svc: adopt (tag iamspec:owner=new-team",
        "~ group/crew: mark as owned by new-team",
        "~ policy/shared: adopt (tag iamspec:owner=new-team)",
    ] {
        assert!(out(&o).contains(expected), "missing {expected:?}:\n{}", out(&o));
    }
    let o = run(&["apply", "-f", &new, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(&["plan", "-f", &new, "--local", a, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // The old spec now meets another owner's objects.
    let o = run(&["plan", "-f", &old, "--local", a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("owned by `new-team`"), "{}", err(&o));
}

/// regression: `who-can s3:PutObject photos-prod` answered "0 allowed" with exit 0: an object action asked of a
/// bucket (or a bucket action of an object) is a question about nothing, and says what was meant.
#[test]
fn an_action_asked_of_the_wrong_kind_of_resource_is_an_error() {
    let spec = example("pixelshift.yaml");
    let o = run(&["who-can", "-f", &spec, "s3:PutObject", "photos-prod"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("s3:PutObject acts on objects") && err(&o).contains("photos-prod/*"),
        "{}",
        err(&o)
    );
    let o = run(&[
        "can",
        "-f",
        &spec,
        "iam_pixelshift",
        "s3:ListBucket",
        "photos-prod/a.jpg",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("ask about the bucket: `photos-prod`"),
        "{}",
        err(&o)
    );
    let o = run(&["who-can", "-f", &spec, "s3:PutObject", "photos-prod/*"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

/// `can --format json`: the principal as a target, the decision, what decided; the exit code as for text.
#[test]
fn can_answers_in_json() {
    let spec = example("pixelshift.yaml");
    let o = run(&[
        "can",
        "-f",
        &spec,
        "iam_pixelshift",
        "s3:GetObject",
        "photos-prod/a.jpg",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["principal"],
        serde_json::json!({"kind": "user", "name": "iam_pixelshift"})
    );
    assert_eq!(doc["decision"], "allowed");
    assert_eq!(doc["by"]["policy"], "iamspec-grants");
    let o = run(&[
        "can",
        "-f",
        &spec,
        "iam_pixelshift",
        "s3:DeleteBucket",
        "photos-prod",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["decision"], "denied");
}

/// `render` prints every document apply writes (regression: a user in `policy_mode: managed` showed "no grants";
/// roles, groups, shared policies and the boundary were missing), so reviewers and linters see them offline.
#[test]
fn render_prints_every_document_apply_writes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "version: 1\naccount_id: \"123456789012\"\ndelegate: true\npolicies:\n  shared: {grants: [{buckets: [b-two], access: read}]}\nusers:\n  big:\n    policy_mode: managed\n    grants: [{buckets: [b-one], access: read}]\n  member: {groups: [crew]}\nroles:\n  svc:\n    trust: {account: \"123456789012\"}\n    grants: [{buckets: [b-one], access: write}]\ngroups:\n  crew: {grants: [{buckets: [b-three], access: list}]}\n",
    )
    .unwrap();
    let o = run(&["render", "-f", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    for header in [
        "# big: grants in its own managed policy iamspec-big",
        "# member: no grants of its own; it has its groups' (crew)",
        "# policy/shared: managed policy",
        "# policy/iamspec-big: managed policy",
        "# role/svc: trust policy",
        "# role/svc: inline policy iamspec-grants",
        "# group/crew: inline policy iamspec-grants",
        "# group/crew: inline policy iamspec-owner",
        "# policy/iamspec-boundary-iamspec: permissions boundary",
    ] {
        assert!(text.contains(header), "missing {header:?}:\n{text}");
    }
    // Every document is valid JSON as printed.
    for chunk in text
        .split("\n# ")
        .map(|c| c.split_once('\n').map_or("", |(_, j)| j))
    {
        if !chunk.trim().is_empty() && chunk.trim_start().starts_with('{') {
            iamspec::policy::PolicyDocument::parse(chunk.trim()).unwrap();
        }
    }
    // --user: that user and its own policy only.
    let o = run(&["render", "-f", spec.to_str().unwrap(), "--user", "big"]);
    assert!(
        out(&o).contains("policy/iamspec-big") && !out(&o).contains("role/svc"),
        "{}",
        out(&o)
    );
}

/// Questions as people ask them: "some object there" lists who may act under part of it, with the part; the
/// spec's access words are questions; an access word asked of the wrong kind of resource is an error.
#[test]
fn questions_in_the_specs_words_and_about_some_object_there() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "version: 1\nusers:\n  uploader:\n    grants:\n      - {buckets: [photos-prod], prefix: uploads/, access: write}\n  reader:\n    grants:\n      - {buckets: [photos-prod], access: read}\n",
    )
    .unwrap();
    let s = spec.to_str().unwrap();
    let o = run(&["who-can", "-f", s, "s3:PutObject", "photos-prod/*"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("allowed        uploader  under uploads/, by iamspec-grants"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("1 allowed, 0 undecided, 1 denied"),
        "{}",
        out(&o)
    );
    let o = run(&[
        "who-can",
        "-f",
        s,
        "write",
        "photos-prod/*",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["allowed"][0]["principal"]["name"], "uploader");
    assert_eq!(doc["allowed"][0]["under"], serde_json::json!(["uploads/"]));
    assert_eq!(doc["denied"][0]["name"], "reader");
    let o = run(&["who-can", "-f", s, "read", "photos-prod/*"]);
    assert!(out(&o).contains("allowed        reader"), "{}", out(&o));
    assert!(!out(&o).contains("uploader"), "{}", out(&o));
    // Write lacks reads: the answer names what is missing.
    let o = run(&[
        "can",
        "-f",
        s,
        "uploader",
        "read-write",
        "photos-prod/uploads/a.jpg",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o).contains("not allowed: s3:GetObject, s3:GetObjectVersion"),
        "{}",
        out(&o)
    );
    let o = run(&["can", "-f", s, "reader", "read", "photos-prod"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("`photos-prod/*`"), "{}", err(&o));
    let o = run(&["can", "-f", s, "reader", "list", "photos-prod"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// `--live --local` answers for users whose access comes through groups (regression: "cannot decide").
#[test]
fn live_answers_count_groups_policies() {
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("account.json");
    let spec = example("team-groups.yaml");
    let a = account.to_str().unwrap();
    let o = run(&["apply", "-f", &spec, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(&[
        "who-can",
        "-f",
        &spec,
        "--live",
        "--local",
        a,
        "s3:PutObject",
        "photos-thumbs/*",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("allowed        media-sync   by group media-writers: iamspec-grants"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("1 allowed, 0 undecided, 1 denied"),
        "{}",
        out(&o)
    );
}

/// Guardrails: a spec whose principals break one fails to load (validate, and plan before any call), naming the
/// principal, the guardrail, the statement and the spec line; live principals that break one are reported by plan
/// and drift.
#[test]
fn guardrails_refuse_the_spec_and_report_the_live_account() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    let acct = dir.path().join("a.json");
    let (s, a) = (spec.to_str().unwrap(), acct.to_str().unwrap());
    let guard = "guardrails:\n  - name: audit-logs-are-append-only\n    deny: {actions: [s3:DeleteObject, s3:PutBucketPolicy], resources: [\"audit-logs/*\", audit-logs]}\n  - name: trusted-accounts\n    trust: {accounts: [\"232482882421\"]}\n";
    let users = "users:\n  shipper:\n    grants:\n      - {buckets: [audit-logs], access: read}\n      - {buckets: [audit-logs], prefix: incoming/, access: write}\n";
    std::fs::write(
        &spec,
        format!("version: 1\naccount_id: \"123456789012\"\n{guard}{users}"),
    )
    .unwrap();
    let o = run(&["validate", "-f", s]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let e = err(&o);
    assert!(
        e.contains(":12:10: users.shipper.grants[1]: user shipper breaks guardrail audit-logs-are-append-only: may s3:DeleteObject on audit-logs/incoming/*")
            && e.contains("Objects2"),
        "{e}"
    );
    let o = run(&["plan", "-f", s, "--local", a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!acct.exists(), "refused before the account was touched");

    // The same user made without the guardrail: plan and drift of the guarded spec report it live.
    std::fs::write(
        &spec,
        format!("version: 1\naccount_id: \"123456789012\"\n{users}"),
    )
    .unwrap();
    let o = run(&["apply", "-f", s, "--local", a, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    std::fs::write(
        &spec,
        format!("version: 1\naccount_id: \"123456789012\"\n{guard}users: {{}}\n"),
    )
    .unwrap();
    let o = run(&["plan", "-f", s, "--local", a]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("! shipper: user shipper breaks guardrail audit-logs-are-append-only: may s3:DeleteObject on audit-logs/incoming/*"),
        "{}",
        out(&o)
    );
    let o = run(&["drift", "-f", s, "--local", a, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["counts"]["guardrails"], 1, "{report:#}");
    let o = run(&["drift", "-f", s, "--local", a]);
    assert!(
        out(&o).contains("shipper: breaks a guardrail"),
        "{}",
        out(&o)
    );
}

/// The fields GitHub code scanning requires of a SARIF upload, checked one by one.
fn check_sarif(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "iamspec");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in rules {
        assert!(r["id"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["shortDescription"]["text"].as_str().is_some(), "{r}");
        assert!(r["help"]["text"].as_str().is_some(), "{r}");
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() <= 25_000);
    for res in results {
        let id = res["ruleId"].as_str().unwrap();
        let index = usize::try_from(res["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], id);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(!loc["artifactLocation"]["uri"].as_str().unwrap().is_empty());
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
    assert!(serde_json::to_vec(doc).unwrap().len() < 10 * 1024 * 1024);
    results
}

/// `validate --format sarif|github` and `drift --format sarif|github`: findings where CI shows them, each at the
/// spec line it is about.
#[test]
fn findings_in_sarif_and_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    let s = spec.to_str().unwrap();
    // An error (a bad bucket name) and a guardrail breach: exit 1, both in SARIF at their lines.
    std::fs::write(
        &spec,
        "version: 1\nusers:\n  a:\n    grants:\n      - {buckets: [Bad_Bucket!], access: read}\n",
    )
    .unwrap();
    let o = run(&["validate", "-f", s, "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = check_sarif(&doc);
    assert_eq!(results[0]["ruleId"], "invalid-spec");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    // Warnings: exit 0 (1 with --strict), each with its lint rule.
    std::fs::write(
        &spec,
        "version: 1\nusers:\n  a:\n    grants:\n      - {buckets: [\"*\"], access: read}\n",
    )
    .unwrap();
    let o = run(&["validate", "-f", s, "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = check_sarif(&doc);
    assert!(results.iter().all(|r| r["level"] == "warning"));
    assert!(
        results.iter().any(|r| r["ruleId"] == "every-bucket"),
        "{doc:#}"
    );
    assert_eq!(
        run(&["validate", "-f", s, "--format", "sarif", "--strict"])
            .status
            .code(),
        Some(1)
    );
    let o = run(&["validate", "-f", s, "--format", "github"]);
    let first = out(&o).lines().next().unwrap().to_owned();
    assert!(
        first.starts_with(&format!(
            "::warning file={},line=5,col=",
            s.replace(':', "%3A")
        )),
        "{first}"
    );
    assert!(first.contains("title=iamspec every-bucket::"), "{first}");

    // Drift: the changed user at the line that declares it.
    let acct = dir.path().join("a.json");
    let a = acct.to_str().unwrap();
    let team = example("team.yaml");
    assert_eq!(
        run(&["apply", "-f", &team, "--local", a, "--auto-approve"])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(
        &spec,
        std::fs::read_to_string(&team)
            .unwrap()
            .replace("read-write", "read"),
    )
    .unwrap();
    let o = run(&["drift", "-f", s, "--local", a, "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = check_sarif(&doc);
    assert_eq!(results.len(), 1, "{doc:#}");
    assert_eq!(results[0]["ruleId"], "drift-changed");
    let line = results[0]["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap();
    let text = std::fs::read_to_string(&spec).unwrap();
    let declared = text
        .lines()
        .nth(usize::try_from(line).unwrap() - 1)
        .unwrap();
    assert!(
        declared.trim_start().starts_with("backup-agent:"),
        "{declared}"
    );
    let o = run(&["drift", "-f", s, "--local", a, "--format", "github"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).starts_with("::warning file="), "{}", out(&o));
}

/// `--version` names the git revision it was built from; `man` prints a roff page.
#[test]
fn version_names_the_revision_and_man_prints_a_page() {
    let o = run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let v = out(&o);
    let rev = v
        .strip_prefix(&format!("iamspec {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.trim_end().strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        rev == "unknown"
            || rev
                .trim_end_matches("-dirty")
                .chars()
                .all(|c| c.is_ascii_hexdigit()),
        "{v}"
    );
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains(".TH iamspec 1"), "{}", out(&o));
    assert!(
        out(&o).contains("iamspec\\-who\\-can(1)"),
        "subcommands are listed"
    );
    // Every page it refers to exists.
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    for page in ["iamspec.1", "iamspec-who-can.1", "iamspec-plan.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}
