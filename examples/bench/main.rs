//! The benchmark program. `cargo run --release --example bench -- core` times the pure core at 5,000 and 100,000
//! users in-process; `cargo run --release --example bench -- moto [N...]` runs the release CLI against a
//! moto_server (one per size, started here) for apply from scratch, a no-change plan, a plan after 1% changed and the apply of that change,
//! printing wall time, API calls by operation and peak memory, with PASS/FAIL against the targets of BENCHMARKS.md.
//! `cargo run --release --example bench -- throttle [N...]` runs applies and plans through the tests' proxy
//! enforcing an account's rate limits (20 writes/s, 50 reads/s, burst 5), with pacing on and off.
//! `cargo run --release --example bench -- keys [N...]` plans N users with access keys through that limiter: keys
//! from the credential report, after a key made by hand, and with `--fresh-keys`.
//! `cargo run --release --example bench -- accounts [ACCOUNTS USERS]` (default 20 x 200) runs drift over an
//! organization's accounts, each behind its own limiter, against the drift of one of them.

#[path = "../../tests/common/mod.rs"]
mod common;
mod synth;

// The same allocator as the iamspec binary, so in-process figures match what the CLI does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use iamspec::diff::{desired_user, diff, DiffOptions};
use iamspec::model::Account;

/// Peak resident memory of a process so far, in KiB (Linux VmHWM).
fn peak_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn core(sizes: &[usize]) -> bool {
    let mut all = true;
    println!("| users | spec MiB | load+validate | diff | total | peak RSS | target |");
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for &n in sizes {
        let text = synth::spec(n, false);
        let t0 = Instant::now();
        let loaded = iamspec::spec::load("bench.yaml", &text).expect("valid spec");
        let load = t0.elapsed();

        let mut live = Account::default();
        for su in &loaded.spec.users {
            let u = desired_user(&loaded.spec, su);
            live.users.insert(u.name.clone(), u);
        }
        let t1 = Instant::now();
        let plan = diff(&loaded.spec, &live, &DiffOptions::default()).expect("plan");
        let d = t1.elapsed();
        assert!(plan.changes.is_empty());
        let total = load + d;
        let peak = peak_kib("self");
        let ok = n < 100_000 || (total < Duration::from_secs(1) && peak < 500 * 1024);
        all &= ok;
        println!(
            "| {n} | {:.1} | {:.3} s | {:.3} s | {:.3} s | {:.0} MiB | {} |",
            text.len() as f64 / 1048576.0,
            load.as_secs_f64(),
            d.as_secs_f64(),
            total.as_secs_f64(),
            mib(peak),
            if n >= 100_000 { verdict(ok) } else { "-" }
        );
    }
    all
}

struct Run {
    wall: Duration,
    calls: BTreeMap<String, u64>,
    peak_kib: u64,
    code: i32,
}

fn iamspec_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    // target/release/examples/bench -> target/release/iamspec
    exe.parent()
        .and_then(Path::parent)
        .map(|p| p.join("iamspec"))
        .expect("release dir")
}

/// Applies `spec` from scratch with new keys' secrets written to `secrets`: the setup of the keyed benchmarks.
fn apply_with_secrets(endpoint: &str, spec: &str, secrets: &Path) -> Run {
    let secrets = secrets.to_str().expect("a UTF-8 temporary path");
    run_cli(
        endpoint,
        &[
            "apply",
            "-f",
            spec,
            "--auto-approve",
            "--secrets-dir",
            secrets,
        ],
    )
}

fn run_cli(endpoint: &str, args: &[&str]) -> Run {
    run_cli_env(endpoint, args, &[])
}

