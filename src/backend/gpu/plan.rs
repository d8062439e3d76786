//! Everything an epoch dispatches, built once per (set, batch size) before
//! the first epoch: the batch table, the uniform blocks and the bind groups.
//! Nothing here is created inside an epoch.

use std::collections::BTreeMap;
use std::ops::Range;

use anyhow::Result;

use super::buffers::uniform_init;
use super::context::GpuContext;
use super::pipelines::{Epilogue, MatmulKind, Pipelines, MATMUL_WORKGROUP};
use super::textures::{texels, RowsTexture};
use super::uniforms::{Batch, ColumnDims, Correction, DeltaDims, MatmulDims};
use crate::model::{Optimizer, Shape};

/// The model's parameters on the device.
pub struct ModelBuffers {
    pub shape: Shape,
    pub w1: wgpu::Buffer,
    pub b1: wgpu::Buffer,
    pub w2: wgpu::Buffer,
    pub b2: wgpu::Buffer,
    /// W1 and W2 again as textures, what the products read; refreshed from
    /// `w1` and `w2` after every step.
    pub w1_texture: RowsTexture,
    pub w2_texture: RowsTexture,
}

/// Pixel buffers `standardize.wgsl` binds: a set may span this many bindings.
pub const PIXEL_CHUNKS: usize = 4;

/// Four arrays shaped like the parameters (W1, b1, W2, b2).
pub struct ParamArrays {
    pub w1: wgpu::Buffer,
    pub b1: wgpu::Buffer,
    pub w2: wgpu::Buffer,
    pub b2: wgpu::Buffer,
}

impl ParamArrays {
    /// In the order W1, b1, W2, b2.
    pub fn all(&self) -> [&wgpu::Buffer; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2]
    }
}

/// What a stateful update rule needs on the device: the stored data
/// gradients, the moments, and the uniforms of `optimizer_step.wgsl`.
pub struct OptimizerBuffers {
    pub optimizer: Optimizer,
    pub grads: ParamArrays,
    pub m: ParamArrays,
    pub v: ParamArrays,
    /// β1, β2, ε.
    pub rule: wgpu::Buffer,
    /// Length and decay flag of W1, b1, W2, b2.
    pub tensors: [wgpu::Buffer; 4],
}

/// Per-batch intermediates, sized for `rows` images.
pub struct Scratch {
    pub rows: usize,
    /// X: rows × D standardized pixels, as a texture.
    pub x: RowsTexture,
    /// A1: rows × H hidden activations, as a texture.
    pub a1: RowsTexture,
    /// Z2: rows × C output logits.
    pub z2: wgpu::Buffer,
    /// G2: rows × C output error (column sums read the buffer, products the texture).
    pub g2: wgpu::Buffer,
    pub g2_texture: RowsTexture,
    /// G1: rows × H hidden error.
    pub g1: wgpu::Buffer,
    /// G1 again as a texture, what dW1 = G1ᵀ·X reads.
    pub g1_texture: RowsTexture,
    /// Bound where a layout wants a storage texture the kernel does not write.
    pub unused: RowsTexture,
}

/// One uploaded set.
pub struct SetBuffers {
    pub count: usize,
    pub pixels_per_image: usize,
    pub classes: usize,
    /// Labels kept on the host too, to count correct predictions.
    pub labels_host: Vec<u8>,
    /// The u8 pixels in 1 to [`PIXEL_CHUNKS`] buffers of `chunk_images` whole
    /// images each, so a set larger than one binding still fits.
    pub pixels: Vec<wgpu::Buffer>,
    pub chunk_images: usize,
    pub labels: wgpu::Buffer,
    /// Row 0 the training pixel means, row 1 their inverse standard deviations.
    pub stats: RowsTexture,
    /// The epoch order: the image at each position (the identity unless shuffled).
    pub order: wgpu::Buffer,
    /// The same order on the host (`None`: the identity).
    pub order_host: Option<Vec<u32>>,
    /// −log P[i, yᵢ] of every position of the epoch, from its last forward pass.
    pub loss: wgpu::Buffer,
    /// arg-max of every image, from its last forward pass.
    pub predicted: wgpu::Buffer,
    pub loss_staging: wgpu::Buffer,
    pub predicted_staging: wgpu::Buffer,
}

