//! The CPU reference math: gradients against finite differences, every op
//! against a naive f64 loop on awkward sizes, numerics at extreme inputs, and
//! the CPU backend's epoch against the ops done step by step.

use fashion_nn::backend::cpu::{ops, CpuBackend};
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::{split_validation, Dataset, Standardizer};
use fashion_nn::model::{Hyper, Optimizer, Params, Shape};
use fashion_nn::train::epoch_order;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn labels(rng: &mut ChaCha8Rng, n: usize, classes: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random_range(0..classes) as u8).collect()
}

/// Asserts |got − want| ≤ tol·scale + tol for each element, where `scale` is
/// the magnitude the value was computed from (e.g. Σ|x·w| of a dot product).
fn assert_close(what: &str, got: &[f32], want: &[f64], scale: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            err <= tol * (s + 1.0),
            "{what}[{i}]: got {g}, want {w} (error {err:e}, scale {s})"
        );
    }
}

/// Rows, inputs and outputs that are not multiples of any tile or vector width.
const SIZES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (1, 784, 7),
    (7, 33, 1),
    (33, 7, 33),
    (33, 784, 50),
    (2401, 784, 7),
];

// ---------------------------------------------------------------- (a) gradients

/// W1, b1, W2 or b2 of `p`, by index in that order.
fn array_mut(p: &mut Params, array: usize) -> &mut Vec<f32> {
    match array {
        0 => &mut p.w1,
        1 => &mut p.b1,
        2 => &mut p.w2,
        _ => &mut p.b2,
    }
}

#[test]
fn loss_and_gradient_matches_central_finite_differences() {
    let mut r = rng(1);
    let shape = Shape {
        inputs: 7,
        hidden: 5,
        classes: 4,
    };
    let b = 3;
    // Parameters at least 0.2 away from 0, so sign(θ ± eps) = sign(θ).
    let away_from_zero = |r: &mut ChaCha8Rng, n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                let m = r.random_range(0.2f32..1.0);
                if r.random_bool(0.5) {
                    m
                } else {
                    -m
                }
            })
            .collect()
    };
    let mut params = Params {
        shape,
        w1: away_from_zero(&mut r, 35),
        b1: away_from_zero(&mut r, 5),
        w2: away_from_zero(&mut r, 20),
        b2: away_from_zero(&mut r, 4),
    };
    let x = uniform(&mut r, b * 7, -2.0, 2.0);
    let y = labels(&mut r, b, 4);
    let hyper = Hyper {
        lr: 0.0,
        l1: 1e-3,
        l2: 1e-2,
        batch_size: b,
        optimizer: Optimizer::Sgd,
    };
    let (_, mut grad) = ops::loss_and_gradient(&params, &x, &y, &hyper);

    let eps = 1e-3f32;
    let mut checked = 0;
    let mut largest = 0.0f64;
    for array in 0..4 {
        let len = [35, 5, 20, 4][array];
        for i in 0..len {
            let original = array_mut(&mut params, array)[i];
            let (plus, minus) = (original + eps, original - eps);
            array_mut(&mut params, array)[i] = plus;
            let (l_plus, _) = ops::loss_and_gradient(&params, &x, &y, &hyper);
            array_mut(&mut params, array)[i] = minus;
            let (l_minus, _) = ops::loss_and_gradient(&params, &x, &y, &hyper);
            array_mut(&mut params, array)[i] = original;
            let fd = (l_plus - l_minus) / (plus as f64 - minus as f64);
            let analytic = array_mut(&mut grad, array)[i] as f64;
            let err = (analytic - fd).abs();
            assert!(
                err <= 1e-3 * fd.abs() + 1e-5,
                "array {array} index {i}: analytic {analytic}, finite difference {fd}, error {err:e}"
            );
            largest = largest.max(fd.abs());
            checked += 1;
        }
    }
    assert_eq!(checked, shape.parameter_count());
    assert!(
        largest > 1e-2,
        "gradients too small to be a real check: {largest}"
    );
}

#[test]
fn loss_and_gradient_loss_is_mean_cross_entropy_plus_regularization() {
    let mut r = rng(2);
    let shape = Shape {
        inputs: 9,
        hidden: 6,
        classes: 3,
    };
    let params = Params::init(shape, 0.7, 3);
    let x = uniform(&mut r, 4 * 9, -1.5, 1.5);
    let y = labels(&mut r, 4, 3);
    let hyper = Hyper {
        lr: 0.0,
        l1: 0.01,
        l2: 0.1,
        batch_size: 4,
        optimizer: Optimizer::Sgd,
    };
    let (loss, _) = ops::loss_and_gradient(&params, &x, &y, &hyper);
    // The same loss from the f32 ops.
    let mut a1 = vec![0.0; 4 * 6];
    ops::linear(&x, &params.w1, &params.b1, 4, 9, 6, &mut a1);
    ops::sigmoid(&mut a1);
    let mut z2 = vec![0.0; 4 * 3];
    ops::linear(&a1, &params.w2, &params.b2, 4, 6, 3, &mut z2);
    let (mut g2, mut row_loss, mut predicted) = (vec![0.0; 12], vec![0.0; 4], vec![0; 4]);
    ops::softmax_cross_entropy(&z2, &y, 4, 3, 0.25, &mut g2, &mut row_loss, &mut predicted);
    let want = row_loss.iter().map(|&l| l as f64).sum::<f64>() / 4.0
        + 0.01 * params.l1_norm()
        + 0.05 * params.l2_norm_squared();
    assert!((loss - want).abs() < 1e-5 * want, "{loss} vs {want}");
}

