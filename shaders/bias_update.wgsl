// Bias gradient as a column sum, and its SGD step (biases are not regularized).
//
//   db[c] = Σ_r G[r, c]
//   MODE 0:  b[c] ← b[c] − lr · db[c]      (plain SGD, fused)
//   MODE 1:  b[c] = db[c]                  (store the gradient for optimizer_step.wgsl)
//
// Buffers: g (rows × cols) read; b (cols) read_write (the bias, or its
// gradient in MODE 1); dims uniform: rows, cols; step uniform: lr.
// One invocation per column. Dispatch: (ceil(cols / WG), 1, 1).

override WG: u32 = 64u;
override MODE: u32 = 0u;

struct Dims {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Step {
    lr: f32,
    l1: f32,
    l2: f32,
    _pad: f32,
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<uniform> dims: Dims;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= dims.cols) {
        return;
    }
    var db = 0.0;
    for (var r = 0u; r < dims.rows; r++) {
        db += g[r * dims.cols + c];
    }
    if (MODE == 1u) {
        b[c] = db;
    } else {
        b[c] = b[c] - step.lr * db;
    }
}
