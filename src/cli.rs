//! The command line: flags, sub-commands, and what each prints. `main.rs`
//! parses the arguments and hands them to [`run`].

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::context::{list_adapters, Api};
use crate::backend::gpu::GpuBackend;
use crate::backend::{Backend, Split};
use crate::data::{find_data_dir, load_fashion_mnist, CLASS_NAMES};
use crate::model::{
    ascii_art, folder_of, load, predict_proba, save, top_classes, Hyper, Preset, SavedModel,
};
use crate::train::{
    class_metrics, confusion_matrix, median, train, ClassMetrics, EpochReport, TrainConfig,
    TrainReport,
};

/// Train a one-hidden-layer Fashion-MNIST classifier in WGSL compute shaders
/// (wgpu: Vulkan, Metal, DX12, GL) or on the CPU. Without a sub-command it trains.
#[derive(Parser, Debug)]
#[command(
    name = "fashion-nn",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the network and report its accuracy (the default).
    Train(TrainArgs),
    /// List the GPU adapters wgpu finds: backend, name, device type, driver.
    Adapters,
    /// Time epochs of the same work on several backends, side by side.
    Bench(BenchArgs),
    /// Test accuracy, per-class precision/recall/F1 and the confusion matrix of a saved model.
    Eval(EvalArgs),
    /// The top classes of one test image, with their probabilities.
    Predict(PredictArgs),
    /// Fetch the four Fashion-MNIST files from the project's mirror, checking each SHA-256.
    Download(DownloadArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// A model saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which test image (0-based).
    #[arg(long, value_name = "N")]
    pub index: usize,
    /// How many classes to list.
    #[arg(long, default_value_t = 3, value_parser = positive_usize)]
    pub top: usize,
    /// Folder with the IDX files (as for train).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// A benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WorkloadChoice {
    /// H 50, batch 2 400 (25 batches an epoch).
    Article,
    /// H 1 024, batch 256.
    Wide,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Backends to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [BackendChoice::Cpu, BackendChoice::Vulkan])]
    pub backends: Vec<BackendChoice>,
    /// Workload; both when not given.
    #[arg(long, value_enum)]
    pub workload: Option<WorkloadChoice>,
    /// Hidden units, overriding the workload's.
    #[arg(long, value_parser = positive_usize)]
    pub hidden: Option<usize>,
    /// Batch size, overriding the workload's.
    #[arg(long, value_parser = positive_usize)]
    pub batch_size: Option<usize>,
    /// Timed epochs per backend (after one warm-up epoch).
    #[arg(long, default_value_t = 5, value_parser = positive_usize)]
    pub epochs: usize,
    /// Use the first N training images only.
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub train_limit: Option<usize>,
    /// Folder with the four IDX files (as for train).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print JSON on stdout: one object per workload (an array of them when
    /// both run), progress on stderr.
    #[arg(long)]
    pub json: bool,
}

/// Where the math runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// A hardware GPU of any API if there is one, else the CPU backend.
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
    Cpu,
}

impl BackendChoice {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Vulkan => "vulkan",
            BackendChoice::Metal => "metal",
            BackendChoice::Dx12 => "dx12",
            BackendChoice::Gl => "gl",
            BackendChoice::Cpu => "cpu",
        }
    }
}

/// Named configurations; explicit flags override their values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PresetChoice {
    /// H 128, batch 100, lr 0.5, fan-in scaled init, 10 epochs.
    Default,
    /// The article: H 50, 25 batches of 2 400, lr 2.4, L2 0.5/2400, init in [-1, 1), 300 epochs.
    Article,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Where the math runs.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Folder with the four IDX files (default: $FASHION_MNIST_DIR, then ./data,
    /// then /usr/share/datasets/fashion-mnist).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Starting configuration; the flags below override it.
    #[arg(long, value_enum, default_value_t = PresetChoice::Default)]
    pub preset: PresetChoice,
    /// Passes over the training set.
    #[arg(long, value_parser = positive_usize)]
    pub epochs: Option<usize>,
    /// Hidden units H.
    #[arg(long, value_parser = positive_usize)]
    pub hidden: Option<usize>,
    /// Images per mini-batch.
    #[arg(long, value_parser = positive_usize)]
    pub batch_size: Option<usize>,
    /// Learning rate (mean-gradient form: θ ← θ − lr·dθ).
    #[arg(long, allow_negative_numbers = true, value_parser = positive_f32)]
    pub lr: Option<f32>,
    /// L1 coefficient on the weights.
    #[arg(long, allow_negative_numbers = true, value_parser = non_negative_f32)]
    pub l1: Option<f32>,
    /// L2 coefficient on the weights.
    #[arg(long, allow_negative_numbers = true, value_parser = non_negative_f32)]
    pub l2: Option<f32>,
    /// Initial weights uniform in [-S, S) (default √(3/784), the article's 1 with --preset article).
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = positive_f32)]
    pub init_scale: Option<f32>,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub train_limit: Option<usize>,
    /// Print one JSON object on stdout and nothing else (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Save the trained model (weights, standardization, class names,
    /// settings) to this safetensors file, atomically.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A model saved by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Folder with the IDX files (as for train); the test set is evaluated.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where the math runs.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

