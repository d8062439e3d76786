//! The GPU backend: wgpu context, buffers, WGSL pipelines and the per-epoch
//! orchestrator. The data sets are uploaded once (u8 pixels, standardized
//! inside the first kernel); an epoch is one command buffer with every
//! batch's dispatches, and the host reads back only the per-image losses and
//! predictions at its end.

pub mod buffers;
pub mod context;
pub mod harness;
pub mod pipelines;
pub mod plan;
pub mod textures;
pub mod uniforms;

use std::collections::HashMap;
use std::ops::Range;

use anyhow::{bail, Context, Result};

use self::buffers::{map_read_at, read_f32, staging, storage, storage_init, uniform_init};
use self::context::{Api, GpuContext};
use self::pipelines::{Epilogue, Kernel, Pipelines};
use self::plan::{
    correction_slots, matmul_groups, ModelBuffers, OptimizerBuffers, ParamArrays, Plan, Product,
    Scratch, SetBuffers, PIXEL_CHUNKS,
};
use self::textures::{check_fits, texels, RowsTexture};
use self::uniforms::{RuleConstants, Step, Tensor};
use super::{Backend, BackendInfo, BatchTally, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Optimizer, OptimizerState, Params, Shape};

/// Images per forward-only batch when evaluating a whole set.
pub const EVAL_ROWS: usize = 1000;

/// Trains on a GPU through wgpu.
pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Pipelines,
    step: wgpu::Buffer,
    model: Option<ModelBuffers>,
    /// Gradients and moments of a stateful update rule (none for plain SGD).
    optimizer: Option<OptimizerBuffers>,
    /// Optimizer steps taken since the parameters were set.
    steps_taken: u64,
    sets: HashMap<Split, SetBuffers>,
    scratch: Option<Scratch>,
    /// Plans by (set, batch size); dropped whenever what they bind changes.
    plans: HashMap<(Split, usize), Plan>,
}

impl GpuBackend {
    /// Opens the best adapter of `api` and compiles the kernels.
    pub fn new(api: Api) -> Result<Self> {
        let ctx = GpuContext::new(api)?;
        let kernels = Pipelines::new(&ctx)?;
        let step = uniform_init(
            &ctx,
            "step (lr, l1, l2)",
            bytemuck::bytes_of(&Step {
                lr: 0.0,
                l1: 0.0,
                l2: 0.0,
                _pad: 0.0,
            }),
        );
        Ok(GpuBackend {
            ctx,
            kernels,
            step,
            model: None,
            optimizer: None,
            steps_taken: 0,
            sets: HashMap::new(),
            scratch: None,
            plans: HashMap::new(),
        })
    }

    /// The device, for kernel tests and benchmarks.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The compiled kernels, for kernel tests and benchmarks.
    pub fn kernels(&self) -> &Pipelines {
        &self.kernels
    }

    fn model(&self) -> Result<&ModelBuffers> {
        self.model
            .as_ref()
            .context("the GPU backend has no parameters yet: call set_params first")
    }

    /// Images per forward-only batch: [`EVAL_ROWS`], fewer when a batch of
    /// them would not fit one binding.
    fn eval_rows(&self) -> Result<usize> {
        let shape = self.model()?.shape;
        let widest = shape.inputs.max(shape.hidden).max(1) as u64 * 4;
        let max = self.ctx.max_binding();
        Ok(EVAL_ROWS.min((max / widest).max(1) as usize))
    }

