//! Access keys on moto through the library, with the injected clock: the credential report in the path, keys
//! unused for longer than `max_unused_days` replaced, and every write decided on listed keys, never on the report.
//! A test binary of its own: it sets the SDK's credentials in its environment once.

mod common;

use common::{iam_client, rt, Proxy};
use iamspec::backend::aws::{AwsBackend, AwsOptions};
use iamspec::backend::{Backend, NewAccessKey};
use iamspec::effects::Effects;
use iamspec::engine::read::KeyRead;
use iamspec::engine::{self, ApplyOptions, KeySink, Limits};
use iamspec::plan::{NoticeKind, Op};

const DAY: i64 = 86_400;

struct Keys;

impl KeySink for Keys {
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String> {
        Ok(format!("memory:{}", key.id))
    }

    fn discard(&self, _user: &str, _key_id: &str) -> std::io::Result<Option<String>> {
        Ok(None)
    }
}

/// A backend on moto whose clock reads `now`.
async fn backend(proxy: &Proxy, now: i64) -> AwsBackend {
    static ENV: std::sync::Once = std::sync::Once::new();
    ENV.call_once(|| {
        for (k, v) in common::aws_env() {
            std::env::set_var(k, v);
        }
    });
    AwsBackend::connect(
        &AwsOptions {
            profile: None,
            region: Some("us-east-1".into()),
            endpoint_url: Some(proxy.url()),
            page_size: None,
            pacing: iamspec::pacing::PacingConfig::default(),
            assume: None,
        },
        Effects::instant(now),
    )
    .await
}

fn spec(text: &str) -> iamspec::spec::Spec {
    iamspec::spec::load("s.yaml", text)
        .unwrap_or_else(|d| panic!("{}", d.to_plain()))
        .spec
}

/// Plans and applies `spec` as of `now`; returns the applied operations by API name.
async fn apply_at(proxy: &Proxy, spec: &iamspec::spec::Spec, now: i64) -> Vec<String> {
    let b = backend(proxy, now).await;
    let p = engine::plan(&b, spec, None, now, KeyRead::Report)
        .await
        .unwrap();
    let limits = Limits {
        max_deletes: 10,
        has_secrets_destination: true,
    };
    engine::preflight(&p.plan, &limits, &p.guard).unwrap();
    let opts = ApplyOptions {
        known_keys: engine::known_keys(&p.live),
        ..ApplyOptions::new(Effects::instant(now))
    };
    let report = engine::apply(&b, &p.plan, &p.guard, &opts, &Keys, &|_| {}).await;
    assert!(report.is_success(), "{report:?}");
    p.plan
        .changes
        .iter()
        .map(|c| c.op.api_name().to_owned())
        .collect()
}

/// Runs `body` on a runtime on a thread with room for the engine's futures, which a debug build keeps large.
fn block_on<F: std::future::Future<Output = ()> + Send + 'static>(body: F) {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || rt().block_on(body))
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn calls(b: &AwsBackend, op: &str) -> u64 {
    b.stats().get(op).copied().unwrap_or(0)
}