fn positive_usize(s: &str) -> Result<usize, String> {
    let v: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if v == 0 {
        return Err("must be at least 1".into());
    }
    Ok(v)
}

fn finite_f32(s: &str) -> Result<f32, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number"));
    }
    if v.abs() > f32::MAX as f64 {
        return Err(format!("`{s}` is too large for f32 (at most 3.4e38)"));
    }
    Ok(v as f32)
}

fn positive_f32(s: &str) -> Result<f32, String> {
    let v = finite_f32(s)?;
    if v <= 0.0 {
        return Err(format!("must be greater than 0 (got {s})"));
    }
    Ok(v)
}

fn non_negative_f32(s: &str) -> Result<f32, String> {
    let v = finite_f32(s)?;
    if v < 0.0 {
        return Err(format!("must be 0 or more (got {s})"));
    }
    Ok(v)
}

/// The configuration a preset starts from.
fn preset_config(preset: Preset, inputs: usize) -> TrainConfig {
    match preset {
        Preset::Default => TrainConfig {
            epochs: 10,
            hidden: 128,
            hyper: Hyper {
                lr: 0.5,
                l1: 0.0,
                l2: 0.0,
                batch_size: 100,
            },
            init_scale: (3.0 / inputs as f32).sqrt(),
            seed: 42,
        },
        Preset::Article => TrainConfig {
            epochs: 300,
            hidden: 50,
            hyper: Hyper {
                lr: 2.4,
                l1: 0.0,
                l2: 0.5 / 2400.0,
                batch_size: 2400,
            },
            init_scale: 1.0,
            seed: 42,
        },
    }
}

impl TrainArgs {
    /// The preset with every given flag applied.
    pub fn config(&self, inputs: usize) -> TrainConfig {
        let preset = match self.preset {
            PresetChoice::Default => Preset::Default,
            PresetChoice::Article => Preset::Article,
        };
        let mut c = preset_config(preset, inputs);
        c.epochs = self.epochs.unwrap_or(c.epochs);
        c.hidden = self.hidden.unwrap_or(c.hidden);
        c.hyper.batch_size = self.batch_size.unwrap_or(c.hyper.batch_size);
        c.hyper.lr = self.lr.unwrap_or(c.hyper.lr);
        c.hyper.l1 = self.l1.unwrap_or(c.hyper.l1);
        c.hyper.l2 = self.l2.unwrap_or(c.hyper.l2);
        c.init_scale = self.init_scale.unwrap_or(c.init_scale);
        c.seed = self.seed;
        c
    }
}

/// Opens the backend the user asked for. `auto` takes a hardware GPU when
/// there is one and otherwise the CPU backend (faster than a software GPU
/// driver), and says which on `log`.
pub fn open_backend(choice: BackendChoice, log: &mut dyn FnMut(&str)) -> Result<Box<dyn Backend>> {
    let api = match choice {
        BackendChoice::Cpu => return Ok(Box::new(CpuBackend::new(None)?)),
        BackendChoice::Auto => {
            let adapters = list_adapters();
            if let Some(hw) = adapters.iter().find(|a| a.device_type != "Cpu") {
                log(&format!("auto: using the GPU adapter {hw}"));
                return Ok(Box::new(GpuBackend::new(Api::Any)?));
            }
            match adapters.first() {
                Some(sw) => log(&format!(
                    "auto: only the software adapter {sw} found; using the CPU backend, which is faster \
                     (--backend {} forces the adapter)",
                    sw.backend
                )),
                None => log("auto: no GPU adapter found; using the CPU backend"),
            }
            return Ok(Box::new(CpuBackend::new(None)?));
        }
        BackendChoice::Vulkan => Api::Vulkan,
        BackendChoice::Metal => Api::Metal,
        BackendChoice::Dx12 => Api::Dx12,
        BackendChoice::Gl => Api::Gl,
    };
    Ok(Box::new(GpuBackend::new(api)?))
}

