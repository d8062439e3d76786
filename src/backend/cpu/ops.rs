//! The reference operations, one function per step of the math in DESIGN.md.
//! Each GPU kernel is tested against the function of the same name here.
//! All matrices are row-major f32.
//!
//! The matrix products go through the `gemm` crate and the elementwise steps
//! split their rows over rayon when there are enough of them; either way they
//! run on the current rayon pool, so [`super::CpuBackend`] calls them inside
//! its own pool and a test calling them directly gets the global one.

use rayon::prelude::*;

use super::matmul::{self, Threads};
use crate::data::Standardizer;
use crate::model::{Hyper, Optimizer, Params};

/// Below this many elements an elementwise step runs on the calling thread:
/// splitting it would cost more than it saves.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 14;

/// Elements per rayon task of an elementwise step.
const CHUNK_ELEMENTS: usize = 1 << 13;

/// Rows per rayon task for a row-wise step over rows of `cols` elements, or
/// `None` when the whole step should run on the calling thread.
fn rows_per_task(rows: usize, cols: usize) -> Option<usize> {
    (rows * cols >= PARALLEL_MIN_ELEMENTS && rows > 1)
        .then(|| (CHUNK_ELEMENTS / cols.max(1)).max(1))
}

/// x = (p − mean[d]) · inv_std[d] for `rows` images of D pixels.
pub fn standardize(pixels: &[u8], stats: &Standardizer, rows: usize, x: &mut [f32]) {
    let d = stats.mean.len();
    assert_eq!(
        stats.inv_std.len(),
        d,
        "standardize: mean and inv_std differ in length"
    );
    assert_eq!(
        pixels.len(),
        rows * d,
        "standardize: pixels are not {rows}×{d}"
    );
    assert_eq!(x.len(), rows * d, "standardize: output is not {rows}×{d}");
    if d == 0 {
        return;
    }
    let row = |(p, x): (&[u8], &mut [f32])| {
        for (((x, &p), &mean), &inv_std) in x.iter_mut().zip(p).zip(&stats.mean).zip(&stats.inv_std)
        {
            *x = (p as f32 - mean) * inv_std;
        }
    };
    match rows_per_task(rows, d) {
        Some(_) => x
            .par_chunks_mut(d)
            .zip(pixels.par_chunks(d))
            .for_each(|(x, p)| row((p, x))),
        None => x
            .chunks_mut(d)
            .zip(pixels.chunks(d))
            .for_each(|(x, p)| row((p, x))),
    }
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
    linear_with(x, w, b, rows, ins, outs, z, Threads::Pool);
}

/// [`linear`] on the given threads.
#[allow(clippy::too_many_arguments)]
pub(super) fn linear_with(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    rows: usize,
    ins: usize,
    outs: usize,
    z: &mut [f32],
    threads: Threads,
) {
    assert_eq!(b.len(), outs, "linear: bias is not {outs} long");
    assert_eq!(z.len(), rows * outs, "linear: output is not {rows}×{outs}");
    if outs == 0 {
        return;
    }
    // Z ← b in every row, then Z ← Z + X·Wᵀ.
    for z_row in z.chunks_mut(outs) {
        z_row.copy_from_slice(b);
    }
    matmul::a_bt(x, w, rows, ins, outs, z, true, threads);
}

/// e^x for x ≤ 0 in plain arithmetic that the compiler vectorizes (libm's
/// `expf` is one call per value). With n = round(x·log₂e) and
/// r = x − n·ln 2 (|r| ≤ ln 2 / 2, ln 2 split in two for exactness),
/// e^x = 2ⁿ·e^r, e^r by its Taylor polynomial to r⁷ (truncation below
/// 1e-8 relative) and 2ⁿ built from its exponent bits. Below −87 e^x leaves
/// f32's normal range and the result is 0 (it would be under 1.7e-38); NaN
/// stays NaN.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let underflow = x < -87.0;
    let x = if underflow { -87.0 } else { x };
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // n ∈ [−126, 0], so n + 127 is a normal exponent.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let two_n = f32::from_bits(((n_bits + 127) as u32) << 23);
    if underflow {
        0.0
    } else {
        p * two_n
    }
}

