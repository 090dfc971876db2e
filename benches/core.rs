//! In-process benchmark of the pure core: load + validate + render + diff for 5,000 and 100,000 users.
//! Run: `cargo bench --bench core`. Results and targets: BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../examples/bench/synth.rs"]
mod synth;

use iamspec::diff::{desired_user, diff, DiffOptions};
use iamspec::model::Account;

/// The live side: every user as the spec wants it, so the diff has to compare everything and find nothing.
fn live_for(spec: &iamspec::spec::Spec) -> Account {
    let mut live = Account::default();
    for su in &spec.users {
        let u = desired_user(spec, su);
        live.users.insert(u.name.clone(), u);
    }
    live
}

fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group.sample_size(10);
    for n in [5_000usize, 100_000] {
        let text = synth::spec(n, false);
        let loaded = iamspec::spec::load("bench.yaml", &text).expect("valid");
        let live = live_for(&loaded.spec);
        group.bench_with_input(BenchmarkId::new("load+validate", n), &text, |b, text| {
            b.iter(|| iamspec::spec::load("bench.yaml", text).expect("valid"));
        });
        group.bench_with_input(BenchmarkId::new("diff", n), &n, |b, _| {
            b.iter(|| diff(&loaded.spec, &live, &DiffOptions::default()).expect("plan"));
        });
    }
    group.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
