// Standardize one batch of u8 images into the rows of an rgba32float texture.
//
//   x[r, d] = (p[order[row_offset + r], d] − mean[d]) · inv_std[d]      r < rows, d < D
//
// order maps a position of the epoch to an image of the set (the identity
// unless the epoch is shuffled). A set larger than one storage binding is
// split over up to four chunks of chunk_images whole images each. Each
// invocation writes one texel: four pixels of one row (zeros past D).
//
// Bindings:
//   pixels0..3 : array<u32>  the set in chunks of chunk_images images, 4 u8
//                            pixels per word, little-endian; image i pixel d is
//                            chunk i / chunk_images, byte (i mod chunk_images)·D + d
//                            (a set that fits one binding binds it four times)
//   stats   : texture_2d<f32>  row 0 the pixel means, row 1 the inverse
//                              standard deviations (⌈D/4⌉ texels, zero-padded)
//   order   : array<u32>  one image index per position of the epoch
//   x       : texture_storage_2d<rgba32float, write>  rows × ⌈D/4⌉ texels (written)
//   batch   : uniform     first image of the batch and its row count
//                         (bound with a dynamic offset, one slot per batch)
// Dispatch: (ceil(⌈D/4⌉ / WG), rows, 1).

override WG: u32 = 64u;
// How many pixel chunks the set has: with 1 the kernel reads pixels0 only.
// (lavapipe runs every case of a switch on a per-invocation value, each
// with a lane-by-lane storage load, so the switch alone costs about a third
// of an article epoch there.)
override CHUNKS: u32 = 4u;

struct Batch {
    row_offset: u32,
    rows: u32,
    pixels_per_image: u32,
    chunk_images: u32,
}

@group(0) @binding(0) var<storage, read> pixels0: array<u32>;
@group(0) @binding(1) var<storage, read> pixels1: array<u32>;
@group(0) @binding(2) var<storage, read> pixels2: array<u32>;
@group(0) @binding(3) var<storage, read> pixels3: array<u32>;
@group(0) @binding(4) var stats: texture_2d<f32>;
@group(0) @binding(5) var<storage, read> order: array<u32>;
@group(0) @binding(6) var x: texture_storage_2d<rgba32float, write>;
@group(0) @binding(7) var<uniform> batch: Batch;

// Word w of pixel chunk c.
fn pixel_word(c: u32, w: u32) -> u32 {
    if (CHUNKS == 1u) {
        return pixels0[w];
    }
    switch c {
        case 0u: { return pixels0[w]; }
        case 1u: { return pixels1[w]; }
        case 2u: { return pixels2[w]; }
        default: { return pixels3[w]; }
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let r = gid.y;
    let dim = batch.pixels_per_image;
    if (j >= (dim + 3u) / 4u || r >= batch.rows) {
        return;
    }
    let image = order[batch.row_offset + r];
    let chunk = image / batch.chunk_images;
    // Byte of pixel 4j of this image in its chunk.
    let first = (image % batch.chunk_images) * dim + 4u * j;
    var p = vec4<f32>(0.0);
    if (first % 4u == 0u && 4u * j + 3u < dim) {
        // Four whole pixels in one word (always, when D is a multiple of 4).
        let w = pixel_word(chunk, first / 4u);
        p = vec4<f32>(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(0xffu));
    } else {
        for (var t = 0u; t < 4u; t++) {
            if (4u * j + t < dim) {
                let byte_index = first + t;
                let w = pixel_word(chunk, byte_index / 4u);
                p[t] = f32((w >> (8u * (byte_index % 4u))) & 0xffu);
            }
        }
    }
    let mean = textureLoad(stats, vec2<i32>(i32(j), 0), 0);
    let inv_std = textureLoad(stats, vec2<i32>(i32(j), 1), 0);
    // Padding texels: mean and inv_std are 0 there, so x is 0.
    textureStore(x, vec2<i32>(i32(j), i32(r)), (p - mean) * inv_std);
}