/// The lifecycle with the report in the path: made, matched from the report (no ListAccessKeys), found unused
/// after `max_unused_days`, replaced (its keys listed first), deleted after grace; a used key is left alone.
#[test]
fn an_unused_key_is_replaced_and_a_used_one_kept_with_keys_from_the_report() {
    let proxy = Proxy::new();
    let spec = spec(
        "version: 1\nusers:\n  idle:\n    access_keys: { count: 1, max_unused_days: 30, grace_days: 7 }\n  \
         busy:\n    access_keys: { count: 1, max_unused_days: 45 }\n",
    );
    let now = iamspec::effects::system_now();
    block_on(async move {
        assert_eq!(
            apply_at(&proxy, &spec, now).await,
            [
                "CreateUser",
                "CreateAccessKey",
                "CreateUser",
                "CreateAccessKey"
            ]
        );
        let b = backend(&proxy, now).await;
        let p = engine::plan(&b, &spec, None, now, KeyRead::Report)
            .await
            .unwrap();
        assert!(p.plan.changes.is_empty(), "{:?}", p.plan.changes);
        assert_eq!(calls(&b, "ListAccessKeys"), 0, "{:?}", b.stats());
        assert_eq!(calls(&b, "GetCredentialReport"), 1, "{:?}", b.stats());

        // 31 days on: idle's key was never used (its limit is 30 days); busy's was used 31 days before the
        // plan's clock (moto records the real time of the request), within its 45.
        mark_used(&proxy, "busy").await;
        let later = now + 31 * DAY;
        let b = backend(&proxy, later).await;
        let p = engine::plan(&b, &spec, None, later, KeyRead::Report)
            .await
            .unwrap();
        let ops: Vec<&str> = p.plan.changes.iter().map(|c| c.op.api_name()).collect();
        assert_eq!(ops, ["TagUser", "CreateAccessKey", "UpdateAccessKey"]);
        assert!(p.plan.changes.iter().all(|c| c.target.name() == "idle"));
        let unused: Vec<&str> = p
            .plan
            .notices
            .iter()
            .filter(|n| n.kind == NoticeKind::UnusedKey)
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(unused.len(), 1, "{:?}", p.plan.notices);
        assert!(unused[0].contains("never used"), "{unused:?}");
        // The write is decided on listed keys: idle's (the user the plan changes), and only idle's.
        assert_eq!(calls(&b, "ListAccessKeys"), 1, "{:?}", b.stats());

        assert_eq!(
            apply_at(&proxy, &spec, later).await,
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"]
        );
        // moto stamps the replacement with the real time, 31 days before this clock, so from here on the spec
        // leaves max_unused_days out (the new key would be judged as old): the grace rules are the rotation's.
        let spec = self::spec(
            "version: 1\nusers:\n  idle:\n    access_keys: { count: 1, grace_days: 7 }\n  \
             busy:\n    access_keys: { count: 1 }\n",
        );
        // Inside the grace period nothing happens; after it the unused key is deleted.
        assert!(apply_at(&proxy, &spec, later + 6 * DAY).await.is_empty());
        assert_eq!(
            apply_at(&proxy, &spec, later + 7 * DAY).await,
            ["DeleteAccessKey", "UntagUser"]
        );
        let b = backend(&proxy, later + 8 * DAY).await;
        let p = engine::plan(&b, &spec, None, later + 8 * DAY, KeyRead::Report)
            .await
            .unwrap();
        assert!(p.plan.changes.is_empty(), "{:?}", p.plan.changes);
        assert_eq!(calls(&b, "ListAccessKeys"), 0, "{:?}", b.stats());
    });
}

/// Uses `user`'s key on moto, and checks moto recorded it.
async fn mark_used(proxy: &Proxy, user: &str) {
    let iam = iam_client(proxy);
    let id = common::key_ids(proxy, user).await.remove(0);
    common::use_key(proxy, &id).await;
    let used = iam
        .get_access_key_last_used()
        .access_key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        used.access_key_last_used()
            .and_then(|u| u.last_used_date())
            .is_some(),
        "moto recorded no use of {id}"
    );
}

