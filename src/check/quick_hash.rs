//! A quick hash for the checker's tables of names (variables, `fn`s, Rhai keys): a long
//! script declares thousands, and SipHash, std's default, cost more than the rest of the
//! look-up. The tables compare whole names, so a collision costs time, never a wrong
//! answer; names come from the script being checked, so only its own author could make
//! them collide. The hash is `rustc-hash`'s (FxHash), the compiler's own for such tables.

/// A `HashMap`/`HashSet` hasher for the checker's names and keys.
pub(crate) type QuickHash = rustc_hash::FxBuildHasher;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn names_that_differ_hash_apart() {
        let h = QuickHash::default();
        let names = [
            "x1",
            "x2",
            "x10",
            "it",
            "",
            "a_long_name_past_8_bytes",
            "a_long_name_past_8_bytez",
        ];
        let hashes: std::collections::HashSet<u64> = names.iter().map(|n| h.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len());
    }
}
