// Register-blocked matrix product with a fused epilogue.
//
//   acc[m, n] = Σ_k A(m, k) · B(n, k)          m < M, n < N, k < K
//   A(m, k) = a[m·a_m + k·a_k]                 (strides make Xᵀ free: the
//   B(n, k) = b[n·b_n + k·b_k]                  same kernel computes X·Wᵀ and Gᵀ·X)
//
// Epilogue (override constant EPILOGUE), writing out[m·N + n]:
//   0  out = acc
//   1  out = acc + bias[n]                                  (Z2 = A1·W2ᵀ + b2)
//   2  out = σ(acc + bias[n])                               (A1 = σ(X·W1ᵀ + b1))
//   3  out = out − lr·(acc + l1·sign(out) + l2·out)         (regularized SGD:
//                                                            W ← W − lr·dW, dW = Gᵀ·X + l1·sign W + l2·W)
//
// Buffers: a, b, bias (read; bias unused by epilogues 0 and 3), out (read_write),
// dims (uniform: M, N, K and the four strides), step (uniform: lr, l1, l2).
//
// Each invocation computes a TM×TN block of outputs with scalar loads and no
// workgroup memory (on lavapipe, where one invocation is one SIMD lane, this
// beats shared-memory tiles). Indices past M or N are clamped for loading and
// skipped for storing, so any size works.
// Dispatch: (ceil(N / (WG_X·TN)), ceil(M / (WG_Y·TM)), 1).

// Prepended: matmul_common.wgsl (sizes, step, bindings 2–5, epilogue).

const TM: u32 = 4u;
const TN: u32 = 4u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * TM;
    let n0 = gid.x * TN;
    if (m0 >= dims.m || n0 >= dims.n) {
        return;
    }

    // Row and column base offsets, clamped into range for loading.
    var a_base: array<u32, TM>;
    for (var i = 0u; i < TM; i++) {
        a_base[i] = min(m0 + i, dims.m - 1u) * dims.a_m;
    }
    var b_base: array<u32, TN>;
    for (var j = 0u; j < TN; j++) {
        b_base[j] = min(n0 + j, dims.n - 1u) * dims.b_n;
    }

    var acc: array<f32, TM * TN>;
    for (var k = 0u; k < dims.k; k++) {
        let ak = k * dims.a_k;
        let bk = k * dims.b_k;
        var av: array<f32, TM>;
        for (var i = 0u; i < TM; i++) {
            av[i] = a[a_base[i] + ak];
        }
        var bv: array<f32, TN>;
        for (var j = 0u; j < TN; j++) {
            bv[j] = b[b_base[j] + bk];
        }
        for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) {
                acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
            }
        }
    }

    for (var i = 0u; i < TM; i++) {
        let m = m0 + i;
        if (m >= dims.m) {
            break;
        }
        for (var j = 0u; j < TN; j++) {
            let n = n0 + j;
            if (n >= dims.n) {
                break;
            }
            epilogue(m, n, acc[i * TN + j]);
        }
    }
}