fn run_cli_env(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(iamspec_bin())
        .envs(env.iter().copied())
        .args(args)
        .args(["--endpoint-url", endpoint, "--stats"])
        .env("AWS_ACCESS_KEY_ID", "AKIABENCHBENCHBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iamspec (build it with `cargo build --release` first)");
    let pid = child.id().to_string();
    // Drained as it comes: a child writing more than a pipe holds (a line per delivered key) would block otherwise.
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut text = String::new();
        pipe.read_to_string(&mut text).ok();
        text
    });
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        peak = peak.max(peak_kib(&pid));
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    // Summed over every "API calls:" block: a many-account run prints one per account.
    let mut calls = BTreeMap::new();
    let mut in_block = false;
    for line in stderr.lines() {
        if line.starts_with("API calls:") {
            in_block = true;
            continue;
        }
        if !(in_block && line.starts_with("  ")) {
            in_block = false;
            continue;
        }
        let mut parts = line.split_whitespace();
        if let (Some(op), Some(n)) = (
            parts.next(),
            parts.next().and_then(|n| n.parse::<u64>().ok()),
        ) {
            *calls.entry(op.to_owned()).or_insert(0) += n;
        }
    }
    if !status.success() && status.code() != Some(2) {
        eprintln!("{stderr}");
    }
    Run {
        wall,
        calls,
        peak_kib: peak,
        code: status.code().unwrap_or(-1),
    }
}

fn calls_text(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A moto_server of its own for one size, on a free loopback port; stopped on drop.
struct MotoServer(std::process::Child, String);

impl MotoServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on PATH (pip install 'moto[server]==5.2.1')");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self(child, format!("http://127.0.0.1:{port}"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto(sizes: &[usize]) -> bool {
    let mut all = true;
    println!("| users | scenario | wall | API calls | peak RSS | target |");
    println!("|---:|---|---:|---|---:|---|");
    for &n in sizes {
        let server = MotoServer::start();
        let endpoint = server.1.as_str();
        let dir = tempfile::tempdir().expect("tmp");
        let base = dir.path().join("spec.yaml");
        let changed = dir.path().join("changed.yaml");
        std::fs::write(&base, synth::spec(n, false)).unwrap();
        std::fs::write(&changed, synth::spec(n, true)).unwrap();
        let (b, c) = (base.to_str().unwrap(), changed.to_str().unwrap());
        let pages = n.div_ceil(1000) as u64;
        let get = |r: &Run, op: &str| r.calls.get(op).copied().unwrap_or(0);

        let r = run_cli(endpoint, &["apply", "-f", b, "--auto-approve"]);
        let attaches = n as u64;
        // The apply lock costs one CreatePolicy, one GetPolicy and one DeletePolicy per apply.
        let writes_ok = get(&r, "CreateUser") == n as u64
            && get(&r, "PutUserPolicy") == n as u64
            && get(&r, "AttachUserPolicy") == attaches
            // The lock: CreatePolicy, GetPolicy, DeletePolicy. The managed policy every user attaches: GetPolicy
            // (it exists) and GetPolicyVersion (its document, for the plan's access changes).
            && ["CreatePolicy", "DeletePolicy", "GetPolicyVersion"]
                .iter()
                .all(|op| get(&r, op) == 1)
            && get(&r, "GetPolicy") == 2
            && r.calls.keys().all(|k| {
                [
                    "CreateUser",
                    "PutUserPolicy",
                    "AttachUserPolicy",
                    "GetCallerIdentity",
                    "GetAccountAuthorizationDetails",
                    "CreatePolicy",
                    "GetPolicy",
                    "GetPolicyVersion",
                    "DeletePolicy",
                ]
                .contains(&k.as_str())
            });
        all &= writes_ok && r.code == 0;
        row(
            n,
            "apply from scratch",
            &r,
            &format!("{} (minimal writes)", verdict(writes_ok && r.code == 0)),
        );

        let r = run_cli(endpoint, &["plan", "-f", b, "--detailed-exitcode"]);
        let reads_ok = get(&r, "GetAccountAuthorizationDetails") <= pages
            && r.calls.values().sum::<u64>() <= pages + 2
            && r.code == 0;
        let fast = n != 1000 || r.wall < Duration::from_secs(3);
        all &= reads_ok && fast;
        let target = format!(
            "{} (<= {pages} GAAD + 2){}",
            verdict(reads_ok),
            if n == 1000 {
                format!(", {} (< 3 s)", verdict(fast))
            } else {
                String::new()
            }
        );
        row(n, "plan, no change", &r, &target);

        let r = run_cli(endpoint, &["plan", "-f", c, "--detailed-exitcode"]);
        let ok = r.code == 2 && r.calls.values().sum::<u64>() <= pages + 2;
        all &= ok;
        row(n, "plan, 1% changed", &r, verdict(ok));

        let r = run_cli(endpoint, &["apply", "-f", c, "--auto-approve"]);
        let want = n.div_ceil(100) as u64;
        let ok = r.code == 0 && get(&r, "PutUserPolicy") == want;
        all &= ok;
        row(
            n,
            "apply 1% change",
            &r,
            &format!("{} ({want} PutUserPolicy)", verdict(ok)),
        );
    }
    all
}

