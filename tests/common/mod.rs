//! Test support: one moto_server per test binary, and a per-test HTTP proxy in front of it that selects the moto
//! account (x-moto-account-id), records the IAM actions sent, and injects faults (throttling, 5xx, dropped
//! connections, refused credentials, an account's rate limits) or serves canned pages; and runs the CLI against it.
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the support"
)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The shared moto server of this test binary.
pub struct Moto {
    pub addr: SocketAddr,
    _child: Option<Mutex<Child>>,
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The moto server: `IAMSPEC_MOTO_URL` when CI started one, otherwise started here. It is stopped when this test
/// process exits: a shell holds it and kills it when our end of its stdin closes.
/// Found out once per test binary: without moto_server every test fails at once with the same message, instead of
/// each waiting for a server that cannot start.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();
    match MOTO.get_or_init(start_moto) {
        Ok(moto) => moto,
        Err(why) => panic!("{why}"),
    }
}

/// `IAMSPEC_MOTO_URL` as a socket address: `http://HOST:PORT`, host names resolved (`localhost` included).
fn moto_url_addr(url: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("IAMSPEC_MOTO_URL={url}: expected http://HOST:PORT"))?;
    let host_port = rest.split('/').next().unwrap_or_default();
    host_port
        .to_socket_addrs()
        .map_err(|e| format!("IAMSPEC_MOTO_URL={url}: {e}"))?
        .next()
        .ok_or_else(|| format!("IAMSPEC_MOTO_URL={url}: {host_port} resolves to no address"))
}

const INSTALL_MOTO: &str =
    "install it with: pip install 'moto[server]==5.2.1' (or point IAMSPEC_MOTO_URL at a \
                            running one, e.g. http://127.0.0.1:5000)";

fn start_moto() -> Result<Moto, String> {
    if let Ok(url) = std::env::var("IAMSPEC_MOTO_URL") {
        let addr = moto_url_addr(&url)?;
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_err() {
            return Err(format!(
                "IAMSPEC_MOTO_URL={url}: nothing listens on {addr}; start moto_server there, or unset it to let \
                 the tests start their own"
            ));
        }
        return Ok(Moto { addr, _child: None });
    }
    let found = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Err(format!(
            "moto_server is not on PATH: the AWS tests need it; {INSTALL_MOTO}"
        ));
    }
    let port = free_port();
    let script = format!(
        "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & p=$!; read _; kill $p 2>/dev/null; wait $p 2>/dev/null"
    );
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start moto_server: {e}; {INSTALL_MOTO}"))?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "moto_server did not start on {addr} within 30 s; {INSTALL_MOTO}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Our stdin handle lives in the static: when this process exits, the shell reads EOF and stops moto.
    Ok(Moto {
        addr,
        _child: Some(Mutex::new(child)),
    })
}

/// A fresh 12-digit account id, unique within this process.
pub fn new_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{:04}{:08}", std::process::id() % 10_000, n + 1)
}

/// What the proxy does to requests.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests answered with a Throttling error (400).
    pub throttle: f64,
    /// Share answered with InternalFailure (500).
    pub server_error: f64,
    /// Share whose connection is dropped before forwarding.
    pub drop_before: f64,
    /// Share forwarded to moto, then dropped without an answer (the write happened: ambiguous).
    pub drop_after: f64,
    /// Answer every request with this (status, code, message).
    pub always: Option<(u16, String, String)>,
    /// Serve GetAccountAuthorizationDetails from these canned pages instead of moto.
    pub gaad_pages: Option<Vec<String>>,
    /// Only inject faults into these actions (all when empty).
    pub only_actions: Vec<String>,
    /// Stop injecting after this many faults.
    pub max_faults: Option<u64>,
    /// Wait this long before forwarding each request (a slow IAM).
    pub delay: Option<Duration>,
    /// Enforce an account's rate limits, as IAM does.
    pub limits: Option<RateLimits>,
    /// Faults at given requests of an action, before any random one.
    pub script: Vec<Scripted>,
    /// Answer this action with a body that never ends (chunked; the proxy itself stops after 4 GiB).
    pub endless: Option<String>,
    /// AssumeRole of these role ARNs is refused (403 AccessDenied), as AWS refuses a role that does not exist or
    /// does not trust the caller; moto assumes any role.
    pub deny_assume: Vec<String>,
}

