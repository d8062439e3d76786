//! The CPU backend: the reference math of DESIGN.md, fast enough to be the CPU
//! side of the benchmark. The data sets are standardized once at upload; an
//! epoch runs the ops of [`ops`] batch by batch inside the backend's own rayon
//! pool, with the matrix products in the `gemm` crate.

mod matmul;
pub mod ops;
mod step;

use std::collections::HashMap;
use std::ops::Range;

use anyhow::{bail, ensure, Context, Result};

use super::{Backend, BackendInfo, BatchTally, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, OptimizerState, Params};
use step::{Scratch, Tally};

/// Rows per forward pass of [`Backend::evaluate`].
const EVAL_ROWS: usize = 4096;

/// A data set as the CPU backend keeps it.
struct Uploaded {
    /// Standardized pixels, count×D.
    x: Vec<f32>,
    labels: Vec<u8>,
    /// D, pixels per image.
    inputs: usize,
    /// Largest label plus one (0 for an empty set).
    label_bound: usize,
}

impl Uploaded {
    fn count(&self) -> usize {
        self.labels.len()
    }

    /// Rows `first..first + rows`: their pixels and their labels.
    fn rows(&self, first: usize, rows: usize) -> (&[f32], &[u8]) {
        let d = self.inputs;
        (
            &self.x[first * d..(first + rows) * d],
            &self.labels[first..first + rows],
        )
    }
}

/// Trains on the host's cores.
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    adapter: String,
    sets: HashMap<Split, Uploaded>,
    params: Option<Params>,
    /// Moments and step count; made to the parameters' shape on first use.
    state: Option<OptimizerState>,
    /// The epoch order of the training images (`None`: in order).
    order: Option<Vec<u32>>,
    /// One shuffled batch, gathered: pixels and labels.
    batch_x: Vec<f32>,
    batch_labels: Vec<u8>,
    scratch: Scratch,
}

impl CpuBackend {
    /// A CPU backend using `threads` worker threads (all cores when `None`).
    pub fn new(threads: Option<usize>) -> Result<Self> {
        if threads == Some(0) {
            bail!("the CPU backend needs at least 1 thread (got --threads 0)");
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.unwrap_or(0))
            .thread_name(|i| format!("fashion-nn-cpu-{i}"))
            .build()
            .context("could not start the CPU backend's thread pool")?;
        let threads = pool.current_num_threads();
        let plural = if threads == 1 { "" } else { "s" };
        let adapter = format!("{} ({threads} thread{plural})", cpu_model_name());
        Ok(CpuBackend {
            pool,
            adapter,
            sets: HashMap::new(),
            params: None,
            state: None,
            order: None,
            batch_x: Vec::new(),
            batch_labels: Vec::new(),
            scratch: Scratch::default(),
        })
    }

    /// Worker threads of the backend's pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// The parameters and an uploaded set that fits them, or an error saying what
/// is missing or does not match.
fn checked<'a>(
    params: &'a mut Option<Params>,
    data: Option<&'a Uploaded>,
    split: Split,
    action: &str,
) -> Result<(&'a mut Params, &'a Uploaded)> {
    let Some(params) = params.as_mut() else {
        bail!("the CPU backend has no parameters: call set_params before {action}");
    };
    let Some(data) = data else {
        bail!("the CPU backend has no {split:?} set: upload it before {action}");
    };
    let shape = params.shape;
    ensure!(
        data.inputs == shape.inputs,
        "the {split:?} set has {} pixels per image but the network has {} inputs",
        data.inputs,
        shape.inputs
    );
    ensure!(
        data.label_bound <= shape.classes,
        "the {split:?} set has label {} but the network has only {} classes",
        data.label_bound.saturating_sub(1),
        shape.classes
    );
    ensure!(data.count() > 0, "the {split:?} set is empty");
    Ok((params, data))
}

/// Checks that `order` is a permutation of 0..n.
pub(crate) fn check_order(order: &[u32], n: usize) -> Result<()> {
    ensure!(
        order.len() == n,
        "the epoch order has {} entries but the training set has {n} images",
        order.len()
    );
    let mut seen = vec![false; n];
    for &i in order {
        let i = i as usize;
        ensure!(
            i < n && !seen[i],
            "the epoch order is not a permutation of the {n} training images (entry {i})"
        );
        seen[i] = true;
    }
    Ok(())
}