// ---------------------------------------------------------------- (b) each op

/// Naive Z = X·Wᵀ + b in f64, and Σ|terms| per output for the tolerance.
fn naive_linear(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    rows: usize,
    ins: usize,
    outs: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut z, mut scale) = (vec![0.0; rows * outs], vec![0.0; rows * outs]);
    for i in 0..rows {
        for j in 0..outs {
            let mut sum = b[j] as f64;
            let mut abs = (b[j] as f64).abs();
            for k in 0..ins {
                let t = x[i * ins + k] as f64 * w[j * ins + k] as f64;
                sum += t;
                abs += t.abs();
            }
            z[i * outs + j] = sum;
            scale[i * outs + j] = abs;
        }
    }
    (z, scale)
}

#[test]
fn standardize_matches_naive_loop() {
    let mut r = rng(10);
    for (rows, d, _) in SIZES {
        let pixels: Vec<u8> = (0..rows * d).map(|_| r.random()).collect();
        let stats = Standardizer {
            mean: uniform(&mut r, d, 0.0, 255.0),
            inv_std: uniform(&mut r, d, 0.001, 2.0),
        };
        let mut x = vec![f32::NAN; rows * d];
        ops::standardize(&pixels, &stats, rows, &mut x);
        let mut want = vec![0.0; rows * d];
        let mut scale = vec![0.0; rows * d];
        for i in 0..rows {
            for k in 0..d {
                let p = pixels[i * d + k] as f64;
                let (m, s) = (stats.mean[k] as f64, stats.inv_std[k] as f64);
                want[i * d + k] = (p - m) * s;
                scale[i * d + k] = (p.abs() + m.abs()) * s;
            }
        }
        assert_close(&format!("standardize {rows}×{d}"), &x, &want, &scale, 1e-6);
    }
}

#[test]
fn linear_matches_naive_triple_loop() {
    let mut r = rng(11);
    for (rows, ins, outs) in SIZES {
        let x = uniform(&mut r, rows * ins, -2.0, 2.0);
        let w = uniform(&mut r, outs * ins, -1.0, 1.0);
        let b = uniform(&mut r, outs, -1.0, 1.0);
        let mut z = vec![f32::NAN; rows * outs];
        ops::linear(&x, &w, &b, rows, ins, outs, &mut z);
        let (want, scale) = naive_linear(&x, &w, &b, rows, ins, outs);
        assert_close(
            &format!("linear {rows}×{ins}→{outs}"),
            &z,
            &want,
            &scale,
            1e-5,
        );
    }
}

#[test]
fn sigmoid_matches_formula_in_f64() {
    let mut r = rng(12);
    for n in [1, 7, 33, 784, 50_001] {
        let z = uniform(&mut r, n, -40.0, 40.0);
        let mut a = z.clone();
        ops::sigmoid(&mut a);
        for (&z, &a) in z.iter().zip(&a) {
            let want = 1.0 / (1.0 + (-(z as f64)).exp());
            // Relative to σ itself: it is tiny but still exact for very negative z.
            let err = (a as f64 - want).abs() / want;
            assert!(err < 1e-6, "σ({z}) = {a}, want {want}");
        }
    }
}

#[test]
fn softmax_cross_entropy_matches_naive_loop() {
    let mut r = rng(13);
    for (rows, _, classes) in SIZES {
        let z2 = uniform(&mut r, rows * classes, -8.0, 8.0);
        let y = labels(&mut r, rows, classes);
        let scale = 1.0 / rows as f32;
        let (mut g2, mut loss, mut predicted) = (
            vec![f32::NAN; rows * classes],
            vec![f32::NAN; rows],
            vec![u8::MAX; rows],
        );
        ops::softmax_cross_entropy(
            &z2,
            &y,
            rows,
            classes,
            scale,
            &mut g2,
            &mut loss,
            &mut predicted,
        );
        let (mut want_g2, mut want_loss) = (vec![0.0; rows * classes], vec![0.0; rows]);
        for i in 0..rows {
            let z = &z2[i * classes..(i + 1) * classes];
            let sum: f64 = z.iter().map(|&v| (v as f64).exp()).sum();
            for j in 0..classes {
                let p = (z[j] as f64).exp() / sum;
                let onehot = if j == y[i] as usize { 1.0 } else { 0.0 };
                want_g2[i * classes + j] = (p - onehot) * scale as f64;
            }
            want_loss[i] = sum.ln() - z[y[i] as usize] as f64;
            let mut best = 0;
            for j in 1..classes {
                if z[j] > z[best] {
                    best = j;
                }
            }
            assert_eq!(predicted[i] as usize, best, "arg-max of row {i}");
        }
        let what = format!("softmax_cross_entropy {rows}×{classes}");
        assert_close(
            &format!("{what} G2"),
            &g2,
            &want_g2,
            &vec![scale as f64; rows * classes],
            1e-5,
        );
        assert_close(
            &format!("{what} loss"),
            &loss,
            &want_loss,
            &vec![10.0; rows],
            1e-6,
        );
    }
}