/// The limits of the throttled runs: a plausible account's, in the shape IAM enforces them.
const LIMITS: common::RateLimits = common::RateLimits {
    reads_per_second: 50.0,
    writes_per_second: 20.0,
    burst: 5.0,
};

/// `n` users with one access key each.
fn keyed_spec(n: usize) -> String {
    use std::fmt::Write;
    let mut out = String::from("version: 1\nowner: bench\npath: /bench/\nusers:\n");
    for i in 0..n {
        let _ = write!(
            out,
            "  key-{i:06}:\n    grants:\n      - buckets: [uploads]\n        prefix: key-{i:06}/\n        access: write\n    access_keys: {{count: 1}}\n"
        );
    }
    out
}

fn limited_proxy() -> common::Proxy {
    let proxy = common::Proxy::new();
    proxy.set_faults(common::Faults {
        limits: Some(LIMITS),
        ..common::Faults::default()
    });
    proxy
}

fn throttled_row(
    n: usize,
    scenario: &str,
    r: &Run,
    served: common::Served,
    floor: f64,
    target: &str,
) {
    let refused = served.reads_refused + served.writes_refused;
    let total = served.reads + served.writes + refused;
    println!(
        "| {n} | {scenario} | {:.1} s | {floor:.1} s | {} + {} | {} + {} | {:.1}% | {} | {target} |",
        r.wall.as_secs_f64(),
        served.writes,
        served.writes_refused,
        served.reads,
        served.reads_refused,
        100.0 * refused as f64 / total.max(1) as f64,
        r.code,
    );
}

fn throttle(sizes: &[usize]) -> bool {
    let mut all = true;
    println!(
        "Limits: {} writes/s, {} reads/s, burst {}.\n",
        LIMITS.writes_per_second, LIMITS.reads_per_second, LIMITS.burst
    );
    println!("| users | scenario | wall | floor | writes served + throttled | reads served + throttled | throttled | exit | target |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---|");
    let share = |s: common::Served| {
        let refused = s.reads_refused + s.writes_refused;
        refused as f64 / (s.reads + s.writes + refused).max(1) as f64
    };
    for (i, &n) in sizes.iter().enumerate() {
        let dir = tempfile::tempdir().expect("tmp");
        let spec = dir.path().join("spec.yaml");
        std::fs::write(&spec, synth::spec(n, false)).unwrap();
        let spec = spec.to_str().unwrap();
        let floor = (3 * n) as f64 / LIMITS.writes_per_second;

        let proxy = limited_proxy();
        let r = run_cli(&proxy.url(), &["apply", "-f", spec, "--auto-approve"]);
        let served = proxy.served();
        let ok = r.code == 0 && r.wall.as_secs_f64() <= floor * 1.1 && share(served) < 0.05;
        all &= ok;
        throttled_row(
            n,
            "apply from scratch, paced",
            &r,
            served,
            floor,
            &format!(
                "{} (<= {:.0} s, < 5% throttled, exit 0)",
                verdict(ok),
                floor * 1.1
            ),
        );
        proxy.set_faults(common::Faults {
            limits: Some(LIMITS),
            ..common::Faults::default()
        });
        let r = run_cli(&proxy.url(), &["plan", "-f", spec, "--detailed-exitcode"]);
        let ok = r.code == 0;
        all &= ok;
        throttled_row(
            n,
            "plan after it",
            &r,
            proxy.served(),
            0.0,
            &format!("{} (No changes)", verdict(ok)),
        );

        if i == 0 {
            let proxy = limited_proxy();
            let r = run_cli_env(
                &proxy.url(),
                &["apply", "-f", spec, "--auto-approve"],
                &[("IAMSPEC_PACING", "off")],
            );
            throttled_row(
                n,
                "apply from scratch, pacing off",
                &r,
                proxy.served(),
                floor,
                "- (comparison)",
            );
        }
    }

    all
}

