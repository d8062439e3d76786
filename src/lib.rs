//! fashion-nn: a one-hidden-layer classifier for Fashion-MNIST trained in WGSL
//! compute shaders through wgpu, with a CPU backend that is both the reference
//! the shaders are checked against and the CPU side of the benchmark.
//!
//! Layout follows the math: [`data`] reads and standardizes IDX images,
//! [`model`] holds the parameters and hyper-parameters, [`train`] is the loop
//! written once over [`backend::Backend`], and [`backend::cpu`] /
//! [`backend::gpu`] compute one mini-batch step each.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod data;
pub mod download;
pub mod interrupt;
pub mod model;
pub mod report;
pub mod temp_files;
pub mod train;