#[test]
fn softmax_arg_max_ties_go_to_the_lowest_index() {
    let z2 = [1.0, 3.0, 3.0, 0.0, /* row 2 */ 2.0, 2.0, 2.0, 2.0];
    let (mut g2, mut loss, mut predicted) = ([0.0; 8], [0.0; 2], [9; 2]);
    ops::softmax_cross_entropy(&z2, &[0, 3], 2, 4, 0.5, &mut g2, &mut loss, &mut predicted);
    assert_eq!(predicted, [1, 0]);
    assert!(
        (loss[1] - 4f32.ln()).abs() < 1e-6,
        "uniform row loss {}",
        loss[1]
    );
}

#[test]
fn hidden_delta_matches_naive_loop() {
    let mut r = rng(14);
    for (rows, hidden, classes) in SIZES {
        let g2 = uniform(&mut r, rows * classes, -0.5, 0.5);
        let w2 = uniform(&mut r, classes * hidden, -1.0, 1.0);
        let a1 = uniform(&mut r, rows * hidden, 0.0, 1.0);
        let mut g1 = vec![f32::NAN; rows * hidden];
        ops::hidden_delta(&g2, &w2, &a1, rows, hidden, classes, &mut g1);
        let (mut want, mut scale) = (vec![0.0; rows * hidden], vec![0.0; rows * hidden]);
        for i in 0..rows {
            for j in 0..hidden {
                let a = a1[i * hidden + j] as f64;
                let (mut sum, mut abs) = (0.0, 0.0);
                for k in 0..classes {
                    let t = g2[i * classes + k] as f64 * w2[k * hidden + j] as f64;
                    sum += t;
                    abs += t.abs();
                }
                want[i * hidden + j] = sum * a * (1.0 - a);
                scale[i * hidden + j] = abs * a * (1.0 - a);
            }
        }
        let what = format!("hidden_delta {rows}×{classes}→{hidden}");
        assert_close(&what, &g1, &want, &scale, 1e-5);
    }
}

#[test]
fn weight_grad_matches_naive_triple_loop() {
    let mut r = rng(15);
    for (rows, ins, outs) in SIZES {
        let g = uniform(&mut r, rows * outs, -0.5, 0.5);
        let x = uniform(&mut r, rows * ins, -2.0, 2.0);
        let mut dw = vec![f32::NAN; outs * ins];
        ops::weight_grad(&g, &x, rows, outs, ins, &mut dw);
        let (mut want, mut scale) = (vec![0.0; outs * ins], vec![0.0; outs * ins]);
        for j in 0..outs {
            for k in 0..ins {
                let (mut sum, mut abs) = (0.0, 0.0);
                for i in 0..rows {
                    let t = g[i * outs + j] as f64 * x[i * ins + k] as f64;
                    sum += t;
                    abs += t.abs();
                }
                want[j * ins + k] = sum;
                scale[j * ins + k] = abs;
            }
        }
        assert_close(
            &format!("weight_grad {rows}: {outs}×{ins}"),
            &dw,
            &want,
            &scale,
            1e-5,
        );
    }
}

#[test]
fn column_sum_matches_naive_loop() {
    let mut r = rng(16);
    for (rows, _, cols) in SIZES {
        let g = uniform(&mut r, rows * cols, -1.0, 1.0);
        let mut db = vec![f32::NAN; cols];
        ops::column_sum(&g, rows, cols, &mut db);
        let (mut want, mut scale) = (vec![0.0; cols], vec![0.0; cols]);
        for i in 0..rows {
            for j in 0..cols {
                want[j] += g[i * cols + j] as f64;
                scale[j] += (g[i * cols + j] as f64).abs();
            }
        }
        assert_close(
            &format!("column_sum {rows}×{cols}"),
            &db,
            &want,
            &scale,
            1e-5,
        );
    }
}

