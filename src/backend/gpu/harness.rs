//! Runs one kernel on host data and returns its output: what the kernel tests
//! compare with the CPU reference, and what the per-kernel benchmarks time.
//! Buffers are made per call; the training path never uses this module.

use anyhow::Result;

use super::buffers::{read_back, read_f32, storage, storage_init, uniform_init};
use super::context::GpuContext;
use super::pipelines::{Epilogue, Kernel, MatmulKind, Pipelines};
use super::plan::{matmul_groups, optimizer_groups};
use super::textures::{texels, RowsTexture};
use super::uniforms::{
    Batch, ColumnDims, Correction, DeltaDims, MatmulDims, RuleConstants, Step, Tensor,
};

fn submit(
    ctx: &GpuContext,
    kernel: &Kernel,
    buffers: &[&wgpu::Buffer],
    groups: [u32; 2],
    dynamic: bool,
    repeat: usize,
) -> Result<()> {
    let group = kernel.bind(ctx, kernel.name, buffers, dynamic.then_some(16));
    submit_group(ctx, kernel, &group, groups, dynamic, repeat)
}

/// [`submit`] with a bind group made by the caller (textures among the bindings).
fn submit_resources(
    ctx: &GpuContext,
    kernel: &Kernel,
    resources: &[wgpu::BindingResource],
    groups: [u32; 2],
    repeat: usize,
) -> Result<()> {
    let group = kernel.bind_resources(ctx, kernel.name, resources);
    submit_group(ctx, kernel, &group, groups, false, repeat)
}

fn submit_group(
    ctx: &GpuContext,
    kernel: &Kernel,
    group: &wgpu::BindGroup,
    groups: [u32; 2],
    dynamic: bool,
    repeat: usize,
) -> Result<()> {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some(kernel.name),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.name),
            timestamp_writes: None,
        });
        pass.set_pipeline(&kernel.pipeline);
        let offsets: &[u32] = if dynamic { &[0] } else { &[] };
        pass.set_bind_group(0, group, offsets);
        for _ in 0..repeat {
            pass.dispatch_workgroups(groups[0], groups[1], 1);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait(kernel.name)
}

fn f32s(ctx: &GpuContext, label: &str, v: &[f32]) -> wgpu::Buffer {
    storage_init(ctx, label, bytemuck::cast_slice(v))
}

/// The identity order of `n` images, or `order`, as a storage buffer.
fn order_buffer(ctx: &GpuContext, order: Option<&[u32]>, n: usize) -> wgpu::Buffer {
    let identity: Vec<u32>;
    let order = match order {
        Some(order) => order,
        None => {
            identity = (0..n as u32).collect();
            &identity
        }
    };
    storage_init(ctx, "order", bytemuck::cast_slice(order))
}