/// A report that does not match the records (a key made by hand since) costs one ListAccessKeys for that user,
/// plus the last use of the unrecorded key; with `--fresh-keys` every user is listed.
#[test]
fn a_hand_made_key_costs_one_listing_and_fresh_keys_lists_all() {
    let proxy = Proxy::new();
    let mut text = String::from("version: 1\nusers:\n");
    for i in 0..5 {
        text.push_str(&format!("  svc-{i}:\n    access_keys: {{ count: 1 }}\n"));
    }
    let spec = spec(&text);
    let now = iamspec::effects::system_now();
    block_on(async move {
        apply_at(&proxy, &spec, now).await;
        let iam = iam_client(&proxy);
        let hand = iam
            .create_access_key()
            .user_name("svc-3")
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
            .access_key_id()
            .to_owned();
        let b = backend(&proxy, now).await;
        let p = engine::plan(&b, &spec, None, now, KeyRead::Report)
            .await
            .unwrap();
        assert_eq!(calls(&b, "ListAccessKeys"), 1, "{:?}", b.stats());
        assert_eq!(calls(&b, "GetAccessKeyLastUsed"), 1, "{:?}", b.stats());
        // Never used and unrecorded: a key whose secret iamspec lost, by the rule it cannot tell apart.
        assert!(
            p.plan.changes.iter().any(|c| matches!(
                &c.op,
                Op::DeleteUndeliveredKey { key_id, .. } if *key_id == hand
            )),
            "{:?}",
            p.plan.changes
        );

        let b = backend(&proxy, now).await;
        engine::plan(&b, &spec, None, now, KeyRead::Fresh)
            .await
            .unwrap();
        assert_eq!(calls(&b, "ListAccessKeys"), 5, "{:?}", b.stats());
        assert_eq!(calls(&b, "GetCredentialReport"), 0, "{:?}", b.stats());
    });
}

/// moto with a credential report frozen at one moment: IAM's report may be up to four hours old.
struct FrozenReport {
    inner: AwsBackend,
    report: iamspec::credential_report::CredentialReport,
}

type Res<T> = Result<T, iamspec::backend::BackendError>;

impl Backend for FrozenReport {
    async fn caller(&self) -> Res<iamspec::backend::Caller> {
        self.inner.caller().await
    }
    async fn read(&self, scope: &iamspec::backend::ReadScope) -> Res<iamspec::model::Account> {
        self.inner.read(scope).await
    }
    async fn read_dependents(
        &self,
        users: &[String],
    ) -> Res<
        std::collections::BTreeMap<
            String,
            (Vec<iamspec::model::AccessKey>, iamspec::model::Dependents),
        >,
    > {
        self.inner.read_dependents(users).await
    }
    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Res<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>> {
        self.inner.read_policy_tags(arns).await
    }
    async fn policy_description(&self, arn: &str) -> Res<Option<String>> {
        self.inner.policy_description(arn).await
    }
    async fn policy_exists(&self, arn: &str) -> Res<Option<bool>> {
        self.inner.policy_exists(arn).await
    }
    async fn read_groups(&self) -> Res<std::collections::BTreeMap<String, iamspec::model::Group>> {
        self.inner.read_groups().await
    }
    async fn policy_documents(
        &self,
        arns: &[String],
    ) -> Res<std::collections::BTreeMap<String, iamspec::policy::PolicyDocument>> {
        self.inner.policy_documents(arns).await
    }
    async fn list_access_keys(&self, user: &str) -> Res<Vec<iamspec::model::AccessKey>> {
        self.inner.list_access_keys(user).await
    }
    async fn list_keys_of(
        &self,
        users: &[String],
    ) -> Res<std::collections::BTreeMap<String, Vec<iamspec::model::AccessKey>>> {
        self.inner.list_keys_of(users).await
    }
    async fn keys_last_used(
        &self,
        ids: &[String],
    ) -> Res<std::collections::BTreeMap<String, iamspec::model::KeyUse>> {
        self.inner.keys_last_used(ids).await
    }
    async fn credential_report(&self) -> Res<Option<iamspec::credential_report::CredentialReport>> {
        Ok(Some(self.report.clone()))
    }
    async fn lock(&self, req: &iamspec::backend::LockRequest) -> Res<iamspec::backend::LockState> {
        self.inner.lock(req).await
    }
    async fn lock_holder(&self, req: &iamspec::backend::LockRequest) -> Res<Option<String>> {
        self.inner.lock_holder(req).await
    }
    async fn unlock(&self, req: &iamspec::backend::LockRequest, force: bool) -> Res<()> {
        self.inner.unlock(req, force).await
    }
    async fn execute(&self, op: &Op) -> Res<iamspec::backend::Outcome> {
        self.inner.execute(op).await
    }
    fn stats(&self) -> iamspec::backend::CallStats {
        self.inner.stats()
    }
}