/// The "model name" line of /proc/cpuinfo, or "cpu" where there is none.
fn cpu_model_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cpu".to_string())
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            backend: "cpu".to_string(),
            adapter: self.adapter.clone(),
            driver: "gemm 0.19".to_string(),
        }
    }

    fn upload(&mut self, split: Split, data: &Dataset, stats: &Standardizer) -> Result<()> {
        let (n, d) = (data.count, data.pixels_per_image());
        ensure!(
            data.pixels.len() == n * d,
            "the {split:?} set has {} pixel bytes, not {n} images × {d} pixels",
            data.pixels.len()
        );
        ensure!(
            data.labels.len() == n,
            "the {split:?} set has {} labels for {n} images",
            data.labels.len()
        );
        ensure!(
            stats.mean.len() == d && stats.inv_std.len() == d,
            "the standardization statistics cover {} (mean) and {} (inv_std) pixels, \
             but the {split:?} images have {d}",
            stats.mean.len(),
            stats.inv_std.len()
        );
        let label_bound = data
            .labels
            .iter()
            .map(|&y| y as usize + 1)
            .max()
            .unwrap_or(0);
        ensure!(
            label_bound <= data.classes,
            "the {split:?} set has label {} but declares only {} classes",
            label_bound - 1,
            data.classes
        );
        let mut x = Vec::new();
        x.try_reserve_exact(n * d).with_context(|| {
            format!("no memory for the standardized {split:?} set ({n}×{d} f32)")
        })?;
        x.resize(n * d, 0.0);
        // X = (pixels − mean)·inv_std, once for the whole set.
        self.pool
            .install(|| ops::standardize(&data.pixels, stats, n, &mut x));
        let uploaded = Uploaded {
            x,
            labels: data.labels.clone(),
            inputs: d,
            label_bound,
        };
        if split == Split::Train {
            self.order = None;
        }
        self.sets.insert(split, uploaded);
        Ok(())
    }

    fn set_params(&mut self, params: &Params) -> Result<()> {
        let s = params.shape;
        let expected = [
            ("W1", params.w1.len(), s.hidden * s.inputs),
            ("b1", params.b1.len(), s.hidden),
            ("W2", params.w2.len(), s.classes * s.hidden),
            ("b2", params.b2.len(), s.classes),
        ];
        for (name, len, want) in expected {
            ensure!(
                len == want,
                "parameter {name} has {len} values but shape {s:?} needs {want}"
            );
        }
        ensure!(
            s.inputs > 0 && s.hidden > 0 && s.classes > 0,
            "the network needs at least one input, hidden unit and class (shape {s:?})"
        );
        self.params = Some(params.clone());
        self.state = None;
        Ok(())
    }

    fn params(&mut self) -> Result<Params> {
        self.params
            .clone()
            .context("the CPU backend has no parameters: call set_params first")
    }

    fn images(&self, split: Split) -> usize {
        self.sets.get(&split).map_or(0, Uploaded::count)
    }

    fn set_order(&mut self, order: Option<&[u32]>) -> Result<()> {
        let n = self.images(Split::Train);
        if let Some(order) = order {
            check_order(order, n)?;
        }
        self.order = order.map(<[u32]>::to_vec);
        Ok(())
    }

    fn train_batches(&mut self, hyper: &Hyper, batches: Range<usize>) -> Result<BatchTally> {
        ensure!(hyper.batch_size > 0, "the batch size must be at least 1");
        let CpuBackend {
            pool,
            sets,
            params,
            state,
            order,
            batch_x,
            batch_labels,
            scratch,
            ..
        } = self;
        let (params, train) = checked(params, sets.get(&Split::Train), Split::Train, "training")
            .context("cannot train an epoch")?;
        let shape = params.shape;
        if state.as_ref().is_none_or(|s| s.m.shape != shape) {
            *state = Some(OptimizerState::new(shape));
        }
        let state = state.as_mut().expect("made just above"); // invariant: set above
        let n = train.count();
        let batch = hyper.batch_size.min(n);
        scratch.reserve(batch, shape);
        let d = train.inputs;
        // Batches of the epoch order; the last one has n mod batch rows and
        // scales G2 by its own 1/B'.
        let mut tally = BatchTally::default();
        pool.install(|| {
            for j in batches {
                let first = j * batch;
                if first >= n {
                    break;
                }
                let rows = batch.min(n - first);
                let (x, labels) = match order {
                    None => train.rows(first, rows),
                    Some(order) => {
                        // Gather the batch's images into one block.
                        batch_x.resize(rows * d, 0.0);
                        batch_labels.resize(rows, 0);
                        for (k, &i) in order[first..first + rows].iter().enumerate() {
                            let (xi, yi) = train.rows(i as usize, 1);
                            batch_x[k * d..(k + 1) * d].copy_from_slice(xi);
                            batch_labels[k] = yi[0];
                        }
                        (&batch_x[..], &batch_labels[..])
                    }
                };
                let t = scratch.train_batch(params, state, x, labels, hyper);
                tally.add(BatchTally {
                    images: rows,
                    loss_sum: t.loss_sum,
                    correct: t.correct,
                });
            }
        });
        Ok(tally)
    }

    fn optimizer_state(&mut self) -> Result<Option<OptimizerState>> {
        Ok(self.state.clone())
    }

    fn set_optimizer_state(&mut self, state: &OptimizerState) -> Result<()> {
        let Some(params) = &self.params else {
            bail!("the CPU backend has no parameters: call set_params before set_optimizer_state");
        };
        ensure!(
            state.m.shape == params.shape && state.v.shape == params.shape,
            "the optimizer state has shape {:?} but the parameters have {:?}",
            state.m.shape,
            params.shape
        );
        self.state = Some(state.clone());
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let CpuBackend {
            pool,
            sets,
            params,
            scratch,
            ..
        } = self;
        let (params, data) = checked(params, sets.get(&split), split, "evaluate")
            .with_context(|| format!("cannot evaluate the {split:?} set"))?;
        let n = data.count();
        let chunk = EVAL_ROWS.min(n);
        scratch.reserve(chunk, params.shape);
        let mut tally = Tally::default();
        let mut predictions = Vec::with_capacity(n);
        pool.install(|| {
            for first in (0..n).step_by(chunk) {
                let rows = chunk.min(n - first);
                let (x, labels) = data.rows(first, rows);
                tally.add(scratch.forward(params, x, labels, 1.0 / rows as f32));
                predictions.extend_from_slice(scratch.predicted(rows));
            }
        });
        Ok(Evaluation {
            loss: tally.loss_sum / n as f64,
            accuracy: tally.correct as f64 / n as f64,
            predictions,
        })
    }
}
