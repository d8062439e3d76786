//! The training loop, written once over [`crate::backend::Backend`]: it never
//! asks which backend it runs on.

mod checkpoint;
mod metrics;
mod shuffle;

pub use checkpoint::{beside_save, checkpoint_path, load_checkpoint, save_checkpoint, ModelLabels};
pub use metrics::{class_metrics, confusion_matrix, epoch_flops, median, ClassMetrics};
pub use shuffle::epoch_order;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Result};

use crate::backend::{
    batch_count, batch_in_use, Backend, BackendInfo, BatchTally, EpochStats, Evaluation, Split,
};
use crate::data::{Dataset, Standardizer};
use crate::model::{readable, BestEpoch, Hyper, Optimizer, OptimizerState, Params, Shape};

/// Everything a training run needs besides the data and the backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// The epoch the run ends after (a resumed run counts the epochs before it).
    pub epochs: usize,
    pub hidden: usize,
    pub hyper: Hyper,
    /// Weights and biases start uniform in [-init_scale, init_scale).
    pub init_scale: f32,
    pub seed: u64,
    /// Take the training images in a new seeded order every epoch.
    pub shuffle: bool,
    /// The learning rate of epoch e is hyper.lr · lr_decay^(e−1).
    pub lr_decay: f32,
}

impl TrainConfig {
    /// The hyper-parameters of epoch `epoch` (1-based): the learning rate
    /// decayed by `lr_decay` once per epoch before it.
    pub fn hyper_of_epoch(&self, epoch: usize) -> Hyper {
        let steps = epoch.saturating_sub(1).min(i32::MAX as usize) as i32;
        Hyper {
            lr: (self.hyper.lr as f64 * (self.lr_decay as f64).powi(steps)) as f32,
            ..self.hyper
        }
    }
}

/// The sets a run uses: it trains on `train`, picks the best epoch on
/// `validation` when there is one, and reports on `test`.
#[derive(Clone, Copy, Debug)]
pub struct Sets<'a> {
    pub train: &'a Dataset,
    pub validation: Option<&'a Dataset>,
    pub test: &'a Dataset,
}

/// Where a run stands, enough to continue it exactly: the parameters, the
/// optimizer's moments, the statistics, and how far it got.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub params: Params,
    pub optimizer: Option<OptimizerState>,
    pub stats: Standardizer,
    /// Whole epochs finished.
    pub epochs_done: usize,
    /// Batches finished of epoch `epochs_done + 1`.
    pub batches_done: usize,
    /// With a validation set, the best epoch so far.
    pub best: Option<BestEpoch>,
}

/// One epoch as the loop saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Over the batches this run trained of the epoch (all of them unless
    /// the run resumed inside it).
    pub stats: EpochStats,
    /// Accuracy on the validation set after the epoch, when there is one.
    pub validation_accuracy: Option<f64>,
    /// Wall time of the epoch, the device's work included (not the test
    /// evaluation).
    pub seconds: f64,
    /// Test-set loss and accuracy after the epoch (for the learning curve).
    pub test: EpochStats,
}

/// The outcome of a finished training run.
#[derive(Clone, Debug)]
pub struct TrainReport {
    pub backend: BackendInfo,
    pub epochs: Vec<EpochReport>,
    /// Forward pass over the training set with the final parameters.
    pub train: Evaluation,
    /// Forward pass over the test set with the final parameters.
    pub test: Evaluation,
    /// With a validation set: the epoch whose weights were kept and its
    /// validation accuracy.
    pub best: Option<(usize, f64)>,
    /// Seconds spent uploading the data and parameters.
    pub setup_seconds: f64,
    /// Seconds from the first epoch's start to the end of the final evaluation.
    pub total_seconds: f64,
    pub params: Params,
    /// The training set's statistics the run standardized with.
    pub stats: Standardizer,
    /// Where the run ended, to continue it later.
    pub checkpoint: Checkpoint,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Finished(Box<TrainReport>),
    /// Stopped after a batch because the stop flag was raised.
    Interrupted {
        checkpoint: Box<Checkpoint>,
        epochs: Vec<EpochReport>,
    },
    /// The loss stopped being finite; `last_finite` is the run at the end of
    /// the last epoch whose loss was finite (or its start).
    Diverged {
        message: String,
        last_finite: Box<Checkpoint>,
    },
}

