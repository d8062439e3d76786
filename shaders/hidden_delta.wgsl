// Back-propagate the output error through W2 and the sigmoid.
//
//   G1[r, h] = (Σ_c G2[r, c] · W2[c, h]) · A1[r, h] · (1 − A1[r, h])
//
// Bindings: g2 (rows × C), w2 (C × H), a1 (rows × H) read; g1 (rows × H)
// written, and the same G1 as an rgba32float texture (⌈H/4⌉ texels a row,
// zeros past H) for the texture product dW1 = G1ᵀ·X; dims uniform: rows, H, C.
// Each invocation computes four hidden units of one row (one texel).
// Dispatch: (ceil(⌈H/4⌉ / WG), rows, 1).

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
@group(0) @binding(4) var g1_texture: texture_storage_2d<rgba32float, write>;
@group(0) @binding(5) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let r = gid.y;
    if (j >= (dims.hidden + 3u) / 4u || r >= dims.rows) {
        return;
    }
    var texel = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t++) {
        let h = 4u * j + t;
        if (h >= dims.hidden) {
            break;
        }
        var s = 0.0;
        for (var c = 0u; c < dims.classes; c++) {
            s = fma(g2[r * dims.classes + c], w2[c * dims.hidden + h], s);
        }
        let a = a1[r * dims.hidden + h];
        let g = s * a * (1.0 - a);
        g1[r * dims.hidden + h] = g;
        texel[t] = g;
    }
    textureStore(g1_texture, vec2<i32>(i32(j), i32(r)), texel);
}
