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
pub mod uniforms;

use std::collections::HashMap;

use anyhow::{bail, Context, Result};

use self::buffers::{map_read, read_f32, staging, storage, storage_init, uniform_init};
use self::context::{Api, GpuContext};
use self::pipelines::{Epilogue, Kernel, Pipelines};
use self::plan::{matmul_groups, ModelBuffers, Plan, Product, Scratch, SetBuffers};
use self::uniforms::Step;
use super::{Backend, BackendInfo, EpochStats, Evaluation, Split};
use crate::data::{Dataset, Standardizer};
use crate::model::{Hyper, Params};

/// Images per forward-only batch when evaluating a whole set.
pub const EVAL_ROWS: usize = 1000;

/// Trains on a GPU through wgpu.
pub struct GpuBackend {
    ctx: GpuContext,
    kernels: Pipelines,
    step: wgpu::Buffer,
    model: Option<ModelBuffers>,
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
        let max = self
            .ctx
            .limits
            .max_storage_buffer_binding_size
            .min(self.ctx.limits.max_buffer_size);
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
            )?;
            self.ctx.check_binding(
                "one batch of hidden activations (batch × hidden × 4 bytes)",
                f(need * shape.hidden),
            )?;
            self.ctx.check_binding(
                "one batch of output logits (batch × classes × 4 bytes)",
                f(need * shape.classes),
            )?;
            self.scratch = Some(Scratch {
                rows: need,
                x: storage(&self.ctx, "X (batch × D)", f(need * shape.inputs)),
                a1: storage(&self.ctx, "A1 (batch × H)", f(need * shape.hidden)),
                z2: storage(&self.ctx, "Z2 (batch × C)", f(need * shape.classes)),
                g2: storage(&self.ctx, "G2 (batch × C)", f(need * shape.classes)),
                g1: storage(&self.ctx, "G1 (batch × H)", f(need * shape.hidden)),
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
                rows,
                &format!("{split:?}"),
            )?;
            self.plans.insert((split, rows), plan);
        }
        Ok(())
    }

    /// Records the dispatches of every batch of the plan; `backward` adds the
    /// gradient and update kernels after the forward ones.
    fn encode(&self, split: Split, rows: usize, backward: bool) -> wgpu::CommandBuffer {
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
            for (j, &(_, batch_rows)) in plan.batches.iter().enumerate() {
                let slot = j as u32 * plan.slot_stride;
                let g = &plan.by_rows[&batch_rows]; // invariant: built for every batch size
                let r = batch_rows as u32;
                // X = standardize(pixels of this batch)
                dispatch(
                    &mut pass,
                    &k.standardize,
                    &plan.standardize,
                    &[slot],
                    [(shape.inputs as u32).div_ceil(64), r],
                );
                // A1 = σ(X·W1ᵀ + b1)
                dispatch_matmul(&mut pass, k, Epilogue::BiasSigmoid, &g.z1, &g.dims.z1);
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
                if backward {
                    // G1 = (G2·W2) ⊙ A1 ⊙ (1 − A1), with W2 before its update
                    dispatch(
                        &mut pass,
                        &k.hidden_delta,
                        &g.delta,
                        &[],
                        [(shape.hidden as u32).div_ceil(64), r],
                    );
                    // W2 ← W2 − lr·(G2ᵀ·A1 + l1·sign W2 + l2·W2)
                    dispatch_matmul(&mut pass, k, Epilogue::Sgd, &g.dw2, &g.dims.dw2);
                    // b2 ← b2 − lr·Σᵢ G2[i]
                    dispatch(
                        &mut pass,
                        &k.bias_update,
                        &g.db2,
                        &[],
                        [(shape.classes as u32).div_ceil(64), 1],
                    );
                    // W1 ← W1 − lr·(G1ᵀ·X + l1·sign W1 + l2·W1)
                    dispatch_matmul(&mut pass, k, Epilogue::Sgd, &g.dw1, &g.dims.dw1);
                    // b1 ← b1 − lr·Σᵢ G1[i]
                    dispatch(
                        &mut pass,
                        &k.bias_update,
                        &g.db1,
                        &[],
                        [(shape.hidden as u32).div_ceil(64), 1],
                    );
                }
            }
        }
        let n = set.count as u64 * 4;
        encoder.copy_buffer_to_buffer(&set.loss, 0, &set.loss_staging, 0, n.max(4));
        encoder.copy_buffer_to_buffer(&set.predicted, 0, &set.predicted_staging, 0, n.max(4));
        encoder.finish()
    }

    /// Runs the plan of (`split`, `rows`) and sums its per-image results.
    fn run(&mut self, split: Split, rows: usize, backward: bool) -> Result<(f64, f64, Vec<u8>)> {
        self.prepare(split, rows)?;
        let set_count = self.sets[&split].count;
        let rows = rows.min(set_count.max(1));
        let commands = self.encode(split, rows, backward);
        let what = if backward {
            "training an epoch"
        } else {
            "evaluating"
        };
        self.ctx.queue.submit([commands]);
        let set = &self.sets[&split];
        let n = set.count as u64 * 4;
        let loss: Vec<f32> =
            bytemuck::pod_collect_to_vec(&map_read(&self.ctx, &set.loss_staging, n, what)?);
        let predicted: Vec<u32> =
            bytemuck::pod_collect_to_vec(&map_read(&self.ctx, &set.predicted_staging, n, what)?);
        let count = set.count.max(1) as f64;
        let loss_sum: f64 = loss.iter().map(|&l| l as f64).sum();
        let correct = predicted
            .iter()
            .zip(&set.labels_host)
            .filter(|(p, y)| **p == u32::from(**y))
            .count();
        let predictions = predicted.iter().map(|&p| p as u8).collect();
        Ok((loss_sum / count, correct as f64 / count, predictions))
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
        let what = format!(
            "the {split:?} set's u8 pixels ({} images × {d})",
            data.count
        );
        self.ctx.check_binding(&what, data.pixels.len() as u64)?;
        let labels: Vec<u32> = data.labels.iter().map(|&y| u32::from(y)).collect();
        let name = |n: &str| format!("{split:?} {n}");
        let n4 = data.count as u64 * 4;
        let set = SetBuffers {
            count: data.count,
            pixels_per_image: d,
            classes: data.classes,
            labels_host: data.labels.clone(),
            pixels: storage_init(&self.ctx, &name("pixels (u8 ×4 per word)"), &data.pixels),
            labels: storage_init(&self.ctx, &name("labels"), bytemuck::cast_slice(&labels)),
            mean: storage_init(
                &self.ctx,
                &name("pixel mean"),
                bytemuck::cast_slice(&stats.mean),
            ),
            inv_std: storage_init(
                &self.ctx,
                &name("pixel 1/std"),
                bytemuck::cast_slice(&stats.inv_std),
            ),
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
                q.write_buffer(&model.b1, 0, bytemuck::cast_slice(&params.b1));
                q.write_buffer(&model.w2, 0, bytemuck::cast_slice(&params.w2));
                q.write_buffer(&model.b2, 0, bytemuck::cast_slice(&params.b2));
                return self.ctx.check("writing the parameters");
            }
        }
        self.ctx.check_binding(
            "W1 (hidden × pixels × 4 bytes)",
            (shape.hidden * shape.inputs * 4) as u64,
        )?;
        self.model = Some(ModelBuffers {
            shape,
            w1: storage_init(&self.ctx, "W1 (H × D)", bytemuck::cast_slice(&params.w1)),
            b1: storage_init(&self.ctx, "b1 (H)", bytemuck::cast_slice(&params.b1)),
            w2: storage_init(&self.ctx, "W2 (C × H)", bytemuck::cast_slice(&params.w2)),
            b2: storage_init(&self.ctx, "b2 (C)", bytemuck::cast_slice(&params.b2)),
        });
        self.scratch = None;
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

    fn train_epoch(&mut self, hyper: &Hyper) -> Result<EpochStats> {
        let step = Step {
            lr: hyper.lr,
            l1: hyper.l1,
            l2: hyper.l2,
            _pad: 0.0,
        };
        self.ctx
            .queue
            .write_buffer(&self.step, 0, bytemuck::bytes_of(&step));
        let (loss, accuracy, _) = self.run(Split::Train, hyper.batch_size, true)?;
        Ok(EpochStats { loss, accuracy })
    }

    fn prepare_training(&mut self, batch_size: usize) -> Result<()> {
        self.prepare(Split::Train, batch_size)?;
        let eval_rows = self.eval_rows()?;
        for split in [Split::Train, Split::Test] {
            if self.sets.contains_key(&split) {
                self.prepare(split, eval_rows)?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let rows = self.eval_rows()?;
        let (loss, accuracy, predictions) = self.run(split, rows, false)?;
        Ok(Evaluation {
            loss,
            accuracy,
            predictions,
        })
    }
}
