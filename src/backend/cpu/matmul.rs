//! Safe wrappers around the `gemm` crate for the layouts the network needs.
//! Every matrix is row-major f32 (or a block of columns of one). With
//! [`Threads::Pool`] a product splits over the current rayon pool (call it
//! inside `ThreadPool::install` to choose the threads); with
//! [`Threads::One`] it runs on the calling thread, for callers that already
//! split the work themselves.

/// Where a product runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// On the calling thread only.
    One,
    /// Over every thread of the current rayon pool.
    Pool,
}

/// What a product does with its destination: dst ← keep·dst + scale·lhs·rhs,
/// or dst ← scale·lhs·rhs when `keep` is `None` (dst is then not read).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Update {
    pub keep: Option<f32>,
    pub scale: f32,
}

impl Update {
    /// dst ← lhs·rhs.
    pub const OVERWRITE: Update = Update {
        keep: None,
        scale: 1.0,
    };
    /// dst ← dst + lhs·rhs.
    pub const ADD: Update = Update {
        keep: Some(1.0),
        scale: 1.0,
    };
}

/// A rows×cols matrix inside `data`: element (i, j) is
/// `data[offset + i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Strided<'a> {
    /// A dense row-major rows×cols matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Strided {
            data,
            offset: 0,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a dense row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Strided {
            data,
            offset: 0,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// Panics unless every element of a rows×cols view lies inside `data`.
    fn check(&self, rows: usize, cols: usize, what: &str) {
        let last = self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
        assert!(
            last < self.data.len(),
            "matmul: {what} ({rows}×{cols}, strides {}/{}) overruns {} elements",
            self.row_stride,
            self.col_stride,
            self.data.len()
        );
    }
}

/// dst (m×n, row stride `dst_row_stride`, columns contiguous) ← [keep·dst +]
/// scale·lhs·rhs as `update` says, where lhs is m×k and rhs is k×n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_row_stride: usize,
    update: Update,
    lhs: Strided,
    rhs: Strided,
    threads: Threads,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(dst_row_stride >= n, "matmul: destination rows overlap");
    assert!(
        (m - 1) * dst_row_stride + n <= dst.len(),
        "matmul: destination ({m}×{n}, row stride {dst_row_stride}) overruns {} elements",
        dst.len()
    );
    if k == 0 {
        // The product is empty: dst ← keep·dst, or zero when overwritten.
        for row in dst.chunks_mut(dst_row_stride).take(m) {
            match update.keep {
                Some(keep) => row[..n].iter_mut().for_each(|v| *v *= keep),
                None => row[..n].fill(0.0),
            }
        }
        return;
    }
    lhs.check(m, k, "left factor");
    rhs.check(k, n, "right factor");
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Pool => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the checks above keep every index gemm forms from (m, n, k), the
    // offsets and the strides inside the three slices, and `dst` is a unique
    // borrow, so it aliases neither factor.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            update.keep.is_some(),
            lhs.data.as_ptr().add(lhs.offset),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            update.keep.unwrap_or(1.0),
            update.scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// C ← [C +] A·Bᵀ: A is m×k, B is n×k, C is m×n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn a_bt(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    c: &mut [f32],
    acc: bool,
    threads: Threads,
) {
    assert_eq!(c.len(), m * n, "matmul: C is not {m}×{n}");
    assert_eq!(a.len(), m * k, "matmul: A is not {m}×{k}");
    assert_eq!(b.len(), n * k, "matmul: B is not {n}×{k}");
    let (a, bt) = (Strided::rows(a, k), Strided::transposed(b, k));
    let update = if acc { Update::ADD } else { Update::OVERWRITE };
    product(m, n, k, c, n, update, a, bt, threads);
}

/// C ← A·B: A is m×k, B is k×n, C is m×n.
pub(crate) fn a_b(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    c: &mut [f32],
    threads: Threads,
) {
    assert_eq!(c.len(), m * n, "matmul: C is not {m}×{n}");
    assert_eq!(a.len(), m * k, "matmul: A is not {m}×{k}");
    assert_eq!(b.len(), k * n, "matmul: B is not {k}×{n}");
    product(
        m,
        n,
        k,
        c,
        n,
        Update::OVERWRITE,
        Strided::rows(a, k),
        Strided::rows(b, n),
        threads,
    );
}

/// C ← Aᵀ·B: A is k×m, B is k×n, C is m×n.
pub(crate) fn at_b(
    a: &[f32],
    b: &[f32],
    k: usize,
    m: usize,
    n: usize,
    c: &mut [f32],
    threads: Threads,
) {
    assert_eq!(c.len(), m * n, "matmul: C is not {m}×{n}");
    assert_eq!(a.len(), k * m, "matmul: A is not {k}×{m}");
    assert_eq!(b.len(), k * n, "matmul: B is not {k}×{n}");
    let at = Strided::transposed(a, m);
    product(
        m,
        n,
        k,
        c,
        n,
        Update::OVERWRITE,
        at,
        Strided::rows(b, n),
        threads,
    );
}
