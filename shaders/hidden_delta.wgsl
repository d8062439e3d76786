// Back-propagate the output error through W2 and the sigmoid.
//
//   G1[r, h] = (Σ_c G2[r, c] · W2[c, h]) · A1[r, h] · (1 − A1[r, h])
//
// Bindings: g2 (rows × C), w2 (C × H) and a1 (rows × H) as rgba32float
// textures (four columns a texel, zeros past the last); g1 (rows × H) written
// to a buffer (for db1) and to a texture (for dW1 = G1ᵀ·X, zeros past H);
// dims uniform: rows, H, C. Each invocation computes four hidden units of
// one row (one texel). Dispatch: (ceil(⌈H/4⌉ / WG), rows, 1).

override WG: u32 = 64u;

struct Dims {
    rows: u32,
    hidden: u32,
    classes: u32,
    _pad: u32,
}

@group(0) @binding(0) var g2: texture_2d<f32>;
@group(0) @binding(1) var w2: texture_2d<f32>;
@group(0) @binding(2) var a1: texture_2d<f32>;
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
    // s[t] = Σ_c G2[r, c] · W2[c, 4j + t]; W2's padding columns are zero.
    var s = vec4<f32>(0.0);
    for (var c4 = 0u; c4 < (dims.classes + 3u) / 4u; c4++) {
        let g = textureLoad(g2, vec2<i32>(i32(c4), i32(r)), 0);
        for (var t = 0u; t < 4u; t++) {
            let c = 4u * c4 + t;
            if (c < dims.classes) {
                s = fma(vec4<f32>(g[t]), textureLoad(w2, vec2<i32>(i32(j), i32(c)), 0), s);
            }
        }
    }
    // A1's padding is zero, so the padding of G1 is too.
    let a = textureLoad(a1, vec2<i32>(i32(j), i32(r)), 0);
    let texel = s * a * (1.0 - a);
    textureStore(g1_texture, vec2<i32>(i32(j), i32(r)), texel);
    for (var t = 0u; t < 4u; t++) {
        let h = 4u * j + t;
        if (h < dims.hidden) {
            g1[r * dims.hidden + h] = texel[t];
        }
    }
}