/// Plans of `n` users with one access key each, through the limiter: keys from the credential report (a no-change
/// plan, and one after a key was made by hand), against the same plan without keys and against `--fresh-keys`.
fn keys(sizes: &[usize]) -> bool {
    let mut all = true;
    println!(
        "Limits: {} reads/s, burst {}. Floor: the requests past the burst at the read rate, plus the same plan of \
         the same users without keys.\n",
        LIMITS.reads_per_second, LIMITS.burst
    );
    println!(
        "| users | scenario | wall | floor | requests (by operation) | throttled | exit | target |"
    );
    println!("|---:|---|---:|---:|---|---:|---:|---|");
    for &n in sizes {
        let dir = tempfile::tempdir().expect("tmp");
        let spec = dir.path().join("keys.yaml");
        let bare = dir.path().join("bare.yaml");
        let text = keyed_spec(n);
        std::fs::write(&spec, &text).unwrap();
        std::fs::write(&bare, text.replace("    access_keys: {count: 1}\n", "")).unwrap();
        let (spec, bare) = (spec.to_str().unwrap(), bare.to_str().unwrap());
        let secrets = dir.path().join("secrets");
        let proxy = common::Proxy::new();
        let setup = apply_with_secrets(&proxy.url(), spec, &secrets);
        assert_eq!(setup.code, 0, "setting up {n} users with keys");
        // The median of three runs (the first after a change is often the slowest on this VM), with the
        // requests of the last.
        let limited = |args: &[&str], times: usize| {
            let mut runs = Vec::new();
            for _ in 0..times {
                proxy.set_faults(common::Faults {
                    limits: Some(LIMITS),
                    ..common::Faults::default()
                });
                let r = run_cli(&proxy.url(), args);
                runs.push((r, proxy.served()));
            }
            let mut walls: Vec<Duration> = runs.iter().map(|(r, _)| r.wall).collect();
            walls.sort();
            let (mut r, served) = runs.pop().expect("a run");
            r.wall = walls[walls.len() / 2];
            (r, served)
        };
        let requests = |r: &Run| r.calls.values().sum::<u64>();
        let floor_of = |reqs: u64, base: f64| {
            (reqs as f64 - LIMITS.burst).max(0.0) / LIMITS.reads_per_second + base
        };
        let line = |scenario: &str, r: &Run, served: common::Served, floor: f64, target: &str| {
            println!(
                "| {n} | {scenario} | {:.2} s | {floor:.2} s | {} ({}) | {} | {} | {target} |",
                r.wall.as_secs_f64(),
                requests(r),
                calls_text(&r.calls),
                served.reads_refused + served.writes_refused,
                r.code,
            );
        };

        let (base, served) = limited(&["plan", "-f", bare, "--detailed-exitcode"], 3);
        line("plan without keys (baseline)", &base, served, 0.0, "-");
        let base_wall = base.wall.as_secs_f64();

        let (r, served) = limited(&["plan", "-f", spec, "--detailed-exitcode"], 3);
        let floor = floor_of(requests(&r), base_wall);
        let ok = r.code == 0
            && requests(&r) <= 6
            && !r.calls.contains_key("ListAccessKeys")
            && r.wall.as_secs_f64() <= floor * 1.1;
        all &= ok;
        line(
            "plan with keys, no change",
            &r,
            served,
            floor,
            &format!("{} (<= 6 requests, <= {:.2} s)", verdict(ok), floor * 1.1),
        );

        // A key made by hand on one user: its row no longer matches iamspec's records.
        let one = "key-000007";
        let made = common::rt().block_on(async {
            common::iam_client(&proxy)
                .create_access_key()
                .user_name(one)
                .send()
                .await
                .is_ok()
        });
        assert!(made, "a key by hand");
        let (r, served) = limited(&["plan", "-f", spec], 3);
        let lists = r.calls.get("ListAccessKeys").copied().unwrap_or(0);
        let ok = r.code == 0 && lists == 1;
        all &= ok;
        line(
            "plan after one key made by hand",
            &r,
            served,
            floor_of(requests(&r), base_wall),
            &format!("{} (1 ListAccessKeys)", verdict(ok)),
        );

        let (r, served) = limited(&["plan", "-f", spec, "--fresh-keys"], 1);
        line(
            "plan --fresh-keys (every user listed)",
            &r,
            served,
            floor_of(requests(&r), base_wall),
            "- (comparison)",
        );
    }
    all
}