/// What `--json` prints.
#[derive(Serialize)]
struct TrainJson<'a> {
    backend: &'a str,
    adapter: &'a str,
    epochs: usize,
    hidden: usize,
    batch_size: usize,
    train_accuracy: f64,
    test_accuracy: f64,
    loss: Vec<f64>,
    epoch_seconds: Vec<f64>,
    total_seconds: f64,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Adapters) => adapters(),
        Some(Command::Train(args)) => run_train(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        Some(Command::Eval(args)) => run_eval(&args),
        Some(Command::Predict(args)) => run_predict(&args),
        Some(Command::Download(args)) => run_download(&args),
        None => run_train(&cli.train),
    }
}

fn run_bench(args: &BenchArgs) -> Result<()> {
    use crate::bench::{bench_backend, relate_to_cpu, table, BenchReport, Workload};
    let dir = find_data_dir(args.data.as_deref());
    let data = load_fashion_mnist(&dir)?;
    let train_set = match args.train_limit {
        Some(n) => data.train.take(n),
        None => data.train,
    };
    let n = train_set.count;
    let workloads = match args.workload {
        Some(WorkloadChoice::Article) => vec![Workload::article(n)],
        Some(WorkloadChoice::Wide) => vec![Workload::wide(n)],
        None => vec![Workload::article(n), Workload::wide(n)],
    };
    let (d, c) = (train_set.pixels_per_image(), train_set.classes);
    // Every backend must open before any timing starts, so that a missing
    // adapter does not throw away finished results.
    for &choice in &args.backends {
        open_backend(choice, &mut |_| {})
            .with_context(|| format!("--backends: {} cannot be opened", choice.name()))?;
    }
    let mut reports = Vec::new();
    for mut workload in workloads {
        workload.hidden = args.hidden.unwrap_or(workload.hidden);
        workload.batch_size = args.batch_size.unwrap_or(workload.batch_size);
        let mut results = Vec::new();
        for &choice in &args.backends {
            eprintln!("bench: {} on {} ...", workload.name, choice.name());
            let mut open = || open_backend(choice, &mut |l| eprintln!("{l}"));
            let r = bench_backend(&mut open, &train_set, &workload, args.epochs)
                .with_context(|| format!("benchmarking {} on {}", workload.name, choice.name()))?;
            results.push(r);
        }
        relate_to_cpu(&mut results);
        let report = BenchReport { workload, results };
        if !args.json {
            println!("{}", table(&report, d, c));
        }
        reports.push(report);
    }
    if args.json {
        let text = if reports.len() == 1 {
            serde_json::to_string(&reports[0])?
        } else {
            serde_json::to_string(&reports)?
        };
        println!("{text}");
    }
    Ok(())
}

/// Fashion-MNIST's names for 10 classes, numbers otherwise.
fn class_names(classes: usize) -> Vec<String> {
    if classes == CLASS_NAMES.len() {
        CLASS_NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        (0..classes).map(|c| format!("class {c}")).collect()
    }
}