#[test]
fn sgd_update_matches_formula_with_sign_of_zero_zero() {
    let mut r = rng(17);
    for n in [1, 7, 33, 784, 39_201] {
        let mut theta = uniform(&mut r, n, -1.0, 1.0);
        theta[0] = 0.0;
        let grad = uniform(&mut r, n, -0.1, 0.1);
        let (lr, l1, l2) = (0.3f32, 0.01f32, 0.2f32);
        let before = theta.clone();
        ops::sgd_update(&mut theta, &grad, lr, l1, l2);
        let want: Vec<f64> = before
            .iter()
            .zip(&grad)
            .map(|(&t, &g)| {
                let (t, g) = (t as f64, g as f64);
                let sign = if t > 0.0 {
                    1.0
                } else if t < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                t - lr as f64 * (g + l1 as f64 * sign + l2 as f64 * t)
            })
            .collect();
        assert_close(
            &format!("sgd_update {n}"),
            &theta,
            &want,
            &vec![1.0; n],
            1e-6,
        );
        // sign(0) = 0: a zero weight moves by the data gradient alone.
        assert!((theta[0] + lr * grad[0]).abs() < 1e-7);
    }
}

// ---------------------------------------------------------------- (c) numerics

#[test]
fn sigmoid_is_accurate_over_the_whole_normal_range_and_keeps_nan() {
    // Every 1/64 from −87 to 87 (the vectorized e^x covers [−87, 0]), then NaN.
    let mut z: Vec<f32> = (-87 * 64..=87 * 64).map(|i| i as f32 / 64.0).collect();
    z.push(f32::NAN);
    let mut a = z.clone();
    ops::sigmoid(&mut a);
    for (&z, &a) in z.iter().zip(&a).take(z.len() - 1) {
        let want = 1.0 / (1.0 + (-(z as f64)).exp());
        let err = (a as f64 - want).abs() / want;
        assert!(err < 1e-6, "σ({z}) = {a}, want {want}");
    }
    assert!(
        a.last().unwrap().is_nan(),
        "σ(NaN) must stay NaN for divergence checks"
    );
}

#[test]
fn sigmoid_is_finite_and_saturated_at_plus_minus_1000() {
    let mut z = [1000.0, -1000.0, 88.8, -88.8, 0.0, f32::MAX, f32::MIN];
    ops::sigmoid(&mut z);
    assert!(z.iter().all(|v| v.is_finite()), "{z:?}");
    assert_eq!(z[0], 1.0);
    assert_eq!(z[1], 0.0);
    assert_eq!(z[2], 1.0);
    assert!(z[3] >= 0.0 && z[3] < 1e-38, "σ(−88.8) = {}", z[3]);
    assert_eq!(z[4], 0.5);
    assert_eq!((z[5], z[6]), (1.0, 0.0));
}

