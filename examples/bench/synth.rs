//! Synthetic specs and live accounts for benchmarks and call-count tests: N users, each with 2-3 grants, one
//! managed policy and tags, generated deterministically from the user index.

use std::fmt::Write;

const LEVELS: [&str; 4] = ["list", "read", "write", "read-write"];

/// A spec of `n` users. `variant` changes the grants of every 100th user (the "1% changed" case) when set.
pub fn spec(n: usize, variant: bool) -> String {
    // Room for the whole text up front: a buffer doubled past its first guess would leave the smaller one's pages
    // in the process, counted in the peak memory of what is measured.
    let mut out = String::with_capacity(n * 320 + 64);
    out.push_str("version: 1\nowner: bench\npath: /bench/\nusers:\n");
    for i in 0..n {
        let changed = variant && i % 100 == 0;
        let team = ["web", "data", "media", "ops"][i % 4];
        let _ = write!(
            out,
            "  svc-{i:06}:\n    tags: {{ team: {team}, index: \"{i}\" }}\n    grants:\n      - buckets: [assets-{a:04}, thumbs-{a:04}]\n        access: {l1}\n      - buckets: [logs-{b:04}]\n        prefix: svc-{i:06}/\n        access: {l2}\n",
            a = i % 997,
            b = i % 89,
            l1 = if changed { "read-write" } else { LEVELS[i % 4] },
            l2 = LEVELS[(i / 4) % 4],
        );
        if i % 3 == 0 {
            let _ = write!(out, "      - buckets: [shared-exports]\n        prefix: teams/{team}/\n        access: read\n");
        }
        out.push_str("    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n");
    }
    out
}
