//! The CPU backend: the reference math of DESIGN.md, fast enough to be the CPU
//! side of the benchmark. The data sets are standardized once at upload; an
//! epoch runs the ops of [`ops`] batch by batch inside the backend's own rayon
//! pool, with the matrix products in the `gemm` crate.

mod matmul;
pub mod ops;
mod step;

use anyhow::{bail, ensure, Context, Result};

use super::{Backend, BackendInfo, EpochStats, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params};
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
    train: Option<Uploaded>,
    test: Option<Uploaded>,
    params: Option<Params>,
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
            train: None,
            test: None,
            params: None,
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
        match split {
            Split::Train => self.train = Some(uploaded),
            Split::Test => self.test = Some(uploaded),
        }
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
        Ok(())
    }

    fn params(&mut self) -> Result<Params> {
        self.params
            .clone()
            .context("the CPU backend has no parameters: call set_params first")
    }

    fn train_epoch(&mut self, hyper: &Hyper) -> Result<EpochStats> {
        ensure!(hyper.batch_size > 0, "the batch size must be at least 1");
        let CpuBackend {
            pool,
            train,
            params,
            scratch,
            ..
        } = self;
        let (params, train) = checked(params, train.as_ref(), Split::Train, "train_epoch")
            .context("cannot train an epoch")?;
        let n = train.count();
        let batch = hyper.batch_size.min(n);
        scratch.reserve(batch, params.shape);
        // Batches in order; the last one has n mod batch rows and scales G2 by
        // its own 1/B'.
        let mut tally = Tally::default();
        pool.install(|| {
            for first in (0..n).step_by(batch) {
                let (x, labels) = train.rows(first, batch.min(n - first));
                tally.add(scratch.train_batch(params, x, labels, hyper));
            }
        });
        Ok(EpochStats {
            loss: tally.loss_sum / n as f64,
            accuracy: tally.correct as f64 / n as f64,
        })
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let CpuBackend {
            pool,
            train,
            test,
            params,
            scratch,
            ..
        } = self;
        let data = match split {
            Split::Train => train.as_ref(),
            Split::Test => test.as_ref(),
        };
        let (params, data) = checked(params, data, split, "evaluate")
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
