//! The one interface the training loop talks to. A backend holds the
//! parameters and the uploaded data, and runs whole epochs of mini-batch SGD.

pub mod cpu;
pub mod gpu;

use std::ops::Range;

use anyhow::Result;

use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, OptimizerState, Params};

/// Which uploaded set an operation works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    /// Held out of the training images to pick the best epoch (`--val-split`).
    Validation,
    Test,
}

/// What the user sees about the device that runs the math.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendInfo {
    /// `cpu`, `vulkan`, `metal`, `dx12` or `gl`.
    pub backend: String,
    /// Adapter (device) name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub adapter: String,
    /// Driver name and version, where known.
    pub driver: String,
}

/// Figures one training epoch reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Mean cross-entropy −log P[i, yᵢ] over the epoch's images, each taken in the
    /// forward pass of its own batch (before that batch's update).
    pub loss: f64,
    /// Fraction of the epoch's images whose arg-max matched the label in that
    /// same forward pass.
    pub accuracy: f64,
}

/// What a run of training batches adds up to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchTally {
    /// Images the batches covered.
    pub images: usize,
    /// Σ −log P[i, yᵢ] over them, each from its own batch's forward pass.
    pub loss_sum: f64,
    /// How many of them the same forward pass classified correctly.
    pub correct: usize,
}

impl BatchTally {
    pub fn add(&mut self, other: BatchTally) {
        self.images += other.images;
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
    }

    /// Mean loss and accuracy of the images covered.
    pub fn stats(&self) -> EpochStats {
        let n = self.images.max(1) as f64;
        EpochStats {
            loss: self.loss_sum / n,
            accuracy: self.correct as f64 / n,
        }
    }
}

/// The batch size a run of `batch_size` uses on a set of `images` images:
/// a batch never holds more than the whole set.
pub fn batch_in_use(batch_size: usize, images: usize) -> usize {
    batch_size.min(images.max(1))
}

/// Batches of `batch_size` that cover `images` images, the last one smaller.
pub fn batch_count(images: usize, batch_size: usize) -> usize {
    images.div_ceil(batch_size.max(1))
}

/// Figures of a forward pass over a whole set with fixed parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy over the set (no regularization term).
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Predicted class (arg-max of P) of every image, in order.
    pub predictions: Vec<u8>,
}

/// A device that trains the network. The loop in [`crate::train`] never asks
/// which one it has.
pub trait Backend {
    /// Backend, adapter and driver names.
    fn info(&self) -> BackendInfo;

    /// Stores a data set on the device once: raw u8 pixels and labels, plus the
    /// training-set statistics used to standardize them. Replaces an earlier
    /// upload of the same split.
    fn upload(&mut self, split: Split, data: &Dataset, stats: &Standardizer) -> Result<()>;

    /// Replaces the parameters on the device, and starts the optimizer afresh
    /// (zero moments, step 0).
    fn set_params(&mut self, params: &Params) -> Result<()>;

    /// Copies the current parameters back to the host.
    fn params(&mut self) -> Result<Params>;

    /// Images in an uploaded set (0 when it is not uploaded).
    fn images(&self, split: Split) -> usize;

    /// The order the following training batches take the training images in:
    /// `order[k]` is the image at position k of the epoch; `None` is 0, 1, 2, ….
    fn set_order(&mut self, order: Option<&[u32]>) -> Result<()>;

    /// Mini-batch steps `batches` of the current epoch order (batch j covers
    /// positions j·B .. min((j+1)·B, n)), each a forward pass, the gradient and
    /// one step of `hyper.optimizer`.
    fn train_batches(&mut self, hyper: &Hyper, batches: Range<usize>) -> Result<BatchTally>;

    /// The optimizer's moments and step count (`None` for plain SGD on a
    /// backend that keeps no moments for it).
    fn optimizer_state(&mut self) -> Result<Option<OptimizerState>>;

    /// Replaces the optimizer's moments and step count (to resume a run).
    fn set_optimizer_state(&mut self, state: &OptimizerState) -> Result<()>;

    /// One whole epoch over the uploaded training set in the current order.
    fn train_epoch(&mut self, hyper: &Hyper) -> Result<EpochStats> {
        let batches = batch_count(self.images(Split::Train), hyper.batch_size);
        Ok(self.train_batches(hyper, 0..batches)?.stats())
    }

    /// Forward pass over an uploaded set with the current parameters.
    fn evaluate(&mut self, split: Split) -> Result<Evaluation>;

    /// Checks, before any work, that training with `hyper` and the
    /// evaluations after it fit the device, and prepares for them. Errors
    /// name the limit.
    fn prepare_training(&mut self, hyper: &Hyper) -> Result<()> {
        let _ = hyper;
        Ok(())
    }
}