/// The bind groups of one batch size; a set has at most two (full and last).
pub struct RowsGroups {
    pub z1: wgpu::BindGroup,
    pub z2: wgpu::BindGroup,
    pub delta: wgpu::BindGroup,
    pub dw2: wgpu::BindGroup,
    pub db2: wgpu::BindGroup,
    pub dw1: wgpu::BindGroup,
    pub db1: wgpu::BindGroup,
    pub dims: RowsDims,
    /// With a stateful optimizer: the products and column sums that store
    /// the data gradients instead of stepping.
    pub grads: Option<GradGroups>,
}

/// Bind groups that write dW2, db2, dW1, db1 into the optimizer's gradient
/// buffers.
pub struct GradGroups {
    pub dw2: wgpu::BindGroup,
    pub db2: wgpu::BindGroup,
    pub dw1: wgpu::BindGroup,
    pub db1: wgpu::BindGroup,
}

/// The optimizer step of one plan: Adam's per-batch corrections and one bind
/// group per parameter array (W1, b1, W2, b2).
pub struct OptimizerPlan {
    pub optimizer: Optimizer,
    /// One [`Correction`] slot per batch, rewritten before each run.
    pub corrections: wgpu::Buffer,
    pub steps: [wgpu::BindGroup; 4],
    /// Workgroups of each array's dispatch.
    pub groups: [u32; 4],
}

/// One matrix product of the plan: which kernel, over which sizes.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub kind: MatmulKind,
    pub dims: MatmulDims,
}

/// The sizes each dispatch of one batch size covers.
#[derive(Clone, Copy)]
pub struct RowsDims {
    pub z1: Product,
    pub z2: Product,
    pub dw2: Product,
    pub dw1: Product,
}

/// The dispatch plan of one set at one batch size.
pub struct Plan {
    /// The model shape the plan's dispatch sizes were computed for.
    pub shape: Shape,
    /// (first image, rows) of each batch, in order.
    pub batches: Vec<(usize, usize)>,
    /// Byte stride between batches' slots in the dynamic uniform buffers.
    pub slot_stride: u32,
    pub standardize: wgpu::BindGroup,
    pub softmax: wgpu::BindGroup,
    pub by_rows: BTreeMap<usize, RowsGroups>,
    pub optimizer: Option<OptimizerPlan>,
    /// Copies W1 and W2 into their textures (`texture_rows.wgsl`), after
    /// each step, with the workgroups of each copy.
    pub weight_textures: [(wgpu::BindGroup, [u32; 2]); 2],
}

impl Plan {
    /// The bytes of the per-position loss and prediction buffers that batches
    /// `batches` write: (start, end).
    pub fn byte_span(&self, batches: &Range<usize>) -> (u64, u64) {
        let first = self.batches.get(batches.start).map_or(0, |b| b.0);
        let end = batches
            .end
            .checked_sub(1)
            .and_then(|j| self.batches.get(j))
            .map_or(first, |&(f, r)| f + r);
        (first as u64 * 4, end.max(first) as u64 * 4)
    }
}

/// Workgroups of `optimizer_step.wgsl` for an array of `len` values (its
/// grid-stride loop covers what one dispatch row cannot).
pub fn optimizer_groups(len: usize) -> u32 {
    (len.div_ceil(64) as u32).clamp(1, 65535)
}

/// The corrections of batches `batches` when the first of them is step `t0 + 1`.
pub fn correction_slots(optimizer: Optimizer, t0: u64, count: usize, slot_stride: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; count.max(1) * slot_stride as usize];
    for j in 0..count {
        let [c1, c2] = optimizer.corrections(t0 + 1 + j as u64);
        let block = Correction {
            c1,
            c2,
            _pad: [0.0; 2],
        };
        let at = j * slot_stride as usize;
        bytes[at..at + 16].copy_from_slice(bytemuck::bytes_of(&block));
    }
    bytes
}

/// The workgroup counts that cover an m×n matmul output.
pub fn matmul_groups(kind: MatmulKind, dims: &MatmulDims) -> [u32; 2] {
    let [tm, tn] = kind.tile();
    let [wx, wy] = MATMUL_WORKGROUP;
    [dims.n.div_ceil(wx * tn), dims.m.div_ceil(wy * tm)]
}

