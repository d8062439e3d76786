// Standardize one batch of u8 images into f32 rows.
//
//   x[r, d] = (p[order[row_offset + r], d] − mean[d]) · inv_std[d]      r < rows, d < D
//
// order maps a position of the epoch to an image of the set (the identity
// unless the epoch is shuffled). A set larger than one storage binding is
// split over up to four chunks of chunk_images whole images each.
//
// Buffers:
//   pixels0..3 : array<u32>  the set in chunks of chunk_images images, 4 u8
//                            pixels per word, little-endian; image i pixel d is
//                            chunk i / chunk_images, byte (i mod chunk_images)·D + d
//                            (a set that fits one binding binds it four times)
//   mean    : array<f32>  D
//   inv_std : array<f32>  D
//   order   : array<u32>  one image index per position of the epoch
//   x       : array<f32>  rows × D, row-major (written)
//   batch   : uniform     first image of the batch and its row count
//                         (bound with a dynamic offset, one slot per batch)
// Dispatch: (ceil(D / WG), rows, 1).

override WG: u32 = 64u;

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
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> inv_std: array<f32>;
@group(0) @binding(6) var<storage, read> order: array<u32>;
@group(0) @binding(7) var<storage, read_write> x: array<f32>;
@group(0) @binding(8) var<uniform> batch: Batch;

// Word w of pixel chunk c.
fn pixel_word(c: u32, w: u32) -> u32 {
    switch c {
        case 0u: { return pixels0[w]; }
        case 1u: { return pixels1[w]; }
        case 2u: { return pixels2[w]; }
        default: { return pixels3[w]; }
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let d = gid.x;
    let r = gid.y;
    let dim = batch.pixels_per_image;
    if (d >= dim || r >= batch.rows) {
        return;
    }
    let image = order[batch.row_offset + r];
    let byte_index = (image % batch.chunk_images) * dim + d;
    let word = pixel_word(image / batch.chunk_images, byte_index / 4u);
    let p = f32((word >> (8u * (byte_index % 4u))) & 0xffu);
    x[r * dim + d] = (p - mean[d]) * inv_std[d];
}