    /// Makes sure the scratch buffers hold `rows` images and the plan for
    /// (`split`, `rows`) exists.
    fn prepare(&mut self, split: Split, rows: usize) -> Result<()> {
        if rows == 0 {
            bail!("the batch size must be at least 1");
        }
        let shape = self.model()?.shape;
        let set = self
            .sets
            .get(&split)
            .with_context(|| format!("the {split:?} set is not uploaded to the GPU"))?;
        if set.pixels_per_image != shape.inputs || set.classes != shape.classes {
            bail!(
                "the {split:?} set has {} pixels and {} classes per image but the model expects {} and {}",
                set.pixels_per_image,
                set.classes,
                shape.inputs,
                shape.classes
            );
        }
        let rows = rows.min(set.count.max(1));
        let need = rows.max(self.scratch.as_ref().map_or(0, |s| s.rows));
        if self.scratch.as_ref().is_none_or(|s| s.rows < need) {
            let f = |n: usize| (n * 4) as u64;
            self.ctx.check_binding(
                "one batch of standardized images (batch × pixels × 4 bytes)",
                f(need * shape.inputs),
                "use a smaller --batch-size",
            )?;
            self.ctx.check_binding(
                "one batch of hidden activations (batch × hidden × 4 bytes)",
                f(need * shape.hidden),
                "use a smaller --batch-size or --hidden",
            )?;
            self.ctx.check_binding(
                "one batch of output logits (batch × classes × 4 bytes)",
                f(need * shape.classes),
                "use a smaller --batch-size",
            )?;
            check_fits(
                &self.ctx,
                "one batch of standardized images",
                need,
                shape.inputs,
            )?;
            check_fits(&self.ctx, "one batch of hidden errors", need, shape.hidden)?;
            self.scratch = Some(Scratch {
                rows: need,
                x: RowsTexture::new(&self.ctx, "X (batch × D)", need, shape.inputs),
                a1: RowsTexture::new(&self.ctx, "A1 (batch × H)", need, shape.hidden),
                z2: storage(&self.ctx, "Z2 (batch × C)", f(need * shape.classes)),
                g2: storage(&self.ctx, "G2 (batch × C)", f(need * shape.classes)),
                g2_texture: RowsTexture::new(&self.ctx, "G2 (batch × C)", need, shape.classes),
                g1: storage(&self.ctx, "G1 (batch × H)", f(need * shape.hidden)),
                g1_texture: RowsTexture::new(&self.ctx, "G1 (batch × H)", need, shape.hidden),
                unused: RowsTexture::new(&self.ctx, "unused storage texture", 1, 4),
            });
            self.plans.clear();
        }
        if !self.plans.contains_key(&(split, rows)) {
            // invariant: model, set and scratch were all checked or made above.
            let plan = Plan::new(
                &self.ctx,
                &self.kernels,
                &self.sets[&split],
                self.model.as_ref().unwrap(), // invariant: checked by self.model()? above
                self.scratch.as_ref().unwrap(), // invariant: allocated just above
                &self.step,
                self.optimizer.as_ref().filter(|_| split == Split::Train),
                rows,
                &format!("{split:?}"),
            )?;
            self.plans.insert((split, rows), plan);
        }
        Ok(())
    }

