//! One mini-batch on the CPU: the forward pass, and the forward pass plus the
//! SGD step, over buffers allocated once.
//!
//! The work splits over the current rayon pool in two phases per batch:
//! 1. rows: each thread takes a block of the batch's rows through the whole
//!    forward pass and G1 (no communication);
//! 2. dW1 = G1ᵀ·X and the W1 step, while the small W2, b1, b2 step runs beside:
//!    - a wide layer (at least [`MIN_UNITS_PER_TASK`] hidden units a thread)
//!      splits by hidden units: each thread computes its block of W1's rows of
//!      dW1 and steps it; plain SGD writes the step straight from the product
//!      (W1 ← (1 − lr·l2)·W1 − lr·G1ᵀX), so dW1 is never stored;
//!    - a narrow layer (the article's H = 50) would give each thread too thin
//!      a product, so each thread of phase 1 also computes the partial dW1 of
//!      its own rows while they are in cache, and phase 2 sums the partials
//!      and steps W1.
//!
//! Each thread calls the ops single-threaded, so the products run as one gemm
//! per thread with no synchronisation inside them.

use super::matmul::{self, Strided, Threads, Update};
use super::ops;
use crate::model::{Hyper, Optimizer, OptimizerState, Params, Shape};

/// Hidden units a thread needs before phase 2 splits dW1 by hidden units;
/// below it gemm's products get too thin (a one-off probe of gemm on one
/// core, 2026-12-04: 25 units × 784 over 2 400 rows ran at 58–70 GFLOP/s,
/// all 50 units over 1 200 rows at 78–97) and phase 1 computes partial dW1s
/// instead.
const MIN_UNITS_PER_TASK: usize = 64;

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
    /// Partial dW1 = G1ᵀ·X over one phase-1 block of rows each (H×D), for
    /// narrow layers.
    partials: Vec<Vec<f32>>,
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

/// The rows of a batch one task works on: their inputs and every per-row buffer.
struct RowBlock<'a> {
    x: &'a [f32],
    labels: &'a [u8],
    a1: &'a mut [f32],
    z2: &'a mut [f32],
    g2: &'a mut [f32],
    g1: &'a mut [f32],
    loss: &'a mut [f32],
    predicted: &'a mut [u8],
}

impl<'a> RowBlock<'a> {
    /// Rows `..r` and `r..`.
    fn split_at(self, r: usize, shape: Shape) -> (RowBlock<'a>, RowBlock<'a>) {
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = shape;
        let (x0, x1) = self.x.split_at(r * d);
        let (labels0, labels1) = self.labels.split_at(r);
        let (a10, a11) = self.a1.split_at_mut(r * h);
        let (z20, z21) = self.z2.split_at_mut(r * c);
        let (g20, g21) = self.g2.split_at_mut(r * c);
        let (g10, g11) = self.g1.split_at_mut(r * h);
        let (loss0, loss1) = self.loss.split_at_mut(r);
        let (predicted0, predicted1) = self.predicted.split_at_mut(r);
        (
            RowBlock {
                x: x0,
                labels: labels0,
                a1: a10,
                z2: z20,
                g2: g20,
                g1: g10,
                loss: loss0,
                predicted: predicted0,
            },
            RowBlock {
                x: x1,
                labels: labels1,
                a1: a11,
                z2: z21,
                g2: g21,
                g1: g11,
                loss: loss1,
                predicted: predicted1,
            },
        )
    }

    /// On the calling thread: Z1 = X·W1ᵀ + b1, A1 = σ(Z1), Z2 = A1·W2ᵀ + b2,
    /// G2 = (softmax(Z2) − Y)·scale with each row's loss and arg-max, and when
    /// `backward`, G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1), and with `partial_dw1`
    /// also that buffer ← [that buffer +] G1ᵀ·X over these rows (added when
    /// `add_dw1`).
    fn forward(
        self,
        params: &Params,
        scale: f32,
        backward: bool,
        partial_dw1: Option<&mut [f32]>,
        add_dw1: bool,
    ) -> Tally {
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = params.shape;
        let rows = self.labels.len();
        let one = Threads::One;
        ops::linear_with(self.x, &params.w1, &params.b1, rows, d, h, self.a1, one);
        ops::sigmoid_serial(self.a1);
        ops::linear_with(self.a1, &params.w2, &params.b2, rows, h, c, self.z2, one);
        let (g2, loss, predicted) = (self.g2, self.loss, self.predicted);
        ops::softmax_cross_entropy_serial(self.z2, self.labels, c, scale, g2, loss, predicted);
        if backward {
            ops::hidden_delta_with(g2, &params.w2, self.a1, rows, h, c, self.g1, one);
            if let Some(dw1) = partial_dw1 {
                let g1t = Strided::transposed(self.g1, h);
                let x = Strided::rows(self.x, d);
                let update = if add_dw1 {
                    Update::ADD
                } else {
                    Update::OVERWRITE
                };
                matmul::product(h, d, rows, dw1, d, update, g1t, x, one);
            }
        }
        Tally {
            loss_sum: loss.iter().map(|&l| l as f64).sum(),
            correct: predicted
                .iter()
                .zip(self.labels)
                .filter(|(p, y)| p == y)
                .count(),
        }
    }
}