/// Drift of `accounts` accounts of `users` users with keys each, every account behind its own rate limiter (the
/// proxy limits each signing key, and each account's session is one) with IAM-like latency, against the drift of
/// one of them: accounts in parallel should cost little more than one.
fn accounts(args: &[usize]) -> bool {
    let (n_accounts, users) = (
        args.first().copied().unwrap_or(20),
        args.get(1).copied().unwrap_or(200),
    );
    let latency = Duration::from_millis(40);
    println!(
        "{n_accounts} accounts x {users} users with one key each. Each account: {} reads/s, {} writes/s, burst {}, \
         {} ms added to every request.\n",
        LIMITS.reads_per_second,
        LIMITS.writes_per_second,
        LIMITS.burst,
        latency.as_millis()
    );
    let proxy = common::Proxy::new();
    let ids = common::organization(&proxy, n_accounts);
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("version: 1\nowner: bench\npath: /bench/\naccounts:\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&format!(
            "  a{i:02}: {{ id: \"{id}\", role: iamspec-deployer }}\n"
        ));
    }
    let keyed = keyed_spec(users);
    text.push_str("users:\n");
    text.push_str(
        keyed
            .split_once("users:\n")
            .map(|(_, u)| u)
            .unwrap_or_default(),
    );
    let spec = dir.path().join("accounts.yaml");
    std::fs::write(&spec, text).unwrap();
    let spec = spec.to_str().unwrap();
    let secrets = dir.path().join("secrets");
    let setup = apply_with_secrets(&proxy.url(), spec, &secrets);
    assert_eq!(setup.code, 0, "setting up the accounts");
    println!(
        "Set up with one apply in {:.1} s.\n",
        setup.wall.as_secs_f64()
    );
    // The median of `times` runs, with the CPU seconds moto spent serving it (the mean over the runs).
    let limited = |args: &[&str], times: usize| {
        let mut runs = Vec::new();
        let mut cpu = 0.0;
        for _ in 0..times {
            proxy.set_faults(common::Faults {
                limits: Some(LIMITS),
                delay: Some(latency),
                ..common::Faults::default()
            });
            let before = moto_cpu_seconds();
            runs.push(run_cli(&proxy.url(), args));
            cpu += moto_cpu_seconds() - before;
        }
        let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        walls.sort();
        let mut r = runs.pop().expect("a run");
        r.wall = walls[walls.len() / 2];
        (r, cpu / times as f64)
    };
    println!("| scenario | accounts | wall (median of 3) | moto CPU | requests per account (by operation, all accounts) | exit | target |");
    println!("|---|---:|---:|---:|---|---:|---|");
    let mut all = true;
    let parallel = n_accounts.to_string();
    for fresh in [false, true] {
        let mut one_args = vec!["drift", "-f", spec, "--account", "a00"];
        let mut all_args = vec!["drift", "-f", spec, "--parallel-accounts", &parallel];
        let mut sequential = vec!["drift", "-f", spec, "--parallel-accounts", "1"];
        if fresh {
            one_args.push("--fresh-keys");
            all_args.push("--fresh-keys");
            sequential.push("--fresh-keys");
        }
        let keys = if fresh {
            "--fresh-keys"
        } else {
            "keys from the credential report"
        };
        let (one, one_cpu) = limited(&one_args, 3);
        let (many, many_cpu) = limited(&all_args, 3);
        let per_one = one.calls.values().sum::<u64>();
        let per_many = many.calls.values().sum::<u64>() as f64 / n_accounts as f64;
        let ratio = many.wall.as_secs_f64() / one.wall.as_secs_f64();
        // One Python process serves every account here: a run cannot take less than the CPU time moto spends on
        // it, however parallel the accounts are. Against AWS, each account's IAM is its own.
        let floor = one.wall.as_secs_f64().max(many_cpu);
        let ok = one.code == 0
            && many.code == 0
            && many.wall.as_secs_f64() <= 1.5 * floor
            && per_many <= per_one as f64;
        all &= ok;
        println!(
            "| drift, one account, {keys} | 1 | {:.2} s | {one_cpu:.2} s | {per_one} ({}) | {} | - |",
            one.wall.as_secs_f64(),
            calls_text(&one.calls),
            one.code
        );
        println!(
            "| drift, every account, {keys} | {n_accounts} | {:.2} s | {many_cpu:.2} s | {per_many:.1} ({}) | {} | {ratio:.2}x one ({} against 1.5x one); {} against 1.5x max(one, moto CPU) = {:.2} s; requests per account <= one's |",
            many.wall.as_secs_f64(),
            calls_text(&many.calls),
            many.code,
            verdict(ratio <= 1.5),
            verdict(ok),
            1.5 * floor,
        );
        if !fresh {
            let (seq, seq_cpu) = limited(&sequential, 1);
            println!(
                "| drift, every account one after another (--parallel-accounts 1), {keys} | {n_accounts} | {:.2} s | {seq_cpu:.2} s | {:.1} | {} | - (comparison) |",
                seq.wall.as_secs_f64(),
                seq.calls.values().sum::<u64>() as f64 / n_accounts as f64,
                seq.code
            );
        }
    }
    all
}

