//! The one place that turns `shaders/*.wgsl` into compute pipelines with
//! explicit bind-group layouts.

use std::sync::OnceLock;

use anyhow::Result;

use super::context::GpuContext;

/// How a kernel binds one resource.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// `var<storage, read>`
    Read,
    /// `var<storage, read_write>`
    ReadWrite,
    /// `var<uniform>`
    Uniform,
    /// `var<uniform>` bound with a dynamic offset (one slot per batch).
    UniformDynamic,
    /// `texture_2d<f32>` read with `textureLoad` (rgba32float, unfilterable).
    Texture,
    /// `texture_storage_2d<rgba32float, write>`
    StorageTexture,
}

/// Bindings of the A·Bᵀ texture products: textures a, b, then bias, out,
/// dims, step as in matmul_common.wgsl, then the output texture.
const TEXTURE_ABT_SLOTS: [Slot; 7] = [
    Slot::Texture,
    Slot::Texture,
    Slot::Read,
    Slot::ReadWrite,
    Slot::Uniform,
    Slot::Uniform,
    Slot::StorageTexture,
];

/// What [`matmul.wgsl`](../../../shaders/matmul.wgsl) does with each sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Epilogue {
    /// out = acc
    Store = 0,
    /// out = acc + bias
    Bias = 1,
    /// out = σ(acc + bias)
    BiasSigmoid = 2,
    /// out ← out − lr·(acc + l1·sign(out) + l2·out)
    Sgd = 3,
}

/// A compute pipeline with its layout and workgroup shape.
pub struct Kernel {
    pub name: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// Invocations per workgroup along x and y.
    pub workgroup: [u32; 2],
    /// The binding bound with a dynamic offset, if any.
    dynamic_slot: Option<usize>,
}

