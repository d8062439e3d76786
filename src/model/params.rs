//! Parameters of the one-hidden-layer network and their seeded initialization.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sizes of the network: D inputs, H hidden units, C classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub inputs: usize,
    pub hidden: usize,
    pub classes: usize,
}

impl Shape {
    /// Number of weights and biases together.
    pub fn parameter_count(&self) -> usize {
        self.hidden * self.inputs + self.hidden + self.classes * self.hidden + self.classes
    }

    /// The default initialization scale: LeCun uniform, s = √(3 / fan-in) of the
    /// first layer, so that Z1 has unit variance on standardized pixels.
    pub fn default_init_scale(&self) -> f32 {
        (3.0 / self.inputs as f32).sqrt()
    }
}

/// W1 (H×D), b1 (H), W2 (C×H), b2 (C), all row-major f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub shape: Shape,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl Params {
    /// Every weight and bias uniform in [-scale, scale), drawn on the host from a
    /// ChaCha8 generator seeded with `seed`, in the order W1, b1, W2, b2, so the
    /// same seed gives the same start on every backend.
    pub fn init(shape: Shape, scale: f32, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    if scale > 0.0 {
                        rng.random_range(-scale..scale)
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let w1 = draw(shape.hidden * shape.inputs);
        let b1 = draw(shape.hidden);
        let w2 = draw(shape.classes * shape.hidden);
        let b2 = draw(shape.classes);
        Params {
            shape,
            w1,
            b1,
            w2,
            b2,
        }
    }

    /// All zeros (used for gradients).
    pub fn zeros(shape: Shape) -> Self {
        Params {
            shape,
            w1: vec![0.0; shape.hidden * shape.inputs],
            b1: vec![0.0; shape.hidden],
            w2: vec![0.0; shape.classes * shape.hidden],
            b2: vec![0.0; shape.classes],
        }
    }

    /// Largest absolute difference between two parameter sets of one shape,
    /// relative to the largest magnitude in `self` (at least 1).
    pub fn max_relative_difference(&self, other: &Params) -> f32 {
        let pairs = [
            (&self.w1, &other.w1),
            (&self.b1, &other.b1),
            (&self.w2, &other.w2),
            (&self.b2, &other.b2),
        ];
        let mut scale = 1.0f32;
        let mut diff = 0.0f32;
        for (a, b) in pairs {
            assert_eq!(a.len(), b.len(), "parameter sets of different shapes");
            for (x, y) in a.iter().zip(b.iter()) {
                scale = scale.max(x.abs());
                diff = diff.max((x - y).abs());
            }
        }
        diff / scale
    }

    /// Sum of |w| over both weight matrices (biases are not regularized).
    pub fn l1_norm(&self) -> f64 {
        self.w1.iter().chain(&self.w2).map(|w| w.abs() as f64).sum()
    }

    /// Sum of w² over both weight matrices.
    pub fn l2_norm_squared(&self) -> f64 {
        self.w1
            .iter()
            .chain(&self.w2)
            .map(|w| (*w as f64) * (*w as f64))
            .sum()
    }
}
