//! Prompt resampling shared by the bootstrap of θ† and the evidence's max-t bootstrap: resample
//! `i` of a seed is ChaCha8 stream `i`, so every resample can be drawn on its own thread.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The resample counts of resample `i`: `T` uniform draws from stream `i`.
pub(crate) fn resample_counts(t_count: usize, seed: u64, i: usize, counts: &mut [u32]) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i as u64);
    counts.fill(0);
    for _ in 0..t_count {
        counts[rng.random_range(0..t_count)] += 1;
    }
}