/// Runs [`RowBlock::forward`] on blocks of `max_rows` rows (the last one
/// shorter), in parallel on the current pool, and sums their tallies. Block
/// k writes its partial dW1 to `partials[k]` when there is one (pass `&mut
/// []` for none); such a block runs in slices of [`cache_rows`] rows, so the
/// rows X·W1ᵀ reads are still in the core's cache when G1ᵀ·X reads them again.
fn forward_blocks(
    block: RowBlock,
    max_rows: usize,
    params: &Params,
    scale: f32,
    backward: bool,
    partials: &mut [Vec<f32>],
) -> Tally {
    let blocks = block.labels.len().div_ceil(max_rows).max(1);
    if blocks == 1 {
        let Some(partial) = partials.first_mut() else {
            return block.forward(params, scale, backward, None, false);
        };
        let slice_rows = cache_rows(params.shape);
        let (mut tally, mut rest, mut add) = (Tally::default(), block, false);
        while !rest.labels.is_empty() {
            let rows = rest.labels.len().min(slice_rows);
            let (now, later) = rest.split_at(rows, params.shape);
            tally.add(now.forward(params, scale, backward, Some(partial), add));
            (rest, add) = (later, true);
        }
        return tally;
    }
    let first_blocks = blocks.div_ceil(2);
    let (first, second) = block.split_at(first_blocks * max_rows, params.shape);
    let (p0, p1) = partials.split_at_mut(first_blocks.min(partials.len()));
    let (mut tally, other) = rayon::join(
        || forward_blocks(first, max_rows, params, scale, backward, p0),
        || forward_blocks(second, max_rows, params, scale, backward, p1),
    );
    tally.add(other);
    tally
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

    /// The first `rows` rows of every per-row buffer, with their inputs.
    fn rows<'a>(&'a mut self, x: &'a [f32], labels: &'a [u8], shape: Shape) -> RowBlock<'a> {
        let (rows, h, c) = (labels.len(), shape.hidden, shape.classes);
        RowBlock {
            x,
            labels,
            a1: &mut self.a1[..rows * h],
            z2: &mut self.z2[..rows * c],
            g2: &mut self.g2[..rows * c],
            g1: &mut self.g1[..rows * h],
            loss: &mut self.loss[..rows],
            predicted: &mut self.predicted[..rows],
        }
    }

    /// Forward pass over the rows of X (standardized, rows×D) on the current
    /// pool: Z1 = X·W1ᵀ + b1, A1 = σ(Z1), Z2 = A1·W2ᵀ + b2, P = softmax(Z2),
    /// and G2 = (P − Y)·`scale`, each row's loss and arg-max.
    pub fn forward(&mut self, params: &Params, x: &[f32], labels: &[u8], scale: f32) -> Tally {
        let max_rows = block_rows(labels.len());
        let block = self.rows(x, labels, params.shape);
        forward_blocks(block, max_rows, params, scale, false, &mut [])
    }

    /// Forward pass over one batch, then one SGD step on `params`:
    /// dW2 = G2ᵀ·A1, db2 = Σᵢ G2[i], G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1) (W2 before
    /// its update), dW1 = G1ᵀ·X, db1 = Σᵢ G1[i], then the step of
    /// `hyper.optimizer` ([`ops::optimizer_update`]) on every array, regularized
    /// for the weights only. `state` holds the moments and counts the step.
    pub fn train_batch(
        &mut self,
        params: &mut Params,
        state: &mut OptimizerState,
        x: &[f32],
        labels: &[u8],
        hyper: &Hyper,
    ) -> Tally {
        let rows = labels.len();
        let shape = params.shape;
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = shape;
        let threads = rayon::current_num_threads();
        let by_rows = threads > 1 && h.div_ceil(threads) < MIN_UNITS_PER_TASK;
        // Phase 1, by rows: forward pass, G2 and G1 (and partial dW1s).
        let max_rows = block_rows(rows);
        let mut partials = std::mem::take(&mut self.partials);
        let blocks = if by_rows { rows.div_ceil(max_rows) } else { 0 };
        if partials.len() < blocks || partials.first().is_some_and(|p| p.len() != h * d) {
            partials = vec![vec![0.0; h * d]; blocks];
        }
        let block = self.rows(x, labels, shape);
        let scale = 1.0 / rows as f32;
        let tally = forward_blocks(
            block,
            max_rows,
            params,
            scale,
            true,
            &mut partials[..blocks],
        );

        // Phase 2: dW1 and the W1 step; beside it the rest.
        let (a1, g2, g1) = (
            &self.a1[..rows * h],
            &self.g2[..rows * c],
            &self.g1[..rows * h],
        );
        let grad = self
            .grad
            .as_mut()
            .expect("scratch reserved before training"); // invariant: reserve ran for this shape
        let Params { w1, b1, w2, b2, .. } = params;
        state.step += 1;
        let rule = ops::Rule::for_step(hyper, state.step);
        let bias_rule = rule.unregularized();
        let (m, v) = (&mut state.m, &mut state.v);
        let (grad_w1, grad_rest) = (&mut grad.w1, (&mut grad.w2, &mut grad.b2, &mut grad.b1));
        let partial_sums = &partials[..blocks];
        rayon::join(
            || {
                if by_rows {
                    // dW1 = Σ partial dW1, then the step.
                    grad_w1.copy_from_slice(&partial_sums[0]);
                    for partial in &partial_sums[1..] {
                        grad_w1.iter_mut().zip(partial).for_each(|(g, p)| *g += p);
                    }
                    ops::optimizer_update_serial(w1, grad_w1, &mut m.w1, &mut v.w1, &rule);
                } else {
                    w1_step_by_units(w1, grad_w1, &mut m.w1, &mut v.w1, g1, x, rows, shape, &rule);
                }
            },
            || {
                let one = Threads::One;
                let (grad_w2, grad_b2, grad_b1) = grad_rest;
                matmul::at_b(g2, a1, rows, c, h, grad_w2, one);
                ops::column_sum(g2, rows, c, grad_b2);
                ops::column_sum(g1, rows, h, grad_b1);
                ops::optimizer_update_serial(w2, grad_w2, &mut m.w2, &mut v.w2, &rule);
                ops::optimizer_update_serial(b2, grad_b2, &mut m.b2, &mut v.b2, &bias_rule);
                ops::optimizer_update_serial(b1, grad_b1, &mut m.b1, &mut v.b1, &bias_rule);
            },
        );
        self.partials = partials;
        tally
    }
}

