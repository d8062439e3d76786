//! The GPU-vs-CPU epoch-time benchmark: the same work on each backend, side by
//! side in one run. Data loading is done once before and is not timed; each
//! backend's start-up (device, pipelines, upload) is timed on its own; then one
//! warm-up epoch (lavapipe compiles shaders at their first dispatch) and N
//! timed epochs, each waiting for the device to finish.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::backend::{Backend, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params, Shape};
use crate::train::{epoch_flops, median};

/// What every backend runs.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub name: String,
    pub hidden: usize,
    pub batch_size: usize,
    pub images: usize,
}

impl Workload {
    /// The article's configuration: H 50, 25 batches of 2 400.
    pub fn article(images: usize) -> Self {
        Workload {
            name: "article".into(),
            hidden: 50,
            batch_size: 2400,
            images,
        }
    }

    /// A wide hidden layer: H 1 024, batch 256.
    pub fn wide(images: usize) -> Self {
        Workload {
            name: "wide".into(),
            hidden: 1024,
            batch_size: 256,
            images,
        }
    }

    /// Flops of one epoch (the model of [`epoch_flops`]).
    pub fn flops(&self, inputs: usize, classes: usize) -> f64 {
        epoch_flops(self.images, self.batch_size, inputs, self.hidden, classes)
    }
}

/// One backend's figures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub backend: String,
    pub adapter: String,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub gflops: f64,
    /// Opening the device, building pipelines and uploading the data.
    pub startup_s: f64,
    /// The warm-up epoch (includes lavapipe's shader compilation).
    pub warmup_s: f64,
    /// CPU median ÷ this median: above 1 is faster than the CPU backend.
    pub speedup_vs_cpu: Option<f64>,
}

/// A workload and every backend's result.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub workload: Workload,
    pub results: Vec<BenchResult>,
}

/// Runs `workload` on a backend made by `open` (timed as start-up).
pub fn bench_backend(
    open: &mut dyn FnMut() -> Result<Box<dyn Backend>>,
    train_set: &Dataset,
    workload: &Workload,
    epochs: usize,
) -> Result<BenchResult> {
    let start = Instant::now();
    let mut backend = open()?;
    let stats = Standardizer::fit(train_set);
    backend.upload(Split::Train, train_set, &stats)?;
    let shape = Shape {
        inputs: train_set.pixels_per_image(),
        hidden: workload.hidden,
        classes: train_set.classes,
    };
    crate::train::check_fits_memory(shape)?;
    backend.set_params(&Params::init(shape, shape.default_init_scale(), 1))?;
    let startup_s = start.elapsed().as_secs_f64();
    let hyper = Hyper {
        lr: 0.1,
        l1: 0.0,
        l2: 1e-4,
        batch_size: workload.batch_size,
        optimizer: crate::model::Optimizer::Sgd,
    };
    let t = Instant::now();
    backend.train_epoch(&hyper)?;
    let warmup_s = t.elapsed().as_secs_f64();
    let mut times = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let t = Instant::now();
        backend.train_epoch(&hyper)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let info = backend.info();
    let median_s = median(&times);
    Ok(BenchResult {
        backend: info.backend,
        adapter: info.adapter,
        median_s,
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_s: times.iter().copied().fold(0.0, f64::max),
        gflops: workload.flops(shape.inputs, shape.classes) / median_s / 1e9,
        startup_s,
        warmup_s,
        speedup_vs_cpu: None,
    })
}

/// Fills in each result's speed relative to the CPU backend's, if it ran.
pub fn relate_to_cpu(results: &mut [BenchResult]) {
    let cpu = results
        .iter()
        .find(|r| r.backend == "cpu")
        .map(|r| r.median_s);
    for r in results {
        r.speedup_vs_cpu = cpu.map(|c| c / r.median_s);
    }
}

/// The table a person reads.
pub fn table(report: &BenchReport, inputs: usize, classes: usize) -> String {
    let w = &report.workload;
    let mut s = format!(
        "workload {}: H {}, batch {}, {} images; {:.2} GFLOP an epoch\n",
        w.name,
        w.hidden,
        w.batch_size,
        w.images,
        w.flops(inputs, classes) / 1e9
    );
    s += &format!(
        "{:<8} {:<34} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "backend", "adapter", "median s", "min s", "max s", "GFLOP/s", "vs cpu"
    );
    for r in &report.results {
        s += &format!(
            "{:<8} {:<34} {:>9.4} {:>9.4} {:>9.4} {:>9.2} {:>9}\n",
            r.backend,
            r.adapter.chars().take(34).collect::<String>(),
            r.median_s,
            r.min_s,
            r.max_s,
            r.gflops,
            r.speedup_vs_cpu.map_or("-".into(), |x| format!("{x:.3}x"))
        );
    }
    for r in &report.results {
        s += &format!(
            "start-up {}: {:.2} s (device, pipelines, upload); warm-up epoch {:.2} s\n",
            r.backend, r.startup_s, r.warmup_s
        );
    }
    s
}
