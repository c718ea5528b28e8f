//! Deterministic randomness.
//!
//! Two kinds, both derived only from the spec's seed:
//! - ChaCha8 streams (`Keys::stream`) for structure that is drawn in a fixed order: school sizes,
//!   families, section placement, teacher loads. Each school/zone gets its own stream, so the base
//!   district never depends on `change_pct` or on how other parts consumed randomness.
//! - Keyed SplitMix64 hashes (`Keys::h`) for per-entity attributes and change decisions (names,
//!   who is withdrawn or renamed, which enrollment is dropped). Being random-access, they make a
//!   change run reproduce the base exactly and make changes at 2% a superset of those at 1%.
//!
//! Uniform draws use multiply-shift on `next_u64` and shuffles are our own Fisher–Yates, so output
//! depends only on the ChaCha8 stream (a stable algorithm), not on `rand`'s sampling internals.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Stream = ChaCha8Rng;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 finaliser: a bijection on u64 with good avalanche.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Copy)]
pub struct Keys {
    seed: u64,
}

impl Keys {
    pub fn new(seed: u64) -> Self {
        Keys {
            seed: mix64(seed ^ 0x726F_7374_6572_6272),
        }
    }

    /// The `idx`-th output of a SplitMix64 sequence keyed by (seed, salt).
    pub fn h(&self, salt: u64, idx: u64) -> u64 {
        let k = mix64(self.seed ^ mix64(salt));
        mix64(k.wrapping_add(idx.wrapping_mul(GAMMA)))
    }

    pub fn chance(&self, salt: u64, idx: u64, p: f64) -> bool {
        p > 0.0 && unit(self.h(salt, idx)) < p
    }

    pub fn stream(&self, salt: u64, idx: u64) -> Stream {
        ChaCha8Rng::seed_from_u64(self.h(salt, idx))
    }
}

/// Uniform in [0, 1).
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in [0, n) from one 64-bit value (multiply-shift; bias is below 2^-40 for our n).
pub fn index(h: u64, n: usize) -> usize {
    ((h as u128 * n as u128) >> 64) as usize
}

pub fn below(rng: &mut Stream, n: usize) -> usize {
    index(rng.next_u64(), n)
}

pub fn shuffle<T>(rng: &mut Stream, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// Index drawn with the given integer weights.
pub fn weighted(rng: &mut Stream, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = below(rng, total as usize) as u32;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Splits `total` over `weights` exactly (cumulative floors), so parts always sum to `total`.
pub fn apportion(total: u32, weights: &[u32]) -> Vec<u32> {
    let sum: u64 = weights.iter().map(|w| *w as u64).sum();
    let mut out = Vec::with_capacity(weights.len());
    let mut cum = 0u64;
    let mut prev = 0u64;
    for w in weights {
        cum += *w as u64;
        let upto = total as u64 * cum / sum.max(1);
        out.push((upto - prev) as u32);
        prev = upto;
    }
    out
}

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fixed-width (11 chars) base62 of a bijective scramble of `n`: unique, mixed-case, opaque.
pub fn push_base62_id(out: &mut String, n: u64) {
    let mut v = mix64(n ^ 0x5EED_0F1D);
    let mut buf = [0u8; 11];
    for b in buf.iter_mut().rev() {
        *b = B62[(v % 62) as usize];
        v /= 62;
    }
    out.push_str(std::str::from_utf8(&buf).expect("base62 alphabet is ASCII"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly() {
        assert_eq!(apportion(10, &[1, 1, 1]).iter().sum::<u32>(), 10);
        assert_eq!(apportion(0, &[3, 5]), vec![0, 0]);
        assert_eq!(apportion(7, &[100]), vec![7]);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let k = Keys::new(42);
        let a: Vec<u64> = (0..4).map(|_| k.stream(1, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(k.stream(1, 2).next_u64(), k.stream(1, 3).next_u64());
        assert_ne!(Keys::new(1).h(5, 5), Keys::new(2).h(5, 5));
    }
}
