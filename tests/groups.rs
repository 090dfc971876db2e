//! Managed groups against moto_server: created and marked before members join, no-change plans at two requests,
//! drift and repair of out-of-band edits, hand-made groups left alone until adopted, prune of owned groups only.

mod common;

use common::{
    assert_no_changes, example, iam_client, rt, run, stdout, text, write_spec, Fault, Faults,
    Proxy, Scripted,
};

fn members(iam: &aws_sdk_iam::Client, group: &str) -> Vec<String> {
    let out = rt().block_on(async { iam.get_group().group_name(group).send().await.unwrap() });
    let mut names: Vec<String> = out
        .users()
        .iter()
        .map(|u| u.user_name().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn groups_carry_grants_to_their_members_and_are_pruned_only_when_owned() {
    let proxy = Proxy::new();
    let iam = iam_client(&proxy);
    let account = proxy.account().to_owned();
    let spec = example("team-groups.yaml");
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("+ group/media-writers: mark as owned by media-team (inline policy iamspec-owner; groups take no tags)"),
        "{}",
        text(&o)
    );
    assert_eq!(members(&iam, "media-writers"), ["media-sync"]);
    assert_eq!(members(&iam, "media-readers"), ["media-audit"]);
    let o = run(
        &proxy,
        &[
            "can",
            "-f",
            &spec,
            "media-sync",
            "s3:PutObject",
            "photos-thumbs/x",
            "--live",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    proxy.clear_actions();
    let o = run(&proxy, &["plan", "-f", &spec, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        proxy.actions(),
        ["GetCallerIdentity", "GetAccountAuthorizationDetails"],
        "a no-change plan with groups is still two requests"
    );

    // Out of band: an admin policy on the group, its grants replaced by a wide one.
    rt().block_on(async {
        iam.attach_group_policy()
            .group_name("media-readers")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name("media-readers")
            .policy_name("iamspec-grants")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
    });
    let o = run(&proxy, &["drift", "-f", &spec]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("group/media-readers: changed"),
        "{}",
        text(&o)
    );
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("- group/media-readers: detach AdministratorAccess"),
        "{}",
        text(&o)
    );
    assert_no_changes(&proxy, &spec);

    // A hand-made group under the path is reported, never pruned; owned ones left the spec are emptied and deleted.
    rt().block_on(async {
        iam.create_group()
            .group_name("hand-made")
            .path("/iamspec/")
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let pruning = write_spec(
        dir.path(),
        &format!(
            "version: 1\naccount_id: \"{account}\"\nowner: media-team\nprune: true\ngroups:\n  media-writers:\n    grants: [{{buckets: [photos-prod], access: read-write}}]\nusers:\n  media-sync:\n    groups: [media-writers]\n"
        ),
    )
    .display()
    .to_string();
    let o = run(&proxy, &["apply", "-f", &pruning, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.contains("- group/media-readers: delete group"),
        "{}",
        text(&o)
    );
    assert!(out.contains("- media-audit: delete user"), "{}", text(&o));
    assert!(!out.contains("hand-made: delete"), "{}", text(&o));
    assert!(
        out.contains("group/hand-made: under /iamspec/ without iamspec's owner marker"),
        "{}",
        text(&o)
    );
    let gone = rt().block_on(async { iam.get_group().group_name("media-readers").send().await });
    assert!(gone.is_err(), "the owned group is deleted");
    assert!(rt()
        .block_on(async { iam.get_group().group_name("hand-made").send().await })
        .is_ok());
    assert_no_changes(&proxy, &pruning);

    // Adoption marks the hand-made group; before that the spec conflicts with it.
    let adopting = std::fs::read_to_string(&pruning).unwrap().replace(
        "groups:\n  media-writers:",
        "groups:\n  hand-made: {}\n  media-writers:",
    );
    let adopting_path = write_spec(dir.path(), &adopting).display().to_string();
    let o = run(&proxy, &["plan", "-f", &adopting_path]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("group `hand-made` exists but is not owned by iamspec"),
        "{}",
        text(&o)
    );
    let adopted = adopting.replace("  hand-made: {}", "  hand-made: { adopt: true }");
    let adopted_path = write_spec(dir.path(), &adopted).display().to_string();
    let o = run(&proxy, &["apply", "-f", &adopted_path, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("~ group/hand-made: mark as owned by media-team"),
        "{}",
        text(&o)
    );
    assert_no_changes(&proxy, &adopted_path);

    // import writes the owned groups back (their grants as grants), and leaves out what a spec cannot hold.
    rt().block_on(async {
        iam.create_group().group_name("queue-writers").send().await.unwrap();
        iam.put_group_policy()
            .group_name("queue-writers")
            .policy_name("sqs")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
    });
    let imported = dir.path().join("imported.yaml");
    let imported = imported.to_str().unwrap();
    let o = run(&proxy, &["import", "--owner", "media-team", "-o", imported]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let yaml = std::fs::read_to_string(imported).unwrap();
    let raw: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(
        raw["groups"]["media-writers"]["grants"][0]["access"], "read-write",
        "{yaml}"
    );
    assert!(
        raw["groups"]["media-writers"].get("adopt").is_none(),
        "{yaml}"
    );
    assert!(raw["groups"].get("queue-writers").is_none(), "{yaml}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "skipped: group/queue-writers: it has inline policies other than iamspec-grants"
        ),
        "{}",
        text(&o)
    );
    assert_eq!(
        raw["users"]["media-sync"]["groups"][0], "media-writers",
        "{yaml}"
    );
    assert_no_changes(&proxy, imported);
}

/// regression: a user added by hand to an owned group got its grants, and plan said "No changes", drift exited 0
/// and apply left her there. An owned group's members are the spec users that list it.
#[test]
fn a_member_added_by_hand_to_an_owned_group_is_drift_and_removed() {
    let proxy = Proxy::new();
    let iam = iam_client(&proxy);
    let spec = example("team-groups.yaml");
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    rt().block_on(async {
        for (user, group) in [("mallory", "media-writers"), ("bystander", "hand-made")] {
            iam.create_user().user_name(user).send().await.unwrap();
            let _ = iam.create_group().group_name(group).send().await;
            iam.add_user_to_group()
                .user_name(user)
                .group_name(group)
                .send()
                .await
                .unwrap();
        }
    });
    assert_eq!(members(&iam, "media-writers"), ["mallory", "media-sync"]);
    let o = run(&proxy, &["plan", "-f", &spec, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("- group/media-writers: remove member mallory"),
        "{}",
        text(&o)
    );
    let o = run(&proxy, &["drift", "-f", &spec]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("member mallory is not in the spec"),
        "{}",
        text(&o)
    );
    let o = run(&proxy, &["apply", "-f", &spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(members(&iam, "media-writers"), ["media-sync"]);
    // Groups iamspec does not own keep whoever is in them.
    assert_eq!(members(&iam, "hand-made"), ["bystander"]);
    assert_no_changes(&proxy, &spec);
}

/// regression: a CreateGroup or CreatePolicy whose response was lost (the object made, the answer gone) failed the
/// apply with EntityAlreadyExists on the retry. A create that meets what it would have made goes on.
#[test]
fn a_lost_create_group_or_create_policy_response_is_taken_as_done() {
    let proxy = Proxy::new();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "version: 1\nowner: media\npolicies:\n  shared-read: { grants: [{buckets: [photos-prod], access: read}] }\ngroups:\n  writers:\n    grants: [{buckets: [photos-prod], access: write}]\n    policies: [shared-read]\nusers:\n  sync: { groups: [writers] }\n",
    );
    let spec = spec.to_str().unwrap();
    let lost = |action: &str, after| Scripted {
        action: action.into(),
        fault: Fault::DropAfter,
        after,
        times: 1,
    };
    // The first CreatePolicy is the apply lock's; the second is the shared policy's.
    proxy.set_faults(Faults {
        script: vec![lost("CreateGroup", 0), lost("CreatePolicy", 1)],
        ..Faults::default()
    });
    let o = run(&proxy, &["apply", "-f", spec, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = proxy.fault_log();
    for action in ["CreateGroup", "CreatePolicy"] {
        assert!(
            log.iter()
                .any(|(a, f)| a == action && *f == Some(Fault::DropAfter)),
            "{action}'s response was lost: {log:?}"
        );
    }
    proxy.set_faults(Faults::default());
    assert_no_changes(&proxy, spec);
}