impl Kernel {
    /// A bind group binding `buffers` to slots 0, 1, … in order. Dynamic
    /// uniform slots bind `dynamic_size` bytes (one batch's slot).
    pub fn bind(
        &self,
        ctx: &GpuContext,
        label: &str,
        buffers: &[&wgpu::Buffer],
        dynamic_size: Option<u64>,
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let dynamic = dynamic_size.filter(|_| self.dynamic_slot == Some(i));
                wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: match dynamic {
                        Some(size) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: b,
                            offset: 0,
                            size: wgpu::BufferSize::new(size),
                        }),
                        None => b.as_entire_binding(),
                    },
                }
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// A bind group binding `resources` (buffers and texture views) to slots
    /// 0, 1, … in order; no dynamic offsets.
    pub fn bind_resources(
        &self,
        ctx: &GpuContext,
        label: &str,
        resources: &[wgpu::BindingResource],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = resources
            .iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: resource.clone(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// Invocations per workgroup of the matrix products along x (output
/// columns) and y (output rows).
pub const MATMUL_WORKGROUP: [u32; 2] = [8, 8];

/// The three matrix-product kernels; all take the same bindings and `Dims`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatmulKind {
    /// `matmul.wgsl`: any strides, scalar loads, 4×4 outputs per invocation.
    Strided,
    /// `matmul_abt.wgsl`: A·Bᵀ, vec4 loads along K (K % 4 = 0), 8×8 outputs.
    ABt,
    /// `matmul_atb.wgsl`: Aᵀ·B, vec4 loads along N (N % 4 = 0), 8×8 outputs.
    AtB,
    /// `matmul_tex_abt.wgsl`: A·Bᵀ with both operands in textures, any K,
    /// 8×16 outputs. The forward product of training.
    TexABt,
    /// `matmul_tex_atb.wgsl`: Aᵀ·B with both operands in textures, any M and
    /// N, 8×16 outputs. The dW1 product of training.
    TexAtB,
    /// `matmul_tex_abt_tall.wgsl`: [`MatmulKind::TexABt`] with 16×8 outputs
    /// (N in steps of 8). The forward product when H is not a multiple of 16.
    TexABtTall,
}

impl MatmulKind {
    /// Outputs per invocation along M and N (the shader's TM and TN).
    pub fn tile(self) -> [u32; 2] {
        match self {
            MatmulKind::Strided => [4, 4],
            MatmulKind::ABt => [8, 16],
            MatmulKind::AtB => [8, 16],
            MatmulKind::TexABt => [8, 16],
            MatmulKind::TexAtB => [8, 16],
            MatmulKind::TexABtTall => [16, 8],
        }
    }

    /// The forward-product kernel for Z1 = X·W1ᵀ with `h` hidden units: the
    /// 16×8 block where it computes fewer columns than the 8×16 one (h mod 16
    /// in 1..=8, e.g. 50 → 56 columns, not 64), else the 8×16 block.
    pub fn for_hidden(h: usize) -> Self {
        if h.next_multiple_of(8) < h.next_multiple_of(16) {
            MatmulKind::TexABtTall
        } else {
            MatmulKind::TexABt
        }
    }

    /// The fastest kernel for out = A·Bᵀ (A m×k, B n×k).
    pub fn for_a_bt(k: usize) -> Self {
        if k.is_multiple_of(4) {
            MatmulKind::ABt
        } else {
            MatmulKind::Strided
        }
    }

    /// The fastest kernel for out = Aᵀ·B (A k×m, B k×n).
    pub fn for_at_b(n: usize) -> Self {
        if n.is_multiple_of(4) {
            MatmulKind::AtB
        } else {
            MatmulKind::Strided
        }
    }
}

/// Every kernel the trainer dispatches.
pub struct Pipelines {
    /// `standardize.wgsl` for a set in up to four pixel chunks
    pub standardize: Kernel,
    /// the same for a set in one chunk (no switch over the bindings)
    pub standardize_one_chunk: Kernel,
    /// Indexed by [`MatmulKind`] then [`Epilogue`].
    matmuls: Vec<Kernel>,
    /// [`MatmulKind::TexABt`] with σ(acc + bias) written to a texture (A1).
    hidden_activation: Kernel,
    /// For the kernels built at first use.
    device: wgpu::Device,
    /// The same with [`MatmulKind::TexABtTall`], built at first use (only
    /// models with H mod 16 in 1..=8 need it; lavapipe takes 0.1–0.2 s to
    /// build it).
    hidden_activation_tall: OnceLock<Kernel>,
    /// [`MatmulKind::TexABtTall`] by [`Epilogue`] (tests and benches), built
    /// at first use.
    tall_matmuls: OnceLock<Vec<Kernel>>,
    pub softmax_cross_entropy: Kernel,
    pub hidden_delta: Kernel,
    /// A row-major matrix copied into an rgba32float texture (W1 after each step)
    pub texture_rows: Kernel,
    /// b ← b − lr·Σᵢ G[i]
    pub bias_update: Kernel,
    /// db = Σᵢ G[i], stored for the optimizer step
    pub bias_gradient: Kernel,
    /// `optimizer_step.wgsl` for momentum and for Adam
    pub momentum_step: Kernel,
    pub adam_step: Kernel,
}

impl Pipelines {
    /// Compiles every shader. On lavapipe the machine code is built at the
    /// first dispatch, not here.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        use Slot::*;
        let standardize_chunks = |name: &'static str, chunks: f64| {
            build(
                &ctx.device,
                name,
                include_str!("../../../shaders/standardize.wgsl"),
                &[
                    Read,
                    Read,
                    Read,
                    Read,
                    Texture,
                    Read,
                    StorageTexture,
                    UniformDynamic,
                ],
                &[("WG", 64.0), ("CHUNKS", chunks)],
                [64, 1],
            )
        };
        let standardize = standardize_chunks("standardize", 4.0);
        let standardize_one_chunk = standardize_chunks("standardize one chunk", 1.0);
        let matmul_slots = [Read, Read, Read, ReadWrite, Uniform, Uniform];
        let texture_matmul_slots = [Texture, Texture, Read, ReadWrite, Uniform, Uniform];
        let texture_abt_slots = TEXTURE_ABT_SLOTS;
        let abt_texture = concat!(
            include_str!("../../../shaders/matmul_tex_out.wgsl"),
            "\n",
            include_str!("../../../shaders/matmul_tex_abt.wgsl")
        );
        let mut matmuls = Vec::new();
        // The three kernels share their epilogue and bindings 2–5.
        let common = include_str!("../../../shaders/matmul_common.wgsl");
        for (kind, body, slots) in [
            (
                MatmulKind::Strided,
                include_str!("../../../shaders/matmul.wgsl"),
                &matmul_slots[..],
            ),
            (
                MatmulKind::ABt,
                include_str!("../../../shaders/matmul_abt.wgsl"),
                &matmul_slots[..],
            ),
            (
                MatmulKind::AtB,
                include_str!("../../../shaders/matmul_atb.wgsl"),
                &matmul_slots[..],
            ),
            (MatmulKind::TexABt, abt_texture, &texture_abt_slots[..]),
            (
                MatmulKind::TexAtB,
                include_str!("../../../shaders/matmul_tex_atb.wgsl"),
                &texture_matmul_slots[..],
            ),
        ] {
            let source = format!("{common}\n{body}");
            for epilogue in [
                Epilogue::Store,
                Epilogue::Bias,
                Epilogue::BiasSigmoid,
                Epilogue::Sgd,
            ] {
                matmuls.push(build(
                    &ctx.device,
                    kind.label(epilogue),
                    &source,
                    slots,
                    &[
                        ("WG_X", MATMUL_WORKGROUP[0] as f64),
                        ("WG_Y", MATMUL_WORKGROUP[1] as f64),
                        ("EPILOGUE", epilogue as u32 as f64),
                    ],
                    MATMUL_WORKGROUP,
                ));
            }
        }
        // A1 = σ(X·W1ᵀ + b1) straight into A1's texture.
        let to_texture = |name: &'static str, body: &str| {
            build(
                &ctx.device,
                name,
                &format!("{common}\n{body}"),
                &texture_abt_slots,
                &[
                    ("WG_X", MATMUL_WORKGROUP[0] as f64),
                    ("WG_Y", MATMUL_WORKGROUP[1] as f64),
                    ("EPILOGUE", Epilogue::BiasSigmoid as u32 as f64),
                    ("OUT_TEXTURE", 1.0),
                ],
                MATMUL_WORKGROUP,
            )
        };
        let hidden_activation = to_texture("matmul_tex_abt bias sigmoid to texture", abt_texture);
        let optimizer_slots = [
            ReadWrite,
            Read,
            ReadWrite,
            ReadWrite,
            Uniform,
            Uniform,
            Uniform,
            UniformDynamic,
        ];
        let pipelines = Pipelines {
            standardize,
            standardize_one_chunk,
            matmuls,
            hidden_activation,
            device: ctx.device.clone(),
            hidden_activation_tall: OnceLock::new(),
            tall_matmuls: OnceLock::new(),
            softmax_cross_entropy: build(
                &ctx.device,
                "softmax_cross_entropy",
                include_str!("../../../shaders/softmax_cross_entropy.wgsl"),
                &[
                    Read,
                    Read,
                    Read,
                    ReadWrite,
                    ReadWrite,
                    ReadWrite,
                    UniformDynamic,
                    StorageTexture,
                ],
                &[("WG", 64.0)],
                [64, 1],
            ),
            hidden_delta: build(
                &ctx.device,
                "hidden_delta",
                include_str!("../../../shaders/hidden_delta.wgsl"),
                &[
                    Texture,
                    Texture,
                    Texture,
                    ReadWrite,
                    StorageTexture,
                    Uniform,
                ],
                &[("WG", 64.0)],
                [64, 1],
            ),
            texture_rows: build(
                &ctx.device,
                "texture_rows",
                include_str!("../../../shaders/texture_rows.wgsl"),
                &[Read, StorageTexture, Uniform],
                &[("WG", 64.0)],
                [64, 1],
            ),
            bias_update: build(
                &ctx.device,
                "bias_update",
                include_str!("../../../shaders/bias_update.wgsl"),
                &[Read, ReadWrite, Uniform, Uniform],
                &[("WG", 64.0), ("MODE", 0.0)],
                [64, 1],
            ),
            bias_gradient: build(
                &ctx.device,
                "bias_gradient",
                include_str!("../../../shaders/bias_update.wgsl"),
                &[Read, ReadWrite, Uniform, Uniform],
                &[("WG", 64.0), ("MODE", 1.0)],
                [64, 1],
            ),
            momentum_step: build(
                &ctx.device,
                "momentum_step",
                include_str!("../../../shaders/optimizer_step.wgsl"),
                &optimizer_slots,
                &[("WG", 64.0), ("KIND", 1.0)],
                [64, 1],
            ),
            adam_step: build(
                &ctx.device,
                "adam_step",
                include_str!("../../../shaders/optimizer_step.wgsl"),
                &optimizer_slots,
                &[("WG", 64.0), ("KIND", 2.0)],
                [64, 1],
            ),
        };
        ctx.check("compiling the WGSL shaders")?;
        Ok(pipelines)
    }

    /// The standardize kernel for a set in `chunks` pixel chunks.
    pub fn standardize_for(&self, chunks: usize) -> &Kernel {
        if chunks <= 1 {
            &self.standardize_one_chunk
        } else {
            &self.standardize
        }
    }

    /// The step kernel of a stateful rule (`None` for plain SGD, fused into
    /// the products).
    pub fn optimizer_step(&self, optimizer: crate::model::Optimizer) -> Option<&Kernel> {
        use crate::model::Optimizer;
        match optimizer {
            Optimizer::Sgd => None,
            Optimizer::Momentum { .. } => Some(&self.momentum_step),
            Optimizer::Adam { .. } => Some(&self.adam_step),
        }
    }

    /// A1 = σ(X·W1ᵀ + b1) into A1's texture with the block of `kind`
    /// ([`MatmulKind::TexABt`] or [`MatmulKind::TexABtTall`]).
    pub fn hidden_activation(&self, kind: MatmulKind) -> &Kernel {
        match kind {
            MatmulKind::TexABtTall => self.hidden_activation_tall.get_or_init(|| {
                build_tall(
                    &self.device,
                    "matmul_tex_abt_tall bias sigmoid to texture",
                    Epilogue::BiasSigmoid,
                    1.0,
                )
            }),
            _ => &self.hidden_activation,
        }
    }

    /// The matmul pipeline of a kind and epilogue.
    pub fn matmul(&self, kind: MatmulKind, epilogue: Epilogue) -> &Kernel {
        if kind == MatmulKind::TexABtTall {
            let tall = self.tall_matmuls.get_or_init(|| {
                [
                    Epilogue::Store,
                    Epilogue::Bias,
                    Epilogue::BiasSigmoid,
                    Epilogue::Sgd,
                ]
                .into_iter()
                .map(|e| build_tall(&self.device, kind.label(e), e, 0.0))
                .collect()
            });
            return &tall[epilogue as usize];
        }
        &self.matmuls[kind as usize * 4 + epilogue as usize]
    }
}