/// `standardize.wgsl` over positions `row_offset..row_offset + rows` of the
/// epoch `order` (`None`: the images in order) of `pixels`, stored in chunks
/// of `chunk_images` images (at most four).
#[allow(clippy::too_many_arguments)]
pub fn standardize(
    ctx: &GpuContext,
    k: &Pipelines,
    pixels: &[u8],
    mean: &[f32],
    inv_std: &[f32],
    order: Option<&[u32]>,
    row_offset: usize,
    rows: usize,
    chunk_images: usize,
) -> Result<Vec<f32>> {
    let d = mean.len();
    let o = order_buffer(ctx, order, pixels.len() / d.max(1));
    let chunks: Vec<wgpu::Buffer> = pixels
        .chunks(chunk_images * d)
        .map(|c| storage_init(ctx, "pixels chunk", c))
        .collect();
    anyhow::ensure!(
        (1..=4).contains(&chunks.len()),
        "{} pixel chunks; the kernel binds 1 to 4",
        chunks.len()
    );
    let chunk = |i: usize| &chunks[i.min(chunks.len() - 1)];
    let x = RowsTexture::new(ctx, "x", rows, d);
    let batch = Batch {
        row_offset: row_offset as u32,
        rows: rows as u32,
        width: d as u32,
        chunk_images: chunk_images as u32,
    };
    let u = uniform_init(ctx, "batch", bytemuck::bytes_of(&batch));
    let stats = RowsTexture::from_rows(ctx, "stats", &[mean, inv_std].concat(), 2, d);
    let x_storage = x.storage_view();
    let kernel = k.standardize_for(chunks.len());
    let group = kernel.bind_resources(
        ctx,
        "standardize",
        &[
            chunk(0).as_entire_binding(),
            chunk(1).as_entire_binding(),
            chunk(2).as_entire_binding(),
            chunk(3).as_entire_binding(),
            wgpu::BindingResource::TextureView(&stats.view),
            o.as_entire_binding(),
            wgpu::BindingResource::TextureView(&x_storage),
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &u,
                offset: 0,
                size: wgpu::BufferSize::new(16),
            }),
        ],
    );
    submit_group(
        ctx,
        kernel,
        &group,
        [(texels(d) as u32).div_ceil(64), rows as u32],
        true,
        1,
    )?;
    // The padding texels must hold zeros: the products sum over them.
    let padded = x.read_padded(ctx, rows, "standardize")?;
    let width = texels(d) * 4;
    anyhow::ensure!(
        padded
            .chunks(width)
            .all(|row| row[d..].iter().all(|&v| v == 0.0)),
        "standardize wrote non-zero padding"
    );
    Ok(padded
        .chunks(width)
        .flat_map(|row| row[..d].iter().copied())
        .collect())
}

/// The `kind` of matmul kernel with `epilogue`; `out` is the initial output (read by the
/// SGD epilogue), `step` its lr, l1, l2. Runs the dispatch `repeat` times.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    ctx: &GpuContext,
    k: &Pipelines,
    kind: MatmulKind,
    epilogue: Epilogue,
    dims: MatmulDims,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    out: &[f32],
    step: Step,
    repeat: usize,
) -> Result<Vec<f32>> {
    let (biasb, outb) = (f32s(ctx, "bias", bias), f32s(ctx, "out", out));
    let d = uniform_init(ctx, "dims", bytemuck::bytes_of(&dims));
    let s = uniform_init(ctx, "step", bytemuck::bytes_of(&step));
    let (m, n, kk) = (dims.m as usize, dims.n as usize, dims.k as usize);
    let textures = match kind {
        MatmulKind::TexABt | MatmulKind::TexABtTall => Some(((m, kk), (n, kk))),
        MatmulKind::TexAtB => Some(((kk, m), (kk, n))),
        _ => None,
    };
    match textures {
        Some(((ar, ac), (br, bc))) => {
            let at = RowsTexture::from_rows(ctx, "a", a, ar, ac);
            let bt = RowsTexture::from_rows(ctx, "b", b, br, bc);
            let unused = RowsTexture::new(ctx, "unused", 1, 4);
            let unused_storage = unused.storage_view();
            let mut resources = vec![
                wgpu::BindingResource::TextureView(&at.view),
                wgpu::BindingResource::TextureView(&bt.view),
                biasb.as_entire_binding(),
                outb.as_entire_binding(),
                d.as_entire_binding(),
                s.as_entire_binding(),
            ];
            if matches!(kind, MatmulKind::TexABt | MatmulKind::TexABtTall) {
                resources.push(wgpu::BindingResource::TextureView(&unused_storage));
            }
            submit_resources(
                ctx,
                k.matmul(kind, epilogue),
                &resources,
                matmul_groups(kind, &dims),
                repeat,
            )?;
        }
        None => {
            let (ab, bb) = (f32s(ctx, "a", a), f32s(ctx, "b", b));
            submit(
                ctx,
                k.matmul(kind, epilogue),
                &[&ab, &bb, &biasb, &outb, &d, &s],
                matmul_groups(kind, &dims),
                false,
                repeat,
            )?;
        }
    }
    read_f32(ctx, &outb, out.len(), "matmul")
}

