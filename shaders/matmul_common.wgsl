// Shared by matmul.wgsl, matmul_abt.wgsl and matmul_atb.wgsl, and prepended
// to each when its pipeline is built: the sizes, the SGD step, the bindings
// after the two operands, and the epilogue that writes one output.
//
// Epilogue (override constant EPILOGUE), writing out[m·N + n] from the sum acc:
//   0  out = acc
//   1  out = acc + bias[n]                                  (Z2 = A1·W2ᵀ + b2)
//   2  out = σ(acc + bias[n])                               (A1 = σ(X·W1ᵀ + b1))
//   3  out = out − lr·(acc + l1·sign(out) + l2·out)         (regularized SGD:
//                                                            W ← W − lr·dW, dW = Gᵀ·X + l1·sign W + l2·W)
// Bindings 2–5: bias (read; unused by epilogues 0 and 3), out (read_write),
// dims (uniform: M, N, K and the strides of matmul.wgsl), step (uniform: lr, l1, l2).

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override EPILOGUE: u32 = 0u;

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    a_m: u32,
    a_k: u32,
    b_n: u32,
    b_k: u32,
    _pad: u32,
}

struct Step {
    lr: f32,
    l1: f32,
    l2: f32,
    _pad: f32,
}

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> dims: Dims;
@group(0) @binding(5) var<uniform> step: Step;

fn sigmoid(z: f32) -> f32 {
    // σ(z) without overflow: e^(−|z|) ≤ 1 always.
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

fn sign0(w: f32) -> f32 {
    return select(select(0.0, -1.0, w < 0.0), 1.0, w > 0.0);
}

// Writes output (m, n) from its sum v through the epilogue.
fn epilogue(m: u32, n: u32, v: f32) {
    let o = m * dims.n + n;
    switch EPILOGUE {
        case 1u: {
            out[o] = v + bias[n];
        }
        case 2u: {
            out[o] = sigmoid(v + bias[n]);
        }
        case 3u: {
            let w = out[o];
            out[o] = w - step.lr * (v + step.l1 * sign0(w) + step.l2 * w);
        }
        default: {
            out[o] = v;
        }
    }
}

// Writes the four outputs of row m, columns n0..n0+3, skipping those past M or N.
fn epilogue4(m: u32, n0: u32, v: vec4<f32>) {
    if (m >= dims.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if (n0 + j >= dims.n) {
            return;
        }
        epilogue(m, n0 + j, v[j]);
    }
}
