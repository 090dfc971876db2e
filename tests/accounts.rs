//! Many accounts against moto_server: an organization made in the proxy's account (CreateOrganization,
//! CreateAccount), each member reached by AssumeRole with the session's own credentials. Apply to three accounts,
//! drift in one, narrowing, organization discovery, an account whose role is refused, saved plans, shards.

mod common;

use common::{
    iam_client_as, organization, rt, run, stdout, test_credentials, text, write_spec, Faults, Proxy,
};

/// An IAM client in `account`, through its role, as an operator editing by hand would be.
fn iam_in(proxy: &Proxy, account: &str) -> aws_sdk_iam::Client {
    let sts_conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(test_credentials())
        .endpoint_url(proxy.url())
        .build();
    let sts = aws_sdk_sts::Client::from_conf(sts_conf);
    let c = rt().block_on(async {
        sts.assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/admin"))
            .role_session_name("operator")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap()
    });
    let creds = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );
    iam_client_as(proxy, creds)
}

fn users_in(proxy: &Proxy, account: &str) -> Vec<String> {
    let iam = iam_in(proxy, account);
    let mut names: Vec<String> = rt().block_on(async {
        iam.list_users()
            .send()
            .await
            .unwrap()
            .users()
            .iter()
            .map(|u| u.user_name().to_owned())
            .collect()
    });
    names.sort();
    names
}