/// What `softmax_cross_entropy.wgsl` writes: G2 (rows × C), and each row's
/// loss and arg-max (indexed from `row_offset` in the whole set).
pub struct SoftmaxOut {
    pub g2: Vec<f32>,
    pub loss: Vec<f32>,
    pub predicted: Vec<u32>,
}

/// `softmax_cross_entropy.wgsl` on one batch of `rows` rows of Z2 at epoch
/// positions from `row_offset` of `order` (`None`: the images in order).
#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy(
    ctx: &GpuContext,
    k: &Pipelines,
    z2: &[f32],
    labels: &[u32],
    order: Option<&[u32]>,
    row_offset: usize,
    rows: usize,
    classes: usize,
) -> Result<SoftmaxOut> {
    let n = labels.len();
    let o = order_buffer(ctx, order, n);
    let (z, l) = (
        f32s(ctx, "z2", z2),
        storage_init(ctx, "labels", bytemuck::cast_slice(labels)),
    );
    let g2 = storage(ctx, "g2", (rows * classes * 4) as u64);
    let loss = storage(ctx, "loss", (n * 4) as u64);
    let pred = storage(ctx, "predicted", (n * 4) as u64);
    let batch = Batch {
        row_offset: row_offset as u32,
        rows: rows as u32,
        width: classes as u32,
        chunk_images: 0,
    };
    let u = uniform_init(ctx, "batch", bytemuck::bytes_of(&batch));
    let g2_texture = RowsTexture::new(ctx, "g2 texture", rows, classes);
    let g2_storage = g2_texture.storage_view();
    let group = k.softmax_cross_entropy.bind_resources(
        ctx,
        "softmax_cross_entropy",
        &[
            z.as_entire_binding(),
            l.as_entire_binding(),
            o.as_entire_binding(),
            g2.as_entire_binding(),
            loss.as_entire_binding(),
            pred.as_entire_binding(),
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &u,
                offset: 0,
                size: wgpu::BufferSize::new(16),
            }),
            wgpu::BindingResource::TextureView(&g2_storage),
        ],
    );
    submit_group(
        ctx,
        &k.softmax_cross_entropy,
        &group,
        [(rows as u32).div_ceil(64), 1],
        true,
        1,
    )?;
    let g2 = read_f32(ctx, &g2, rows * classes, "softmax")?;
    same_as_texture(ctx, &g2_texture, &g2, rows, classes, "softmax G2")?;
    Ok(SoftmaxOut {
        g2,
        loss: read_f32(ctx, &loss, n, "softmax")?,
        predicted: bytemuck::pod_collect_to_vec(&read_back(ctx, &pred, (n * 4) as u64, "softmax")?),
    })
}

/// `hidden_delta.wgsl`: G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1).
#[allow(clippy::too_many_arguments)]
pub fn hidden_delta(
    ctx: &GpuContext,
    k: &Pipelines,
    g2: &[f32],
    w2: &[f32],
    a1: &[f32],
    rows: usize,
    hidden: usize,
    classes: usize,
) -> Result<Vec<f32>> {
    let (g, w, a) = (
        RowsTexture::from_rows(ctx, "g2", g2, rows, classes),
        RowsTexture::from_rows(ctx, "w2", w2, classes, hidden),
        RowsTexture::from_rows(ctx, "a1", a1, rows, hidden),
    );
    let g1 = storage(ctx, "g1", (rows * hidden * 4) as u64);
    let g1_texture = RowsTexture::new(ctx, "g1 texture", rows, hidden);
    let dims = DeltaDims {
        rows: rows as u32,
        hidden: hidden as u32,
        classes: classes as u32,
        _pad: 0,
    };
    let u = uniform_init(ctx, "dims", bytemuck::bytes_of(&dims));
    let g1_storage = g1_texture.storage_view();
    submit_resources(
        ctx,
        &k.hidden_delta,
        &[
            wgpu::BindingResource::TextureView(&g.view),
            wgpu::BindingResource::TextureView(&w.view),
            wgpu::BindingResource::TextureView(&a.view),
            g1.as_entire_binding(),
            wgpu::BindingResource::TextureView(&g1_storage),
            u.as_entire_binding(),
        ],
        [(texels(hidden) as u32).div_ceil(64), rows as u32],
        1,
    )?;
    let from_buffer = read_f32(ctx, &g1, rows * hidden, "hidden_delta")?;
    same_as_texture(
        ctx,
        &g1_texture,
        &from_buffer,
        rows,
        hidden,
        "hidden_delta G1",
    )?;
    Ok(from_buffer)
}