/// Fails early, before a long run, when `path` cannot be written.
fn check_writable(path: &std::path::Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "--save {}: is a folder; give a file name such as model.safetensors",
            path.display()
        );
    }
    let dir = folder_of(path);
    if !dir.is_dir() {
        bail!(
            "--save {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    let probe = dir.join(format!(".fashion-nn-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "--save {}: cannot write in {}",
            path.display(),
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// What `eval --json` prints.
#[derive(Serialize)]
struct EvalJson<'a> {
    model: String,
    backend: &'a str,
    adapter: &'a str,
    test_accuracy: f64,
    test_loss: f64,
    class_names: &'a [String],
    classes: Vec<ClassMetrics>,
    confusion: Vec<Vec<usize>>,
}

fn run_eval(args: &EvalArgs) -> Result<()> {
    let model = load(&args.model)?;
    let dir = find_data_dir(args.data.as_deref());
    let data = load_fashion_mnist(&dir)?;
    let test = &data.test;
    let s = model.params.shape;
    if test.pixels_per_image() != s.inputs || test.classes != s.classes {
        bail!(
            "{} was trained on {}x{} images of {} classes, but {} holds {}x{} images of {} classes",
            args.model.display(),
            model.rows,
            model.cols,
            s.classes,
            dir.display(),
            test.rows,
            test.cols,
            test.classes
        );
    }
    let json = args.json;
    let mut backend = open_backend(args.backend, &mut |l| eprintln!("{l}"))?;
    backend.set_params(&model.params)?;
    backend.upload(Split::Test, test, &model.stats)?;
    let e = backend.evaluate(Split::Test)?;
    let confusion = confusion_matrix(&test.labels, &e.predictions, s.classes);
    let metrics = class_metrics(&confusion);
    let info = backend.info();
    if json {
        let out = EvalJson {
            model: args.model.display().to_string(),
            backend: &info.backend,
            adapter: &info.adapter,
            test_accuracy: e.accuracy,
            test_loss: e.loss,
            class_names: &model.class_names,
            classes: metrics,
            confusion,
        };
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    println!(
        "model {}: {} → {} → {}; backend {} ({})",
        args.model.display(),
        s.inputs,
        s.hidden,
        s.classes,
        info.backend,
        info.adapter
    );
    println!(
        "test accuracy {:.2}% ({} images), test loss {:.4}",
        100.0 * e.accuracy,
        test.count,
        e.loss
    );
    println!();
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "f1", "support"
    );
    for (name, m) in model.class_names.iter().zip(&metrics) {
        println!(
            "{name:<14} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            m.precision, m.recall, m.f1, m.support
        );
    }
    println!();
    println!("confusion matrix (rows: true class, columns: predicted)");
    print!("{:<14}", "");
    for c in 0..s.classes {
        print!("{c:>6}");
    }
    println!();
    for (c, row) in confusion.iter().enumerate() {
        print!(
            "{:<14}",
            format!("{c} {}", model.class_names[c])
                .chars()
                .take(13)
                .collect::<String>()
        );
        for v in row {
            print!("{v:>6}");
        }
        println!();
    }
    Ok(())
}

fn run_predict(args: &PredictArgs) -> Result<()> {
    let model = load(&args.model)?;
    let dir = find_data_dir(args.data.as_deref());
    let data = load_fashion_mnist(&dir)?;
    let test = &data.test;
    if args.index >= test.count {
        bail!(
            "--index {}: the test set of {} has {} images (0 to {})",
            args.index,
            dir.display(),
            test.count,
            test.count.saturating_sub(1)
        );
    }
    if test.pixels_per_image() != model.params.shape.inputs {
        bail!(
            "{} was trained on {}x{} images, but {} holds {}x{} images",
            args.model.display(),
            model.rows,
            model.cols,
            dir.display(),
            test.rows,
            test.cols
        );
    }
    let image = test.image(args.index);
    let truth = test.labels[args.index] as usize;
    let name = |c: usize| {
        model
            .class_names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("class {c}"))
    };
    println!("{}", ascii_art(image, test.cols));
    println!(
        "test image {}: true class {} ({})",
        args.index,
        truth,
        name(truth)
    );
    let probabilities = predict_proba(&model, image);
    for (rank, (c, p)) in top_classes(&probabilities, args.top)
        .into_iter()
        .enumerate()
    {
        let mark = if c == truth { "  ← true class" } else { "" };
        println!("{:>2}. {:<12} {:6.2}%{mark}", rank + 1, name(c), 100.0 * p);
    }
    Ok(())
}

fn adapters() -> Result<()> {
    let all = list_adapters();
    if all.is_empty() {
        println!("no GPU adapters found (on Debian, `apt-get install mesa-vulkan-drivers` gives the software Vulkan driver lavapipe)");
    }
    for a in all {
        println!(
            "{:<7} {:<40} {:<14} {}",
            a.backend, a.name, a.device_type, a.driver
        );
    }
    Ok(())
}

