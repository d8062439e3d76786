// Back-propagate the output error through W2 and the sigmoid.
//
//   G1[r, h] = (Σ_c G2[r, c] · W2[c, h]) · A1[r, h] · (1 − A1[r, h])
//
// Buffers: g2 (rows × C), w2 (C × H), a1 (rows × H) read; g1 (rows × H) written;
// dims uniform: rows, H, C. Dispatch: (ceil(H / WG), rows, 1).

override WG: u32 = 64u;

struct Dims {
    rows: u32,
    hidden: u32,
    classes: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> g2: array<f32>;
@group(0) @binding(1) var<storage, read> w2: array<f32>;
@group(0) @binding(2) var<storage, read> a1: array<f32>;
@group(0) @binding(3) var<storage, read_write> g1: array<f32>;
@group(0) @binding(4) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let h = gid.x;
    let r = gid.y;
    if (h >= dims.hidden || r >= dims.rows) {
        return;
    }
    var s = 0.0;
    for (var c = 0u; c < dims.classes; c++) {
        s = fma(g2[r * dims.classes + c], w2[c * dims.hidden + h], s);
    }
    let a = a1[r * dims.hidden + h];
    g1[r * dims.hidden + h] = s * a * (1.0 - a);
}
