//! Data parallelism for the pure core: one function over contiguous parts of a list, one part per core, results in
//! list order. Scoped threads spawned per call (no pool, no dependency), and only for lists long enough to pay
//! for them, so small specs run exactly as they would on one thread.

use std::sync::OnceLock;

/// The fewest spec users worth a thread of their own when validating or planning: a spec of fewer than twice
/// this many stays on the calling thread.
pub(crate) const USERS_PER_THREAD: usize = 1_000;

/// How many threads the core may use: the cores this process may run on.
fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `f` over up to [`threads`] contiguous parts of `items`, each part at least `min_part` long; the results in the
/// parts' order. A panic in any part is resumed here.
pub(crate) fn map_parts<T, R, F>(mut items: Vec<T>, min_part: usize, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(Vec<T>) -> R + Sync,
{
    let parts = threads().min(items.len() / min_part.max(1)).max(1);
    if parts == 1 {
        return vec![f(items)];
    }
    let size = items.len().div_ceil(parts);
    let mut rest = Vec::with_capacity(parts - 1);
    for i in (1..parts).rev() {
        if i * size < items.len() {
            rest.push(items.split_off(i * size));
        }
    }
    rest.reverse();
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = rest
            .into_iter()
            .map(|part| s.spawn(move || f(part)))
            .collect();
        let mut out = Vec::with_capacity(parts);
        out.push(f(items));
        for h in handles {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_list_in_order() {
        for len in [0, 1, 5, 99, 100, 101, 1000, 1001] {
            for min in [1, 7, 100, 5000] {
                let items: Vec<usize> = (0..len).collect();
                let parts = map_parts(items, min, |part| part);
                assert!(parts.len() <= threads().max(1));
                assert!(parts
                    .iter()
                    .all(|p| p.len() >= min.min(len) || parts.len() == 1));
                let joined: Vec<usize> = parts.into_iter().flatten().collect();
                assert_eq!(joined, (0..len).collect::<Vec<_>>(), "len {len} min {min}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn a_panic_in_a_part_reaches_the_caller() {
        map_parts((0..10_000).collect::<Vec<u32>>(), 1, |part| {
            assert!(!part.contains(&9_999), "boom");
        });
    }
}
