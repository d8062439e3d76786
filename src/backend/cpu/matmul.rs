//! Safe wrappers around the `gemm` crate for the three layouts the network
//! needs. Every matrix is row-major f32; the products run on the current rayon
//! pool (call them inside `ThreadPool::install` to choose the threads).

/// The one place that calls `gemm::gemm`: dst (m×n, row-major) ← dst·`keep` +
/// lhs·rhs, where lhs (m×k) and rhs (k×n) are described by their column and
/// row strides. `keep` is 0 (overwrite) or 1 (accumulate).
#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    (lhs_cs, lhs_rs): (usize, usize),
    rhs: &[f32],
    (rhs_cs, rhs_rs): (usize, usize),
) {
    assert_eq!(dst.len(), m * n, "matmul: destination is not {m}×{n}");
    assert_eq!(lhs.len(), m * k, "matmul: left factor is not {m}×{k}");
    assert_eq!(rhs.len(), k * n, "matmul: right factor is not {k}×{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    // SAFETY: the asserts above make every index gemm forms from (m, n, k) and
    // the strides land inside the three slices (the strides describe dense
    // row-major or transposed row-major matrices of exactly those sizes), and
    // `dst` is a unique borrow that does not alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

/// C ← [C +] A·Bᵀ: A is m×k, B is n×k, C is m×n.
pub(crate) fn a_bt(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, c: &mut [f32], acc: bool) {
    // A[i, l] = a[i·k + l]; Bᵀ[l, j] = b[j·k + l].
    product(m, n, k, c, acc, a, (1, k), b, (k, 1));
}

/// C ← A·B: A is m×k, B is k×n, C is m×n.
pub(crate) fn a_b(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, c: &mut [f32]) {
    product(m, n, k, c, false, a, (1, k), b, (1, n));
}

/// C ← Aᵀ·B: A is k×m, B is k×n, C is m×n.
pub(crate) fn at_b(a: &[f32], b: &[f32], k: usize, m: usize, n: usize, c: &mut [f32]) {
    // Aᵀ[i, l] = a[l·m + i].
    product(m, n, k, c, false, a, (m, 1), b, (1, n));
}
