// Matrix product out = Aᵀ·B with B contiguous along N, read as vec4 (N a
// multiple of 4), and a fused epilogue.
//
//   acc[m, n] = Σ_k A[k, m] · B[k, n]        A is K×M, B is K×N, out is M×N
//
// This is the weight gradient dW1 = G1ᵀ·X (G1 batch×H, X batch×D), normally
// with epilogue 3, the regularized SGD step
//   W ← W − lr·(acc + l1·sign(W) + l2·W).
// Epilogues 0–2 as in matmul.wgsl.
//
// Buffers: a (read), b (read, vec4), bias (read), out (read_write), dims
// (uniform: M, N, K), step (uniform: lr, l1, l2).
//
// Each invocation owns 8 rows × 8 columns of outputs in vec4 registers; no
// workgroup memory, no arrays indexed at run time.
// Dispatch: (ceil(N / (WG_X·8)), ceil(M / (WG_Y·8)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;

// Each invocation: 8 rows × 16 columns in vec4 registers (acc_i_q holds
// row m0+i, columns n0+4q..n0+4q+3). Per k: 8 scalars of A and 4 vec4
// of B, then 32 vec4 multiply-adds.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 8u;
    let n0 = gid.x * 16u;
    if (m0 >= dims.m || n0 >= dims.n) {
        return;
    }
    let n4 = dims.n / 4u;
    let last_m = dims.m - 1u;
    let i0 = min(m0 + 0u, last_m);
    let i1 = min(m0 + 1u, last_m);
    let i2 = min(m0 + 2u, last_m);
    let i3 = min(m0 + 3u, last_m);
    let i4 = min(m0 + 4u, last_m);
    let i5 = min(m0 + 5u, last_m);
    let i6 = min(m0 + 6u, last_m);
    let i7 = min(m0 + 7u, last_m);
    let j0 = min(n0 / 4u + 0u, n4 - 1u);
    let j1 = min(n0 / 4u + 1u, n4 - 1u);
    let j2 = min(n0 / 4u + 2u, n4 - 1u);
    let j3 = min(n0 / 4u + 3u, n4 - 1u);
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
    for (var k = 0u; k < dims.k; k++) {
        let bk = k * n4;
        let ak = k * dims.m;
        let b0 = b[bk + j0];
        let b1 = b[bk + j1];
        let b2 = b[bk + j2];
        let b3 = b[bk + j3];
        let a0 = vec4<f32>(a[ak + i0]);
        acc0_0 = fma(a0, b0, acc0_0);
        acc0_1 = fma(a0, b1, acc0_1);
        acc0_2 = fma(a0, b2, acc0_2);
        acc0_3 = fma(a0, b3, acc0_3);
        let a1 = vec4<f32>(a[ak + i1]);
        acc1_0 = fma(a1, b0, acc1_0);
        acc1_1 = fma(a1, b1, acc1_1);
        acc1_2 = fma(a1, b2, acc1_2);
        acc1_3 = fma(a1, b3, acc1_3);
        let a2 = vec4<f32>(a[ak + i2]);
        acc2_0 = fma(a2, b0, acc2_0);
        acc2_1 = fma(a2, b1, acc2_1);
        acc2_2 = fma(a2, b2, acc2_2);
        acc2_3 = fma(a2, b3, acc2_3);
        let a3 = vec4<f32>(a[ak + i3]);
        acc3_0 = fma(a3, b0, acc3_0);
        acc3_1 = fma(a3, b1, acc3_1);
        acc3_2 = fma(a3, b2, acc3_2);
        acc3_3 = fma(a3, b3, acc3_3);
        let a4 = vec4<f32>(a[ak + i4]);
        acc4_0 = fma(a4, b0, acc4_0);
        acc4_1 = fma(a4, b1, acc4_1);
        acc4_2 = fma(a4, b2, acc4_2);
        acc4_3 = fma(a4, b3, acc4_3);
        let a5 = vec4<f32>(a[ak + i5]);
        acc5_0 = fma(a5, b0, acc5_0);
        acc5_1 = fma(a5, b1, acc5_1);
        acc5_2 = fma(a5, b2, acc5_2);
        acc5_3 = fma(a5, b3, acc5_3);
        let a6 = vec4<f32>(a[ak + i6]);
        acc6_0 = fma(a6, b0, acc6_0);
        acc6_1 = fma(a6, b1, acc6_1);
        acc6_2 = fma(a6, b2, acc6_2);
        acc6_3 = fma(a6, b3, acc6_3);
        let a7 = vec4<f32>(a[ak + i7]);
        acc7_0 = fma(a7, b0, acc7_0);
        acc7_1 = fma(a7, b1, acc7_1);
        acc7_2 = fma(a7, b2, acc7_2);
        acc7_3 = fma(a7, b3, acc7_3);
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