/// regression guard: a report hours old must never decide a write. Here the report still shows a key inactive
/// past its grace, but someone has reactivated it since: the plan that would delete it on the report's word lists
/// the user's keys first, and deletes nothing.
#[test]
fn a_stale_report_never_decides_a_write() {
    let proxy = Proxy::new();
    let two =
        spec("version: 1\nusers:\n  svc:\n    access_keys: { count: 2, max_age_days: 400 }\n");
    let one =
        spec("version: 1\nusers:\n  svc:\n    access_keys: { count: 1, max_age_days: 400 }\n");
    let now = iamspec::effects::system_now();
    block_on(async move {
        apply_at(&proxy, &two, now).await;
        // The count goes down: the older key is deactivated, to be deleted after the grace period.
        assert_eq!(
            apply_at(&proxy, &one, now).await,
            ["TagUser", "UpdateAccessKey"]
        );
        let b = backend(&proxy, now).await;
        let frozen = b
            .credential_report()
            .await
            .unwrap()
            .expect("moto serves it");
        // The deactivated key is reactivated by hand after the report was generated.
        let iam = iam_client(&proxy);
        let keys = iam
            .list_access_keys()
            .user_name("svc")
            .send()
            .await
            .unwrap();
        let old = keys
            .access_key_metadata()
            .iter()
            .find(|k| k.status() == Some(&aws_sdk_iam::types::StatusType::Inactive))
            .unwrap()
            .access_key_id()
            .unwrap()
            .to_owned();
        iam.update_access_key()
            .user_name("svc")
            .access_key_id(&old)
            .status(aws_sdk_iam::types::StatusType::Active)
            .send()
            .await
            .unwrap();

        let after_grace = now + 8 * DAY;
        let stale = FrozenReport {
            inner: backend(&proxy, after_grace).await,
            report: frozen,
        };
        let p = engine::plan(&stale, &one, None, after_grace, KeyRead::Report)
            .await
            .unwrap();
        assert!(
            !p.plan
                .changes
                .iter()
                .any(|c| matches!(&c.op, Op::DeleteAccessKey { .. })),
            "deleted on the report's word: {:?}",
            p.plan.changes
        );
        // What the listing shows instead: two active keys where one is wanted; the older is deactivated again.
        assert!(
            p.plan.changes.iter().any(|c| matches!(
                &c.op,
                Op::UpdateAccessKey { key_id, .. } if *key_id == old
            )),
            "{:?}",
            p.plan.changes
        );
        assert_eq!(
            stale.stats().get("ListAccessKeys").copied(),
            Some(1),
            "{:?}",
            stale.stats()
        );
        // The report alone would have deleted it: the guard above is what stands in the way. (Both keys were
        // made in the same second here, so the report cannot even say which of them is the inactive one; the
        // view below is what it said with that settled.)
        let mut live = p.live.clone();
        let svc = live.users.get_mut("svc").unwrap();
        for k in &mut svc.access_keys {
            if k.id == old {
                k.status = iamspec::model::KeyStatus::Inactive;
            }
        }
        let opts = iamspec::diff::DiffOptions {
            now: after_grace,
            only: None,
            account_id: None,
        };
        let on_report = iamspec::diff::diff(&one, &live, &opts).unwrap();
        assert!(
            on_report
                .changes
                .iter()
                .any(|c| matches!(&c.op, Op::DeleteAccessKey { key_id, .. } if *key_id == old)),
            "{:?}",
            on_report.changes
        );
    });
}