/// Requests `after + 1` to `after + times` of `action` (counted from when the faults were set) get `fault`.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub action: String,
    pub fault: Fault,
    pub after: u32,
    pub times: u32,
}

/// A fault the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 Throttling: Rate exceeded.
    Throttle,
    /// 500 InternalFailure.
    ServerError,
    /// The connection closed before the request reaches moto.
    DropBefore,
    /// The request served by moto, its response lost (the change happened).
    DropAfter,
    /// 500 with no IAM error at all, as moto answers when a request crashes inside it.
    Crash,
}

/// Token buckets like an account's IAM limits: reads (Get*, List*) and writes apart, each refilled at its rate and
/// holding at most `burst` tokens. A request finding its bucket empty is answered `Throttling: Rate exceeded`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub reads_per_second: f64,
    pub writes_per_second: f64,
    pub burst: f64,
}

/// What the rate limiter served and refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Served {
    pub reads: u64,
    pub reads_refused: u64,
    pub writes: u64,
    pub writes_refused: u64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64) -> Self {
        Self {
            tokens: burst,
            at: Instant::now(),
        }
    }

    fn take(&mut self, rate: f64, burst: f64) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The buckets of each signing key (each account's session is its own key, so each account has its own limits,
/// as IAM's are per account), and what was served in all.
struct Limiter {
    burst: f64,
    buckets: std::collections::HashMap<String, (Bucket, Bucket)>,
    served: Served,
}

/// Whether an IAM action counts against the read limit. GenerateCredentialReport reads (IAM lists it under the
/// Read access level: it makes the report of what is there).
pub fn is_read(action: &str) -> bool {
    action.starts_with("Get") || action.starts_with("List") || action == "GenerateCredentialReport"
}

struct State {
    account: String,
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    actions: Mutex<Vec<String>>,
    targets: Mutex<Vec<(String, String)>>,
    injected: AtomicU64,
    rng: Mutex<rand::rngs::StdRng>,
    user_agents: Mutex<Vec<String>>,
    limiter: Mutex<Option<Limiter>>,
    script: Mutex<(Vec<Scripted>, std::collections::HashMap<String, u32>)>,
    log: Mutex<Vec<(String, Option<Fault>)>>,
    /// Bytes of endless bodies sent (what the client read before it hung up).
    endless_sent: AtomicU64,
}

/// A proxy for one test, in its own thread and runtime.
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy into a fresh moto account.
    pub fn new() -> Self {
        Self::for_account(&new_account())
    }

    /// A proxy into `account`.
    pub fn for_account(account: &str) -> Self {
        let upstream = moto().addr;
        let state = Arc::new(State {
            account: account.to_owned(),
            upstream,
            faults: Mutex::new(Faults::default()),
            actions: Mutex::new(Vec::new()),
            targets: Mutex::new(Vec::new()),
            injected: AtomicU64::new(0),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(7)),
            user_agents: Mutex::new(Vec::new()),
            limiter: Mutex::new(None),
            script: Mutex::new((Vec::new(), std::collections::HashMap::new())),
            log: Mutex::new(Vec::new()),
            endless_sent: AtomicU64::new(0),
        });
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((conn, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(serve(conn, Arc::clone(&st)));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = rx => {}
                }
            });
        });
        Self {
            port,
            state,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn account(&self) -> &str {
        &self.state.account
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.state.limiter.lock().unwrap() = faults.limits.map(|l| Limiter {
            burst: l.burst,
            buckets: std::collections::HashMap::new(),
            served: Served::default(),
        });
        *self.state.script.lock().unwrap() = (faults.script.clone(), Default::default());
        *self.state.faults.lock().unwrap() = faults;
    }

    /// Every request that passed the rate limiter, in order, with the fault injected into it.
    pub fn fault_log(&self) -> Vec<(String, Option<Fault>)> {
        self.state.log.lock().unwrap().clone()
    }

    /// What the rate limiter served and refused since the limits were set.
    pub fn served(&self) -> Served {
        self.state
            .limiter
            .lock()
            .unwrap()
            .as_ref()
            .map(|l| l.served)
            .unwrap_or_default()
    }

    /// IAM/STS actions seen so far, in order.
    pub fn actions(&self) -> Vec<String> {
        self.state.actions.lock().unwrap().clone()
    }

    pub fn clear_actions(&self) {
        self.state.actions.lock().unwrap().clear();
        self.state.targets.lock().unwrap().clear();
    }

    /// (action, target) pairs seen so far: the target is the request's UserName, PolicyName or PolicyArn.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.state.targets.lock().unwrap().clone()
    }

    /// IAM writes seen so far (not reads, and not the apply lock's own calls), in order.
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(a, t)| !(is_read(a) || t.contains("iamspec-lock-")))
            .map(|(a, _)| a)
            .collect()
    }

    /// How many faults were injected.
    pub fn endless_sent(&self) -> u64 {
        self.state.endless_sent.load(Ordering::SeqCst)
    }

    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::SeqCst)
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.state.user_agents.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The access key id a request is signed with (`Credential=KEY/...`), empty when unsigned.
fn signing_key(head: &str) -> String {
    head.split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .replace('+', " ")
        })
    })
}