impl MatmulKind {
    fn label(self, epilogue: Epilogue) -> &'static str {
        use Epilogue::*;
        use MatmulKind::*;
        match (self, epilogue) {
            (Strided, Store) => "matmul store",
            (Strided, Bias) => "matmul bias",
            (Strided, BiasSigmoid) => "matmul bias sigmoid",
            (Strided, Sgd) => "matmul sgd",
            (ABt, Store) => "matmul_abt store",
            (ABt, Bias) => "matmul_abt bias",
            (ABt, BiasSigmoid) => "matmul_abt bias sigmoid",
            (ABt, Sgd) => "matmul_abt sgd",
            (AtB, Store) => "matmul_atb store",
            (AtB, Bias) => "matmul_atb bias",
            (AtB, BiasSigmoid) => "matmul_atb bias sigmoid",
            (AtB, Sgd) => "matmul_atb sgd",
            (TexABt, Store) => "matmul_tex_abt store",
            (TexABt, Bias) => "matmul_tex_abt bias",
            (TexABt, BiasSigmoid) => "matmul_tex_abt bias sigmoid",
            (TexABt, Sgd) => "matmul_tex_abt sgd",
            (TexAtB, Store) => "matmul_tex_atb store",
            (TexAtB, Bias) => "matmul_tex_atb bias",
            (TexAtB, BiasSigmoid) => "matmul_tex_atb bias sigmoid",
            (TexAtB, Sgd) => "matmul_tex_atb sgd",
            (TexABtTall, Store) => "matmul_tex_abt_tall store",
            (TexABtTall, Bias) => "matmul_tex_abt_tall bias",
            (TexABtTall, BiasSigmoid) => "matmul_tex_abt_tall bias sigmoid",
            (TexABtTall, Sgd) => "matmul_tex_abt_tall sgd",
        }
    }
}

