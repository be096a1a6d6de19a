//! A quick hash for the checker's tables of names (variables, `fn`s, Rhai keys): a long
//! script declares thousands, and SipHash, std's default, cost more than the rest of the
//! look-up. The tables compare whole names, so a collision costs time, never a wrong
//! answer; names come from the script being checked, so only its own author could make
//! them collide.

/// FxHash's rotate, xor and multiply, 8 bytes at a time.
#[derive(Default, Clone, Copy)]
pub(crate) struct QuickHasher(u64);

/// A `HashMap`/`HashSet` hasher for the checker's names and keys.
pub(crate) type QuickHash = std::hash::BuildHasherDefault<QuickHasher>;

impl QuickHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

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
