//! The network's parameters and the hyper-parameters that train them.

mod hyper;
mod params;

pub use hyper::{Hyper, Preset};
pub use params::{Params, Shape};
