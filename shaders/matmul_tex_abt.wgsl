// Matrix product out = A·Bᵀ with both operands read from rgba32float
// textures (texel (j, i) = row i, columns 4j..4j+3, zero past K), and a fused
// epilogue.
//
//   acc[m, n] = Σ_k A[m, k] · B[n, k]        A is M×K, B is N×K, out is M×N
//
// This is the forward product Z1 = X·W1ᵀ (X batch×D, W1 H×D). Epilogues as in
// matmul_common.wgsl: 0 store, 1 + bias[n], 2 σ(acc + bias[n]), 3 regularized SGD.
//
// Bindings: a, b (texture_2d<f32>), then bias, out, dims (M, N, K), step as in
// matmul_common.wgsl, then out_texture (texture_storage_2d<rgba32float>).
// With OUT_TEXTURE = 1 the results go to out_texture instead of out, four
// columns a texel, zeros past N (A1 = σ(X·W1ᵀ + b1), read by the next
// products as a texture); epilogues 0–2 only.
//
// Each invocation owns an 8×16 block of outputs in vec4 registers and walks K
// one texel (four k) at a time: 8 texels of A, 16 of B (transposed into four
// 4×4 blocks), 32 matrix-vector products. Texel fetches, unlike storage-buffer
// loads, are vectorized across SIMD lanes by lavapipe, and cached by GPUs.
// Rows past M or N are clamped for loading and skipped for storing.
// Dispatch: (ceil(N / (WG_X·16)), ceil(M / (WG_Y·8)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue) and
// matmul_tex_out.wgsl (bindings a, b, out_texture; store4, texel).

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 8u;
    let n0 = gid.x * 16u;
    if (m0 >= dims.m || n0 >= dims.n) {
        return;
    }
    let k4 = i32((dims.k + 3u) / 4u);
    let last_m = i32(dims.m - 1u);
    let last_n = i32(dims.n - 1u);
    let r0 = min(i32(m0) + 0, last_m);
    let r1 = min(i32(m0) + 1, last_m);
    let r2 = min(i32(m0) + 2, last_m);
    let r3 = min(i32(m0) + 3, last_m);
    let r4 = min(i32(m0) + 4, last_m);
    let r5 = min(i32(m0) + 5, last_m);
    let r6 = min(i32(m0) + 6, last_m);
    let r7 = min(i32(m0) + 7, last_m);
    let c0 = min(i32(n0) + 0, last_n);
    let c1 = min(i32(n0) + 1, last_n);
    let c2 = min(i32(n0) + 2, last_n);
    let c3 = min(i32(n0) + 3, last_n);
    let c4 = min(i32(n0) + 4, last_n);
    let c5 = min(i32(n0) + 5, last_n);
    let c6 = min(i32(n0) + 6, last_n);
    let c7 = min(i32(n0) + 7, last_n);
    let c8 = min(i32(n0) + 8, last_n);
    let c9 = min(i32(n0) + 9, last_n);
    let c10 = min(i32(n0) + 10, last_n);
    let c11 = min(i32(n0) + 11, last_n);
    let c12 = min(i32(n0) + 12, last_n);
    let c13 = min(i32(n0) + 13, last_n);
    let c14 = min(i32(n0) + 14, last_n);
    let c15 = min(i32(n0) + 15, last_n);
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
    for (var k = 0; k < k4; k++) {
        let bt0 = transpose(mat4x4<f32>(texel(b, k, c0), texel(b, k, c1), texel(b, k, c2), texel(b, k, c3)));
        let bt1 = transpose(mat4x4<f32>(texel(b, k, c4), texel(b, k, c5), texel(b, k, c6), texel(b, k, c7)));
        let bt2 = transpose(mat4x4<f32>(texel(b, k, c8), texel(b, k, c9), texel(b, k, c10), texel(b, k, c11)));
        let bt3 = transpose(mat4x4<f32>(texel(b, k, c12), texel(b, k, c13), texel(b, k, c14), texel(b, k, c15)));
        let a0 = texel(a, k, r0);
        acc0_0 += bt0 * a0;
        acc0_1 += bt1 * a0;
        acc0_2 += bt2 * a0;
        acc0_3 += bt3 * a0;
        let a1 = texel(a, k, r1);
        acc1_0 += bt0 * a1;
        acc1_1 += bt1 * a1;
        acc1_2 += bt2 * a1;
        acc1_3 += bt3 * a1;
        let a2 = texel(a, k, r2);
        acc2_0 += bt0 * a2;
        acc2_1 += bt1 * a2;
        acc2_2 += bt2 * a2;
        acc2_3 += bt3 * a2;
        let a3 = texel(a, k, r3);
        acc3_0 += bt0 * a3;
        acc3_1 += bt1 * a3;
        acc3_2 += bt2 * a3;
        acc3_3 += bt3 * a3;
        let a4 = texel(a, k, r4);
        acc4_0 += bt0 * a4;
        acc4_1 += bt1 * a4;
        acc4_2 += bt2 * a4;
        acc4_3 += bt3 * a4;
        let a5 = texel(a, k, r5);
        acc5_0 += bt0 * a5;
        acc5_1 += bt1 * a5;
        acc5_2 += bt2 * a5;
        acc5_3 += bt3 * a5;
        let a6 = texel(a, k, r6);
        acc6_0 += bt0 * a6;
        acc6_1 += bt1 * a6;
        acc6_2 += bt2 * a6;
        acc6_3 += bt3 * a6;
        let a7 = texel(a, k, r7);
        acc7_0 += bt0 * a7;
        acc7_1 += bt1 * a7;
        acc7_2 += bt2 * a7;
        acc7_3 += bt3 * a7;
    }
    store4(m0 + 0u, n0 + 0u, acc0_0);
    store4(m0 + 0u, n0 + 4u, acc0_1);
    store4(m0 + 0u, n0 + 8u, acc0_2);
    store4(m0 + 0u, n0 + 12u, acc0_3);
    store4(m0 + 1u, n0 + 0u, acc1_0);
    store4(m0 + 1u, n0 + 4u, acc1_1);
    store4(m0 + 1u, n0 + 8u, acc1_2);
    store4(m0 + 1u, n0 + 12u, acc1_3);
    store4(m0 + 2u, n0 + 0u, acc2_0);
    store4(m0 + 2u, n0 + 4u, acc2_1);
    store4(m0 + 2u, n0 + 8u, acc2_2);
    store4(m0 + 2u, n0 + 12u, acc2_3);
    store4(m0 + 3u, n0 + 0u, acc3_0);
    store4(m0 + 3u, n0 + 4u, acc3_1);
    store4(m0 + 3u, n0 + 8u, acc3_2);
    store4(m0 + 3u, n0 + 12u, acc3_3);
    store4(m0 + 4u, n0 + 0u, acc4_0);
    store4(m0 + 4u, n0 + 4u, acc4_1);
    store4(m0 + 4u, n0 + 8u, acc4_2);
    store4(m0 + 4u, n0 + 12u, acc4_3);
    store4(m0 + 5u, n0 + 0u, acc5_0);
    store4(m0 + 5u, n0 + 4u, acc5_1);
    store4(m0 + 5u, n0 + 8u, acc5_2);
    store4(m0 + 5u, n0 + 12u, acc5_3);
    store4(m0 + 6u, n0 + 0u, acc6_0);
    store4(m0 + 6u, n0 + 4u, acc6_1);
    store4(m0 + 6u, n0 + 8u, acc6_2);
    store4(m0 + 6u, n0 + 12u, acc6_3);
    store4(m0 + 7u, n0 + 0u, acc7_0);
    store4(m0 + 7u, n0 + 4u, acc7_1);
    store4(m0 + 7u, n0 + 8u, acc7_2);
    store4(m0 + 7u, n0 + 12u, acc7_3);
}