/// CPU seconds (user + system) the tests' moto_server has used so far: found in /proc by its port.
fn moto_cpu_seconds() -> f64 {
    let port = common::moto().addr.port().to_string();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_moto =
            words.iter().any(|w| w.ends_with(b"moto_server")) && words.contains(&port.as_bytes());
        if !is_moto {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command name's closing parenthesis: state is field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        total += (field(14) + field(15)) / ticks;
    }
    total
}

fn row(n: usize, scenario: &str, r: &Run, target: &str) {
    println!(
        "| {n} | {scenario} | {:.2} s | {} | {:.0} MiB | {target} |",
        r.wall.as_secs_f64(),
        calls_text(&r.calls),
        mib(r.peak_kib)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("core", String::as_str);
    let sizes: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let ok = match mode {
        "core" => core(if sizes.is_empty() {
            &[5_000, 100_000]
        } else {
            &sizes
        }),
        "moto" => moto(if sizes.is_empty() {
            &[100, 1_000, 5_000]
        } else {
            &sizes
        }),
        "throttle" => throttle(if sizes.is_empty() {
            &[1_000, 5_000]
        } else {
            &sizes
        }),
        "keys" => keys(if sizes.is_empty() { &[1_000] } else { &sizes }),
        "accounts" => accounts(&sizes),
        other => {
            eprintln!("usage: bench [core|moto|throttle|keys|accounts] [N...] (got {other})");
            std::process::exit(1);
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}
