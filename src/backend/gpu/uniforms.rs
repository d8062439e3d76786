//! The uniform blocks the kernels read, laid out as their WGSL structs.

use bytemuck::{Pod, Zeroable};

/// `Dims` of `matmul.wgsl`: acc[m, n] = Σ_k a[m·a_m + k·a_k] · b[n·b_n + k·b_k].
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct MatmulDims {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub a_m: u32,
    pub a_k: u32,
    pub b_n: u32,
    pub b_k: u32,
    pub _pad: u32,
}

impl MatmulDims {
    /// out (m×n) = A·Bᵀ with A m×k and B n×k, both row-major (Z = X·Wᵀ).
    pub fn a_bt(m: usize, n: usize, k: usize) -> Self {
        MatmulDims {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            a_m: k as u32,
            a_k: 1,
            b_n: k as u32,
            b_k: 1,
            _pad: 0,
        }
    }

    /// out (m×n) = Aᵀ·B with A k×m and B k×n, both row-major (dW = Gᵀ·X).
    pub fn at_b(m: usize, n: usize, k: usize) -> Self {
        MatmulDims {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            a_m: 1,
            a_k: m as u32,
            b_n: 1,
            b_k: n as u32,
            _pad: 0,
        }
    }
}

/// `Step` of `matmul.wgsl` and `bias_update.wgsl`: the SGD hyper-parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct Step {
    pub lr: f32,
    pub l1: f32,
    pub l2: f32,
    pub _pad: f32,
}

/// `Batch` of `standardize.wgsl` and `softmax_cross_entropy.wgsl`: which images
/// of the set this batch covers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct Batch {
    pub row_offset: u32,
    pub rows: u32,
    /// D for `standardize`, C for `softmax_cross_entropy`.
    pub width: u32,
    /// `standardize`: images per pixel chunk (0 for `softmax_cross_entropy`).
    pub chunk_images: u32,
}

/// `Dims` of `hidden_delta.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct DeltaDims {
    pub rows: u32,
    pub hidden: u32,
    pub classes: u32,
    pub _pad: u32,
}

/// `Dims` of `bias_update.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct ColumnDims {
    pub rows: u32,
    pub cols: u32,
    pub _pad: [u32; 2],
}

/// `Tensor` of `optimizer_step.wgsl`: the array's length and whether it is
/// regularized (weights) or not (biases).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct Tensor {
    pub len: u32,
    pub decay: u32,
    pub _pad: [u32; 2],
}

/// `Rule` of `optimizer_step.wgsl`: β1 (momentum's β), β2, ε.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct RuleConstants {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub _pad: f32,
}

/// `Correction` of `optimizer_step.wgsl`, one slot per batch: Adam's
/// c1 = 1/(1 − β1ᵗ), c2 = 1/(1 − β2ᵗ) of that batch's step t.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct Correction {
    pub c1: f32,
    pub c2: f32,
    pub _pad: [f32; 2],
}
