//! The GPU backend: wgpu context, buffers, WGSL pipelines and the per-epoch
//! orchestrator.
