// Copy a row-major f32 matrix into the rows of an rgba32float texture, four
// columns a texel, zeros past the last column. Refreshes W1's texture after
// each update of W1 so the next forward product reads the new weights.
//
// Bindings: src (rows × cols, read), dst (texture_storage_2d, ⌈cols/4⌉ × rows,
// written), dims uniform: rows, cols. Dispatch: (ceil(⌈cols/4⌉ / WG), rows, 1).

override WG: u32 = 64u;

struct Dims {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
@group(0) @binding(2) var<uniform> dims: Dims;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let r = gid.y;
    if (j >= (dims.cols + 3u) / 4u || r >= dims.rows) {
        return;
    }
    var texel = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t++) {
        let c = 4u * j + t;
        if (c < dims.cols) {
            texel[t] = src[r * dims.cols + c];
        }
    }
    textureStore(dst, vec2<i32>(i32(j), i32(r)), texel);
}