/// Phase 2 of a wide layer, on the current pool: each task takes a block of
/// hidden units j₀..j₁, computes dW1[j₀..j₁] = G1[:, j₀..j₁]ᵀ·X and steps
/// those rows of W1. Plain SGD folds the step into the product's write:
/// W1 ← (1 − lr·l2)·W1 − lr·G1ᵀX, after W1 ← W1 − lr·l1·sign(W1) when l1 ≠ 0
/// (the same step as [`ops::optimizer_update`], without storing dW1).
#[allow(clippy::too_many_arguments)]
fn w1_step_by_units(
    w1: &mut [f32],
    dw1: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g1: &[f32],
    x: &[f32],
    rows: usize,
    shape: Shape,
    rule: &ops::Rule,
) {
    use rayon::prelude::*;
    let (d, h) = (shape.inputs, shape.hidden);
    let units_per_block = h.div_ceil(rayon::current_num_threads());
    let block = units_per_block * d;
    let step = |j: usize, w1: &mut [f32], dw1: &mut [f32], m: &mut [f32], v: &mut [f32]| {
        let units = w1.len() / d;
        let g1t = Strided {
            data: g1,
            offset: j * units_per_block,
            row_stride: 1,
            col_stride: h,
        };
        let x = Strided::rows(x, d);
        let one = Threads::One;
        if rule.optimizer == Optimizer::Sgd {
            let mut keep = 1.0 - rule.lr * rule.l2;
            if rule.l1 != 0.0 {
                ops::sgd_regularize_serial(w1, rule.lr, rule.l1, rule.l2);
                keep = 1.0;
            }
            let update = Update {
                keep: Some(keep),
                scale: -rule.lr,
            };
            matmul::product(units, d, rows, w1, d, update, g1t, x, one);
        } else {
            matmul::product(units, d, rows, dw1, d, Update::OVERWRITE, g1t, x, one);
            ops::optimizer_update_serial(w1, dw1, m, v, rule);
        }
    };
    // The moments are full-sized whatever the rule (OptimizerState::new).
    w1.par_chunks_mut(block)
        .zip(dw1.par_chunks_mut(block))
        .zip(m.par_chunks_mut(block))
        .zip(v.par_chunks_mut(block))
        .enumerate()
        .for_each(|(j, (((w1, dw1), m), v))| step(j, w1, dw1, m, v));
}

/// Rows whose pixels, A1 and G1 take about 1 MiB, half of this machine's
/// per-core L2 (article: 296 rows); at least 16.
fn cache_rows(shape: Shape) -> usize {
    const SLICE_BYTES: usize = 1 << 20;
    let row_bytes = 4 * (shape.inputs + 2 * shape.hidden);
    (SLICE_BYTES / row_bytes.max(1)).max(16)
}

/// Rows per phase-1 block: the batch split evenly over the pool's threads.
fn block_rows(rows: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads()).max(1)
}

/// Grows `buffer` to at least `len` elements (never shrinks it).
fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}
