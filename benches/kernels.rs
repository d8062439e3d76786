//! Each WGSL kernel alone, at the sizes the workloads use: median seconds of a
//! submission of `REPEAT` back-to-back dispatches, and GFLOP/s for the
//! matrix products; beside them the CPU backend's op for the same product
//! (`ops::linear` + `ops::sigmoid`, `ops::weight_grad`, on all cores). Run: `cargo bench --bench kernels` (needs a GPU adapter;
//! FASHION_NN_BENCH_API=vulkan|gl|metal|dx12 picks the API, default any).

use std::time::Instant;

use fashion_nn::backend::cpu::ops;
use fashion_nn::backend::gpu::context::Api;
use fashion_nn::backend::gpu::harness;
use fashion_nn::backend::gpu::pipelines::{Epilogue, MatmulKind};
use fashion_nn::backend::gpu::uniforms::{MatmulDims, Step};
use fashion_nn::backend::gpu::GpuBackend;
use fashion_nn::train::median;

const REPEAT: usize = 10;
const SAMPLES: usize = 5;

fn time(mut f: impl FnMut()) -> f64 {
    f(); // warm-up: lavapipe compiles the shader at its first dispatch
    let mut t = Vec::new();
    for _ in 0..SAMPLES {
        let s = Instant::now();
        f();
        t.push(s.elapsed().as_secs_f64() / REPEAT as f64);
    }
    median(&t)
}

fn main() -> anyhow::Result<()> {
    let api = match std::env::var("FASHION_NN_BENCH_API").as_deref() {
        Ok("vulkan") => Api::Vulkan,
        Ok("gl") => Api::Gl,
        Ok("metal") => Api::Metal,
        Ok("dx12") => Api::Dx12,
        _ => Api::Any,
    };
    let gpu = GpuBackend::new(api)?;
    let (ctx, k) = (gpu.context(), gpu.kernels());
    println!("adapter: {}", ctx.info.name);
    let d = 784;
    let step = Step {
        lr: 1e-3,
        l1: 0.0,
        l2: 0.0,
        _pad: 0.0,
    };
    for (workload, b, h) in [
        ("default", 100, 256),
        ("article", 2400, 50),
        ("wide", 256, 1024),
    ] {
        let rand = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| ((i * 7919 % 1000) as f32 / 1000.0) - 0.5)
                .collect()
        };
        let x = rand(b * d);
        let w1 = rand(h * d);
        let b1 = rand(h);
        let g1 = rand(b * h);
        let flops = 2.0 * (b * h * d) as f64;
        let report = |name: &str, s: f64| {
            println!(
                "{workload:8} B {b:5} H {h:5}  {name:26} {:9.3} ms  {:6.2} GFLOP/s",
                s * 1e3,
                flops / s / 1e9
            );
        };
        let (mut z1, mut dw1) = (vec![0.0f32; b * h], vec![0.0f32; h * d]);
        report(
            "z1 cpu (linear + sigmoid)",
            time(|| {
                for _ in 0..REPEAT {
                    ops::linear(&x, &w1, &b1, b, d, h, &mut z1);
                    ops::sigmoid(&mut z1);
                }
            }),
        );
        report(
            "dW1 cpu (weight_grad)",
            time(|| {
                for _ in 0..REPEAT {
                    ops::weight_grad(&g1, &x, b, h, d, &mut dw1);
                }
            }),
        );
        for (name, kind, epilogue, dims, a, bm, out_len) in [
            (
                "z1 buffers vec4",
                MatmulKind::for_a_bt(d),
                Epilogue::BiasSigmoid,
                MatmulDims::a_bt(b, h, d),
                &x,
                &w1,
                b * h,
            ),
            (
                "z1 textures (training)",
                MatmulKind::for_hidden(h),
                Epilogue::BiasSigmoid,
                MatmulDims::a_bt(b, h, d),
                &x,
                &w1,
                b * h,
            ),
            (
                "z1 textures 8×16",
                MatmulKind::TexABt,
                Epilogue::BiasSigmoid,
                MatmulDims::a_bt(b, h, d),
                &x,
                &w1,
                b * h,
            ),
            (
                "z1 textures 16×8",
                MatmulKind::TexABtTall,
                Epilogue::BiasSigmoid,
                MatmulDims::a_bt(b, h, d),
                &x,
                &w1,
                b * h,
            ),
            (
                "z1 strided",
                MatmulKind::Strided,
                Epilogue::BiasSigmoid,
                MatmulDims::a_bt(b, h, d),
                &x,
                &w1,
                b * h,
            ),
            (
                "dW1 buffers vec4",
                MatmulKind::for_at_b(d),
                Epilogue::Sgd,
                MatmulDims::at_b(h, d, b),
                &g1,
                &x,
                h * d,
            ),
            (
                "dW1 textures (training)",
                MatmulKind::TexAtB,
                Epilogue::Sgd,
                MatmulDims::at_b(h, d, b),
                &g1,
                &x,
                h * d,
            ),
            (
                "dW1 strided",
                MatmulKind::Strided,
                Epilogue::Sgd,
                MatmulDims::at_b(h, d, b),
                &g1,
                &x,
                h * d,
            ),
        ] {
            let out = vec![0.0f32; out_len];
            let s = time(|| {
                harness::matmul(ctx, k, kind, epilogue, dims, a, bm, &b1, &out, step, REPEAT)
                    .unwrap();
            });
            report(name, s);
        }
    }
    Ok(())
}