fn spec_for(ids: &[String]) -> String {
    format!(
        "version: 1\nowner: platform\naccounts:\n  prod: {{ id: \"{}\", role: iamspec-deployer }}\n  staging: {{ id: \"{}\", role_arn: \"arn:aws:iam::{}:role/ci/iamspec\", external_id: x-7f3a }}\n  dev: {{ id: \"{}\", role: iamspec-deployer }}\nusers:\n  ci-deployer:\n    grants: [{{ buckets: [artifacts], access: read-write }}]\n  cdn-uploader:\n    accounts: [prod]\n    grants: [{{ buckets: [cdn-assets], access: write }}]\n",
        ids[0], ids[1], ids[1], ids[2]
    )
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn three_accounts_are_applied_converge_and_drift_in_one_is_named() {
    let proxy = Proxy::new();
    let ids = organization(&proxy, 3);
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_for(&ids));
    let spec = spec.to_str().unwrap();

    let o = run(&proxy, &["apply", "-f", spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("=== prod ("), "{out}");
    assert!(
        out.contains(&format!(
            "prod ({}): Apply complete: 4 change(s) made.",
            ids[0]
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "staging ({}): Apply complete: 2 change(s) made.",
            ids[1]
        )),
        "{out}"
    );
    // Each object where its `accounts:` puts it, and nothing in the caller's own account.
    assert_eq!(users_in(&proxy, &ids[0]), ["cdn-uploader", "ci-deployer"]);
    assert_eq!(users_in(&proxy, &ids[1]), ["ci-deployer"]);
    assert_eq!(users_in(&proxy, &ids[2]), ["ci-deployer"]);
    assert_eq!(users_in(&proxy, proxy.account()), Vec::<String>::new());

    let o = run(&proxy, &["plan", "-f", spec, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("Accounts: 3 (0 with changes, 0 failed)"),
        "{}",
        text(&o)
    );

    // A grant added by hand in staging: drift names staging, and only staging.
    let staging = iam_in(&proxy, &ids[1]);
    rt().block_on(async {
        staging
            .put_user_policy()
            .user_name("ci-deployer")
            .policy_name("by-hand")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
    });
    let o = run(&proxy, &["drift", "-f", spec, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let report = json(&o);
    assert_eq!(report["kind"], "drift");
    assert_eq!(report["summary"]["changed"], 1);
    let drifted: Vec<&str> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["changed"] == true)
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(drifted, ["staging"]);
    assert_eq!(report["accounts"][1]["result"]["account_id"], ids[1]);
    let o = run(&proxy, &["drift", "-f", spec]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains(&format!("staging ({}): drifted", ids[1])),
        "{}",
        text(&o)
    );

    // Annotations at the spec's lines, each naming its account.
    let o = run(&proxy, &["drift", "-f", spec, "--format", "github"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let annotations = stdout(&o);
    assert!(
        annotations.contains(&format!("staging ({}): ", ids[1])),
        "{annotations}"
    );
    assert!(
        !annotations.contains(&format!("prod ({}): ", ids[0])),
        "{annotations}"
    );

    // --account narrows the run, by name or id.
    let o = run(
        &proxy,
        &[
            "plan",
            "-f",
            spec,
            "--format",
            "json",
            "--account",
            "prod",
            "--account",
            &ids[2],
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let names: Vec<String> = json(&o)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["prod", "dev"]);
    let o = run(&proxy, &["plan", "-f", spec, "--account", "prd"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("did you mean `prod`?"), "{}", text(&o));

    // Shards of a CI matrix, merged: every account once.
    let mut parts = Vec::new();
    for shard in ["1/2", "2/2"] {
        let o = run(
            &proxy,
            &["drift", "-f", spec, "--format", "json", "--shard", shard],
        );
        assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
        let file = dir.path().join(format!("shard-{}.json", &shard[..1]));
        std::fs::write(&file, &o.stdout).unwrap();
        parts.push(file.display().to_string());
    }
    let o = assert_cmd::Command::cargo_bin("iamspec")
        .unwrap()
        .args(["merge-reports", &parts[0], &parts[1]])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let merged = json(&o);
    assert_eq!(merged["summary"]["accounts"], 3);
    assert_eq!(merged["summary"]["changed"], 1);
    let o = assert_cmd::Command::cargo_bin("iamspec")
        .unwrap()
        .args(["merge-reports", &parts[0], &parts[0]])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is in two reports"), "{}", text(&o));
}

#[test]
fn an_organization_is_discovered_and_its_exclusions_left_out() {
    let proxy = Proxy::new();
    let ids = organization(&proxy, 3);
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "version: 1\nowner: platform\norganization:\n  role: OrganizationAccountAccessRole\n  exclude: [\"{}\", \"{}\"]\nusers:\n  reader:\n    grants: [{{ buckets: [logs], access: read }}]\n",
        proxy.account(),
        ids[1]
    );
    let spec = write_spec(dir.path(), &body);
    let o = run(
        &proxy,
        &["plan", "-f", spec.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut found: Vec<String> = json(&o)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    let mut want = vec![ids[0].clone(), ids[2].clone()];
    want.sort();
    assert_eq!(found, want);
    let o = run(
        &proxy,
        &["apply", "-f", spec.to_str().unwrap(), "--auto-approve"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(users_in(&proxy, &ids[0]), ["reader"]);
    assert_eq!(users_in(&proxy, &ids[1]), Vec::<String>::new());
}

#[test]
fn an_account_whose_role_is_refused_fails_alone() {
    let proxy = Proxy::new();
    let ids = organization(&proxy, 3);
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_for(&ids));
    let spec = spec.to_str().unwrap();
    proxy.set_faults(Faults {
        deny_assume: vec![format!("arn:aws:iam::{}:role/ci/iamspec", ids[1])],
        ..Faults::default()
    });
    // plan: the others' plans are printed, the failure is named, exit 1.
    let o = run(&proxy, &["plan", "-f", spec]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("prod ({}): Plan: 4 to add", ids[0])),
        "{}",
        text(&o)
    );
    assert!(
        out.contains(&format!("dev ({}): Plan: 2 to add", ids[2])),
        "{}",
        text(&o)
    );
    assert!(
        out.contains(&format!("staging ({}): failed:", ids[1])),
        "{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 of 3 account(s) failed"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!(
            "account staging ({0}): GetCallerIdentity: could not assume role arn:aws:iam::{0}:role/ci/iamspec",
            ids[1]
        )),
        "{}",
        text(&o)
    );
    // apply: nothing is written anywhere unless told to go on.
    let o = run(&proxy, &["apply", "-f", spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("nothing was applied in any account"),
        "{}",
        text(&o)
    );
    assert_eq!(users_in(&proxy, &ids[0]), Vec::<String>::new());
    let o = run(
        &proxy,
        &["apply", "-f", spec, "--auto-approve", "--continue-on-error"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(users_in(&proxy, &ids[0]), ["cdn-uploader", "ci-deployer"]);
    assert_eq!(users_in(&proxy, &ids[2]), ["ci-deployer"]);
    assert_eq!(users_in(&proxy, &ids[1]), Vec::<String>::new());

    // An account reached with the caller's own credentials must be the caller's account: the pin holds per account.
    let body = format!(
        "version: 1\naccounts:\n  here: {{ id: \"{}\" }}\n  elsewhere: {{ id: \"{}\" }}\n",
        proxy.account(),
        ids[2]
    );
    let pinned = write_spec(dir.path(), &body);
    let o = run(&proxy, &["plan", "-f", pinned.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "the spec is pinned to account {}, but the credentials are for account {}",
            ids[2],
            proxy.account()
        )),
        "{}",
        text(&o)
    );
    assert!(stdout(&o).contains("here ("), "{}", text(&o));
}

#[test]
fn a_saved_plan_covers_every_account_and_is_refused_whole_when_one_changed() {
    let proxy = Proxy::new();
    let ids = organization(&proxy, 3);
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &spec_for(&ids));
    let spec = spec.to_str().unwrap();
    let planfile = dir.path().join("plan.json");
    let planfile = planfile.to_str().unwrap();
    let o = run(&proxy, &["plan", "-f", spec, "--out", planfile]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // dev changes after the review: the whole file is refused, and no account is written.
    let dev = iam_in(&proxy, &ids[2]);
    rt().block_on(async {
        dev.create_user()
            .user_name("ci-deployer")
            .send()
            .await
            .unwrap();
    });
    let o = run(&proxy, &["apply", "-f", spec, planfile]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no longer match it"), "{}", text(&o));
    assert_eq!(users_in(&proxy, &ids[0]), Vec::<String>::new());
    // Made again, it applies, and applying it twice is a no-op.
    rt().block_on(async {
        dev.delete_user()
            .user_name("ci-deployer")
            .send()
            .await
            .unwrap();
    });
    let o = run(&proxy, &["plan", "-f", spec, "--out", planfile]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&proxy, &["apply", "-f", spec, planfile]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(users_in(&proxy, &ids[2]), ["ci-deployer"]);
    let o = run(&proxy, &["apply", "-f", spec, planfile]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("Already applied"), "{}", text(&o));
    // A plan of other accounts than the run's is a different run.
    let o = run(
        &proxy,
        &["apply", "-f", spec, planfile, "--account", "prod"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("this run covers"), "{}", text(&o));
}
