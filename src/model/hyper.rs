//! Hyper-parameters of training, and the named presets.

use super::Optimizer;

/// What one mini-batch gradient-descent step needs besides the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper {
    /// Learning rate: θ ← θ − lr·g for plain SGD (see [`Optimizer`] for the others).
    pub lr: f32,
    /// L1 coefficient: adds l1·‖W‖₁ to the loss (weights only).
    pub l1: f32,
    /// L2 coefficient: adds (l2/2)·‖W‖² to the loss (weights only).
    pub l2: f32,
    /// Images per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// The update rule (plain SGD, momentum or Adam).
    pub optimizer: Optimizer,
}

/// Named configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Our default: H 128, batch 100, lr 0.5, fan-in scaled initialization.
    Default,
    /// The article's configuration in the mean-gradient form of DESIGN.md:
    /// H 50, 25 batches of 2 400, lr 2.4, L2 0.5/2400, weights in [-1, 1), 300 epochs.
    Article,
}

/// A rate or coefficient as people write it: 0.5, 0.0001, 1e-20, 3e38.
pub fn readable(x: f32) -> String {
    if x != 0.0 && !(1e-4..1e7).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn rates_print_as_people_write_them() {
        assert_eq!(readable(0.5), "0.5");
        assert_eq!(readable(0.0), "0");
        assert_eq!(readable(0.0001), "0.0001");
        assert_eq!(readable(1e-20), "1e-20");
        assert_eq!(readable(3e38), "3e38");
    }
}
