//! Times CPU training epochs on random 60 000 × 784 u8 images at the two
//! benchmark workloads and prints the median epoch time and GFLOP/s.
//!
//!     cargo run --release --example cpu_epoch -- [article|wide|both] [--threads N] [--epochs N]
//!
//! flops per epoch = N·(4·D·H + 6·H·C): X·W1ᵀ and G1ᵀ·X (2·N·D·H each), and
//! A1·W2ᵀ, G2ᵀ·A1, G2·W2 (2·N·H·C each).

use std::time::Instant;

use anyhow::{bail, Context, Result};
use fashion_nn::backend::cpu::CpuBackend;
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::{Dataset, Standardizer};
use fashion_nn::model::{Hyper, Params, Shape};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 60_000;
const D: usize = 784;
const C: usize = 10;

struct Workload {
    name: &'static str,
    hidden: usize,
    hyper: Hyper,
    init_scale: f32,
    default_epochs: usize,
}

fn main() -> Result<()> {
    let mut which = "both".to_string();
    let mut threads = None;
    let mut epochs = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = Some(args.next().context("--threads needs a value")?.parse()?),
            "--epochs" => epochs = Some(args.next().context("--epochs needs a value")?.parse()?),
            "article" | "wide" | "both" => which = arg,
            other => bail!("unknown argument {other:?}"),
        }
    }

    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let data = Dataset {
        count: N,
        rows: 28,
        cols: 28,
        classes: C,
        pixels: (0..N * D).map(|_| rng.random()).collect(),
        labels: (0..N).map(|_| rng.random_range(0..C as u8)).collect(),
    };
    // Uniform u8 pixels: mean 127.5, std about 73.9.
    let stats = Standardizer {
        mean: vec![127.5; D],
        inv_std: vec![1.0 / 73.9; D],
    };

    let workloads = [
        Workload {
            name: "article",
            hidden: 50,
            hyper: Hyper {
                lr: 2.4,
                l1: 0.0,
                l2: 0.5 / 2400.0,
                batch_size: 2400,
            },
            init_scale: 1.0,
            default_epochs: 7,
        },
        Workload {
            name: "wide",
            hidden: 1024,
            hyper: Hyper {
                lr: 0.1,
                l1: 0.0,
                l2: 1e-5,
                batch_size: 256,
            },
            init_scale: (3.0f32 / D as f32).sqrt(),
            default_epochs: 3,
        },
    ];

    let mut cpu = CpuBackend::new(threads)?;
    println!("{:?}", cpu.info());
    let start = Instant::now();
    cpu.upload(Split::Train, &data, &stats)?;
    println!(
        "upload (standardize {N}×{D}): {:.3} s",
        start.elapsed().as_secs_f64()
    );

    for w in workloads
        .iter()
        .filter(|w| which == "both" || which == w.name)
    {
        let shape = Shape {
            inputs: D,
            hidden: w.hidden,
            classes: C,
        };
        cpu.set_params(&Params::init(shape, w.init_scale, 2))?;
        let flops = (N * (4 * D * w.hidden + 6 * w.hidden * C)) as f64;
        let mut times = Vec::new();
        let mut cpu_seconds = 0.0;
        // One warm-up epoch, then the timed ones.
        cpu.train_epoch(&w.hyper)?;
        for _ in 0..epochs.unwrap_or(w.default_epochs) {
            let (t, cpu0) = (Instant::now(), process_cpu_seconds());
            let stats = cpu.train_epoch(&w.hyper)?;
            times.push(t.elapsed().as_secs_f64());
            cpu_seconds += process_cpu_seconds() - cpu0;
            std::hint::black_box(stats);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{:8} H {:4} batch {:4}: median {:.4} s/epoch (min {:.4}, max {:.4}) = {:.1} GFLOP/s median, {:.1} best ({:.2} GFLOP/epoch)",
            w.name,
            w.hidden,
            w.hyper.batch_size,
            median,
            times[0],
            times[times.len() - 1],
            flops / median / 1e9,
            flops / times[0] / 1e9,
            flops / 1e9
        );
        // On a shared machine the wall time includes other processes' turns;
        // CPU time spread over our threads estimates the time with the cores
        // to ourselves (rayon's brief spinning counts against us).
        let cpu_per_epoch = cpu_seconds / times.len() as f64;
        let threads = cpu.threads() as f64;
        println!(
            "{:8} CPU time {:.4} s/epoch over {threads} threads = {:.1} GFLOP/s if the cores were ours",
            "",
            cpu_per_epoch,
            flops / (cpu_per_epoch / threads) / 1e9
        );
    }
    Ok(())
}

/// User plus system CPU time of this process so far, all threads, from
/// /proc/self/stat (in clock ticks of 1/100 s); 0 where it cannot be read.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, fields)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}
