// Shared by the two A·Bᵀ texture products (matmul_tex_abt.wgsl, 8×16
// blocks, and matmul_tex_abt_tall.wgsl, 16×8): their operand textures, the
// texture they may write, and how one row's four outputs are stored.
// Prepended after matmul_common.wgsl (sizes, step, bindings 2–5, epilogue).
//
// With OUT_TEXTURE = 1 the results go to out_texture instead of out, four
// columns a texel, zeros past N (A1 = σ(X·W1ᵀ + b1), read by the next
// products as a texture); epilogues 0–2 only.

override OUT_TEXTURE: u32 = 0u;

@group(0) @binding(0) var a: texture_2d<f32>;
@group(0) @binding(1) var b: texture_2d<f32>;
@group(0) @binding(6) var out_texture: texture_storage_2d<rgba32float, write>;

// Writes the outputs of row m, columns n0..n0+3, to out or out_texture.
fn store4(m: u32, n0: u32, v: vec4<f32>) {
    if (OUT_TEXTURE == 0u) {
        epilogue4(m, n0, v);
        return;
    }
    if (m >= dims.m || n0 >= dims.n) {
        return;
    }
    var t = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let n = n0 + j;
        if (n < dims.n) {
            switch EPILOGUE {
                case 1u: {
                    t[j] = v[j] + bias[n];
                }
                case 2u: {
                    t[j] = sigmoid(v[j] + bias[n]);
                }
                default: {
                    t[j] = v[j];
                }
            }
        }
    }
    textureStore(out_texture, vec2<i32>(i32(n0 / 4u), i32(m)), t);
}

fn texel(t: texture_2d<f32>, k: i32, row: i32) -> vec4<f32> {
    return textureLoad(t, vec2<i32>(k, row), 0);
}