    /// Records the dispatches of batches `batches` of the plan; `backward`
    /// adds the gradient and update kernels after the forward ones. The
    /// per-position losses and predictions of those batches are copied to the
    /// read-back buffers.
    fn encode(
        &self,
        split: Split,
        rows: usize,
        backward: bool,
        batches: Range<usize>,
    ) -> wgpu::CommandBuffer {
        let k = &self.kernels;
        let plan = &self.plans[&(split, rows)]; // invariant: prepare() made it
        let shape = plan.shape;
        let set = &self.sets[&split]; // invariant: prepare() checked it
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(if backward { "epoch" } else { "evaluate" }),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(if backward {
                    "epoch batches"
                } else {
                    "evaluate batches"
                }),
                timestamp_writes: None,
            });
            for (j, &(_, batch_rows)) in plan
                .batches
                .iter()
                .enumerate()
                .take(batches.end)
                .skip(batches.start)
            {
                let slot = j as u32 * plan.slot_stride;
                let g = &plan.by_rows[&batch_rows]; // invariant: built for every batch size
                let r = batch_rows as u32;
                // X = standardize(pixels of this batch)
                dispatch(
                    &mut pass,
                    k.standardize_for(set.pixels.len()),
                    &plan.standardize,
                    &[slot],
                    [(texels(shape.inputs) as u32).div_ceil(64), r],
                );
                // A1 = σ(X·W1ᵀ + b1), into A1's texture
                dispatch(
                    &mut pass,
                    k.hidden_activation(g.dims.z1.kind),
                    &g.z1,
                    &[],
                    matmul_groups(g.dims.z1.kind, &g.dims.z1.dims),
                );
                // Z2 = A1·W2ᵀ + b2
                dispatch_matmul(&mut pass, k, Epilogue::Bias, &g.z2, &g.dims.z2);
                // P = softmax(Z2), loss, G2 = (P − Y)/B, arg-max
                dispatch(
                    &mut pass,
                    &k.softmax_cross_entropy,
                    &plan.softmax,
                    &[slot],
                    [r.div_ceil(64), 1],
                );
                if !backward {
                    continue;
                }
                // G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1), with W2 before its update
                dispatch(
                    &mut pass,
                    &k.hidden_delta,
                    &g.delta,
                    &[],
                    [(texels(shape.hidden) as u32).div_ceil(64), r],
                );
                let (h, c) = (shape.hidden as u32, shape.classes as u32);
                match (&g.grads, &plan.optimizer) {
                    (Some(grads), Some(opt)) => {
                        // dW2 = G2ᵀ·A1, db2 = Σᵢ G2[i], dW1 = G1ᵀ·X, db1 = Σᵢ G1[i]
                        dispatch_matmul(&mut pass, k, Epilogue::Store, &grads.dw2, &g.dims.dw2);
                        dispatch(
                            &mut pass,
                            &k.bias_gradient,
                            &grads.db2,
                            &[],
                            [c.div_ceil(64), 1],
                        );
                        dispatch_matmul(&mut pass, k, Epilogue::Store, &grads.dw1, &g.dims.dw1);
                        dispatch(
                            &mut pass,
                            &k.bias_gradient,
                            &grads.db1,
                            &[],
                            [h.div_ceil(64), 1],
                        );
                        // the rule's step on W1, b1, W2, b2 (optimizer_step.wgsl)
                        // invariant: a plan with an optimizer plan has its kernel.
                        let kernel = k.optimizer_step(opt.optimizer).expect("stateful rule"); // invariant
                        for (group, &n) in opt.steps.iter().zip(&opt.groups) {
                            dispatch(&mut pass, kernel, group, &[slot], [n, 1]);
                        }
                    }
                    _ => {
                        // W2 ← W2 − lr·(G2ᵀ·A1 + l1·sign W2 + l2·W2)
                        dispatch_matmul(&mut pass, k, Epilogue::Sgd, &g.dw2, &g.dims.dw2);
                        // b2 ← b2 − lr·Σᵢ G2[i]
                        dispatch(&mut pass, &k.bias_update, &g.db2, &[], [c.div_ceil(64), 1]);
                        // W1 ← W1 − lr·(G1ᵀ·X + l1·sign W1 + l2·W1)
                        dispatch_matmul(&mut pass, k, Epilogue::Sgd, &g.dw1, &g.dims.dw1);
                        // b1 ← b1 − lr·Σᵢ G1[i]
                        dispatch(&mut pass, &k.bias_update, &g.db1, &[], [h.div_ceil(64), 1]);
                    }
                }
                // the textures of W1 and W2 ← W1, W2, for the next batch's products
                for (group, groups) in &plan.weight_textures {
                    dispatch(&mut pass, &k.texture_rows, group, &[], *groups);
                }
            }
        }
        let (start, end) = plan.byte_span(&batches);
        if end > start {
            let size = end - start;
            encoder.copy_buffer_to_buffer(&set.loss, start, &set.loss_staging, start, size);
            encoder.copy_buffer_to_buffer(
                &set.predicted,
                start,
                &set.predicted_staging,
                start,
                size,
            );
        }
        encoder.finish()
    }

    /// Runs batches `batches` of the plan of (`split`, `rows`) and sums their
    /// per-position results; the predictions come back in position order.
    fn run(
        &mut self,
        split: Split,
        rows: usize,
        backward: bool,
        batches: Option<Range<usize>>,
    ) -> Result<(BatchTally, Vec<u8>)> {
        self.prepare(split, rows)?;
        let set_count = self.sets[&split].count;
        let rows = rows.min(set_count.max(1));
        let plan = &self.plans[&(split, rows)];
        let total = plan.batches.len();
        let batches = batches.unwrap_or(0..total);
        let batches = batches.start.min(total)..batches.end.min(total);
        if batches.is_empty() {
            return Ok((BatchTally::default(), Vec::new()));
        }
        if let (true, Some(opt)) = (backward, &plan.optimizer) {
            // Adam's corrections of these batches' steps, in their slots.
            let bytes = correction_slots(
                opt.optimizer,
                self.steps_taken,
                batches.len(),
                plan.slot_stride,
            );
            let at = batches.start as u64 * plan.slot_stride as u64;
            self.ctx.queue.write_buffer(&opt.corrections, at, &bytes);
        }
        let (start, end) = plan.byte_span(&batches);
        let commands = self.encode(split, rows, backward, batches.clone());
        let what = if backward {
            "training an epoch"
        } else {
            "evaluating"
        };
        self.ctx.queue.submit([commands]);
        if backward {
            self.steps_taken += batches.len() as u64;
        }
        let set = &self.sets[&split];
        // Map from an 8-byte boundary, then drop the extra leading entry.
        let aligned = start & !7;
        let skip = ((start - aligned) / 4) as usize;
        let read = |buffer: &wgpu::Buffer| -> Result<Vec<u32>> {
            let bytes = map_read_at(&self.ctx, buffer, aligned, end - aligned, what)?;
            Ok(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[skip..].to_vec())
        };
        let loss: Vec<f32> = read(&set.loss_staging)?
            .into_iter()
            .map(f32::from_bits)
            .collect();
        let predicted = read(&set.predicted_staging)?;
        let first = (start / 4) as usize;
        let label = |position: usize| match &set.order_host {
            Some(order) => set.labels_host[order[position] as usize],
            None => set.labels_host[position],
        };
        let correct = predicted
            .iter()
            .enumerate()
            .filter(|&(k, &p)| p == u32::from(label(first + k)))
            .count();
        let tally = BatchTally {
            images: loss.len(),
            loss_sum: loss.iter().map(|&l| l as f64).sum(),
            correct,
        };
        // Predictions by image (evaluations cover the whole set from 0):
        // undo the epoch order.
        let mut predictions = Vec::new();
        if !backward {
            predictions = vec![0u8; predicted.len()];
            for (k, &p) in predicted.iter().enumerate() {
                let image = set.order_host.as_ref().map_or(k, |o| o[k] as usize);
                if let Some(slot) = predictions.get_mut(image) {
                    *slot = p as u8;
                }
            }
        }
        Ok((tally, predictions))
    }

    /// Makes the gradient and moment buffers a stateful `optimizer` needs
    /// (zero moments), or drops them for plain SGD.
    fn ensure_optimizer(&mut self, optimizer: Optimizer) -> Result<()> {
        let shape = self.model()?.shape;
        let current = self.optimizer.as_ref().map(|o| o.optimizer);
        if current == Some(optimizer) || (current.is_none() && !optimizer.has_state()) {
            return Ok(());
        }
        self.optimizer = if optimizer.has_state() {
            Some(self.optimizer_buffers(optimizer, shape))
        } else {
            None
        };
        self.plans.retain(|(split, _), _| *split != Split::Train);
        self.ctx.check("allocating the optimizer's moments")
    }

    fn optimizer_buffers(&self, optimizer: Optimizer, shape: Shape) -> OptimizerBuffers {
        let Shape {
            inputs: d,
            hidden: h,
            classes: c,
        } = shape;
        let arrays = |what: &str| ParamArrays {
            w1: storage(&self.ctx, &format!("{what} W1"), (h * d * 4) as u64),
            b1: storage(&self.ctx, &format!("{what} b1"), (h * 4) as u64),
            w2: storage(&self.ctx, &format!("{what} W2"), (c * h * 4) as u64),
            b2: storage(&self.ctx, &format!("{what} b2"), (c * 4) as u64),
        };
        let [beta1, beta2, eps] = optimizer.constants();
        let rule = RuleConstants {
            beta1,
            beta2,
            eps,
            _pad: 0.0,
        };
        let tensor = |len: usize, decay: bool| Tensor {
            len: len as u32,
            decay: decay as u32,
            _pad: [0; 2],
        };
        let tensors = [
            ("W1", tensor(h * d, true)),
            ("b1", tensor(h, false)),
            ("W2", tensor(c * h, true)),
            ("b2", tensor(c, false)),
        ]
        .map(|(name, t)| {
            uniform_init(&self.ctx, &format!("{name} tensor"), bytemuck::bytes_of(&t))
        });
        OptimizerBuffers {
            optimizer,
            grads: arrays("dθ"),
            m: arrays("m"),
            v: arrays("v"),
            rule: uniform_init(&self.ctx, "optimizer rule", bytemuck::bytes_of(&rule)),
            tensors,
        }
    }
}

fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    kernel: &Kernel,
    group: &wgpu::BindGroup,
    offsets: &[u32],
    [x, y]: [u32; 2],
) {
    pass.set_pipeline(&kernel.pipeline);
    pass.set_bind_group(0, group, offsets);
    pass.dispatch_workgroups(x, y, 1);
}

fn dispatch_matmul(
    pass: &mut wgpu::ComputePass<'_>,
    kernels: &Pipelines,
    epilogue: Epilogue,
    group: &wgpu::BindGroup,
    p: &Product,
) {
    let kernel = kernels.matmul(p.kind, epilogue);
    dispatch(pass, kernel, group, &[], matmul_groups(p.kind, &p.dims));
}

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        self.ctx.backend_info()
    }

    fn upload(&mut self, split: Split, data: &Dataset, stats: &Standardizer) -> Result<()> {
        let d = data.pixels_per_image();
        if stats.mean.len() != d || stats.inv_std.len() != d {
            bail!(
                "standardization statistics cover {} pixels but the images have {d}",
                stats.mean.len()
            );
        }
        check_fits(&self.ctx, "the pixel statistics", 2, d)?;
        // Whole images per chunk, each chunk within one binding.
        let max = self.ctx.max_binding();
        let fit = (max / d.max(1) as u64).max(1) as usize;
        let chunk_images = fit.min(data.count.max(1));
        let chunks = data.count.div_ceil(chunk_images).max(1);
        if chunks > PIXEL_CHUNKS || (d as u64) > max {
            let fits = PIXEL_CHUNKS * fit;
            // Only the training set can be cut from the command line.
            let what_to_do = match split {
                Split::Train => format!("use --train-limit {fits} or fewer, or --backend cpu"),
                Split::Validation => format!(
                    "use a --val-split that holds out {fits} images or fewer, or --backend cpu"
                ),
                Split::Test => "the test set is evaluated whole, so use --backend cpu \
                                (or a GPU that binds larger buffers)"
                    .to_string(),
            };
            bail!(
                "the {split:?} set's u8 pixels ({} images × {d} = {:.1} MiB) need {chunks} storage bindings \
                 of at most {:.1} MiB on this adapter ({}), but the standardize kernel binds {PIXEL_CHUNKS}: \
                 at most {fits} images of {d} pixels fit; {what_to_do}",
                data.count,
                data.pixels.len() as f64 / 1048576.0,
                max as f64 / 1048576.0,
                self.ctx.info.name,
            );
        }
        let labels: Vec<u32> = data.labels.iter().map(|&y| u32::from(y)).collect();
        let name = |n: &str| format!("{split:?} {n}");
        let n4 = data.count as u64 * 4;
        let set = SetBuffers {
            count: data.count,
            pixels_per_image: d,
            classes: data.classes,
            labels_host: data.labels.clone(),
            pixels: data
                .pixels
                .chunks(chunk_images * d.max(1))
                .enumerate()
                .map(|(i, bytes)| {
                    storage_init(
                        &self.ctx,
                        &name(&format!("pixels chunk {i} (u8 ×4 per word)")),
                        bytes,
                    )
                })
                .chain(
                    data.pixels
                        .is_empty()
                        .then(|| storage_init(&self.ctx, &name("pixels (empty)"), &[])),
                )
                .collect(),
            chunk_images,
            labels: storage_init(&self.ctx, &name("labels"), bytemuck::cast_slice(&labels)),
            stats: RowsTexture::from_rows(
                &self.ctx,
                &name("pixel mean and 1/std"),
                &[stats.mean.as_slice(), stats.inv_std.as_slice()].concat(),
                2,
                d,
            ),
            order: storage_init(
                &self.ctx,
                &name("epoch order"),
                bytemuck::cast_slice(&(0..data.count as u32).collect::<Vec<u32>>()),
            ),
            order_host: None,
            loss: storage(&self.ctx, &name("per-image loss"), n4),
            predicted: storage(&self.ctx, &name("per-image prediction"), n4),
            loss_staging: staging(&self.ctx, &name("per-image loss read-back"), n4),
            predicted_staging: staging(&self.ctx, &name("per-image prediction read-back"), n4),
        };
        self.sets.insert(split, set);
        self.plans.retain(|(s, _), _| *s != split);
        self.ctx.check("uploading a data set")
    }

    fn set_params(&mut self, params: &Params) -> Result<()> {
        let shape = params.shape;
        if let Some(model) = &self.model {
            if model.shape == shape {
                // Same shape: overwrite in place, the plans stay valid.
                let q = &self.ctx.queue;
                q.write_buffer(&model.w1, 0, bytemuck::cast_slice(&params.w1));
                model.w1_texture.write(&self.ctx, &params.w1);
                model.w2_texture.write(&self.ctx, &params.w2);
                q.write_buffer(&model.b1, 0, bytemuck::cast_slice(&params.b1));
                q.write_buffer(&model.w2, 0, bytemuck::cast_slice(&params.w2));
                q.write_buffer(&model.b2, 0, bytemuck::cast_slice(&params.b2));
                if let Some(o) = &self.optimizer {
                    // A fresh start for the rule: zero moments.
                    let mut encoder =
                        self.ctx
                            .device
                            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                                label: Some("zero the moments"),
                            });
                    for buffer in o.m.all().into_iter().chain(o.v.all()) {
                        encoder.clear_buffer(buffer, 0, None);
                    }
                    q.submit([encoder.finish()]);
                }
                self.steps_taken = 0;
                return self.ctx.check("writing the parameters");
            }
        }
        self.ctx.check_binding(
            "W1 (hidden × pixels × 4 bytes)",
            (shape.hidden * shape.inputs * 4) as u64,
            "use a smaller --hidden",
        )?;
        check_fits(&self.ctx, "W1", shape.hidden, shape.inputs)?;
        self.model = Some(ModelBuffers {
            shape,
            w1_texture: RowsTexture::from_rows(
                &self.ctx,
                "W1 (H × D) texture",
                &params.w1,
                shape.hidden,
                shape.inputs,
            ),
            w2_texture: RowsTexture::from_rows(
                &self.ctx,
                "W2 (C × H) texture",
                &params.w2,
                shape.classes,
                shape.hidden,
            ),
            w1: storage_init(&self.ctx, "W1 (H × D)", bytemuck::cast_slice(&params.w1)),
            b1: storage_init(&self.ctx, "b1 (H)", bytemuck::cast_slice(&params.b1)),
            w2: storage_init(&self.ctx, "W2 (C × H)", bytemuck::cast_slice(&params.w2)),
            b2: storage_init(&self.ctx, "b2 (C)", bytemuck::cast_slice(&params.b2)),
        });
        self.scratch = None;
        self.optimizer = None;
        self.steps_taken = 0;
        self.plans.clear();
        self.ctx.check("uploading the parameters")
    }

    fn params(&mut self) -> Result<Params> {
        let model = self.model()?;
        let s = model.shape;
        let what = "reading the parameters back";
        Ok(Params {
            shape: s,
            w1: read_f32(&self.ctx, &model.w1, s.hidden * s.inputs, what)?,
            b1: read_f32(&self.ctx, &model.b1, s.hidden, what)?,
            w2: read_f32(&self.ctx, &model.w2, s.classes * s.hidden, what)?,
            b2: read_f32(&self.ctx, &model.b2, s.classes, what)?,
        })
    }

    fn images(&self, split: Split) -> usize {
        self.sets.get(&split).map_or(0, |s| s.count)
    }

    fn set_order(&mut self, order: Option<&[u32]>) -> Result<()> {
        let set = self
            .sets
            .get_mut(&Split::Train)
            .context("the Train set is not uploaded to the GPU")?;
        let n = set.count;
        if let Some(order) = order {
            crate::backend::cpu::check_order(order, n)?;
        }
        if order.is_none() && set.order_host.is_none() {
            return Ok(());
        }
        let identity: Vec<u32>;
        let words = match order {
            Some(order) => order,
            None => {
                identity = (0..n as u32).collect();
                &identity
            }
        };
        self.ctx
            .queue
            .write_buffer(&set.order, 0, bytemuck::cast_slice(words));
        set.order_host = order.map(<[u32]>::to_vec);
        self.ctx.check("writing the epoch order")
    }

    fn train_batches(&mut self, hyper: &Hyper, batches: Range<usize>) -> Result<BatchTally> {
        self.ensure_optimizer(hyper.optimizer)?;
        let step = Step {
            lr: hyper.lr,
            l1: hyper.l1,
            l2: hyper.l2,
            _pad: 0.0,
        };
        self.ctx
            .queue
            .write_buffer(&self.step, 0, bytemuck::bytes_of(&step));
        let (tally, _) = self.run(Split::Train, hyper.batch_size, true, Some(batches))?;
        Ok(tally)
    }

    fn optimizer_state(&mut self) -> Result<Option<OptimizerState>> {
        let Some(o) = &self.optimizer else {
            return Ok(None);
        };
        let shape = self.model()?.shape;
        let what = "reading the optimizer's moments back";
        let read = |a: &ParamArrays| -> Result<Params> {
            Ok(Params {
                shape,
                w1: read_f32(&self.ctx, &a.w1, shape.hidden * shape.inputs, what)?,
                b1: read_f32(&self.ctx, &a.b1, shape.hidden, what)?,
                w2: read_f32(&self.ctx, &a.w2, shape.classes * shape.hidden, what)?,
                b2: read_f32(&self.ctx, &a.b2, shape.classes, what)?,
            })
        };
        Ok(Some(OptimizerState {
            step: self.steps_taken,
            m: read(&o.m)?,
            v: read(&o.v)?,
        }))
    }

    fn set_optimizer_state(&mut self, state: &OptimizerState) -> Result<()> {
        let shape = self.model()?.shape;
        if state.m.shape != shape || state.v.shape != shape {
            bail!(
                "the optimizer state has shape {:?} but the parameters have {:?}",
                state.m.shape,
                shape
            );
        }
        if let Some(o) = &self.optimizer {
            let q = &self.ctx.queue;
            for (arrays, values) in [(&o.m, &state.m), (&o.v, &state.v)] {
                q.write_buffer(&arrays.w1, 0, bytemuck::cast_slice(&values.w1));
                q.write_buffer(&arrays.b1, 0, bytemuck::cast_slice(&values.b1));
                q.write_buffer(&arrays.w2, 0, bytemuck::cast_slice(&values.w2));
                q.write_buffer(&arrays.b2, 0, bytemuck::cast_slice(&values.b2));
            }
        }
        self.steps_taken = state.step;
        self.ctx.check("writing the optimizer's moments")
    }

    fn prepare_training(&mut self, hyper: &Hyper) -> Result<()> {
        self.ensure_optimizer(hyper.optimizer)?;
        self.prepare(Split::Train, hyper.batch_size)?;
        let eval_rows = self.eval_rows()?;
        for split in [Split::Train, Split::Validation, Split::Test] {
            if self.sets.contains_key(&split) {
                self.prepare(split, eval_rows)?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let rows = self.eval_rows()?;
        let (tally, predictions) = self.run(split, rows, false, None)?;
        let stats = tally.stats();
        Ok(Evaluation {
            loss: stats.loss,
            accuracy: stats.accuracy,
            predictions,
        })
    }
}
