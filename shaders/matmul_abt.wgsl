// Matrix product out = A·Bᵀ with both operands contiguous along K, read as
// vec4 (K a multiple of 4), and a fused epilogue.
//
//   acc[m, n] = Σ_k A[m, k] · B[n, k]        A is M×K, B is N×K, out is M×N
//
// This is the forward product Z1 = X·W1ᵀ (X batch×D, W1 H×D). Epilogues as in
// matmul.wgsl: 0 store, 1 + bias[n], 2 σ(acc + bias[n]), 3 regularized SGD.
//
// Buffers: a, b (read, vec4), bias (read), out (read_write), dims (uniform:
// M, N, K), step (uniform: lr, l1, l2).
//
// Each invocation owns an 8×8 block of outputs held in vec4 registers and
// walks K four at a time with vec4 loads; no workgroup memory, no arrays
// indexed at run time (lavapipe keeps those in memory, not registers).
// Dispatch: (ceil(N / (WG_X·8)), ceil(M / (WG_Y·8)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue).

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;

fn load_row(row: u32, k: u32, k4: u32) -> vec4<f32> {
    return a[row * k4 + k];
}

// Each invocation: 8 rows × 16 columns, in vec4 registers (acc_i_q holds
// row m0+i, columns n0+4q..n0+4q+3). Per four k: 16 vec4 of B, transposed
// into 4 4×4 blocks, and 8 vec4 of A; then 32 matrix-vector products.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 8u;
    let n0 = gid.x * 16u;
    if (m0 >= dims.m || n0 >= dims.n) {
        return;
    }
    let k4 = dims.k / 4u;
    let last_m = dims.m - 1u;
    let last_n = dims.n - 1u;
    let r0 = min(m0 + 0u, last_m) * k4;
    let r1 = min(m0 + 1u, last_m) * k4;
    let r2 = min(m0 + 2u, last_m) * k4;
    let r3 = min(m0 + 3u, last_m) * k4;
    let r4 = min(m0 + 4u, last_m) * k4;
    let r5 = min(m0 + 5u, last_m) * k4;
    let r6 = min(m0 + 6u, last_m) * k4;
    let r7 = min(m0 + 7u, last_m) * k4;
    let c0 = min(n0 + 0u, last_n) * k4;
    let c1 = min(n0 + 1u, last_n) * k4;
    let c2 = min(n0 + 2u, last_n) * k4;
    let c3 = min(n0 + 3u, last_n) * k4;
    let c4 = min(n0 + 4u, last_n) * k4;
    let c5 = min(n0 + 5u, last_n) * k4;
    let c6 = min(n0 + 6u, last_n) * k4;
    let c7 = min(n0 + 7u, last_n) * k4;
    let c8 = min(n0 + 8u, last_n) * k4;
    let c9 = min(n0 + 9u, last_n) * k4;
    let c10 = min(n0 + 10u, last_n) * k4;
    let c11 = min(n0 + 11u, last_n) * k4;
    let c12 = min(n0 + 12u, last_n) * k4;
    let c13 = min(n0 + 13u, last_n) * k4;
    let c14 = min(n0 + 14u, last_n) * k4;
    let c15 = min(n0 + 15u, last_n) * k4;
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
    for (var k = 0u; k < k4; k++) {
        let bt0 = transpose(mat4x4<f32>(b[c0 + k], b[c1 + k], b[c2 + k], b[c3 + k]));
        let bt1 = transpose(mat4x4<f32>(b[c4 + k], b[c5 + k], b[c6 + k], b[c7 + k]));
        let bt2 = transpose(mat4x4<f32>(b[c8 + k], b[c9 + k], b[c10 + k], b[c11 + k]));
        let bt3 = transpose(mat4x4<f32>(b[c12 + k], b[c13 + k], b[c14 + k], b[c15 + k]));
        let a0 = a[r0 + k];
        acc0_0 += bt0 * a0;
        acc0_1 += bt1 * a0;
        acc0_2 += bt2 * a0;
        acc0_3 += bt3 * a0;
        let a1 = a[r1 + k];
        acc1_0 += bt0 * a1;
        acc1_1 += bt1 * a1;
        acc1_2 += bt2 * a1;
        acc1_3 += bt3 * a1;
        let a2 = a[r2 + k];
        acc2_0 += bt0 * a2;
        acc2_1 += bt1 * a2;
        acc2_2 += bt2 * a2;
        acc2_3 += bt3 * a2;
        let a3 = a[r3 + k];
        acc3_0 += bt0 * a3;
        acc3_1 += bt1 * a3;
        acc3_2 += bt2 * a3;
        acc3_3 += bt3 * a3;
        let a4 = a[r4 + k];
        acc4_0 += bt0 * a4;
        acc4_1 += bt1 * a4;
        acc4_2 += bt2 * a4;
        acc4_3 += bt3 * a4;
        let a5 = a[r5 + k];
        acc5_0 += bt0 * a5;
        acc5_1 += bt1 * a5;
        acc5_2 += bt2 * a5;
        acc5_3 += bt3 * a5;
        let a6 = a[r6 + k];
        acc6_0 += bt0 * a6;
        acc6_1 += bt1 * a6;
        acc6_2 += bt2 * a6;
        acc6_3 += bt3 * a6;
        let a7 = a[r7 + k];
        acc7_0 += bt0 * a7;
        acc7_1 += bt1 * a7;
        acc7_2 += bt2 * a7;
        acc7_3 += bt3 * a7;
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
