//! The CPU backend: the reference math of DESIGN.md, fast enough to be the CPU
//! side of the benchmark.

pub mod ops;

use anyhow::Result;

use super::{Backend, BackendInfo, EpochStats, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params};

/// Trains on the host's cores.
pub struct CpuBackend {
    _private: (),
}

impl CpuBackend {
    /// A CPU backend using `threads` worker threads (all cores when `None`).
    pub fn new(threads: Option<usize>) -> Result<Self> {
        let _ = threads;
        Ok(CpuBackend { _private: () })
    }
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        todo!()
    }
    fn upload(&mut self, split: Split, data: &Dataset, stats: &Standardizer) -> Result<()> {
        todo!("{split:?} {} {}", data.count, stats.mean.len())
    }
    fn set_params(&mut self, params: &Params) -> Result<()> {
        todo!("{:?}", params.shape)
    }
    fn params(&mut self) -> Result<Params> {
        todo!()
    }
    fn train_epoch(&mut self, hyper: &Hyper) -> Result<EpochStats> {
        todo!("{hyper:?}")
    }
    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        todo!("{split:?}")
    }
}