fn error_response(status: u16, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    );
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        500 => "Internal Server Error",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn ok_response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(mut conn: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    loop {
        // Read one request head.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            })
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
        let request: Vec<u8> = buf.drain(..head_end + length).collect();
        let action = form_value(&body, "Action").unwrap_or_default();
        if let Some(ua) = head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        }) {
            state
                .user_agents
                .lock()
                .unwrap()
                .push(ua.1.trim().to_owned());
        }
        state.actions.lock().unwrap().push(action.clone());
        let target = ["UserName", "PolicyName", "PolicyArn"]
            .iter()
            .find_map(|k| form_value(&body, k))
            .unwrap_or_default();
        state.targets.lock().unwrap().push((action.clone(), target));

        let faults = state.faults.lock().unwrap().clone();
        if let Some((status, code, message)) = &faults.always {
            state.injected.fetch_add(1, Ordering::SeqCst);
            let _ = conn
                .write_all(&error_response(*status, code, message))
                .await;
            continue;
        }
        if action == "AssumeRole"
            && form_value(&body, "RoleArn").is_some_and(|arn| faults.deny_assume.contains(&arn))
        {
            let message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole";
            let _ = conn
                .write_all(&error_response(403, "AccessDenied", message))
                .await;
            continue;
        }
        if faults.endless.as_deref() == Some(action.as_str()) {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut chunk = format!("<{action}Response>").into_bytes();
            chunk.resize(1 << 16, b' ');
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            let mut sent: u64 = 0;
            while sent < 4 << 30 {
                if conn.write_all(&framed).await.is_err() {
                    break;
                }
                sent += chunk.len() as u64;
            }
            state.endless_sent.fetch_add(sent, Ordering::SeqCst);
            return;
        }
        if action == "GetAccountAuthorizationDetails" {
            if let Some(pages) = &faults.gaad_pages {
                let marker = form_value(&body, "Marker");
                let index = marker
                    .and_then(|m| m.trim_start_matches("page-").parse::<usize>().ok())
                    .unwrap_or(0);
                let _ = conn
                    .write_all(&ok_response(&pages[index.min(pages.len() - 1)]))
                    .await;
                continue;
            }
        }
        // STS's AssumeRole is not IAM: its quota is the caller's, far above IAM's (hundreds a second).
        if let Some(limits) = faults.limits.filter(|_| action != "AssumeRole") {
            let admitted = {
                let mut guard = state.limiter.lock().unwrap();
                let limiter = guard.as_mut().expect("limits set with set_faults");
                let read = is_read(&action);
                let key = signing_key(&head);
                let burst = limiter.burst;
                let (reads, writes) = limiter
                    .buckets
                    .entry(key)
                    .or_insert_with(|| (Bucket::full(burst), Bucket::full(burst)));
                let (bucket, rate) = if read {
                    (reads, limits.reads_per_second)
                } else {
                    (writes, limits.writes_per_second)
                };
                let admitted = bucket.take(rate, limits.burst);
                let counter = match (read, admitted) {
                    (true, true) => &mut limiter.served.reads,
                    (true, false) => &mut limiter.served.reads_refused,
                    (false, true) => &mut limiter.served.writes,
                    (false, false) => &mut limiter.served.writes_refused,
                };
                *counter += 1;
                admitted
            };
            if !admitted {
                let _ = conn
                    .write_all(&error_response(400, "Throttling", "Rate exceeded"))
                    .await;
                continue;
            }
        }
        let fault = {
            let mut guard = state.script.lock().unwrap();
            let (script, seen) = &mut *guard;
            let n = seen.entry(action.clone()).or_default();
            *n += 1;
            script
                .iter()
                .find(|r| r.action == action && *n > r.after && *n <= r.after + r.times)
                .map(|r| r.fault)
        };
        let fault = fault.or_else(|| {
            let exhausted = faults
                .max_faults
                .is_some_and(|m| state.injected.load(Ordering::SeqCst) >= m);
            let eligible = !exhausted
                && (faults.only_actions.is_empty() || faults.only_actions.contains(&action));
            let roll: f64 = state.rng.lock().unwrap().random();
            let mut edge = 0.0;
            [
                (faults.throttle, Fault::Throttle),
                (faults.server_error, Fault::ServerError),
                (faults.drop_before, Fault::DropBefore),
                (faults.drop_after, Fault::DropAfter),
            ]
            .into_iter()
            .find_map(|(p, fault)| {
                edge += p;
                (eligible && roll < edge).then_some(fault)
            })
        });
        state.log.lock().unwrap().push((action.clone(), fault));
        if fault.is_some() {
            state.injected.fetch_add(1, Ordering::SeqCst);
        }
        match fault {
            Some(Fault::Throttle) => {
                let _ = conn
                    .write_all(&error_response(400, "Throttling", "Rate exceeded"))
                    .await;
                continue;
            }
            Some(Fault::ServerError) => {
                let _ = conn
                    .write_all(&error_response(500, "InternalFailure", "injected failure"))
                    .await;
                continue;
            }
            Some(Fault::Crash) => {
                let _ = conn
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
                    .await;
                continue;
            }
            Some(Fault::DropBefore) => return,
            Some(Fault::DropAfter) | None => {}
        }
        if let Some(delay) = faults.delay {
            tokio::time::sleep(delay).await;
        }
        let response = match forward(&state, &request, head_end).await {
            Some(r) => r,
            None => return,
        };
        if fault == Some(Fault::DropAfter) {
            return;
        }
        if conn.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// Sends one request to moto with the account header, returns the whole response.
