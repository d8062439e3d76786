//! `cargo bench --bench epoch`: the GPU-vs-CPU epoch benchmark of
//! `fashion-nn bench` on the article workload over the first 12 000 training
//! images (a full-size run is `fashion-nn bench`). Needs the data
//! (`apt-get install dataset-fashion-mnist`) and a Vulkan adapter for the GPU
//! row; without one it reports the CPU alone and says why.

use fashion_nn::backend::cpu::CpuBackend;
use fashion_nn::backend::gpu::context::Api;
use fashion_nn::backend::gpu::GpuBackend;
use fashion_nn::backend::Backend;
use fashion_nn::bench::{bench_backend, relate_to_cpu, table, BenchReport, Workload};
use fashion_nn::data::{find_data_dir, load_fashion_mnist};

fn main() -> anyhow::Result<()> {
    let data = load_fashion_mnist(&find_data_dir(None))?;
    let train_set = data.train.take(12_000);
    let workload = Workload::article(train_set.count);
    let mut results = Vec::new();
    let mut cpu = || -> anyhow::Result<Box<dyn Backend>> { Ok(Box::new(CpuBackend::new(None)?)) };
    results.push(bench_backend(&mut cpu, &train_set, &workload, 5)?);
    let mut gpu =
        || -> anyhow::Result<Box<dyn Backend>> { Ok(Box::new(GpuBackend::new(Api::Vulkan)?)) };
    match bench_backend(&mut gpu, &train_set, &workload, 3) {
        Ok(r) => results.push(r),
        Err(e) => eprintln!("no GPU row: {e:#}"),
    }
    relate_to_cpu(&mut results);
    let report = BenchReport { workload, results };
    println!(
        "{}",
        table(&report, train_set.pixels_per_image(), train_set.classes)
    );
    Ok(())
}
