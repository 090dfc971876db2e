//! Roles against moto_server through the tests' proxy: create, no-change plans at two requests, drift and repair of
//! out-of-band edits (trust, attachments, tags, session), adoption, and pruning out of an instance profile.

mod common;

use common::{assert_no_changes, example, iam_client, rt, run, stdout, text, write_spec, Proxy};

fn role(iam: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::types::Role {
    rt().block_on(async { iam.get_role().role_name(name).send().await.unwrap() })
        .role
        .unwrap()
}

#[test]
fn a_role_for_a_service_is_created_drifted_repaired_and_pruned() {
    let proxy = Proxy::new();
    let iam = iam_client(&proxy);
    let account = proxy.account().to_owned();
    let spec = example("cloudinary-role.yaml");
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("+ role/cloudinary-media: create role (path /iamspec/, trusted by account 232482882421 (external ID), sessions up to 1 h"),
        "{}",
        text(&o)
    );
    let live = role(&iam, "cloudinary-media");
    assert_eq!(live.max_session_duration, Some(3600));
    // IAM returns policy documents URL-encoded.
    let trust =
        percent_encoding::percent_decode_str(live.assume_role_policy_document.as_deref().unwrap())
            .decode_utf8_lossy()
            .into_owned();
    assert!(trust.contains("arn:aws:iam::232482882421:root"), "{trust}");
    assert!(trust.contains("my-cloud-name-7f3a"), "{trust}");

    // can / who-can answer for roles, offline and live.
    for live in [false, true] {
        let mut args = vec![
            "can",
            "-f",
            &spec,
            "role/cloudinary-media",
            "s3:PutObject",
            "photos-prod/a.jpg",
        ];
        if live {
            args.push("--live");
        }
        let o = run(&proxy, &args);
        assert_eq!(o.status.code(), Some(0), "live {live}: {}", text(&o));
        args[5] = "payroll/2026.csv";
        let o = run(&proxy, &args);
        assert_eq!(o.status.code(), Some(2), "live {live}: {}", text(&o));
    }
    let o = run(
        &proxy,
        &[
            "who-can",
            "-f",
            &spec,
            "s3:GetObject",
            "photos-prod/x",
            "--live",
        ],
    );
    assert!(
        stdout(&o).contains("allowed        role/cloudinary-media"),
        "{}",
        text(&o)
    );
    assert!(
        stdout(&o).contains("(of 0 user(s) and 1 role(s))."),
        "{}",
        text(&o)
    );

    // A no-change plan with roles is still GetCallerIdentity plus the account read.
    proxy.clear_actions();
    assert_no_changes(&proxy, &spec);
    proxy.clear_actions();
    let o = run(&proxy, &["plan", "-f", &spec]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        proxy.actions(),
        ["GetCallerIdentity", "GetAccountAuthorizationDetails"]
    );

    // Out-of-band edits: anyone may assume it now, an admin policy, a stray tag.
    rt().block_on(async {
        iam.update_assume_role_policy()
            .role_name("cloudinary-media")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name("cloudinary-media")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .unwrap();
        iam.tag_role()
            .role_name("cloudinary-media")
            .tags(aws_sdk_iam::types::Tag::builder().key("stray").value("x").build().unwrap())
            .send()
            .await
            .unwrap();
    });
    let o = run(&proxy, &["drift", "-f", &spec]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("role/cloudinary-media: changed"),
        "{}",
        text(&o)
    );
    // What differs, as states (regression: drift only said what apply would set).
    assert!(
        stdout(&o).contains("trust differs: does not trust account 232482882421, the spec does; trusts *, the spec does not; external ID missing"),
        "{}",
        text(&o)
    );

    // A longer session in the spec, and the repair.
    let dir = tempfile::tempdir().unwrap();
    let longer = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("max_session_hours: 1", "max_session_hours: 4")
        .replace(
            "owner: media",
            &format!("owner: media\naccount_id: \"{account}\""),
        );
    let longer = write_spec(dir.path(), &longer).display().to_string();
    let o = run(&proxy, &["apply", "-f", &longer, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    for expected in [
        "~ role/cloudinary-media: set the trust policy: trusted by account 232482882421 (external ID)",
        "~ role/cloudinary-media: sessions up to 4 h",
        "- role/cloudinary-media: detach AdministratorAccess",
        "~ role/cloudinary-media: untag stray",
    ] {
        assert!(out.contains(expected), "missing {expected:?}: {}", text(&o));
    }
    assert_eq!(
        role(&iam, "cloudinary-media").max_session_duration,
        Some(4 * 3600)
    );
    assert_no_changes(&proxy, &longer);

    // Pruned with the spec's roles gone, out of the instance profile it was put in.
    rt().block_on(async {
        iam.create_instance_profile()
            .instance_profile_name("media-ip")
            .send()
            .await
            .unwrap();
        iam.add_role_to_instance_profile()
            .instance_profile_name("media-ip")
            .role_name("cloudinary-media")
            .send()
            .await
            .unwrap();
    });
    let pruning = write_spec(
        dir.path(),
        &format!("version: 1\naccount_id: \"{account}\"\nowner: media\nprune: true\nroles: {{}}\n"),
    )
    .display()
    .to_string();
    let o = run(&proxy, &["apply", "-f", &pruning, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("- role/cloudinary-media: delete role (after removing it from instance profile(s) media-ip)"),
        "{}",
        text(&o)
    );
    let gone = rt().block_on(async { iam.get_role().role_name("cloudinary-media").send().await });
    assert!(gone.is_err(), "the role is deleted");
    assert_no_changes(&proxy, &pruning);
}

#[test]
fn hand_made_and_service_linked_roles_are_left_alone_until_adopted() {
    let proxy = Proxy::new();
    let iam = iam_client(&proxy);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::232482882421:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"my-cloud-name-7f3a"}}}]}"#;
    rt().block_on(async {
        iam.create_role()
            .role_name("cloudinary-media")
            .path("/iamspec/")
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
    });
    // import writes it as a spec entry (its 2-hour session read with GetRole), adopted with --adopt; roles whose
    // trust a spec cannot state are left out, saying why.
    rt().block_on(async {
        iam.update_role()
            .role_name("cloudinary-media")
            .max_session_duration(7200)
            .send()
            .await
            .unwrap();
        iam.create_role()
            .role_name("anyone")
            .path("/iamspec/")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported.yaml");
    let imported = imported.to_str().unwrap();
    let o = run(
        &proxy,
        &["import", "--adopt", "--owner", "media", "-o", imported],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let yaml = std::fs::read_to_string(imported).unwrap();
    let raw: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    let role = &raw["roles"]["cloudinary-media"];
    assert_eq!(role["trust"]["account"], "232482882421", "{yaml}");
    assert_eq!(role["trust"]["external_id"], "my-cloud-name-7f3a", "{yaml}");
    assert_eq!(role["max_session_hours"], 2, "{yaml}");
    assert_eq!(role["adopt"], true, "{yaml}");
    assert!(raw["roles"].get("anyone").is_none(), "{yaml}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("skipped: role/anyone: it trusts `*`"),
        "{}",
        text(&o)
    );
    let o = run(&proxy, &["apply", "-f", imported, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("~ role/cloudinary-media: adopt"),
        "{}",
        text(&o)
    );
    assert_eq!(
        role_session(&iam, "cloudinary-media"),
        7200,
        "adoption keeps the session it had"
    );
    assert_no_changes(&proxy, imported);
    rt().block_on(async {
        iam.delete_role().role_name("anyone").send().await.unwrap();
        iam.untag_role()
            .role_name("cloudinary-media")
            .tag_keys("iamspec:owner")
            .send()
            .await
            .unwrap();
    });

    let spec = example("cloudinary-role.yaml");
    let o = run(&proxy, &["plan", "-f", &spec]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("role `cloudinary-media` exists but is not owned by iamspec"),
        "{}",
        text(&o)
    );
    let adopting = std::fs::read_to_string(&spec).unwrap().replace(
        "max_session_hours: 1",
        "max_session_hours: 1\n    adopt: true",
    );
    let adopting = write_spec(dir.path(), &adopting).display().to_string();
    let o = run(&proxy, &["apply", "-f", &adopting, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("~ role/cloudinary-media: adopt (tag iamspec:max-session-seconds=3600, iamspec:owner=media, service=cloudinary)"),
        "{}",
        text(&o)
    );
    assert_no_changes(&proxy, &adopting);
    // Without the role in the spec and without prune, an owned role is reported, not deleted.
    let kept = write_spec(dir.path(), "version: 1\nowner: media\n")
        .display()
        .to_string();
    let o = run(&proxy, &["drift", "-f", &kept]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("role/cloudinary-media: not in the spec"),
        "{}",
        text(&o)
    );
}

fn role_session(iam: &aws_sdk_iam::Client, name: &str) -> i32 {
    role(iam, name).max_session_duration.unwrap_or_default()
}
