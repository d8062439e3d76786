// Row-wise softmax, cross-entropy loss and its gradient, one invocation per row.
//
//   P[r]        = softmax(Z2[r])                      (row max subtracted)
//   loss[i]     = −log P[r, y] = log Σ_c e^(z_c − max) − (z_y − max)
//   G2[r, c]    = (P[r, c] − [c = y]) / rows
//   predicted[i] = arg-max_c Z2[r, c] (lowest index on ties)
// where i = row_offset + r is the row's position in the epoch and
// y = labels[order[i]] its label (order: the epoch's image order).
//
// Buffers:
//   z2        : array<f32>  rows × C (read)
//   labels    : array<u32>  the whole set's labels
//   order     : array<u32>  one image index per position of the epoch
//   g2        : array<f32>  rows × C (written)
//   g2_texture: texture_storage_2d<rgba32float, write>  the same G2, ⌈C/4⌉
//               texels a row, zeros past C (read by dW2 and G1 as a texture)
//   loss      : array<f32>  one per position of the epoch (written at i)
//   predicted : array<u32>  one per position of the epoch (written at i)
//   batch     : uniform, dynamic offset: row_offset, rows, classes
// Dispatch: (ceil(rows / WG), 1, 1).

override WG: u32 = 64u;

struct Batch {
    row_offset: u32,
    rows: u32,
    classes: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> z2: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> g2: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> predicted: array<u32>;
@group(0) @binding(6) var<uniform> batch: Batch;
@group(0) @binding(7) var g2_texture: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= batch.rows) {
        return;
    }
    let c_n = batch.classes;
    let base = r * c_n;
    let i = batch.row_offset + r;
    let y = labels[order[i]];

    var z_max = z2[base];
    var arg = 0u;
    for (var c = 1u; c < c_n; c++) {
        let z = z2[base + c];
        if (z > z_max) {
            z_max = z;
            arg = c;
        }
    }
    var sum = 0.0;
    for (var c = 0u; c < c_n; c++) {
        sum += exp(z2[base + c] - z_max);
    }
    let scale = 1.0 / f32(batch.rows);
    var texel = vec4<f32>(0.0);
    for (var c = 0u; c < c_n; c++) {
        let p = exp(z2[base + c] - z_max) / sum;
        let g = (p - select(0.0, 1.0, c == y)) * scale;
        g2[base + c] = g;
        texel[c % 4u] = g;
        if (c % 4u == 3u || c + 1u == c_n) {
            textureStore(g2_texture, vec2<i32>(i32(c / 4u), i32(r)), texel);
            texel = vec4<f32>(0.0);
        }
    }
    loss[i] = log(sum) - (z2[base + y] - z_max);
    predicted[i] = arg;
}