#[test]
fn softmax_cross_entropy_is_finite_for_huge_logits() {
    // Row 0: the label's logit is far below the others, so −log P is about 2e4.
    // Row 1: the label's logit dominates, so the loss is 0.
    let z2 = [-1e4, 1e4, 0.0, /* row 1 */ 1e4, -1e4, -1e4];
    let (mut g2, mut loss, mut predicted) = ([0.0; 6], [0.0; 2], [0; 2]);
    ops::softmax_cross_entropy(&z2, &[0, 0], 2, 3, 0.5, &mut g2, &mut loss, &mut predicted);
    assert!(
        loss.iter().chain(&g2).all(|v| v.is_finite()),
        "{loss:?} {g2:?}"
    );
    assert!((loss[0] - 2e4).abs() < 1.0, "loss {}", loss[0]);
    assert_eq!(loss[1], 0.0);
    assert_eq!(predicted, [1, 0]);
    // G2 = (P − Y)/2: row 0 has P = (0, 1, 0), row 1 has P = Y.
    assert_eq!(g2, [-0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------- backend helpers

/// `count` images of `side`×`side` pixels in `classes` classes: class k is
/// bright (200..256) in its own band of pixels and dark (0..50) elsewhere.
fn separable(count: usize, side: usize, classes: usize, seed: u64) -> Dataset {
    let mut r = rng(seed);
    let d = side * side;
    let labels = labels(&mut r, count, classes);
    let mut pixels = Vec::with_capacity(count * d);
    for &y in &labels {
        for k in 0..d {
            let bright = k * classes / d == y as usize;
            pixels.push(if bright {
                r.random_range(200..=255)
            } else {
                r.random_range(0..50)
            });
        }
    }
    Dataset {
        count,
        rows: side,
        cols: side,
        classes,
        pixels,
        labels,
    }
}

/// Per-pixel mean and 1/std of `data` (std 0 → 1), written out here so the
/// tests do not depend on `Standardizer::fit`.
fn stats_of(data: &Dataset) -> Standardizer {
    let d = data.pixels_per_image();
    let n = data.count as f64;
    let (mut mean, mut inv_std) = (vec![0.0; d], vec![0.0; d]);
    for k in 0..d {
        let values = || data.pixels.iter().skip(k).step_by(d).map(|&p| p as f64);
        let m = values().sum::<f64>() / n;
        let var = values().map(|p| (p - m) * (p - m)).sum::<f64>() / n;
        mean[k] = m as f32;
        inv_std[k] = if var > 0.0 {
            1.0 / var.sqrt() as f32
        } else {
            1.0
        };
    }
    Standardizer { mean, inv_std }
}

// ---------------------------------------------------------------- (d) training

#[test]
fn train_epoch_learns_a_separable_dataset() {
    let data = separable(300, 5, 3, 20);
    let stats = stats_of(&data);
    let shape = Shape {
        inputs: 25,
        hidden: 8,
        classes: 3,
    };
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    cpu.upload(Split::Train, &data, &stats).unwrap();
    cpu.set_params(&Params::init(shape, shape.default_init_scale(), 7))
        .unwrap();
    let hyper = Hyper {
        lr: 0.5,
        l1: 0.0,
        l2: 1e-4,
        batch_size: 32,
        optimizer: Optimizer::Sgd,
    };
    let first = cpu.train_epoch(&hyper).unwrap();
    let mut last = first;
    for _ in 0..9 {
        last = cpu.train_epoch(&hyper).unwrap();
    }
    assert!(
        last.loss < 0.25 * first.loss,
        "loss {} → {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy > 0.98, "training accuracy {}", last.accuracy);
    let eval = cpu.evaluate(Split::Train).unwrap();
    assert!(eval.accuracy > 0.98, "evaluated accuracy {}", eval.accuracy);
    assert_eq!(eval.predictions.len(), 300);
    let correct = eval
        .predictions
        .iter()
        .zip(&data.labels)
        .filter(|(p, y)| p == y)
        .count();
    assert_eq!(correct as f64 / 300.0, eval.accuracy);
}

// ---------------------------------------------------------------- (e) epoch = ops

/// One epoch of the CPU backend on `threads` threads against the same epoch
/// done op by op, over `n` images of side×side pixels in batches of
/// `hyper.batch_size` (the last one shorter, scaling G2 by its own 1/B).
fn assert_epoch_equals_the_ops_step_by_step(
    hidden: usize,
    threads: usize,
    hyper: Hyper,
    n: usize,
    side: usize,
) {
    let batch = hyper.batch_size;
    let data = separable(n, side, 3, 30);
    let mut stats = stats_of(&data);
    stats.mean[0] += 1.0; // not the identity, not symmetric
    let (d, h, c) = (side * side, hidden, 3);
    let shape = Shape {
        inputs: d,
        hidden: h,
        classes: c,
    };
    let start = Params::init(shape, 0.5, 11);

    let mut cpu = CpuBackend::new(Some(threads)).unwrap();
    cpu.upload(Split::Train, &data, &stats).unwrap();
    cpu.set_params(&start).unwrap();
    let stats_epoch = cpu.train_epoch(&hyper).unwrap();
    let trained = cpu.params().unwrap();

    // The same epoch, op by op.
    let mut x = vec![0.0; n * d];
    ops::standardize(&data.pixels, &stats, n, &mut x);
    let mut p = start.clone();
    let (mut m, mut v) = (Params::zeros(shape), Params::zeros(shape));
    let (mut loss_sum, mut correct) = (0.0f64, 0);
    for (step, first) in (0..n).step_by(batch).enumerate() {
        let rows = batch.min(n - first);
        let xb = &x[first * d..(first + rows) * d];
        let yb = &data.labels[first..first + rows];
        let mut a1 = vec![0.0; rows * h];
        ops::linear(xb, &p.w1, &p.b1, rows, d, h, &mut a1);
        ops::sigmoid(&mut a1);
        let mut z2 = vec![0.0; rows * c];
        ops::linear(&a1, &p.w2, &p.b2, rows, h, c, &mut z2);
        let (mut g2, mut loss, mut predicted) =
            (vec![0.0; rows * c], vec![0.0; rows], vec![0; rows]);
        let scale = 1.0 / rows as f32;
        ops::softmax_cross_entropy(&z2, yb, rows, c, scale, &mut g2, &mut loss, &mut predicted);
        loss_sum += loss.iter().map(|&l| l as f64).sum::<f64>();
        correct += predicted.iter().zip(yb).filter(|(p, y)| p == y).count();
        let mut g = Params::zeros(shape);
        ops::weight_grad(&g2, &a1, rows, c, h, &mut g.w2);
        ops::column_sum(&g2, rows, c, &mut g.b2);
        let mut g1 = vec![0.0; rows * h];
        ops::hidden_delta(&g2, &p.w2, &a1, rows, h, c, &mut g1);
        ops::weight_grad(&g1, xb, rows, h, d, &mut g.w1);
        ops::column_sum(&g1, rows, h, &mut g.b1);
        let rule = ops::Rule::for_step(&hyper, step as u64 + 1);
        let bias = rule.unregularized();
        ops::optimizer_update(&mut p.w1, &g.w1, &mut m.w1, &mut v.w1, &rule);
        ops::optimizer_update(&mut p.b1, &g.b1, &mut m.b1, &mut v.b1, &bias);
        ops::optimizer_update(&mut p.w2, &g.w2, &mut m.w2, &mut v.w2, &rule);
        ops::optimizer_update(&mut p.b2, &g.b2, &mut m.b2, &mut v.b2, &bias);
    }
    let what = format!(
        "{n} images of {d}, batch {batch}, H {hidden}, {threads} threads, {:?}",
        hyper.optimizer
    );
    let diff = trained.max_relative_difference(&p);
    assert!(diff < 1e-6, "{what}: parameters differ by {diff}");
    assert!(
        start.max_relative_difference(&p) > 1e-3,
        "{what}: the epoch did not move"
    );
    assert!(
        (stats_epoch.loss - loss_sum / n as f64).abs() < 1e-6,
        "{what}"
    );
    assert_eq!(stats_epoch.accuracy, correct as f64 / n as f64, "{what}");
}

#[test]
fn train_epoch_equals_the_ops_step_by_step_with_a_partial_last_batch() {
    // H 6 on 2 threads sums per-thread partial dW1s; H 6 on 1 thread and
    // H 130 on 2 threads (65 units a thread) split dW1 by hidden units, where
    // plain SGD writes the step from the product (with and without l1).
    for (hidden, threads) in [(6, 2), (6, 1), (130, 2)] {
        for (optimizer, l1) in [
            (Optimizer::Sgd, 0.01),
            (Optimizer::Sgd, 0.0),
            (Optimizer::MOMENTUM, 0.01),
            (Optimizer::ADAM, 0.01),
        ] {
            let hyper = Hyper {
                lr: if optimizer == Optimizer::ADAM {
                    0.01
                } else {
                    0.7
                },
                l1,
                l2: 0.05,
                batch_size: 3,
                optimizer,
            };
            // 5 images in batches of 3: the second batch has 2 rows.
            assert_epoch_equals_the_ops_step_by_step(hidden, threads, hyper, 5, 4);
        }
    }
}

#[test]
fn train_epoch_equals_the_ops_step_by_step_when_blocks_run_in_cache_slices() {
    // 784 pixels and H 6: a thread's partial dW1 is built over slices of 329
    // rows, so a batch of 1 500 on 2 threads (750 rows each) takes three
    // slices a thread, the last batch (500 rows) one.
    let hyper = Hyper {
        lr: 0.5,
        l1: 0.001,
        l2: 0.01,
        batch_size: 1500,
        optimizer: Optimizer::Sgd,
    };
    assert_epoch_equals_the_ops_step_by_step(6, 2, hyper, 2000, 28);
}

#[test]
fn train_epoch_gives_the_same_result_on_1_2_and_3_threads() {
    // 25 images in batches of 10 (the last of 5), 7 hidden units: the row and
    // hidden-unit blocks of the threads split unevenly.
    let data = separable(25, 6, 4, 40);
    let stats = stats_of(&data);
    let shape = Shape {
        inputs: 36,
        hidden: 7,
        classes: 4,
    };
    let hyper = Hyper {
        lr: 0.3,
        l1: 1e-3,
        l2: 1e-2,
        batch_size: 10,
        optimizer: Optimizer::Sgd,
    };
    let run = |threads: usize| {
        let mut cpu = CpuBackend::new(Some(threads)).unwrap();
        cpu.upload(Split::Train, &data, &stats).unwrap();
        cpu.set_params(&Params::init(shape, 0.3, 5)).unwrap();
        let epochs = [
            cpu.train_epoch(&hyper).unwrap(),
            cpu.train_epoch(&hyper).unwrap(),
        ];
        (epochs, cpu.params().unwrap())
    };
    let (epochs1, params1) = run(1);
    for threads in [2, 3] {
        let (epochs, params) = run(threads);
        let diff = params1.max_relative_difference(&params);
        assert!(
            diff < 1e-6,
            "{threads} threads: parameters differ by {diff}"
        );
        for (a, b) in epochs1.iter().zip(&epochs) {
            assert!(
                (a.loss - b.loss).abs() < 1e-6,
                "{threads} threads: {a:?} vs {b:?}"
            );
            assert_eq!(a.accuracy, b.accuracy);
        }
    }
}

// ---------------------------------------------------------------- (f) errors

fn error_text<T>(result: anyhow::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn train_epoch_before_upload_says_to_upload() {
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    let shape = Shape {
        inputs: 4,
        hidden: 2,
        classes: 2,
    };
    cpu.set_params(&Params::init(shape, 0.1, 0)).unwrap();
    let hyper = Hyper {
        lr: 0.1,
        l1: 0.0,
        l2: 0.0,
        batch_size: 2,
        optimizer: Optimizer::Sgd,
    };
    let message = error_text(cpu.train_epoch(&hyper));
    assert!(
        message.contains("no Train set") && message.contains("upload"),
        "{message}"
    );
}

#[test]
fn train_epoch_before_set_params_says_to_set_params() {
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    let data = separable(4, 2, 2, 1);
    cpu.upload(Split::Train, &data, &Standardizer::identity(4))
        .unwrap();
    let hyper = Hyper {
        lr: 0.1,
        l1: 0.0,
        l2: 0.0,
        batch_size: 2,
        optimizer: Optimizer::Sgd,
    };
    let message = error_text(cpu.train_epoch(&hyper));
    assert!(message.contains("set_params"), "{message}");
    let message = error_text(cpu.params());
    assert!(message.contains("set_params"), "{message}");
}

#[test]
fn evaluate_before_upload_of_that_split_is_an_error() {
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    let data = separable(4, 2, 2, 1);
    let shape = Shape {
        inputs: 4,
        hidden: 2,
        classes: 2,
    };
    cpu.set_params(&Params::init(shape, 0.1, 0)).unwrap();
    cpu.upload(Split::Train, &data, &Standardizer::identity(4))
        .unwrap();
    assert!(cpu.evaluate(Split::Train).is_ok());
    let message = error_text(cpu.evaluate(Split::Test));
    assert!(message.contains("no Test set"), "{message}");
}

#[test]
fn shape_mismatches_are_errors_naming_both_sizes() {
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    let data = separable(6, 3, 3, 2); // D = 9, labels 0..3
    cpu.upload(Split::Train, &data, &Standardizer::identity(9))
        .unwrap();
    let hyper = Hyper {
        lr: 0.1,
        l1: 0.0,
        l2: 0.0,
        batch_size: 2,
        optimizer: Optimizer::Sgd,
    };
    let wrong_d = Shape {
        inputs: 8,
        hidden: 2,
        classes: 3,
    };
    cpu.set_params(&Params::init(wrong_d, 0.1, 0)).unwrap();
    let message = error_text(cpu.train_epoch(&hyper));
    assert!(
        message.contains("9 pixels") && message.contains("8 inputs"),
        "{message}"
    );

    let too_few_classes = Shape {
        inputs: 9,
        hidden: 2,
        classes: 2,
    };
    cpu.set_params(&Params::init(too_few_classes, 0.1, 0))
        .unwrap();
    let message = error_text(cpu.evaluate(Split::Train));
    assert!(
        message.contains("label 2") && message.contains("only 2 classes"),
        "{message}"
    );

    let mut bad_labels = data.clone();
    bad_labels.labels[0] = 3;
    let message = error_text(cpu.upload(Split::Test, &bad_labels, &Standardizer::identity(9)));
    assert!(message.contains("label 3"), "{message}");

    let message = error_text(cpu.upload(Split::Test, &data, &Standardizer::identity(8)));
    assert!(message.contains("statistics"), "{message}");

    let mut short = Params::init(too_few_classes, 0.1, 0);
    short.w1.pop();
    let message = error_text(cpu.set_params(&short));
    assert!(message.contains("W1"), "{message}");

    let ok = Shape {
        inputs: 9,
        hidden: 2,
        classes: 3,
    };
    cpu.set_params(&Params::init(ok, 0.1, 0)).unwrap();
    let zero_batch = Hyper {
        batch_size: 0,
        ..hyper
    };
    let message = error_text(cpu.train_epoch(&zero_batch));
    assert!(message.contains("batch size"), "{message}");
    assert!(cpu.train_epoch(&hyper).is_ok());
}

#[test]
fn zero_threads_is_an_error_and_info_names_the_cpu() {
    assert!(error_text(CpuBackend::new(Some(0))).contains("at least 1 thread"));
    let info = CpuBackend::new(Some(2)).unwrap().info();
    assert_eq!(info.backend, "cpu");
    assert!(info.adapter.ends_with("(2 threads)"), "{}", info.adapter);
}

// ---------------------------------------------------------------- (f) better training

#[test]
fn optimizer_update_follows_the_momentum_and_adam_formulas() {
    let theta0 = [0.5f32, -0.25, 0.0, 2.0];
    let grad = [0.1f32, -0.3, 0.2, 0.0];
    let (lr, l1, l2) = (0.1f32, 0.01f32, 0.02f32);
    let sign = |t: f32| {
        if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    for t in [1u64, 2, 40] {
        for optimizer in [Optimizer::MOMENTUM, Optimizer::ADAM] {
            let hyper = Hyper {
                lr,
                l1,
                l2,
                batch_size: 1,
                optimizer,
            };
            let rule = ops::Rule::for_step(&hyper, t);
            let (mut theta, mut m, mut v) = (theta0, [0.01f32; 4], [0.002f32; 4]);
            ops::optimizer_update(&mut theta, &grad, &mut m, &mut v, &rule);
            for i in 0..4 {
                // The formula in f64.
                let th = theta0[i] as f64;
                let g = grad[i] as f64 + l1 as f64 * sign(theta0[i]) + l2 as f64 * th;
                let (want, want_m) = match optimizer {
                    Optimizer::Momentum { beta } => {
                        let m = beta as f64 * 0.01 + g;
                        (th - lr as f64 * m, m)
                    }
                    Optimizer::Adam { beta1, beta2, eps } => {
                        let (b1, b2) = (beta1 as f64, beta2 as f64);
                        let m = b1 * 0.01 + (1.0 - b1) * g;
                        let v = b2 * 0.002 + (1.0 - b2) * g * g;
                        let mh = m / (1.0 - b1.powi(t as i32));
                        let vh = v / (1.0 - b2.powi(t as i32));
                        (th - lr as f64 * mh / (vh.sqrt() + eps as f64), m)
                    }
                    Optimizer::Sgd => unreachable!(),
                };
                assert!(
                    (theta[i] as f64 - want).abs() < 1e-6,
                    "{} t {t} θ[{i}]: {} vs {want}",
                    optimizer.name(),
                    theta[i]
                );
                assert!((m[i] as f64 - want_m).abs() < 1e-7);
            }
        }
    }
}

#[test]
fn epoch_orders_are_seeded_permutations_that_differ_by_epoch() {
    let a = epoch_order(1000, 42, 1);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<u32>>(), "not a permutation");
    assert_eq!(a, epoch_order(1000, 42, 1), "not reproducible");
    assert_ne!(a, epoch_order(1000, 42, 2), "same order in two epochs");
    assert_ne!(a, epoch_order(1000, 43, 1), "same order for two seeds");
    assert_ne!(a, (0..1000).collect::<Vec<u32>>(), "not shuffled");
}

#[test]
fn a_shuffled_epoch_equals_an_ordered_epoch_over_the_shuffled_set() {
    let data = separable(53, 4, 3, 31);
    let stats = stats_of(&data);
    let shape = Shape {
        inputs: 16,
        hidden: 5,
        classes: 3,
    };
    let start = Params::init(shape, 0.3, 2);
    let hyper = Hyper {
        lr: 0.01,
        l1: 1e-3,
        l2: 1e-3,
        batch_size: 10,
        optimizer: Optimizer::ADAM,
    };
    let order = epoch_order(53, 7, 3);
    let mut shuffled_backend = CpuBackend::new(Some(2)).unwrap();
    shuffled_backend
        .upload(Split::Train, &data, &stats)
        .unwrap();
    shuffled_backend.set_params(&start).unwrap();
    shuffled_backend.set_order(Some(&order)).unwrap();
    let a = shuffled_backend.train_epoch(&hyper).unwrap();

    let d = 16;
    let permuted = Dataset {
        pixels: order
            .iter()
            .flat_map(|&i| data.pixels[i as usize * d..(i as usize + 1) * d].to_vec())
            .collect(),
        labels: order.iter().map(|&i| data.labels[i as usize]).collect(),
        ..data.clone()
    };
    let mut ordered_backend = CpuBackend::new(Some(2)).unwrap();
    ordered_backend
        .upload(Split::Train, &permuted, &stats)
        .unwrap();
    ordered_backend.set_params(&start).unwrap();
    let b = ordered_backend.train_epoch(&hyper).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        shuffled_backend.params().unwrap(),
        ordered_backend.params().unwrap()
    );
}

#[test]
fn a_bad_epoch_order_is_refused() {
    let data = separable(5, 2, 2, 1);
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    cpu.upload(Split::Train, &data, &stats_of(&data)).unwrap();
    let message = format!("{:#}", cpu.set_order(Some(&[0, 1, 2, 2, 4])).unwrap_err());
    assert!(message.contains("not a permutation"), "{message}");
    let message = format!("{:#}", cpu.set_order(Some(&[0, 1])).unwrap_err());
    assert!(
        message.contains("has 2 entries but the training set has 5"),
        "{message}"
    );
}

#[test]
fn validation_split_is_seeded_disjoint_and_complete() {
    let data = separable(200, 3, 4, 5);
    let (train, validation) = split_validation(&data, 0.25, 9).unwrap();
    assert_eq!((train.count, validation.count), (150, 50));
    assert_eq!(train.pixels.len(), 150 * 9);
    let (again, _) = split_validation(&data, 0.25, 9).unwrap();
    assert_eq!(train, again, "not reproducible");
    let (other, _) = split_validation(&data, 0.25, 10).unwrap();
    assert_ne!(train, other, "the seed does not matter");
    // Every image lands in exactly one of the two.
    let mut images: Vec<&[u8]> = (0..data.count).map(|i| data.image(i)).collect();
    let mut split: Vec<&[u8]> = (0..150)
        .map(|i| train.image(i))
        .chain((0..50).map(|i| validation.image(i)))
        .collect();
    images.sort();
    split.sort();
    assert_eq!(images, split);
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        let message = format!("{:#}", split_validation(&data, bad, 1).unwrap_err());
        assert!(message.contains("between 0 and 1"), "{bad}: {message}");
    }
    let tiny = separable(1, 3, 2, 5);
    let message = format!("{:#}", split_validation(&tiny, 0.5, 1).unwrap_err());
    assert!(message.contains("leaves none to train on"), "{message}");
}