impl Plan {
    /// Builds the plan that covers `set` in batches of `batch_size` images.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &GpuContext,
        kernels: &Pipelines,
        set: &SetBuffers,
        model: &ModelBuffers,
        scratch: &Scratch,
        step: &wgpu::Buffer,
        optimizer: Option<&OptimizerBuffers>,
        batch_size: usize,
        label: &str,
    ) -> Result<Plan> {
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = model.shape;
        let batches: Vec<(usize, usize)> = (0..set.count)
            .step_by(batch_size)
            .map(|first| (first, batch_size.min(set.count - first)))
            .collect();
        ctx.check_dispatch("a batch (one workgroup row per image)", batch_size as u32)?;

        // One 16-byte Batch block per batch, each at an aligned dynamic offset.
        let align = ctx.limits.min_uniform_buffer_offset_alignment.max(16);
        let slot_stride = (std::mem::size_of::<Batch>() as u32).next_multiple_of(align);
        let table = |width: usize, chunk_images: usize| -> Vec<u8> {
            let mut bytes = vec![0u8; batches.len().max(1) * slot_stride as usize];
            for (j, &(first, rows)) in batches.iter().enumerate() {
                let block = Batch {
                    row_offset: first as u32,
                    rows: rows as u32,
                    width: width as u32,
                    chunk_images: chunk_images as u32,
                };
                let at = j * slot_stride as usize;
                bytes[at..at + 16].copy_from_slice(bytemuck::bytes_of(&block));
            }
            bytes
        };
        let slot = Some(std::mem::size_of::<Batch>() as u64);
        let standardize_table = uniform_init(
            ctx,
            &format!("{label} standardize batches"),
            &table(d, set.chunk_images),
        );
        let softmax_table = uniform_init(ctx, &format!("{label} softmax batches"), &table(c, 0));
        // A set in fewer chunks binds its last one in the slots left over.
        let chunk = |i: usize| &set.pixels[i.min(set.pixels.len() - 1)];
        let x_storage = scratch.x.storage_view();
        let standardize = kernels.standardize_for(set.pixels.len()).bind_resources(
            ctx,
            &format!("{label} standardize"),
            &[
                chunk(0).as_entire_binding(),
                chunk(1).as_entire_binding(),
                chunk(2).as_entire_binding(),
                chunk(3).as_entire_binding(),
                wgpu::BindingResource::TextureView(&set.stats.view),
                set.order.as_entire_binding(),
                wgpu::BindingResource::TextureView(&x_storage),
                wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &standardize_table,
                    offset: 0,
                    size: slot.and_then(wgpu::BufferSize::new),
                }),
            ],
        );
        let g2_storage = scratch.g2_texture.storage_view();
        let softmax = kernels.softmax_cross_entropy.bind_resources(
            ctx,
            &format!("{label} softmax_cross_entropy"),
            &[
                scratch.z2.as_entire_binding(),
                set.labels.as_entire_binding(),
                set.order.as_entire_binding(),
                scratch.g2.as_entire_binding(),
                set.loss.as_entire_binding(),
                set.predicted.as_entire_binding(),
                wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &softmax_table,
                    offset: 0,
                    size: slot.and_then(wgpu::BufferSize::new),
                }),
                wgpu::BindingResource::TextureView(&g2_storage),
            ],
        );

        let mut by_rows = BTreeMap::new();
        for &(_, rows) in &batches {
            if by_rows.contains_key(&rows) {
                continue;
            }
            let dims = RowsDims {
                // Z1 = X·W1ᵀ (+ b1, σ): rows×H
                z1: Product {
                    kind: MatmulKind::for_hidden(h),
                    dims: MatmulDims::a_bt(rows, h, d),
                },
                // Z2 = A1·W2ᵀ (+ b2): rows×C
                z2: Product {
                    kind: MatmulKind::TexABt,
                    dims: MatmulDims::a_bt(rows, c, h),
                },
                // dW2 = G2ᵀ·A1: C×H over the batch
                dw2: Product {
                    kind: MatmulKind::TexAtB,
                    dims: MatmulDims::at_b(c, h, rows),
                },
                // dW1 = G1ᵀ·X: H×D over the batch
                dw1: Product {
                    kind: MatmulKind::TexAtB,
                    dims: MatmulDims::at_b(h, d, rows),
                },
            };
            for p in [dims.z1, dims.z2, dims.dw2, dims.dw1] {
                let [gx, gy] = matmul_groups(p.kind, &p.dims);
                ctx.check_dispatch("a matrix product", gx.max(gy))?;
            }
            let u = |name: &str, bytes: &[u8]| {
                uniform_init(ctx, &format!("{label} {name} rows {rows}"), bytes)
            };
            let z1_dims = u("z1 dims", bytemuck::bytes_of(&dims.z1.dims));
            let z2_dims = u("z2 dims", bytemuck::bytes_of(&dims.z2.dims));
            let dw2_dims = u("dw2 dims", bytemuck::bytes_of(&dims.dw2.dims));
            let dw1_dims = u("dw1 dims", bytemuck::bytes_of(&dims.dw1.dims));
            let delta_dims = u(
                "delta dims",
                bytemuck::bytes_of(&DeltaDims {
                    rows: rows as u32,
                    hidden: h as u32,
                    classes: c as u32,
                    _pad: 0,
                }),
            );
            let col = |cols: usize| ColumnDims {
                rows: rows as u32,
                cols: cols as u32,
                _pad: [0; 2],
            };
            let db2_dims = u("db2 dims", bytemuck::bytes_of(&col(c)));
            let db1_dims = u("db1 dims", bytemuck::bytes_of(&col(h)));
            let name = |n: &str| format!("{label} {n} rows {rows}");
            let view = wgpu::BindingResource::TextureView;
            let g1_storage = scratch.g1_texture.storage_view();
            let a1_storage = scratch.a1.storage_view();
            let unused_storage = scratch.unused.storage_view();
            let groups = RowsGroups {
                // writes A1's texture only; `out` (Z2 here) is bound, not written
                z1: kernels.hidden_activation(dims.z1.kind).bind_resources(
                    ctx,
                    &name("z1"),
                    &[
                        view(&scratch.x.view),
                        view(&model.w1_texture.view),
                        model.b1.as_entire_binding(),
                        scratch.z2.as_entire_binding(),
                        z1_dims.as_entire_binding(),
                        step.as_entire_binding(),
                        view(&a1_storage),
                    ],
                ),
                z2: kernels.matmul(dims.z2.kind, Epilogue::Bias).bind_resources(
                    ctx,
                    &name("z2"),
                    &[
                        view(&scratch.a1.view),
                        view(&model.w2_texture.view),
                        model.b2.as_entire_binding(),
                        scratch.z2.as_entire_binding(),
                        z2_dims.as_entire_binding(),
                        step.as_entire_binding(),
                        view(&unused_storage),
                    ],
                ),
                delta: kernels.hidden_delta.bind_resources(
                    ctx,
                    &name("hidden_delta"),
                    &[
                        view(&scratch.g2_texture.view),
                        view(&model.w2_texture.view),
                        view(&scratch.a1.view),
                        scratch.g1.as_entire_binding(),
                        view(&g1_storage),
                        delta_dims.as_entire_binding(),
                    ],
                ),
                dw2: kernels.matmul(dims.dw2.kind, Epilogue::Sgd).bind_resources(
                    ctx,
                    &name("dw2"),
                    &[
                        view(&scratch.g2_texture.view),
                        view(&scratch.a1.view),
                        model.b2.as_entire_binding(),
                        model.w2.as_entire_binding(),
                        dw2_dims.as_entire_binding(),
                        step.as_entire_binding(),
                    ],
                ),
                db2: kernels.bias_update.bind(
                    ctx,
                    &name("db2"),
                    &[&scratch.g2, &model.b2, &db2_dims, step],
                    None,
                ),
                dw1: kernels.matmul(dims.dw1.kind, Epilogue::Sgd).bind_resources(
                    ctx,
                    &name("dw1"),
                    &[
                        view(&scratch.g1_texture.view),
                        view(&scratch.x.view),
                        model.b1.as_entire_binding(),
                        model.w1.as_entire_binding(),
                        dw1_dims.as_entire_binding(),
                        step.as_entire_binding(),
                    ],
                ),
                db1: kernels.bias_update.bind(
                    ctx,
                    &name("db1"),
                    &[&scratch.g1, &model.b1, &db1_dims, step],
                    None,
                ),
                dims,
                grads: optimizer.map(|o| GradGroups {
                    dw2: kernels
                        .matmul(dims.dw2.kind, Epilogue::Store)
                        .bind_resources(
                            ctx,
                            &name("dw2 store"),
                            &[
                                view(&scratch.g2_texture.view),
                                view(&scratch.a1.view),
                                model.b2.as_entire_binding(),
                                o.grads.w2.as_entire_binding(),
                                dw2_dims.as_entire_binding(),
                                step.as_entire_binding(),
                            ],
                        ),
                    db2: kernels.bias_gradient.bind(
                        ctx,
                        &name("db2 store"),
                        &[&scratch.g2, &o.grads.b2, &db2_dims, step],
                        None,
                    ),
                    dw1: kernels
                        .matmul(dims.dw1.kind, Epilogue::Store)
                        .bind_resources(
                            ctx,
                            &name("dw1 store"),
                            &[
                                view(&scratch.g1_texture.view),
                                view(&scratch.x.view),
                                model.b1.as_entire_binding(),
                                o.grads.w1.as_entire_binding(),
                                dw1_dims.as_entire_binding(),
                                step.as_entire_binding(),
                            ],
                        ),
                    db1: kernels.bias_gradient.bind(
                        ctx,
                        &name("db1 store"),
                        &[&scratch.g1, &o.grads.b1, &db1_dims, step],
                        None,
                    ),
                }),
            };
            by_rows.insert(rows, groups);
        }
        let optimizer = match optimizer {
            Some(o) => {
                // invariant: only stateful rules get OptimizerBuffers.
                let kernel = kernels
                    .optimizer_step(o.optimizer)
                    .expect("a stateful rule has a step kernel"); // invariant: see above
                let corrections = uniform_init(
                    ctx,
                    &format!("{label} optimizer corrections"),
                    &correction_slots(o.optimizer, 0, batches.len(), slot_stride),
                );
                let params = [&model.w1, &model.b1, &model.w2, &model.b2];
                let names = ["W1", "b1", "W2", "b2"];
                let lens = [h * d, h, c * h, c];
                let steps = std::array::from_fn(|i| {
                    kernel.bind(
                        ctx,
                        &format!("{label} {} step {}", o.optimizer.name(), names[i]),
                        &[
                            params[i],
                            o.grads.all()[i],
                            o.m.all()[i],
                            o.v.all()[i],
                            &o.tensors[i],
                            step,
                            &o.rule,
                            &corrections,
                        ],
                        Some(std::mem::size_of::<Correction>() as u64),
                    )
                });
                Some(OptimizerPlan {
                    optimizer: o.optimizer,
                    corrections,
                    steps,
                    groups: lens.map(optimizer_groups),
                })
            }
            None => None,
        };
        let copy = |name: &str, src: &wgpu::Buffer, dst: &RowsTexture| {
            let dims = uniform_init(
                ctx,
                &format!("{label} {name} texture dims"),
                bytemuck::bytes_of(&ColumnDims {
                    rows: dst.rows as u32,
                    cols: dst.cols as u32,
                    _pad: [0; 2],
                }),
            );
            let storage = dst.storage_view();
            let group = kernels.texture_rows.bind_resources(
                ctx,
                &format!("{label} {name} texture"),
                &[
                    src.as_entire_binding(),
                    wgpu::BindingResource::TextureView(&storage),
                    dims.as_entire_binding(),
                ],
            );
            let groups = [(texels(dst.cols) as u32).div_ceil(64), dst.rows as u32];
            (group, groups)
        };
        let weight_textures = [
            copy("W1", &model.w1, &model.w1_texture),
            copy("W2", &model.w2, &model.w2_texture),
        ];
        ctx.check("building the dispatch plan")?;
        Ok(Plan {
            weight_textures,
            shape: model.shape,
            batches,
            slot_stride,
            standardize,
            softmax,
            by_rows,
            optimizer,
        })
    }
}