async fn forward(state: &State, request: &[u8], head_end: usize) -> Option<Vec<u8>> {
    let head = String::from_utf8_lossy(&request[..head_end - 2]).to_string();
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    // Requests signed with a role's temporary credentials (ASIA...) are in the account moto gave them (the
    // role's): the header would move them into the proxy's account.
    let assumed = head.contains("Credential=ASIA");
    if !assumed {
        out.push_str(&format!("x-moto-account-id: {}\r\n", state.account));
    }
    out.push_str("connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(state.upstream).await.ok()?;
    upstream.write_all(out.as_bytes()).await.ok()?;
    upstream.write_all(&request[head_end..]).await.ok()?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await.ok()?;
    // Keep the client's connection open: drop moto's `Connection: close`.
    let end = find(&response, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&response[..end]).to_string();
    let kept: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect::<String>();
    let mut fixed = kept.trim_end_matches("\r\n").to_owned().into_bytes();
    fixed.extend_from_slice(b"\r\n\r\n");
    fixed.extend_from_slice(&response[end..]);
    Some(fixed)
}

/// Environment for running iamspec or the SDK against the proxy: fixed test credentials, no IMDS, no profiles.
pub fn aws_env() -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir();
    let config = dir.join("iamspec-test-aws-config");
    let credentials = dir.join("iamspec-test-aws-credentials");
    for f in [&config, &credentials] {
        if !f.exists() {
            std::fs::write(f, "").unwrap();
        }
    }
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIATESTTESTTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "test-secret".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("NO_COLOR", "1".into()),
    ]
}