/// What the caller can do to a run while it goes.
pub struct Control<'a> {
    /// Raised (e.g. by Ctrl-C): stop after the current batch.
    pub stop: Option<&'a AtomicBool>,
    /// Called after every epoch.
    pub on_epoch: &'a mut dyn FnMut(&EpochReport),
}

/// Trains as [`run`] does with no way to stop it, and turns divergence
/// into an error.
pub fn train(
    backend: &mut dyn Backend,
    train_set: &Dataset,
    test_set: &Dataset,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainReport> {
    let sets = Sets {
        train: train_set,
        validation: None,
        test: test_set,
    };
    let control = Control {
        stop: None,
        on_epoch,
    };
    match run(backend, sets, config, None, control)? {
        Outcome::Finished(report) => Ok(*report),
        Outcome::Interrupted { .. } => bail!("training was interrupted"),
        Outcome::Diverged { message, .. } => bail!(message),
    }
}

/// Refuses a network whose parameters (and the optimizer's two copies of
/// them) cannot even be allocated, instead of aborting on the allocation.
pub fn check_fits_memory(shape: Shape) -> Result<()> {
    let values = shape.parameter_count().saturating_mul(3);
    let mut probe: Vec<f32> = Vec::new();
    probe.try_reserve_exact(values).map_err(|_| {
        anyhow::anyhow!(
            "a network of {} hidden units has {} parameters ({:.1} GB, three times that with the optimizer's moments) \
             and does not fit in memory; use a smaller --hidden",
            shape.hidden,
            shape.parameter_count(),
            shape.parameter_count() as f64 * 4.0 / 1e9
        )
    })?;
    Ok(())
}

/// Wall time one call to the backend aims at when the run can be stopped,
/// so a stop request is answered within about this long.
const STOP_LATENCY_S: f64 = 0.5;

/// Standardizes with the training set's statistics (or the checkpoint's),
/// uploads the sets once, starts from the seed's parameters or from `start`,
/// and trains until epoch `config.epochs` ends, the stop flag rises, or the
/// loss stops being finite.
pub fn run(
    backend: &mut dyn Backend,
    sets: Sets,
    config: &TrainConfig,
    start: Option<Checkpoint>,
    control: Control,
) -> Result<Outcome> {
    let Control { stop, on_epoch } = control;
    let setup = Instant::now();
    let stats = match &start {
        Some(c) => c.stats.clone(),
        None => Standardizer::fit(sets.train),
    };
    backend.upload(Split::Train, sets.train, &stats)?;
    if let Some(validation) = sets.validation {
        backend.upload(Split::Validation, validation, &stats)?;
    }
    backend.upload(Split::Test, sets.test, &stats)?;
    let shape = Shape {
        inputs: sets.train.pixels_per_image(),
        hidden: config.hidden,
        classes: sets.train.classes,
    };
    if let Some(c) = &start {
        if c.params.shape != shape {
            bail!(
                "the checkpoint's network is {} → {} → {} but this run's is {} → {} → {}; \
                 resume with the same --hidden and data",
                c.params.shape.inputs,
                c.params.shape.hidden,
                c.params.shape.classes,
                shape.inputs,
                shape.hidden,
                shape.classes
            );
        }
    }
    check_fits_memory(shape)?;
    let mut hyper = config.hyper;
    let (mut epochs_done, mut batches_done) = match &start {
        Some(c) => (c.epochs_done, c.batches_done),
        None => (0, 0),
    };
    match &start {
        Some(c) => backend.set_params(&c.params)?,
        None => backend.set_params(&Params::init(shape, config.init_scale, config.seed))?,
    }
    backend.prepare_training(&hyper)?;
    if let Some(state) = start.as_ref().and_then(|c| c.optimizer.as_ref()) {
        backend.set_optimizer_state(state)?;
    }
    let setup_seconds = setup.elapsed().as_secs_f64();

    let n = sets.train.count;
    let total_batches = batch_count(n, batch_in_use(hyper.batch_size, n));
    let stateless = matches!(hyper.optimizer, Optimizer::Sgd);
    let snapshot = |backend: &mut dyn Backend, epochs_done, batches_done| -> Result<Checkpoint> {
        Ok(Checkpoint {
            params: backend.params()?,
            // Plain SGD keeps no state worth saving.
            optimizer: if stateless {
                None
            } else {
                backend.optimizer_state()?
            },
            stats: stats.clone(),
            epochs_done,
            batches_done,
            best: None,
        })
    };
    let mut last_finite = snapshot(backend, epochs_done, batches_done)?;
    // A resumed run continues the best epoch its checkpoint carries; one
    // resumed at an epoch's end from weights without it scores them first,
    // so a worse run does not replace them.
    let mut best: Option<BestEpoch> = start.as_ref().and_then(|c| c.best.clone());
    if sets.validation.is_none() {
        best = None;
    } else if best.is_none() && start.is_some() && batches_done == 0 {
        best = Some(BestEpoch {
            epoch: epochs_done,
            accuracy: backend.evaluate(Split::Validation)?.accuracy,
            params: last_finite.params.clone(),
        });
    }
    let clock = Instant::now();
    let mut epochs = Vec::new();
    let mut last_loss: Option<f64> = None;
    while epochs_done < config.epochs {
        let epoch = epochs_done + 1;
        hyper = config.hyper_of_epoch(epoch);
        let t = Instant::now();
        let order = config.shuffle.then(|| epoch_order(n, config.seed, epoch));
        backend.set_order(order.as_deref())?;
        let mut tally = BatchTally::default();
        // Without a stop flag the epoch is one call; with one, calls of about
        // STOP_LATENCY_S each (the first 1/20 of the epoch, then by its pace).
        let mut chunk = match stop {
            None => total_batches,
            Some(_) => total_batches.div_ceil(20).max(1),
        };
        while batches_done < total_batches {
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                let mut checkpoint = snapshot(backend, epochs_done, batches_done)?;
                checkpoint.best = best.clone();
                return Ok(Outcome::Interrupted {
                    checkpoint: Box::new(checkpoint),
                    epochs,
                });
            }
            let end = (batches_done + chunk).min(total_batches);
            let call = Instant::now();
            let part = backend.train_batches(&hyper, batches_done..end)?;
            tally.add(part);
            if !part.loss_sum.is_finite() {
                let last = match last_loss {
                    Some(l) => format!("the last finite epoch loss was {l:.4}"),
                    None => "no epoch before it finished".into(),
                };
                let message = format!(
                    "training diverged in epoch {epoch}: the loss became {} ({last}); \
                     try a lower --lr (now {}), --l1 (now {}) or --l2 (now {}), or a smaller --init-scale (now {})",
                    part.loss_sum,
                    readable(hyper.lr),
                    readable(hyper.l1),
                    readable(hyper.l2),
                    readable(config.init_scale)
                );
                return Ok(Outcome::Diverged {
                    message,
                    last_finite: Box::new(Checkpoint {
                        best: best.clone(),
                        ..last_finite
                    }),
                });
            }
            if stop.is_some() {
                let per_batch = call.elapsed().as_secs_f64() / (end - batches_done) as f64;
                chunk = ((STOP_LATENCY_S / per_batch.max(1e-9)) as usize).clamp(1, total_batches);
            }
            batches_done = end;
        }
        epochs_done = epoch;
        batches_done = 0;
        let stats_epoch = tally.stats();
        last_loss = Some(stats_epoch.loss);
        let validation_accuracy = match sets.validation {
            Some(_) => Some(backend.evaluate(Split::Validation)?.accuracy),
            None => None,
        };
        let seconds = t.elapsed().as_secs_f64();
        let test = backend.evaluate(Split::Test)?;
        let report = EpochReport {
            epoch,
            stats: stats_epoch,
            validation_accuracy,
            seconds,
            test: EpochStats {
                loss: test.loss,
                accuracy: test.accuracy,
            },
        };
        last_finite = snapshot(backend, epochs_done, 0)?;
        if let Some(accuracy) = validation_accuracy {
            if best.as_ref().is_none_or(|b| accuracy > b.accuracy) {
                best = Some(BestEpoch {
                    epoch,
                    accuracy,
                    params: last_finite.params.clone(),
                });
            }
        }
        on_epoch(&report);
        epochs.push(report);
    }
    let checkpoint = last_finite;
    if let Some(b) = &best {
        backend.set_params(&b.params)?;
    }
    let train = backend.evaluate(Split::Train)?;
    let test = backend.evaluate(Split::Test)?;
    let total_seconds = clock.elapsed().as_secs_f64();
    Ok(Outcome::Finished(Box::new(TrainReport {
        backend: backend.info(),
        epochs,
        train,
        test,
        best: best.as_ref().map(|b| (b.epoch, b.accuracy)),
        setup_seconds,
        total_seconds,
        params: backend.params()?,
        stats,
        checkpoint,
    })))
}
