//! The one interface the training loop talks to. A backend holds the
//! parameters and the uploaded data, and runs whole epochs of mini-batch SGD.

pub mod cpu;
pub mod gpu;

use anyhow::Result;

use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params};

/// Which uploaded set an operation works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
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

    /// Replaces the parameters on the device.
    fn set_params(&mut self, params: &Params) -> Result<()>;

    /// Copies the current parameters back to the host.
    fn params(&mut self) -> Result<Params>;

    /// One epoch of mini-batch SGD over the uploaded training set, batches in
    /// order, the last one smaller when the batch size does not divide it.
    fn train_epoch(&mut self, hyper: &Hyper) -> Result<EpochStats>;

    /// Forward pass over an uploaded set with the current parameters.
    fn evaluate(&mut self, split: Split) -> Result<Evaluation>;

    /// Checks, before any work, that training with `batch_size` and the
    /// evaluations after it fit the device, and prepares for them. Errors
    /// name the limit.
    fn prepare_training(&mut self, batch_size: usize) -> Result<()> {
        let _ = batch_size;
        Ok(())
    }
}