/// Fails unless `texture` holds exactly `values` (rows×cols), zero-padded.
fn same_as_texture(
    ctx: &GpuContext,
    texture: &RowsTexture,
    values: &[f32],
    rows: usize,
    cols: usize,
    what: &str,
) -> Result<()> {
    let padded = texture.read_padded(ctx, rows, what)?;
    let width = texels(cols) * 4;
    for (r, row) in padded.chunks(width).enumerate() {
        anyhow::ensure!(
            row[..cols] == values[r * cols..(r + 1) * cols]
                && row[cols..].iter().all(|&v| v == 0.0),
            "{what}: the texture's row {r} differs from the buffer's or has non-zero padding"
        );
    }
    Ok(())
}

/// `bias_update.wgsl`: b ← b − lr·Σᵢ G[i], or with `store_gradient` (MODE 1)
/// b = Σᵢ G[i].
pub fn bias_update(
    ctx: &GpuContext,
    k: &Pipelines,
    g: &[f32],
    b: &[f32],
    rows: usize,
    lr: f32,
    store_gradient: bool,
) -> Result<Vec<f32>> {
    let cols = b.len();
    let (gb, bb) = (f32s(ctx, "g", g), f32s(ctx, "b", b));
    let dims = ColumnDims {
        rows: rows as u32,
        cols: cols as u32,
        _pad: [0; 2],
    };
    let step = Step {
        lr,
        l1: 0.0,
        l2: 0.0,
        _pad: 0.0,
    };
    let u = uniform_init(ctx, "dims", bytemuck::bytes_of(&dims));
    let s = uniform_init(ctx, "step", bytemuck::bytes_of(&step));
    submit(
        ctx,
        if store_gradient {
            &k.bias_gradient
        } else {
            &k.bias_update
        },
        &[&gb, &bb, &u, &s],
        [(cols as u32).div_ceil(64), 1],
        false,
        1,
    )?;
    read_f32(ctx, &bb, cols, "bias_update")
}

