//! The reference operations, one function per step of the math in DESIGN.md.
//! Each GPU kernel is tested against the function of the same name here.
//! All matrices are row-major f32.

use crate::data::Standardizer;
use crate::model::{Hyper, Params};

/// x = (p − mean[d]) · inv_std[d] for `rows` images of D pixels.
pub fn standardize(pixels: &[u8], stats: &Standardizer, rows: usize, x: &mut [f32]) {
    todo!("{} {} {rows} {}", pixels.len(), stats.mean.len(), x.len())
}

/// Z = X·Wᵀ + b: X is rows×ins, W is outs×ins, b is outs, Z is rows×outs.
pub fn linear(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    rows: usize,
    ins: usize,
    outs: usize,
    z: &mut [f32],
) {
    todo!(
        "{} {} {} {rows} {ins} {outs} {}",
        x.len(),
        w.len(),
        b.len(),
        z.len()
    )
}

/// σ(z) = 1 / (1 + e^(−z)) in place, without overflow for any finite z.
pub fn sigmoid(z: &mut [f32]) {
    todo!("{}", z.len())
}

/// Row-wise softmax of Z2 (rows×classes) with cross-entropy against `labels`:
/// writes G2 = (P − Y)·`scale` (scale is 1/B for a batch of B), each row's
/// loss −log P[i, yᵢ] computed with log-sum-exp, and each row's arg-max.
#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy(
    z2: &[f32],
    labels: &[u8],
    rows: usize,
    classes: usize,
    scale: f32,
    g2: &mut [f32],
    loss: &mut [f32],
    predicted: &mut [u8],
) {
    todo!(
        "{} {} {rows} {classes} {scale} {} {} {}",
        z2.len(),
        labels.len(),
        g2.len(),
        loss.len(),
        predicted.len()
    )
}

/// G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1): G2 is rows×classes, W2 classes×hidden,
/// A1 and G1 rows×hidden.
pub fn hidden_delta(
    g2: &[f32],
    w2: &[f32],
    a1: &[f32],
    rows: usize,
    hidden: usize,
    classes: usize,
    g1: &mut [f32],
) {
    todo!(
        "{} {} {} {rows} {hidden} {classes} {}",
        g2.len(),
        w2.len(),
        a1.len(),
        g1.len()
    )
}

/// dW = Gᵀ·X: G is rows×outs, X rows×ins, dW outs×ins (overwritten).
pub fn weight_grad(g: &[f32], x: &[f32], rows: usize, outs: usize, ins: usize, dw: &mut [f32]) {
    todo!("{} {} {rows} {outs} {ins} {}", g.len(), x.len(), dw.len())
}

/// db = Σᵢ G[i]: G is rows×cols, db is cols (overwritten).
pub fn column_sum(g: &[f32], rows: usize, cols: usize, db: &mut [f32]) {
    todo!("{} {rows} {cols} {}", g.len(), db.len())
}

/// θ ← θ − lr·(dθ + l1·sign(θ) + l2·θ), sign(0) = 0. Biases use l1 = l2 = 0.
pub fn sgd_update(theta: &mut [f32], grad: &[f32], lr: f32, l1: f32, l2: f32) {
    todo!("{} {} {lr} {l1} {l2}", theta.len(), grad.len())
}

/// Loss L of DESIGN.md (mean cross-entropy plus l1·‖W‖₁ + (l2/2)·‖W‖²) and its
/// gradient for one batch X (rows×D, standardized) — the finite-difference test's
/// subject. Only `hyper.l1` and `hyper.l2` are used.
pub fn loss_and_gradient(
    params: &Params,
    x: &[f32],
    labels: &[u8],
    hyper: &Hyper,
) -> (f64, Params) {
    todo!("{:?} {} {} {hyper:?}", params.shape, x.len(), labels.len())
}