/// The tests' own credentials (the proxy puts their requests in its account).
pub fn test_credentials() -> aws_sdk_iam::config::Credentials {
    aws_sdk_iam::config::Credentials::new("AKIATESTTESTTEST", "test-secret", None, None, "test")
}

/// An SDK IAM client through the proxy, for out-of-band edits.
pub fn iam_client(proxy: &Proxy) -> aws_sdk_iam::Client {
    iam_client_as(proxy, test_credentials())
}

/// An SDK IAM client through the proxy with these credentials (an assumed role's: its account).
pub fn iam_client_as(
    proxy: &Proxy,
    creds: aws_sdk_iam::config::Credentials,
) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(proxy.url())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// An organization in the proxy's account with `n` member accounts; their ids.
pub fn organization(proxy: &Proxy, n: usize) -> Vec<String> {
    let creds = test_credentials();
    let conf = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(proxy.url())
        .build();
    let org = aws_sdk_organizations::Client::from_conf(conf);
    rt().block_on(async {
        org.create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let out = org
                .create_account()
                .email(format!("member{i}@example.com"))
                .account_name(format!("member-{i}"))
                .send()
                .await
                .unwrap();
            ids.push(
                out.create_account_status()
                    .and_then(|s| s.account_id())
                    .unwrap()
                    .to_owned(),
            );
        }
        ids
    })
}

/// The ids of `user`'s access keys, as IAM lists them.
pub async fn key_ids(proxy: &Proxy, user: &str) -> Vec<String> {
    iam_client(proxy)
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id().map(str::to_owned))
        .collect()
}

/// `apply --auto-approve` of `spec` with new secrets written to `secrets`.
pub fn apply_keys(proxy: &Proxy, spec: &str, secrets: &Path) -> Output {
    run(
        proxy,
        &[
            "apply",
            "-f",
            spec,
            "--auto-approve",
            "--secrets-dir",
            secrets.to_str().unwrap(),
        ],
    )
}

/// Uses access key `id` once, as whoever holds it would: moto records the last use of the key id that signs a
/// request (it checks no signature unless told to), so the secret is not needed.
pub async fn use_key(proxy: &Proxy, id: &str) {
    let creds = aws_sdk_iam::config::Credentials::new(id, "unknown", None, None, "used");
    let theirs = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(proxy.url())
            .build(),
    );
    theirs.list_users().send().await.unwrap();
}

/// Runs iamspec against `endpoint` with the test credentials (and `env` on top).
pub fn run_at(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_within(endpoint, args, env, Duration::from_secs(120))
}

/// [`run_at`] with a bound of its own: a run paced at IAM's floor under random throttling takes about 100 s here,
/// too near the usual 120 s for a test that checks convergence, not speed.
pub fn run_within(endpoint: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("iamspec").unwrap();
    for (k, v) in aws_env() {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).args(["--endpoint-url", endpoint]);
    cmd.timeout(limit);
    cmd.output().unwrap()
}

pub fn run(proxy: &Proxy, args: &[&str]) -> Output {
    run_at(&proxy.url(), args, &[])
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn write_spec(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("spec.yaml");
    std::fs::write(&path, body).unwrap();
    path
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn assert_no_changes(proxy: &Proxy, spec: &str) {
    let o = run(proxy, &["plan", "-f", spec, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("No changes."), "{}", text(&o));
}

/// Every secret written to --secrets-dir, by file content.
pub fn secrets_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        out.push(doc["SecretAccessKey"].as_str().unwrap().to_owned());
    }
    out
}
