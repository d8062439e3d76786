// Matrix product out = Aᵀ·B with both operands read from rgba32float
// textures (texel (j, i) = row i, columns 4j..4j+3, zero past the last
// column), and a fused epilogue.
//
//   acc[m, n] = Σ_k A[k, m] · B[k, n]        A is K×M, B is K×N, out is M×N
//
// This is the weight gradient dW1 = G1ᵀ·X (G1 batch×H, X batch×D), summed
// over the batch, with the SGD step fused (epilogue 3) or stored for the
// optimizer (epilogue 0). Epilogues and bindings 2–5 as in matmul_common.wgsl.
//
// Bindings: a, b (texture_2d<f32>), then bias, out, dims (M, N, K), step.
//
// Each invocation owns an 8×16 block of outputs in vec4 registers; per k it
// fetches 2 texels of A (8 values along M) and 4 of B (16 along N) and does
// 32 vec4 multiply-adds. Texels past M or N are clamped for loading (their
// outputs are skipped for storing).
// Dispatch: (ceil(N / (WG_X·16)), ceil(M / (WG_Y·8)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue).

@group(0) @binding(0) var a: texture_2d<f32>;
@group(0) @binding(1) var b: texture_2d<f32>;

fn texel(t: texture_2d<f32>, j: i32, k: i32) -> vec4<f32> {
    return textureLoad(t, vec2<i32>(j, k), 0);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 8u;
    let n0 = gid.x * 16u;
    if (m0 >= dims.m || n0 >= dims.n) {
        return;
    }
    let last_m4 = i32((dims.m - 1u) / 4u);
    let last_n4 = i32((dims.n - 1u) / 4u);
    let am0 = min(i32(m0 / 4u), last_m4);
    let am1 = min(i32(m0 / 4u) + 1, last_m4);
    let bn0 = min(i32(n0 / 4u), last_n4);
    let bn1 = min(i32(n0 / 4u) + 1, last_n4);
    let bn2 = min(i32(n0 / 4u) + 2, last_n4);
    let bn3 = min(i32(n0 / 4u) + 3, last_n4);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc4_2 = vec4<f32>(0.0);
    var acc4_3 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc5_2 = vec4<f32>(0.0);
    var acc5_3 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc6_2 = vec4<f32>(0.0);
    var acc6_3 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc7_2 = vec4<f32>(0.0);
    var acc7_3 = vec4<f32>(0.0);
    for (var k = 0; k < i32(dims.k); k++) {
        let a0 = texel(a, am0, k);
        let a1 = texel(a, am1, k);
        let b0 = texel(b, bn0, k);
        let b1 = texel(b, bn1, k);
        let b2 = texel(b, bn2, k);
        let b3 = texel(b, bn3, k);
        acc0_0 = fma(vec4<f32>(a0.x), b0, acc0_0);
        acc0_1 = fma(vec4<f32>(a0.x), b1, acc0_1);
        acc0_2 = fma(vec4<f32>(a0.x), b2, acc0_2);
        acc0_3 = fma(vec4<f32>(a0.x), b3, acc0_3);
        acc1_0 = fma(vec4<f32>(a0.y), b0, acc1_0);
        acc1_1 = fma(vec4<f32>(a0.y), b1, acc1_1);
        acc1_2 = fma(vec4<f32>(a0.y), b2, acc1_2);
        acc1_3 = fma(vec4<f32>(a0.y), b3, acc1_3);
        acc2_0 = fma(vec4<f32>(a0.z), b0, acc2_0);
        acc2_1 = fma(vec4<f32>(a0.z), b1, acc2_1);
        acc2_2 = fma(vec4<f32>(a0.z), b2, acc2_2);
        acc2_3 = fma(vec4<f32>(a0.z), b3, acc2_3);
        acc3_0 = fma(vec4<f32>(a0.w), b0, acc3_0);
        acc3_1 = fma(vec4<f32>(a0.w), b1, acc3_1);
        acc3_2 = fma(vec4<f32>(a0.w), b2, acc3_2);
        acc3_3 = fma(vec4<f32>(a0.w), b3, acc3_3);
        acc4_0 = fma(vec4<f32>(a1.x), b0, acc4_0);
        acc4_1 = fma(vec4<f32>(a1.x), b1, acc4_1);
        acc4_2 = fma(vec4<f32>(a1.x), b2, acc4_2);
        acc4_3 = fma(vec4<f32>(a1.x), b3, acc4_3);
        acc5_0 = fma(vec4<f32>(a1.y), b0, acc5_0);
        acc5_1 = fma(vec4<f32>(a1.y), b1, acc5_1);
        acc5_2 = fma(vec4<f32>(a1.y), b2, acc5_2);
        acc5_3 = fma(vec4<f32>(a1.y), b3, acc5_3);
        acc6_0 = fma(vec4<f32>(a1.z), b0, acc6_0);
        acc6_1 = fma(vec4<f32>(a1.z), b1, acc6_1);
        acc6_2 = fma(vec4<f32>(a1.z), b2, acc6_2);
        acc6_3 = fma(vec4<f32>(a1.z), b3, acc6_3);
        acc7_0 = fma(vec4<f32>(a1.w), b0, acc7_0);
        acc7_1 = fma(vec4<f32>(a1.w), b1, acc7_1);
        acc7_2 = fma(vec4<f32>(a1.w), b2, acc7_2);
        acc7_3 = fma(vec4<f32>(a1.w), b3, acc7_3);
    }
    epilogue4(m0 + 0u, n0 + 0u, acc0_0);
    epilogue4(m0 + 0u, n0 + 4u, acc0_1);
    epilogue4(m0 + 0u, n0 + 8u, acc0_2);
    epilogue4(m0 + 0u, n0 + 12u, acc0_3);
    epilogue4(m0 + 1u, n0 + 0u, acc1_0);
    epilogue4(m0 + 1u, n0 + 4u, acc1_1);
    epilogue4(m0 + 1u, n0 + 8u, acc1_2);
    epilogue4(m0 + 1u, n0 + 12u, acc1_3);
    epilogue4(m0 + 2u, n0 + 0u, acc2_0);
    epilogue4(m0 + 2u, n0 + 4u, acc2_1);
    epilogue4(m0 + 2u, n0 + 8u, acc2_2);
    epilogue4(m0 + 2u, n0 + 12u, acc2_3);
    epilogue4(m0 + 3u, n0 + 0u, acc3_0);
    epilogue4(m0 + 3u, n0 + 4u, acc3_1);
    epilogue4(m0 + 3u, n0 + 8u, acc3_2);
    epilogue4(m0 + 3u, n0 + 12u, acc3_3);
    epilogue4(m0 + 4u, n0 + 0u, acc4_0);
    epilogue4(m0 + 4u, n0 + 4u, acc4_1);
    epilogue4(m0 + 4u, n0 + 8u, acc4_2);
    epilogue4(m0 + 4u, n0 + 12u, acc4_3);
    epilogue4(m0 + 5u, n0 + 0u, acc5_0);
    epilogue4(m0 + 5u, n0 + 4u, acc5_1);
    epilogue4(m0 + 5u, n0 + 8u, acc5_2);
    epilogue4(m0 + 5u, n0 + 12u, acc5_3);
    epilogue4(m0 + 6u, n0 + 0u, acc6_0);
    epilogue4(m0 + 6u, n0 + 4u, acc6_1);
    epilogue4(m0 + 6u, n0 + 8u, acc6_2);
    epilogue4(m0 + 6u, n0 + 12u, acc6_3);
    epilogue4(m0 + 7u, n0 + 0u, acc7_0);
    epilogue4(m0 + 7u, n0 + 4u, acc7_1);
    epilogue4(m0 + 7u, n0 + 8u, acc7_2);
    epilogue4(m0 + 7u, n0 + 12u, acc7_3);
}