/// What `optimizer_step.wgsl` leaves: θ and the moments m, v.
pub struct OptimizerOut {
    pub theta: Vec<f32>,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

/// `optimizer_step.wgsl` for a stateful `rule` on one array (`decay`: a
/// weight array, regularized).
#[allow(clippy::too_many_arguments)]
pub fn optimizer_step(
    ctx: &GpuContext,
    k: &Pipelines,
    rule: &crate::backend::cpu::ops::Rule,
    theta: &[f32],
    grad: &[f32],
    m: &[f32],
    v: &[f32],
    decay: bool,
) -> Result<OptimizerOut> {
    let kernel = k
        .optimizer_step(rule.optimizer)
        .ok_or_else(|| anyhow::anyhow!("plain SGD has no optimizer_step kernel"))?;
    let len = theta.len();
    let (tb, gb, mb, vb) = (
        f32s(ctx, "theta", theta),
        f32s(ctx, "grad", grad),
        f32s(ctx, "m", m),
        f32s(ctx, "v", v),
    );
    let tensor = Tensor {
        len: len as u32,
        decay: decay as u32,
        _pad: [0; 2],
    };
    let step = Step {
        lr: rule.lr,
        l1: rule.l1,
        l2: rule.l2,
        _pad: 0.0,
    };
    let [beta1, beta2, eps] = rule.optimizer.constants();
    let constants = RuleConstants {
        beta1,
        beta2,
        eps,
        _pad: 0.0,
    };
    let [c1, c2] = rule.corrections;
    let correction = Correction {
        c1,
        c2,
        _pad: [0.0; 2],
    };
    let u = |label: &str, bytes: &[u8]| uniform_init(ctx, label, bytes);
    let (tu, su, ru, cu) = (
        u("tensor", bytemuck::bytes_of(&tensor)),
        u("step", bytemuck::bytes_of(&step)),
        u("rule", bytemuck::bytes_of(&constants)),
        u("correction", bytemuck::bytes_of(&correction)),
    );
    submit(
        ctx,
        kernel,
        &[&tb, &gb, &mb, &vb, &tu, &su, &ru, &cu],
        [optimizer_groups(len), 1],
        true,
        1,
    )?;
    Ok(OptimizerOut {
        theta: read_f32(ctx, &tb, len, "optimizer_step")?,
        m: read_f32(ctx, &mb, len, "optimizer_step")?,
        v: read_f32(ctx, &vb, len, "optimizer_step")?,
    })
}

/// `texture_rows.wgsl`: a rows×cols matrix copied into a texture, read back
/// with its zero padding (rows of ⌈cols/4⌉·4 values).
pub fn texture_rows(
    ctx: &GpuContext,
    k: &Pipelines,
    src: &[f32],
    rows: usize,
    cols: usize,
) -> Result<Vec<f32>> {
    let b = f32s(ctx, "src", src);
    let t = RowsTexture::new(ctx, "dst", rows, cols);
    let dims = ColumnDims {
        rows: rows as u32,
        cols: cols as u32,
        _pad: [0; 2],
    };
    let u = uniform_init(ctx, "dims", bytemuck::bytes_of(&dims));
    let storage_view = t.storage_view();
    submit_resources(
        ctx,
        &k.texture_rows,
        &[
            b.as_entire_binding(),
            wgpu::BindingResource::TextureView(&storage_view),
            u.as_entire_binding(),
        ],
        [(texels(cols) as u32).div_ceil(64), rows as u32],
        1,
    )?;
    t.read_padded(ctx, rows, "texture_rows")
}

/// `matmul_tex_abt.wgsl` (or `_tall`, by `kind`) with OUT_TEXTURE = 1 (the
/// training path's A1 = σ(X·W1ᵀ + b1)): A m×k, B n×k, read back from the
/// texture it writes, which must be zero past column n.
#[allow(clippy::too_many_arguments)]
pub fn hidden_activation(
    ctx: &GpuContext,
    k: &Pipelines,
    kind: MatmulKind,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    m: usize,
    n: usize,
    kk: usize,
) -> Result<Vec<f32>> {
    let dims = MatmulDims::a_bt(m, n, kk);
    let (at, bt) = (
        RowsTexture::from_rows(ctx, "a", a, m, kk),
        RowsTexture::from_rows(ctx, "b", b, n, kk),
    );
    let (biasb, unused) = (f32s(ctx, "bias", bias), storage(ctx, "unused", 4));
    let d = uniform_init(ctx, "dims", bytemuck::bytes_of(&dims));
    let s = uniform_init(ctx, "step", &[0u8; 16]);
    let out = RowsTexture::new(ctx, "a1", m, n);
    let out_storage = out.storage_view();
    submit_resources(
        ctx,
        k.hidden_activation(kind),
        &[
            wgpu::BindingResource::TextureView(&at.view),
            wgpu::BindingResource::TextureView(&bt.view),
            biasb.as_entire_binding(),
            unused.as_entire_binding(),
            d.as_entire_binding(),
            s.as_entire_binding(),
            wgpu::BindingResource::TextureView(&out_storage),
        ],
        matmul_groups(kind, &dims),
        1,
    )?;
    let padded = out.read_padded(ctx, m, "hidden_activation")?;
    let width = texels(n) * 4;
    anyhow::ensure!(
        padded
            .chunks(width)
            .all(|row| row[n..].iter().all(|&v| v == 0.0)),
        "hidden_activation wrote non-zero padding"
    );
    Ok(padded
        .chunks(width)
        .flat_map(|row| row[..n].iter().copied())
        .collect())
}
