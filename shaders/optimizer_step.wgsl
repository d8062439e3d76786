// One step of a stateful update rule on one parameter array, from its stored
// data gradient d (matmul Store epilogue or bias_update MODE 1):
//
//   g = d + decay·(l1·sign(θ) + l2·θ)            decay = 1 for weights, 0 for biases
//   KIND 1, momentum:  m ← β1·m + g;  θ ← θ − lr·m
//   KIND 2, Adam:      m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//                      θ ← θ − lr·(m·c1) / (√(v·c2) + ε)
//
// c1 = 1/(1 − β1ᵗ), c2 = 1/(1 − β2ᵗ) of this batch's step t, computed on the
// host and read from a per-batch slot.
//
// Buffers:
//   theta  : array<f32>  len (read_write)
//   grad   : array<f32>  len
//   m, v   : array<f32>  len (read_write; v unused by momentum)
//   tensor : uniform     len, decay
//   step   : uniform     lr, l1, l2
//   rule   : uniform     β1, β2, ε
//   batch  : uniform, dynamic offset: c1, c2 of this batch
// Dispatch: (min(ceil(len / WG), 65535), 1, 1); a grid-stride loop covers the rest.

override WG: u32 = 64u;
override KIND: u32 = 2u;

struct Tensor {
    len: u32,
    decay: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Step {
    lr: f32,
    l1: f32,
    l2: f32,
    _pad: f32,
}

struct Rule {
    beta1: f32,
    beta2: f32,
    eps: f32,
    _pad: f32,
}

struct Correction {
    c1: f32,
    c2: f32,
    _pad0: f32,
    _pad1: f32,
}

@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> tensor: Tensor;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<uniform> rule: Rule;
@group(0) @binding(7) var<uniform> batch: Correction;

fn sign0(w: f32) -> f32 {
    return select(select(0.0, -1.0, w < 0.0), 1.0, w > 0.0);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let stride = groups.x * WG;
    let decay = select(0.0, 1.0, tensor.decay != 0u);
    for (var i = gid.x; i < tensor.len; i += stride) {
        let t = theta[i];
        let g = grad[i] + decay * (step.l1 * sign0(t) + step.l2 * t);
        if (KIND == 1u) {
            let mi = rule.beta1 * m[i] + g;
            m[i] = mi;
            theta[i] = t - step.lr * mi;
        } else {
            let mi = rule.beta1 * m[i] + (1.0 - rule.beta1) * g;
            let vi = rule.beta2 * v[i] + (1.0 - rule.beta2) * (g * g);
            m[i] = mi;
            v[i] = vi;
            theta[i] = t - step.lr * (mi * batch.c1) / (sqrt(vi * batch.c2) + rule.eps);
        }
    }
}