fn run_train(args: &TrainArgs) -> Result<()> {
    let json = args.json;
    // Human-readable lines go to stdout, or to stderr when stdout carries JSON.
    let say = |line: &str| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if let Some(path) = &args.save {
        check_writable(path)?;
    }
    let dir = find_data_dir(args.data.as_deref());
    let data = load_fashion_mnist(&dir)?;
    let train_set = match args.train_limit {
        Some(n) => data.train.take(n),
        None => data.train.clone(),
    };
    let config = args.config(train_set.pixels_per_image());

    let mut backend = open_backend(args.backend, &mut |l| say(l))?;
    let info = backend.info();
    say(&format!(
        "backend {}, adapter {}, driver {}",
        info.backend,
        info.adapter,
        if info.driver.is_empty() {
            "-"
        } else {
            &info.driver
        }
    ));
    say(&format!(
        "data {}: {} training and {} test images of {}x{}, {} classes",
        dir.display(),
        train_set.count,
        data.test.count,
        train_set.rows,
        train_set.cols,
        train_set.classes
    ));
    say(&format!(
        "model: {} → {} sigmoid → {} softmax; {} epoch{}, batch {}, lr {}, l1 {}, l2 {}, init ±{:.4}, seed {}",
        train_set.pixels_per_image(),
        config.hidden,
        train_set.classes,
        config.epochs,
        if config.epochs == 1 { "" } else { "s" },
        config.hyper.batch_size.min(train_set.count),
        config.hyper.lr,
        config.hyper.l1,
        config.hyper.l2,
        config.init_scale,
        config.seed
    ));

    let bar = progress_bar(config.epochs as u64);
    // Guessing uniformly costs ln C; far above that the run is diverging.
    let chance = (train_set.classes.max(2) as f64).ln();
    let mut warned = false;
    let mut on_epoch = |e: &EpochReport| {
        if !warned && e.stats.loss > 10.0 * chance {
            warned = true;
            eprintln!(
                "warning: epoch {} loss {:.1} is far above guessing (ln {} = {:.2}); training is diverging: \
                 try a lower --lr (now {}), --l1/--l2, or --init-scale",
                e.epoch,
                e.stats.loss,
                train_set.classes,
                chance,
                config.hyper.lr
            );
        }
        let line = format!(
            "epoch {:>3}/{}  loss {:.4}  train accuracy {:6.2}%  {:.2} s",
            e.epoch,
            config.epochs,
            e.stats.loss,
            100.0 * e.stats.accuracy,
            e.seconds
        );
        match &bar {
            Some(bar) => {
                bar.suspend(|| say(&line));
                bar.inc(1);
            }
            None => say(&line),
        }
    };
    let report = train(
        backend.as_mut(),
        &train_set,
        &data.test,
        &config,
        &mut on_epoch,
    )
    .with_context(|| format!("training on {} ({})", info.backend, info.adapter))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summarize(&report, &config, &say);
    if let Some(path) = &args.save {
        let model = SavedModel {
            params: report.params.clone(),
            stats: report.stats.clone(),
            rows: train_set.rows,
            cols: train_set.cols,
            class_names: class_names(train_set.classes),
            settings: vec![
                ("epochs".into(), config.epochs.to_string()),
                ("batch_size".into(), config.hyper.batch_size.to_string()),
                ("lr".into(), config.hyper.lr.to_string()),
                ("l1".into(), config.hyper.l1.to_string()),
                ("l2".into(), config.hyper.l2.to_string()),
                ("init_scale".into(), config.init_scale.to_string()),
                ("seed".into(), config.seed.to_string()),
                ("train_images".into(), train_set.count.to_string()),
                ("test_accuracy".into(), report.test.accuracy.to_string()),
            ],
        };
        save(path, &model)?;
        say(&format!("saved the model to {}", path.display()));
    }
    if json {
        let out = TrainJson {
            backend: &report.backend.backend,
            adapter: &report.backend.adapter,
            epochs: config.epochs,
            hidden: config.hidden,
            batch_size: config.hyper.batch_size,
            train_accuracy: report.train.accuracy,
            test_accuracy: report.test.accuracy,
            loss: report.epochs.iter().map(|e| e.stats.loss).collect(),
            epoch_seconds: report.epochs.iter().map(|e| e.seconds).collect(),
            total_seconds: report.total_seconds,
        };
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

fn summarize(report: &TrainReport, config: &TrainConfig, say: &dyn Fn(&str)) {
    let times: Vec<f64> = report.epochs.iter().map(|e| e.seconds).collect();
    say(&format!(
        "train accuracy {:.2}%, test accuracy {:.2}% (test loss {:.4})",
        100.0 * report.train.accuracy,
        100.0 * report.test.accuracy,
        report.test.loss
    ));
    say(&format!(
        "{} epoch{} in {:.2} s (median epoch {:.3} s; setup {:.2} s)",
        config.epochs,
        if config.epochs == 1 { "" } else { "s" },
        report.total_seconds,
        median(&times),
        report.setup_seconds
    ));
}

/// A bar over the epochs on stderr, only when stderr is a terminal.
fn progress_bar(epochs: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(epochs);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} epochs, {elapsed} elapsed, eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// Folder to put the files in (created if missing) [default: $FASHION_MNIST_DIR, else ./data]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn run_download(args: &DownloadArgs) -> Result<()> {
    use crate::download::{default_dir, download_all, mirror, Outcome};
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    let outcomes = download_all(&dir, &mirror(), &mut |line| println!("{line}"))?;
    let fetched = outcomes.iter().filter(|(_, o)| *o != Outcome::Kept).count();
    println!(
        "{} has the four Fashion-MNIST files ({fetched} downloaded, {} already there)",
        dir.display(),
        outcomes.len() - fetched
    );
    // The trainer finds the folder by itself when it is the first it looks in.
    if find_data_dir(None) == dir {
        println!("to train: fashion-nn");
    } else {
        println!("to train: fashion-nn --data {}", dir.display());
    }
    Ok(())
}
