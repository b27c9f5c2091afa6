//! The frontend's seeded host random generator.
//!
//! Weight initialisers, shuffles and the default random ops draw from it, so the same seed
//! gives the same numbers on every engine and device.

/// A small, fast, seedable generator (xoshiro256++ seeded through SplitMix64).
///
/// ```
/// use stratanet_frontend::random::Rng;
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.uniform(0.0, 1.0);
/// assert!((0.0..1.0).contains(&x));
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        let s = [
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
        ];
        Self {
            s,
            spare_normal: None,
        }
    }

    /// Derives an independent seed from `seed` and a stream number (for per-layer,
    /// per-step seeds).
    pub fn derive(seed: u64, stream: u64) -> u64 {
        let mut st = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        splitmix64(&mut st)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3]))
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// Standard normal sample (Box-Muller).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.next_f64(); // (0, 1]
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Normal sample truncated to two standard deviations (re-drawn outside), as Keras'
    /// `TruncatedNormal` initialisers.
    pub fn truncated_normal(&mut self, mean: f64, std: f64) -> f64 {
        loop {
            let z = self.standard_normal();
            if z.abs() <= 2.0 {
                return mean + std * z;
            }
        }
    }

    /// Uniform integer in `[0, n)` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
        v
    }
}

use std::sync::atomic::{AtomicU64, Ordering};

static GLOBAL_SEED: AtomicU64 = AtomicU64::new(0);
static GLOBAL_SEEDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static GLOBAL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Seeds stratanet's global generator, like `keras.utils.set_random_seed`: models created
/// afterwards get reproducible initial weights (and default `fit` seeds).
pub fn set_random_seed(seed: u64) {
    GLOBAL_SEED.store(seed, Ordering::SeqCst);
    GLOBAL_COUNTER.store(0, Ordering::SeqCst);
    GLOBAL_SEEDED.store(true, Ordering::SeqCst);
}

/// The next seed from the global generator (time-based until [`set_random_seed`] is called).
pub fn next_global_seed() -> u64 {
    if !GLOBAL_SEEDED.load(Ordering::SeqCst) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let _ = GLOBAL_SEED.compare_exchange(0, t | 1, Ordering::SeqCst, Ordering::SeqCst);
    }
    let c = GLOBAL_COUNTER.fetch_add(1, Ordering::SeqCst);
    Rng::derive(GLOBAL_SEED.load(Ordering::SeqCst), c)
}