/// `matmul_tex_abt_tall.wgsl` with an epilogue, to `out` (`out_texture` 0.0)
/// or to `out_texture` (1.0).
fn build_tall(
    device: &wgpu::Device,
    name: &'static str,
    epilogue: Epilogue,
    out_texture: f64,
) -> Kernel {
    build(
        device,
        name,
        &format!(
            "{}\n{}",
            include_str!("../../../shaders/matmul_common.wgsl"),
            concat!(
                include_str!("../../../shaders/matmul_tex_out.wgsl"),
                "\n",
                include_str!("../../../shaders/matmul_tex_abt_tall.wgsl")
            )
        ),
        &TEXTURE_ABT_SLOTS,
        &[
            ("WG_X", MATMUL_WORKGROUP[0] as f64),
            ("WG_Y", MATMUL_WORKGROUP[1] as f64),
            ("EPILOGUE", epilogue as u32 as f64),
            ("OUT_TEXTURE", out_texture),
        ],
        MATMUL_WORKGROUP,
    )
}

fn build(
    device: &wgpu::Device,
    name: &'static str,
    source: &str,
    slots: &[Slot],
    constants: &[(&str, f64)],
    workgroup: [u32; 2],
) -> Kernel {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: match slot {
                Slot::Read | Slot::ReadWrite => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: matches!(slot, Slot::Read),
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                Slot::Uniform | Slot::UniformDynamic => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: matches!(slot, Slot::UniformDynamic),
                    min_binding_size: None,
                },
                Slot::Texture => wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                Slot::StorageTexture => wgpu::BindingType::StorageTexture {
                    access: wgpu::StorageTextureAccess::WriteOnly,
                    format: wgpu::TextureFormat::Rgba32Float,
                    view_dimension: wgpu::TextureViewDimension::D2,
                },
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(name),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            ..Default::default()
        },
        cache: None,
    });
    Kernel {
        name,
        pipeline,
        layout,
        workgroup,
        dynamic_slot: slots.iter().position(|s| matches!(s, Slot::UniformDynamic)),
    }
}