/// σ(z) = 1 / (1 + e^(−z)) for one value, without overflow: with t = e^(−|z|)
/// (never above 1), σ = 1/(1 + t) for z ≥ 0 and t/(1 + t) for z < 0.
#[inline(always)]
fn sigmoid_one(z: f32) -> f32 {
    let t = exp_nonpositive(-z.abs());
    let s = 1.0 / (1.0 + t);
    if z >= 0.0 {
        s
    } else {
        t * s
    }
}

/// σ(z) = 1 / (1 + e^(−z)) in place, without overflow for any finite z.
pub fn sigmoid(z: &mut [f32]) {
    if z.len() >= PARALLEL_MIN_ELEMENTS {
        z.par_chunks_mut(CHUNK_ELEMENTS).for_each(sigmoid_serial);
    } else {
        sigmoid_serial(z);
    }
}

/// [`sigmoid`] on the calling thread, in the widest vectors the CPU has.
pub(super) fn sigmoid_serial(z: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { sigmoid_avx512(z) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { sigmoid_avx2(z) };
            return;
        }
    }
    sigmoid_plain(z);
}

/// The loop of [`sigmoid_serial`], compiled once per instruction set.
#[inline(always)]
fn sigmoid_plain(z: &mut [f32]) {
    z.iter_mut().for_each(|v| *v = sigmoid_one(*v));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sigmoid_avx512(z: &mut [f32]) {
    sigmoid_plain(z);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sigmoid_avx2(z: &mut [f32]) {
    sigmoid_plain(z);
}

/// One row of [`softmax_cross_entropy`]: with m = maxⱼ z[j] and
/// lse = m + ln Σⱼ e^(z[j] − m), loss = lse − z[y], P[j] = e^(z[j] − lse),
/// G2[j] = (P[j] − [j = y])·scale; returns (loss, arg-max, lowest index on ties).
fn softmax_row(z: &[f32], y: usize, scale: f32, g: &mut [f32]) -> (f32, u8) {
    let mut best = 0;
    for (j, &v) in z.iter().enumerate() {
        if v > z[best] {
            best = j;
        }
    }
    let m = z[best];
    let mut sum = 0.0f32;
    for (g, &v) in g.iter_mut().zip(z) {
        *g = (v - m).exp();
        sum += *g;
    }
    let inv_sum = 1.0 / sum;
    for g in g.iter_mut() {
        *g *= inv_sum * scale;
    }
    g[y] -= scale;
    let loss = m + sum.ln() - z[y];
    (loss, best as u8)
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
    assert!(classes > 0, "softmax_cross_entropy: no classes");
    assert_eq!(
        z2.len(),
        rows * classes,
        "softmax_cross_entropy: Z2 is not {rows}×{classes}"
    );
    assert_eq!(
        g2.len(),
        rows * classes,
        "softmax_cross_entropy: G2 is not {rows}×{classes}"
    );
    assert_eq!(
        labels.len(),
        rows,
        "softmax_cross_entropy: labels are not {rows}"
    );
    assert_eq!(
        loss.len(),
        rows,
        "softmax_cross_entropy: loss is not {rows}"
    );
    assert_eq!(
        predicted.len(),
        rows,
        "softmax_cross_entropy: predicted is not {rows}"
    );
    assert!(
        labels.iter().all(|&y| (y as usize) < classes),
        "softmax_cross_entropy: a label is not below {classes}"
    );
    let block =
        |z2: &[f32], labels: &[u8], g2: &mut [f32], loss: &mut [f32], predicted: &mut [u8]| {
            softmax_cross_entropy_serial(z2, labels, classes, scale, g2, loss, predicted)
        };
    match rows_per_task(rows, classes) {
        Some(r) => z2
            .par_chunks(r * classes)
            .zip(labels.par_chunks(r))
            .zip(g2.par_chunks_mut(r * classes))
            .zip(loss.par_chunks_mut(r))
            .zip(predicted.par_chunks_mut(r))
            .for_each(|((((z2, labels), g2), loss), predicted)| {
                block(z2, labels, g2, loss, predicted)
            }),
        None => block(z2, labels, g2, loss, predicted),
    }
}

/// [`softmax_cross_entropy`] on the calling thread, over the rows of `labels`
/// (the caller has checked the lengths and the labels).
pub(super) fn softmax_cross_entropy_serial(
    z2: &[f32],
    labels: &[u8],
    classes: usize,
    scale: f32,
    g2: &mut [f32],
    loss: &mut [f32],
    predicted: &mut [u8],
) {
    let rows = z2.chunks(classes).zip(g2.chunks_mut(classes));
    for ((((z, g), &y), loss), predicted) in rows.zip(labels).zip(loss).zip(predicted) {
        (*loss, *predicted) = softmax_row(z, y as usize, scale, g);
    }
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
    hidden_delta_with(g2, w2, a1, rows, hidden, classes, g1, Threads::Pool);
}

/// [`hidden_delta`] on the given threads.
#[allow(clippy::too_many_arguments)]
pub(super) fn hidden_delta_with(
    g2: &[f32],
    w2: &[f32],
    a1: &[f32],
    rows: usize,
    hidden: usize,
    classes: usize,
    g1: &mut [f32],
    threads: Threads,
) {
    assert_eq!(
        a1.len(),
        rows * hidden,
        "hidden_delta: A1 is not {rows}×{hidden}"
    );
    // G1 ← G2·W2.
    matmul::a_b(g2, w2, rows, classes, hidden, g1, threads);
    // G1 ← G1 ⊙ A1 ⊙ (1 − A1).
    let block = |g1: &mut [f32], a1: &[f32]| {
        for (g, &a) in g1.iter_mut().zip(a1) {
            *g *= a * (1.0 - a);
        }
    };
    if threads == Threads::Pool && g1.len() >= PARALLEL_MIN_ELEMENTS {
        g1.par_chunks_mut(CHUNK_ELEMENTS)
            .zip(a1.par_chunks(CHUNK_ELEMENTS))
            .for_each(|(g1, a1)| block(g1, a1));
    } else {
        block(g1, a1);
    }
}

/// dW = Gᵀ·X: G is rows×outs, X rows×ins, dW outs×ins (overwritten).
pub fn weight_grad(g: &[f32], x: &[f32], rows: usize, outs: usize, ins: usize, dw: &mut [f32]) {
    matmul::at_b(g, x, rows, outs, ins, dw, Threads::Pool);
}

/// db = Σᵢ G[i]: G is rows×cols, db is cols (overwritten).
pub fn column_sum(g: &[f32], rows: usize, cols: usize, db: &mut [f32]) {
    assert_eq!(g.len(), rows * cols, "column_sum: G is not {rows}×{cols}");
    assert_eq!(db.len(), cols, "column_sum: db is not {cols} long");
    db.fill(0.0);
    if cols == 0 {
        return;
    }
    for g_row in g.chunks(cols) {
        for (db, &g) in db.iter_mut().zip(g_row) {
            *db += g;
        }
    }
}

/// sign(θ) with sign(0) = 0 (f32::signum gives ±1 at ±0).
#[inline(always)]
fn sign(theta: f32) -> f32 {
    if theta > 0.0 {
        1.0
    } else if theta < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// θ ← θ − lr·(dθ + l1·sign(θ) + l2·θ), sign(0) = 0. Biases use l1 = l2 = 0.
pub fn sgd_update(theta: &mut [f32], grad: &[f32], lr: f32, l1: f32, l2: f32) {
    assert_eq!(
        theta.len(),
        grad.len(),
        "sgd_update: θ and dθ differ in length"
    );
    let block = |theta: &mut [f32], grad: &[f32]| sgd_update_serial(theta, grad, lr, l1, l2);
    if theta.len() >= PARALLEL_MIN_ELEMENTS {
        theta
            .par_chunks_mut(CHUNK_ELEMENTS)
            .zip(grad.par_chunks(CHUNK_ELEMENTS))
            .for_each(|(theta, grad)| block(theta, grad));
    } else {
        block(theta, grad);
    }
}

/// [`sgd_update`] on the calling thread (lengths unchecked beyond zip).
pub(super) fn sgd_update_serial(theta: &mut [f32], grad: &[f32], lr: f32, l1: f32, l2: f32) {
    for (t, &g) in theta.iter_mut().zip(grad) {
        *t -= lr * (g + l1 * sign(*t) + l2 * *t);
    }
}

/// θ ← θ − lr·(l1·sign(θ) + l2·θ): the regularization part of an SGD step,
/// for a caller that subtracts lr·dθ itself.
pub(super) fn sgd_regularize_serial(theta: &mut [f32], lr: f32, l1: f32, l2: f32) {
    for t in theta.iter_mut() {
        *t -= lr * (l1 * sign(*t) + l2 * *t);
    }
}

/// One step of a stateful rule of [`Optimizer`] for one parameter array:
/// the learning rate, the regularization (zero for biases), the rule and
/// Adam's bias corrections (c1, c2) of this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    pub optimizer: Optimizer,
    pub lr: f32,
    pub l1: f32,
    pub l2: f32,
    pub corrections: [f32; 2],
}

impl Rule {
    /// The rule for step `t` (1-based) of `hyper`, for weights.
    pub fn for_step(hyper: &Hyper, t: u64) -> Rule {
        Rule {
            optimizer: hyper.optimizer,
            lr: hyper.lr,
            l1: hyper.l1,
            l2: hyper.l2,
            corrections: hyper.optimizer.corrections(t),
        }
    }

    /// The same step without regularization, for biases.
    pub fn unregularized(self) -> Rule {
        Rule {
            l1: 0.0,
            l2: 0.0,
            ..self
        }
    }
}

/// With g = dθ + l1·sign(θ) + l2·θ: SGD θ ← θ − lr·g; momentum m ← β·m + g,
/// θ ← θ − lr·m; Adam m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
/// θ ← θ − lr·(m·c1)/(√(v·c2) + ε). `m` and `v` are unused by SGD (may be
/// empty) and `v` by momentum.
pub fn optimizer_update(
    theta: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    rule: &Rule,
) {
    assert_eq!(
        theta.len(),
        grad.len(),
        "optimizer_update: θ and dθ differ in length"
    );
    if rule.optimizer.has_state() {
        assert_eq!(
            theta.len(),
            m.len(),
            "optimizer_update: θ and m differ in length"
        );
    }
    if let Optimizer::Adam { .. } = rule.optimizer {
        assert_eq!(
            theta.len(),
            v.len(),
            "optimizer_update: θ and v differ in length"
        );
    }
    optimizer_update_serial(theta, grad, m, v, rule);
}

/// [`optimizer_update`] on the calling thread (lengths unchecked beyond zip).
pub(super) fn optimizer_update_serial(
    theta: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    rule: &Rule,
) {
    let Rule {
        lr,
        l1,
        l2,
        corrections: [c1, c2],
        ..
    } = *rule;
    match rule.optimizer {
        Optimizer::Sgd => sgd_update_serial(theta, grad, lr, l1, l2),
        Optimizer::Momentum { beta } => {
            for ((t, &d), m) in theta.iter_mut().zip(grad).zip(m) {
                let g = d + l1 * sign(*t) + l2 * *t;
                *m = beta * *m + g;
                *t -= lr * *m;
            }
        }
        Optimizer::Adam { beta1, beta2, eps } => {
            for (((t, &d), m), v) in theta.iter_mut().zip(grad).zip(m).zip(v) {
                let g = d + l1 * sign(*t) + l2 * *t;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * (g * g);
                *t -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
            }
        }
    }
}

/// Mean cross-entropy of one batch computed entirely in f64 with plain loops:
/// (1/B)·Σᵢ −log softmax(σ(xᵢ·W1ᵀ + b1)·W2ᵀ + b2)[yᵢ].
fn cross_entropy_f64(params: &Params, x: &[f32], labels: &[u8]) -> f64 {
    let Params {
        shape,
        w1,
        b1,
        w2,
        b2,
    } = params;
    let (d, h, c) = (shape.inputs, shape.hidden, shape.classes);
    let mut a1 = vec![0.0f64; h];
    let mut z2 = vec![0.0f64; c];
    let mut total = 0.0;
    for (x, &y) in x.chunks(d.max(1)).zip(labels) {
        for (j, a) in a1.iter_mut().enumerate() {
            let z: f64 = b1[j] as f64
                + (0..d)
                    .map(|k| x[k] as f64 * w1[j * d + k] as f64)
                    .sum::<f64>();
            *a = 1.0 / (1.0 + (-z).exp());
        }
        for (j, z) in z2.iter_mut().enumerate() {
            *z = b2[j] as f64 + (0..h).map(|k| a1[k] * w2[j * h + k] as f64).sum::<f64>();
        }
        let m = z2.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z2.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
        total += lse - z2[y as usize];
    }
    total / labels.len() as f64
}

/// Loss L of DESIGN.md (mean cross-entropy plus l1·‖W‖₁ + (l2/2)·‖W‖²) and its
/// gradient for one batch X (rows×D, standardized) — the finite-difference test's
/// subject. Only `hyper.l1` and `hyper.l2` are used.
///
/// The loss is a plain forward pass in f64, so that finite differences of it are
/// precise; the gradient is the chain of the f32 ops above, the same steps a
/// backend trains with, plus l1·sign(W) + l2·W on the weights.
pub fn loss_and_gradient(
    params: &Params,
    x: &[f32],
    labels: &[u8],
    hyper: &Hyper,
) -> (f64, Params) {
    let shape = params.shape;
    let (b, d, h, c) = (labels.len(), shape.inputs, shape.hidden, shape.classes);
    assert!(b > 0, "loss_and_gradient: empty batch");
    assert_eq!(x.len(), b * d, "loss_and_gradient: X is not {b}×{d}");
    let (l1, l2) = (hyper.l1 as f64, hyper.l2 as f64);
    let loss = cross_entropy_f64(params, x, labels)
        + l1 * params.l1_norm()
        + 0.5 * l2 * params.l2_norm_squared();

    // Forward: Z1 = X·W1ᵀ + b1, A1 = σ(Z1), Z2 = A1·W2ᵀ + b2.
    let mut a1 = vec![0.0; b * h];
    linear(x, &params.w1, &params.b1, b, d, h, &mut a1);
    sigmoid(&mut a1);
    let mut z2 = vec![0.0; b * c];
    linear(&a1, &params.w2, &params.b2, b, h, c, &mut z2);
    // G2 = (P − Y)/B.
    let mut g2 = vec![0.0; b * c];
    let (mut row_loss, mut predicted) = (vec![0.0; b], vec![0; b]);
    let scale = 1.0 / b as f32;
    softmax_cross_entropy(
        &z2,
        labels,
        b,
        c,
        scale,
        &mut g2,
        &mut row_loss,
        &mut predicted,
    );
    // Backward: dW2 = G2ᵀ·A1, db2 = Σᵢ G2[i], G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1),
    // dW1 = G1ᵀ·X, db1 = Σᵢ G1[i].
    let mut grad = Params::zeros(shape);
    weight_grad(&g2, &a1, b, c, h, &mut grad.w2);
    column_sum(&g2, b, c, &mut grad.b2);
    let mut g1 = vec![0.0; b * h];
    hidden_delta(&g2, &params.w2, &a1, b, h, c, &mut g1);
    weight_grad(&g1, x, b, h, d, &mut grad.w1);
    column_sum(&g1, b, h, &mut grad.b1);
    // dW += l1·sign(W) + l2·W.
    for (dw, w) in [(&mut grad.w1, &params.w1), (&mut grad.w2, &params.w2)] {
        for (dw, &w) in dw.iter_mut().zip(w) {
            *dw += hyper.l1 * sign(w) + hyper.l2 * w;
        }
    }
    (loss, grad)
}
