//! The update rules that turn a gradient into a parameter step, and the state
//! (moments, step count) the stateful ones carry between batches.
//!
//! With g = dθ + l1·sign(θ) + l2·θ for the weights (g = db for the biases):
//!
//!   sgd       θ ← θ − lr·g
//!   momentum  m ← β·m + g;  θ ← θ − lr·m
//!   adam      m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//!             θ ← θ − lr·(m·c1) / (√(v·c2) + ε),  c1 = 1/(1 − β1ᵗ), c2 = 1/(1 − β2ᵗ)
//!
//! where t counts the steps taken so far, this one included.

use super::{Params, Shape};

/// Which update rule, with its constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd,
    Momentum { beta: f32 },
    Adam { beta1: f32, beta2: f32, eps: f32 },
}

impl Optimizer {
    /// Momentum with β = 0.9.
    pub const MOMENTUM: Optimizer = Optimizer::Momentum { beta: 0.9 };
    /// Adam with β1 = 0.9, β2 = 0.999, ε = 1e-8 (the paper's constants).
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// `sgd`, `momentum` or `adam`.
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Adam { .. } => "adam",
        }
    }

    /// Whether the rule keeps moments between steps.
    pub fn has_state(self) -> bool {
        self != Optimizer::Sgd
    }

    /// (β1, β2, ε) as the kernels read them; zeros where the rule has none.
    pub fn constants(self) -> [f32; 3] {
        match self {
            Optimizer::Sgd => [0.0; 3],
            Optimizer::Momentum { beta } => [beta, 0.0, 0.0],
            Optimizer::Adam { beta1, beta2, eps } => [beta1, beta2, eps],
        }
    }

    /// Adam's bias corrections (c1, c2) = (1/(1 − β1ᵗ), 1/(1 − β2ᵗ)) of step
    /// `t` (1-based), computed in f64; (1, 1) for the other rules.
    pub fn corrections(self, t: u64) -> [f32; 2] {
        match self {
            Optimizer::Adam { beta1, beta2, .. } => {
                let t = t.min(i32::MAX as u64) as i32;
                let c = |beta: f32| (1.0 / (1.0 - (beta as f64).powi(t))) as f32;
                [c(beta1), c(beta2)]
            }
            _ => [1.0, 1.0],
        }
    }

    /// The learning rate a preset uses with this rule: the SGD rate for SGD,
    /// (1 − β)·that for momentum (same step size once m settles), 1e-3 for Adam.
    pub fn default_lr(self, sgd_lr: f32) -> f32 {
        match self {
            Optimizer::Sgd => sgd_lr,
            Optimizer::Momentum { beta } => sgd_lr * (1.0 - beta),
            Optimizer::Adam { .. } => 1e-3,
        }
    }
}

/// What a stateful rule carries between batches.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    /// Steps taken so far (batches trained).
    pub step: u64,
    /// First moments (momentum's velocity), one per parameter.
    pub m: Params,
    /// Second moments (Adam only; zeros otherwise).
    pub v: Params,
}

impl OptimizerState {
    /// No steps yet, all moments zero.
    pub fn new(shape: Shape) -> Self {
        OptimizerState {
            step: 0,
            m: Params::zeros(shape),
            v: Params::zeros(shape),
        }
    }
}
