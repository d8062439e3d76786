//! One mini-batch on the CPU: the forward pass, and the forward pass plus the
//! SGD step, written with the ops of [`super::ops`] over buffers allocated once.

use super::ops;
use crate::model::{Hyper, Params, Shape};

/// Per-batch buffers, grown (never shrunk) to the largest batch seen so no
/// allocation happens inside an epoch. Only the first `rows` rows are used.
#[derive(Default)]
pub(super) struct Scratch {
    /// Z1, then A1 = σ(Z1) in place (rows×H).
    a1: Vec<f32>,
    /// Z2 (rows×C).
    z2: Vec<f32>,
    /// G2 = (P − Y)/B (rows×C).
    g2: Vec<f32>,
    /// G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1) (rows×H).
    g1: Vec<f32>,
    /// −log P[i, yᵢ] of each row.
    loss: Vec<f32>,
    /// Arg-max of each row of P.
    predicted: Vec<u8>,
    /// Data gradients Gᵀ·X and Σᵢ G[i] of the four parameter arrays.
    grad: Option<Params>,
}

/// What a forward pass over some rows adds to an epoch's or a set's figures.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tally {
    /// Σᵢ −log P[i, yᵢ].
    pub loss_sum: f64,
    /// Rows whose arg-max equals the label.
    pub correct: usize,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
    }
}

impl Scratch {
    /// Makes room for batches of up to `rows` rows of a network of `shape`.
    pub fn reserve(&mut self, rows: usize, shape: Shape) {
        let (h, c) = (shape.hidden, shape.classes);
        grow(&mut self.a1, rows * h);
        grow(&mut self.g1, rows * h);
        grow(&mut self.z2, rows * c);
        grow(&mut self.g2, rows * c);
        grow(&mut self.loss, rows);
        if self.predicted.len() < rows {
            self.predicted.resize(rows, 0);
        }
        if self.grad.as_ref().map(|g| g.shape) != Some(shape) {
            self.grad = Some(Params::zeros(shape));
        }
    }

    /// Predictions of the last forward pass (its first `rows` entries).
    pub fn predicted(&self, rows: usize) -> &[u8] {
        &self.predicted[..rows]
    }

    /// Forward pass over `rows` rows of X (standardized, rows×D):
    /// Z1 = X·W1ᵀ + b1, A1 = σ(Z1), Z2 = A1·W2ᵀ + b2, P = softmax(Z2), and
    /// G2 = (P − Y)·`scale`, each row's loss and arg-max.
    pub fn forward(&mut self, params: &Params, x: &[f32], labels: &[u8], scale: f32) -> Tally {
        let rows = labels.len();
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = params.shape;
        let a1 = &mut self.a1[..rows * h];
        ops::linear(x, &params.w1, &params.b1, rows, d, h, a1);
        ops::sigmoid(a1);
        let z2 = &mut self.z2[..rows * c];
        ops::linear(a1, &params.w2, &params.b2, rows, h, c, z2);
        let (g2, loss, predicted) = (
            &mut self.g2[..rows * c],
            &mut self.loss[..rows],
            &mut self.predicted[..rows],
        );
        ops::softmax_cross_entropy(z2, labels, rows, c, scale, g2, loss, predicted);
        Tally {
            loss_sum: loss.iter().map(|&l| l as f64).sum(),
            correct: predicted.iter().zip(labels).filter(|(p, y)| p == y).count(),
        }
    }

    /// Forward pass over one batch, then one SGD step on `params`:
    /// dW2 = G2ᵀ·A1, db2 = Σᵢ G2[i], G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1) (W2 before
    /// its update), dW1 = G1ᵀ·X, db1 = Σᵢ G1[i], then θ ← θ − lr·(dθ + l1·sign(θ)
    /// + l2·θ) for the weights and b ← b − lr·db for the biases.
    pub fn train_batch(
        &mut self,
        params: &mut Params,
        x: &[f32],
        labels: &[u8],
        hyper: &Hyper,
    ) -> Tally {
        let rows = labels.len();
        let tally = self.forward(params, x, labels, 1.0 / rows as f32);
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = params.shape;
        let (a1, g2, g1) = (
            &self.a1[..rows * h],
            &self.g2[..rows * c],
            &mut self.g1[..rows * h],
        );
        // invariant: `reserve` ran for this shape before any batch.
        let grad = self
            .grad
            .as_mut()
            .expect("scratch reserved before training");
        ops::weight_grad(g2, a1, rows, c, h, &mut grad.w2);
        ops::column_sum(g2, rows, c, &mut grad.b2);
        ops::hidden_delta(g2, &params.w2, a1, rows, h, c, g1);
        ops::weight_grad(g1, x, rows, h, d, &mut grad.w1);
        ops::column_sum(g1, rows, h, &mut grad.b1);
        let (lr, l1, l2) = (hyper.lr, hyper.l1, hyper.l2);
        ops::sgd_update(&mut params.w1, &grad.w1, lr, l1, l2);
        ops::sgd_update(&mut params.b1, &grad.b1, lr, 0.0, 0.0);
        ops::sgd_update(&mut params.w2, &grad.w2, lr, l1, l2);
        ops::sgd_update(&mut params.b2, &grad.b2, lr, 0.0, 0.0);
        tally
    }
}

/// Grows `buffer` to at least `len` elements (never shrinks it).
fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}
