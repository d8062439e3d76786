//! The order an epoch takes the training images in: the same on every
//! backend, from the run's seed and the epoch's number alone, so a resumed
//! run sees the orders an uninterrupted one would have.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A uniformly random permutation of 0..n for epoch `epoch` (1-based) of the
/// run seeded `seed`: Fisher–Yates driven by ChaCha8 on stream `epoch` of the
/// seed (stream 0 draws the initial weights).
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(&mut rng);
    order
}
