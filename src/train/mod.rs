//! The training loop, written once over [`crate::backend::Backend`]: it never
//! asks which backend it runs on.

mod metrics;

pub use metrics::{class_metrics, confusion_matrix, epoch_flops, median, ClassMetrics};

use std::time::Instant;

use anyhow::{bail, Result};

use crate::backend::{Backend, BackendInfo, EpochStats, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params, Shape};

/// Everything a training run needs besides the data and the backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub hidden: usize,
    pub hyper: Hyper,
    /// Weights and biases start uniform in [-init_scale, init_scale).
    pub init_scale: f32,
    pub seed: u64,
}

/// One epoch as the loop saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    pub stats: EpochStats,
    /// Wall time of the epoch, the device's work included (not the test
    /// evaluation).
    pub seconds: f64,
    /// Test-set loss and accuracy after the epoch (for the learning curve).
    pub test: EpochStats,
}

/// The outcome of a training run.
#[derive(Clone, Debug)]
pub struct TrainReport {
    pub backend: BackendInfo,
    pub epochs: Vec<EpochReport>,
    /// Forward pass over the training set with the final parameters.
    pub train: Evaluation,
    /// Forward pass over the test set with the final parameters.
    pub test: Evaluation,
    /// Seconds spent uploading the data and parameters.
    pub setup_seconds: f64,
    /// Seconds from the first epoch's start to the end of the final evaluation.
    pub total_seconds: f64,
    pub params: Params,
    /// The training set's statistics the run standardized with.
    pub stats: Standardizer,
}

/// Standardizes with the training set's statistics, uploads both sets once,
/// initializes the parameters from the seed, and runs `config.epochs` epochs,
/// calling `on_epoch` after each. Stops with an error naming the epoch when the
/// loss stops being finite.
pub fn train(
    backend: &mut dyn Backend,
    train_set: &Dataset,
    test_set: &Dataset,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainReport> {
    let setup = Instant::now();
    let stats = Standardizer::fit(train_set);
    backend.upload(Split::Train, train_set, &stats)?;
    backend.upload(Split::Test, test_set, &stats)?;
    let shape = Shape {
        inputs: train_set.pixels_per_image(),
        hidden: config.hidden,
        classes: train_set.classes,
    };
    // Refuse a model that cannot even be allocated instead of aborting.
    let mut probe: Vec<f32> = Vec::new();
    probe.try_reserve_exact(shape.parameter_count()).map_err(|_| {
        anyhow::anyhow!(
            "a network of {} hidden units has {} parameters ({:.1} GB) and does not fit in memory; use a smaller --hidden",
            shape.hidden,
            shape.parameter_count(),
            shape.parameter_count() as f64 * 4.0 / 1e9
        )
    })?;
    drop(probe);
    backend.set_params(&Params::init(shape, config.init_scale, config.seed))?;
    backend.prepare_training(config.hyper.batch_size)?;
    let setup_seconds = setup.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut epochs = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let t = Instant::now();
        let stats = backend.train_epoch(&config.hyper)?;
        let seconds = t.elapsed().as_secs_f64();
        if !stats.loss.is_finite() {
            let last = epochs
                .last()
                .map(|e: &EpochReport| format!("the last finite loss was {:.4}", e.stats.loss))
                .unwrap_or_else(|| "no epoch before it finished".into());
            bail!(
                "training diverged in epoch {epoch}: the loss became {} ({last}); \
                 try a lower --lr (now {}), --l1 (now {}) or --l2 (now {}), or a smaller --init-scale (now {})",
                stats.loss,
                config.hyper.lr,
                config.hyper.l1,
                config.hyper.l2,
                config.init_scale
            );
        }
        let test = backend.evaluate(Split::Test)?;
        let report = EpochReport {
            epoch,
            stats,
            seconds,
            test: EpochStats {
                loss: test.loss,
                accuracy: test.accuracy,
            },
        };
        on_epoch(&report);
        epochs.push(report);
    }
    let train = backend.evaluate(Split::Train)?;
    let test = backend.evaluate(Split::Test)?;
    let total_seconds = start.elapsed().as_secs_f64();
    Ok(TrainReport {
        backend: backend.info(),
        epochs,
        train,
        test,
        setup_seconds,
        total_seconds,
        params: backend.params()?,
        stats,
    })
}
