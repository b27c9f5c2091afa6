//! SipHash-2-4 ([`siphash24`]), the keyed (salted) hash of Keras/TensorFlow.

use super::farmhash::fetch64;

/// SipHash-2-4 with the 128-bit key `[k0, k1]`, the keyed hash of TensorFlow's
/// `tf.strings.to_hash_bucket_strong` (Keras' `Hashing(salt=...)`).
pub fn siphash24(key: [u64; 2], data: &[u8]) -> u64 {
    let mut v0 = 0x736f_6d65_7073_6575u64 ^ key[0];
    let mut v1 = 0x646f_7261_6e64_6f6du64 ^ key[1];
    let mut v2 = 0x6c79_6765_6e65_7261u64 ^ key[0];
    let mut v3 = 0x7465_6462_7974_6573u64 ^ key[1];
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    };
    let chunks = data.len() / 8;
    for i in 0..chunks {
        let m = fetch64(data, i * 8);
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut last = (data.len() as u64 & 0xff) << 56;
    for (i, &byte) in data[chunks * 8..].iter().enumerate() {
        last |= (byte as u64) << (8 * i);
    }
    v3 ^= last;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= last;
    v2 ^= 0xff;
    for _ in 0..4 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}
