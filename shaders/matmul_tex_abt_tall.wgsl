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
// matmul_tex_abt.wgsl with the block turned: each invocation owns a 16×8
// block of outputs (16 rows of A × 8 rows of B) in vec4 registers and walks K
// one texel (four k) at a time: 16 texels of A, 8 of B (transposed into two
// 4×4 blocks), 32 matrix-vector products — the loads per product of the 8×16
// block, but N is covered in steps of 8 instead of 16 (for H = 50 hidden
// units, 56 columns computed instead of 64). Chosen by
// MatmulKind::for_hidden when that computes fewer columns. Bindings, store4
// and texel are shared with it (matmul_tex_out.wgsl).
// Rows past M or N are clamped for loading and skipped for storing.
// Dispatch: (ceil(N / (WG_X·8)), ceil(M / (WG_Y·16)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue) and
// matmul_tex_out.wgsl (bindings a, b, out_texture; store4, texel).

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 16u;
    let n0 = gid.x * 8u;
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
    let r8 = min(i32(m0) + 8, last_m);
    let r9 = min(i32(m0) + 9, last_m);
    let r10 = min(i32(m0) + 10, last_m);
    let r11 = min(i32(m0) + 11, last_m);
    let r12 = min(i32(m0) + 12, last_m);
    let r13 = min(i32(m0) + 13, last_m);
    let r14 = min(i32(m0) + 14, last_m);
    let r15 = min(i32(m0) + 15, last_m);
    let c0 = min(i32(n0) + 0, last_n);
    let c1 = min(i32(n0) + 1, last_n);
    let c2 = min(i32(n0) + 2, last_n);
    let c3 = min(i32(n0) + 3, last_n);
    let c4 = min(i32(n0) + 4, last_n);
    let c5 = min(i32(n0) + 5, last_n);
    let c6 = min(i32(n0) + 6, last_n);
    let c7 = min(i32(n0) + 7, last_n);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc8_0 = vec4<f32>(0.0);
    var acc8_1 = vec4<f32>(0.0);
    var acc9_0 = vec4<f32>(0.0);
    var acc9_1 = vec4<f32>(0.0);
    var acc10_0 = vec4<f32>(0.0);
    var acc10_1 = vec4<f32>(0.0);
    var acc11_0 = vec4<f32>(0.0);
    var acc11_1 = vec4<f32>(0.0);
    var acc12_0 = vec4<f32>(0.0);
    var acc12_1 = vec4<f32>(0.0);
    var acc13_0 = vec4<f32>(0.0);
    var acc13_1 = vec4<f32>(0.0);
    var acc14_0 = vec4<f32>(0.0);
    var acc14_1 = vec4<f32>(0.0);
    var acc15_0 = vec4<f32>(0.0);
    var acc15_1 = vec4<f32>(0.0);
    for (var k = 0; k < k4; k++) {
        let bt0 = transpose(mat4x4<f32>(texel(b, k, c0), texel(b, k, c1), texel(b, k, c2), texel(b, k, c3)));
        let bt1 = transpose(mat4x4<f32>(texel(b, k, c4), texel(b, k, c5), texel(b, k, c6), texel(b, k, c7)));
        let a0 = texel(a, k, r0);
        acc0_0 += bt0 * a0;
        acc0_1 += bt1 * a0;
        let a1 = texel(a, k, r1);
        acc1_0 += bt0 * a1;
        acc1_1 += bt1 * a1;
        let a2 = texel(a, k, r2);
        acc2_0 += bt0 * a2;
        acc2_1 += bt1 * a2;
        let a3 = texel(a, k, r3);
        acc3_0 += bt0 * a3;
        acc3_1 += bt1 * a3;
        let a4 = texel(a, k, r4);
        acc4_0 += bt0 * a4;
        acc4_1 += bt1 * a4;
        let a5 = texel(a, k, r5);
        acc5_0 += bt0 * a5;
        acc5_1 += bt1 * a5;
        let a6 = texel(a, k, r6);
        acc6_0 += bt0 * a6;
        acc6_1 += bt1 * a6;
        let a7 = texel(a, k, r7);
        acc7_0 += bt0 * a7;
        acc7_1 += bt1 * a7;
        let a8 = texel(a, k, r8);
        acc8_0 += bt0 * a8;
        acc8_1 += bt1 * a8;
        let a9 = texel(a, k, r9);
        acc9_0 += bt0 * a9;
        acc9_1 += bt1 * a9;
        let a10 = texel(a, k, r10);
        acc10_0 += bt0 * a10;
        acc10_1 += bt1 * a10;
        let a11 = texel(a, k, r11);
        acc11_0 += bt0 * a11;
        acc11_1 += bt1 * a11;
        let a12 = texel(a, k, r12);
        acc12_0 += bt0 * a12;
        acc12_1 += bt1 * a12;
        let a13 = texel(a, k, r13);
        acc13_0 += bt0 * a13;
        acc13_1 += bt1 * a13;
        let a14 = texel(a, k, r14);
        acc14_0 += bt0 * a14;
        acc14_1 += bt1 * a14;
        let a15 = texel(a, k, r15);
        acc15_0 += bt0 * a15;
        acc15_1 += bt1 * a15;
    }
    store4(m0 + 0u, n0 + 0u, acc0_0);
    store4(m0 + 0u, n0 + 4u, acc0_1);
    store4(m0 + 1u, n0 + 0u, acc1_0);
    store4(m0 + 1u, n0 + 4u, acc1_1);
    store4(m0 + 2u, n0 + 0u, acc2_0);
    store4(m0 + 2u, n0 + 4u, acc2_1);
    store4(m0 + 3u, n0 + 0u, acc3_0);
    store4(m0 + 3u, n0 + 4u, acc3_1);
    store4(m0 + 4u, n0 + 0u, acc4_0);
    store4(m0 + 4u, n0 + 4u, acc4_1);
    store4(m0 + 5u, n0 + 0u, acc5_0);
    store4(m0 + 5u, n0 + 4u, acc5_1);
    store4(m0 + 6u, n0 + 0u, acc6_0);
    store4(m0 + 6u, n0 + 4u, acc6_1);
    store4(m0 + 7u, n0 + 0u, acc7_0);
    store4(m0 + 7u, n0 + 4u, acc7_1);
    store4(m0 + 8u, n0 + 0u, acc8_0);
    store4(m0 + 8u, n0 + 4u, acc8_1);
    store4(m0 + 9u, n0 + 0u, acc9_0);
    store4(m0 + 9u, n0 + 4u, acc9_1);
    store4(m0 + 10u, n0 + 0u, acc10_0);
    store4(m0 + 10u, n0 + 4u, acc10_1);
    store4(m0 + 11u, n0 + 0u, acc11_0);
    store4(m0 + 11u, n0 + 4u, acc11_1);
    store4(m0 + 12u, n0 + 0u, acc12_0);
    store4(m0 + 12u, n0 + 4u, acc12_1);
    store4(m0 + 13u, n0 + 0u, acc13_0);
    store4(m0 + 13u, n0 + 4u, acc13_1);
    store4(m0 + 14u, n0 + 0u, acc14_0);
    store4(m0 + 14u, n0 + 4u, acc14_1);
    store4(m0 + 15u, n0 + 0u, acc15_0);
    store4(m0 + 15u, n0 + 4u, acc15_1);
}
