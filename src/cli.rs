//! The command line: flags, sub-commands, and what each prints. `main.rs`
//! parses the arguments and hands them to [`run`].

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::context::{list_adapters, Api, NoAdapter};
use crate::backend::gpu::GpuBackend;
use crate::backend::{batch_in_use, Backend, Split};
use crate::data::{
    find_data_dir, load_data, load_fashion_mnist, load_picture, load_test_set, split_validation,
};
use crate::model::readable;
use crate::model::{
    ascii_art, folder_of, load, predict_proba, save_with_state, top_classes, Hyper, Optimizer,
    Preset, SavedModel, TrainingState,
};
use crate::train::{
    checkpoint_path, class_metrics, confusion_matrix, load_checkpoint, median, save_checkpoint,
    ClassMetrics, Control, EpochReport, ModelLabels, Outcome, Sets, TrainConfig, TrainReport,
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
    /// The top classes of a test image or of PNG/JPEG pictures, with their probabilities.
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
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "images",
        conflicts_with = "images",
        allow_negative_numbers = true,
        value_parser = index_usize
    )]
    pub index: Option<usize>,
    /// PNG or JPEG pictures of garments, any size and colour.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// How many classes to list.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = positive_usize)]
    pub top: usize,
    /// Folder with the IDX files (as for train).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
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
    /// Backends to compare, comma-separated, each once.
    #[arg(long, value_parser = BackendListEntry, value_delimiter = ',', default_value = "cpu,vulkan")]
    pub backends: Vec<BackendChoice>,
    /// Workload; both when not given.
    #[arg(long, value_enum)]
    pub workload: Option<WorkloadChoice>,
    /// Hidden units, overriding the workload's.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
    pub hidden: Option<usize>,
    /// Batch size, overriding the workload's.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
    pub batch_size: Option<usize>,
    /// Timed epochs per backend (after one warm-up epoch).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = positive_usize)]
    pub epochs: usize,
    /// Use the first N training images only.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive_usize)]
    pub train_limit: Option<usize>,
    /// Folder with the four IDX files (as for train).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print JSON on stdout: one object per workload (an array of them when
    /// both run), progress on stderr.
    #[arg(long)]
    pub json: bool,
}

/// One entry of `bench --backends`: a backend name as for `--backend`, and
/// a clear message for an empty entry (`cpu,,vulkan`), where clap's own parser
/// would say "a value is required but none was supplied".
#[derive(Clone, Copy, Debug)]
struct BackendListEntry;

impl TypedValueParser for BackendListEntry {
    type Value = BackendChoice;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<BackendChoice, clap::Error> {
        if value.is_empty() {
            let names: Vec<&str> = BackendChoice::value_variants()
                .iter()
                .map(|b| b.name())
                .collect();
            return Err(cmd.clone().error(
                ErrorKind::InvalidValue,
                format!(
                    "--backends has an empty entry (two commas in a row, or one at an end); \
                     give names separated by single commas, such as cpu,vulkan (possible values: {})",
                    names.join(", ")
                ),
            ));
        }
        EnumValueParser::<BackendChoice>::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            BackendChoice::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

impl BenchArgs {
    /// What clap cannot check: every backend in `--backends` once.
    fn check(&self) -> Result<(), String> {
        for (i, b) in self.backends.iter().enumerate() {
            if self.backends[..i].contains(b) {
                let list: Vec<&str> = self.backends.iter().map(|b| b.name()).collect();
                return Err(format!(
                    "--backends {}: {} is named more than once; name each backend once",
                    list.join(","),
                    b.name()
                ));
            }
        }
        Ok(())
    }
}

impl Cli {
    /// Parses the command line like [`Parser::parse`], plus the checks clap
    /// cannot express; a bad command line exits with clap's usage error (2).
    pub fn parse_checked() -> Self {
        let cli = Cli::parse();
        if let Some(Command::Bench(args)) = &cli.command {
            if let Err(message) = args.check() {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                cmd.build();
                let err = match cmd.find_subcommand_mut("bench") {
                    Some(bench) => bench.error(ErrorKind::ValueValidation, message),
                    None => cmd.error(ErrorKind::ValueValidation, message),
                };
                err.exit();
            }
        }
        cli
    }
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

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
    pub epochs: Option<usize>,
    /// Hidden units H.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
    pub hidden: Option<usize>,
    /// Images per mini-batch.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
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
    #[arg(long, default_value_t = 42, allow_negative_numbers = true, value_parser = seed_u64)]
    pub seed: u64,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive_usize)]
    pub train_limit: Option<usize>,
    /// Print one JSON object on stdout and nothing else (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Save the trained model (weights, standardization, class names,
    /// settings) to this safetensors file, atomically.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Take the training images in a new seeded order every epoch (the same
    /// order on every backend).
    #[arg(long)]
    pub shuffle: bool,
    /// Update rule: sgd, momentum (β 0.9) or adam (β1 0.9, β2 0.999, ε 1e-8).
    /// Without --lr, momentum uses (1 − β)·the SGD rate and adam 0.001.
    #[arg(long, value_enum, default_value_t = OptimizerChoice::Sgd)]
    pub optimizer: OptimizerChoice,
    /// Multiply the learning rate by G after every epoch (1: constant).
    #[arg(long, value_name = "G", default_value_t = 1.0, allow_negative_numbers = true, value_parser = decay)]
    pub lr_decay: f32,
    /// Hold this fraction of the training images out (seeded) and keep the
    /// weights of the epoch with the best accuracy on them.
    #[arg(long, value_name = "F", allow_negative_numbers = true, value_parser = fraction)]
    pub val_split: Option<f64>,
    /// Continue from a checkpoint (or a saved model): same data and --hidden;
    /// --epochs counts the epochs before it too.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Where Ctrl-C / SIGTERM and divergence write a checkpoint (default: next
    /// to --save as NAME.checkpoint.safetensors, else
    /// ./fashion-nn-checkpoint.safetensors).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Class names, one per line, line 1 naming label 0 (default: the data
    /// folder's class_names.txt when it exists).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Write the learning curve, confusion matrix, a grid of test images and
    /// metrics.json into this folder (checked for writability before training).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// `--optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerChoice {
    Sgd,
    Momentum,
    Adam,
}

impl OptimizerChoice {
    pub fn rule(self) -> Optimizer {
        match self {
            OptimizerChoice::Sgd => Optimizer::Sgd,
            OptimizerChoice::Momentum => Optimizer::MOMENTUM,
            OptimizerChoice::Adam => Optimizer::ADAM,
        }
    }
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

/// A count or index from 0, with the reason when `s` is not one.
fn index_usize(s: &str) -> Result<usize, String> {
    whole_number(s, 0)
}

fn positive_usize(s: &str) -> Result<usize, String> {
    whole_number(s, 1)
}

/// A whole number of at least `least`, or why `s` is not one.
fn whole_number(s: &str, least: usize) -> Result<usize, String> {
    use std::num::IntErrorKind;
    let at_least = || match least {
        0 => format!("must be 0 or more (got {s})"),
        n => format!("must be at least {n} (got {s})"),
    };
    let v: usize = s
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            IntErrorKind::PosOverflow => format!("`{s}` is too large (at most {})", usize::MAX),
            IntErrorKind::InvalidDigit if s.trim().starts_with('-') => at_least(),
            _ => format!("`{s}` is not a whole number"),
        })?;
    if v < least {
        return Err(format!("must be at least {least}"));
    }
    Ok(v)
}

fn seed_u64(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number from 0 to {}", u64::MAX))
}

fn finite_f32(s: &str) -> Result<f32, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number"));
    }
    if v.abs() > f32::MAX as f64 {
        return Err(format!("`{s}` is too large for f32 (at most 3.4e38)"));
    }
    if v != 0.0 && v as f32 == 0.0 {
        return Err(format!(
            "`{s}` is too small for f32 (it rounds to 0; the smallest is about 1.4e-45)"
        ));
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

fn fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number; give a fraction such as 0.1"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!(
            "{s} is not between 0 and 1 (exclusive); give a fraction such as 0.1"
        ));
    }
    Ok(v)
}

fn decay(s: &str) -> Result<f32, String> {
    let v = finite_f32(s)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(format!(
            "{s} is not in (0, 1]; give a factor such as 0.9 (1 keeps the rate constant)"
        ));
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
                optimizer: Optimizer::Sgd,
            },
            init_scale: (3.0 / inputs as f32).sqrt(),
            seed: 42,
            shuffle: false,
            lr_decay: 1.0,
        },
        Preset::Article => TrainConfig {
            epochs: 300,
            hidden: 50,
            hyper: Hyper {
                lr: 2.4,
                l1: 0.0,
                l2: 0.5 / 2400.0,
                batch_size: 2400,
                optimizer: Optimizer::Sgd,
            },
            init_scale: 1.0,
            seed: 42,
            shuffle: false,
            lr_decay: 1.0,
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
        c.hyper.optimizer = self.optimizer.rule();
        c.hyper.lr = self
            .lr
            .unwrap_or_else(|| c.hyper.optimizer.default_lr(c.hyper.lr));
        c.hyper.l1 = self.l1.unwrap_or(c.hyper.l1);
        c.hyper.l2 = self.l2.unwrap_or(c.hyper.l2);
        c.init_scale = self.init_scale.unwrap_or(c.init_scale);
        c.seed = self.seed;
        c.shuffle = self.shuffle;
        c.lr_decay = self.lr_decay;
        c
    }
}

/// Opens the backend the user asked for with `flag` (`--backend`, or
/// `--backends` for bench: the messages name it). `auto` takes a hardware GPU
/// when there is one and otherwise the CPU backend (faster than a software
/// GPU driver), and says which on `log`.
pub fn open_backend(
    choice: BackendChoice,
    flag: &str,
    log: &mut dyn FnMut(&str),
) -> Result<Box<dyn Backend>> {
    let api = match choice {
        BackendChoice::Cpu => return Ok(Box::new(CpuBackend::new(None)?)),
        BackendChoice::Auto => {
            let adapters = list_adapters();
            // FASHION_NN_AUTO_SOFTWARE=1 lets `auto` take a software adapter
            // too (to test the fall-back on machines without a GPU).
            let software_ok =
                std::env::var_os("FASHION_NN_AUTO_SOFTWARE").is_some_and(|v| v == "1");
            if let Some(gpu) = adapters
                .iter()
                .find(|a| a.device_type != "Cpu" || software_ok)
            {
                log(&format!("auto: using the GPU adapter {gpu}"));
                match GpuBackend::new(Api::Any) {
                    Ok(backend) => return Ok(Box::new(backend)),
                    Err(e) => log(&format!(
                        "auto: the GPU adapter failed to open ({e:#}); using the CPU backend"
                    )),
                }
                return Ok(Box::new(CpuBackend::new(None)?));
            }
            match adapters.first() {
                Some(sw) => log(&format!(
                    "auto: only the software adapter {sw} found; using the CPU backend, which is faster \
                     ({flag} {} forces the adapter)",
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
    match GpuBackend::new(api) {
        Ok(backend) => Ok(Box::new(backend)),
        Err(e) if e.is::<NoAdapter>() => bail!(
            "{e}. Pick one of those with {flag}, use {flag} cpu, or install a driver \
             (on Debian, `apt-get install mesa-vulkan-drivers` gives the software Vulkan driver lavapipe)"
        ),
        Err(e) => Err(e),
    }
}

/// What `--json` prints.
#[derive(Serialize)]
struct TrainJson<'a> {
    backend: &'a str,
    adapter: &'a str,
    epochs: usize,
    hidden: usize,
    batch_size: usize,
    optimizer: &'a str,
    train_accuracy: f64,
    test_accuracy: f64,
    best_epoch: Option<usize>,
    loss: Vec<f64>,
    validation_accuracy: Vec<f64>,
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
        open_backend(choice, "--backends", &mut |_| {})
            .with_context(|| format!("--backends: {} cannot be opened", choice.name()))?;
    }
    let mut reports = Vec::new();
    for mut workload in workloads {
        workload.hidden = args.hidden.unwrap_or(workload.hidden);
        // The batch in use, as train reports it: at most the whole set.
        workload.batch_size = batch_in_use(args.batch_size.unwrap_or(workload.batch_size), n);
        let mut results = Vec::new();
        for &choice in &args.backends {
            eprintln!("bench: {} on {} ...", workload.name, choice.name());
            let mut open = || open_backend(choice, "--backends", &mut |l| eprintln!("{l}"));
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

/// Fails early, before a long run, when `path` cannot be written.
fn check_name_length(path: &std::path::Path, flag: &str) -> Result<()> {
    let bytes = path.file_name().map_or(0, |n| n.len());
    if bytes > MAX_NAME_BYTES {
        bail!(
            "{flag} {}: the file name is {bytes} bytes, more than the {MAX_NAME_BYTES} a file system allows; \
             give a shorter name",
            path.display()
        );
    }
    Ok(())
}

/// Whether two paths name the same file, whether or not it exists yet:
/// `./m.st`, `m.st`, its absolute path and a link to it all do.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    fn resolved(p: &std::path::Path) -> Option<PathBuf> {
        if let Ok(full) = std::fs::canonicalize(p) {
            return Some(full);
        }
        let dir = std::fs::canonicalize(folder_of(p)).ok()?;
        Some(dir.join(p.file_name()?))
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Most file systems take names of at most 255 bytes.
const MAX_NAME_BYTES: usize = 255;

fn check_writable(path: &std::path::Path, flag: &str) -> Result<()> {
    check_name_length(path, flag)?;
    if path.is_symlink() && !path.exists() {
        let target = std::fs::read_link(path).unwrap_or_default();
        bail!(
            "{flag} {}: is a link to {}, which does not exist; name a file directly, or remove the link",
            path.display(),
            target.display()
        );
    }
    if path.exists() && !path.is_dir() && !path.is_file() {
        bail!(
            "{flag} {}: is a device, pipe or socket, not a file; give a file name such as model.safetensors",
            path.display()
        );
    }
    if path.is_dir() {
        bail!(
            "{flag} {}: is a folder; give a file name such as model.safetensors",
            path.display()
        );
    }
    let dir = folder_of(path);
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{flag} {}: {} is a file, not a folder",
            path.display(),
            dir.display()
        );
    }
    if !dir.is_dir() {
        bail!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if path.is_file() && !crate::model::is_model_file(path) {
        bail!(
            "{flag} {}: the file exists and is not a fashion-nn model; writing would replace it. \
             Give another name, or move that file away first",
            path.display()
        );
    }
    probe_folder(dir, &format!("{flag} {}", path.display()))
}

/// Creates and removes a file in `dir` to see that it can be written.
fn probe_folder(dir: &std::path::Path, what: &str) -> Result<()> {
    let probe = dir.join(format!(".fashion-nn-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{what}: cannot write in {}", dir.display()))?;
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

/// The test set of `dir` must hold images of the model's size with labels
/// among its classes.
fn check_test_set(
    model: &SavedModel,
    path: &std::path::Path,
    test: &crate::data::Dataset,
    dir: &std::path::Path,
) -> Result<()> {
    let s = model.params.shape;
    if test.pixels_per_image() != s.inputs {
        bail!(
            "{} was trained on {}x{} images, but {} holds {}x{} images",
            path.display(),
            model.rows,
            model.cols,
            dir.display(),
            test.rows,
            test.cols
        );
    }
    if test.classes > s.classes {
        bail!(
            "{} has {} classes (labels 0 to {}), but the test labels in {} run up to {}",
            path.display(),
            s.classes,
            s.classes - 1,
            dir.display(),
            test.classes - 1
        );
    }
    Ok(())
}

fn run_eval(args: &EvalArgs) -> Result<()> {
    let model = load(&args.model)?;
    let dir = find_data_dir(args.data.as_deref());
    let s = model.params.shape;
    let mut test = load_test_set(&dir)?;
    check_test_set(&model, &args.model, &test, &dir)?;
    test.classes = s.classes;
    let test = &test;
    let json = args.json;
    let mut backend = open_backend(args.backend, "--backend", &mut |l| eprintln!("{l}"))?;
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

/// One class and its probability, for `predict --json`.
#[derive(Serialize)]
struct ClassProbability<'a> {
    class: usize,
    name: &'a str,
    probability: f32,
}

/// The top `k` classes of `probabilities`, named by the model.
fn ranked<'a>(model: &'a SavedModel, probabilities: &[f32], k: usize) -> Vec<ClassProbability<'a>> {
    top_classes(probabilities, k)
        .into_iter()
        .map(|(class, probability)| ClassProbability {
            class,
            name: model.class_names.get(class).map_or("?", String::as_str),
            probability,
        })
        .collect()
}

/// One picture's result, for `predict --json`.
#[derive(Serialize)]
struct PictureJson<'a> {
    image: String,
    width: usize,
    height: usize,
    inverted: bool,
    top: Vec<ClassProbability<'a>>,
}

/// `predict IMAGE...`: every picture is read and prepared before anything is
/// printed, so a bad file stops the command with nothing half done.
fn run_predict_pictures(args: &PredictArgs, model: &SavedModel) -> Result<()> {
    let pictures = args
        .images
        .iter()
        .map(|path| load_picture(path, model.rows, model.cols))
        .collect::<Result<Vec<_>>>()?;
    let mut results = Vec::new();
    for (path, picture) in args.images.iter().zip(&pictures) {
        let probabilities = predict_proba(model, &picture.pixels);
        let top = ranked(model, &probabilities, args.top);
        if !args.json {
            if !results.is_empty() {
                println!();
            }
            let (x, y, w, h) = picture.crop;
            println!("{}", ascii_art(&picture.pixels, picture.cols));
            println!(
                "{}: {}x{} picture{}, garment at ({x}, {y}) {w}x{h}, scaled into {}x{}",
                path.display(),
                picture.source.0,
                picture.source.1,
                if picture.inverted {
                    ", inverted (light background)"
                } else {
                    ""
                },
                picture.cols,
                picture.rows
            );
            for (rank, c) in top.iter().enumerate() {
                println!(
                    "{:>2}. {:<12} {:6.2}%",
                    rank + 1,
                    c.name,
                    100.0 * c.probability
                );
            }
        }
        results.push(PictureJson {
            image: path.display().to_string(),
            width: picture.source.0,
            height: picture.source.1,
            inverted: picture.inverted,
            top,
        });
    }
    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "predictions": results,
        });
        println!("{out}");
    }
    Ok(())
}

fn run_predict(args: &PredictArgs) -> Result<()> {
    let model = load(&args.model)?;
    let Some(index) = args.index else {
        return run_predict_pictures(args, &model);
    };
    let dir = find_data_dir(args.data.as_deref());
    let test = &load_test_set(&dir)?;
    if index >= test.count {
        bail!(
            "--index {}: the test set of {} has {} images (0 to {})",
            index,
            dir.display(),
            test.count,
            test.count.saturating_sub(1)
        );
    }
    check_test_set(&model, &args.model, test, &dir)?;
    let image = test.image(index);
    let truth = test.labels[index] as usize;
    let name = |c: usize| {
        model
            .class_names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("class {c}"))
    };
    let probabilities = predict_proba(&model, image);
    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "index": index,
            "true_class": truth,
            "true_name": name(truth),
            "top": ranked(&model, &probabilities, args.top),
        });
        println!("{out}");
        return Ok(());
    }
    println!("{}", ascii_art(image, test.cols));
    println!(
        "test image {}: true class {} ({})",
        index,
        truth,
        name(truth)
    );
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

/// A note when some of the classes 0..=largest label have no training image
/// (a stray label such as 255 makes 256 classes).
fn classes_without_images(train: &crate::data::Dataset) -> Option<String> {
    let mut count = vec![0usize; train.classes];
    for &y in &train.labels {
        count[usize::from(y)] += 1;
    }
    let empty: Vec<String> = (0..train.classes)
        .filter(|&c| count[c] == 0)
        .map(|c| c.to_string())
        .collect();
    if empty.is_empty() {
        return None;
    }
    let shown = empty.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    let more = if empty.len() > 8 { ", …" } else { "" };
    Some(format!(
        "note: {} of the {} classes (labels 0 to {}, the largest training label) have no training image: {shown}{more}; \
         check the label file if that is not meant",
        empty.len(),
        train.classes,
        train.classes - 1
    ))
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
    if let Some(dir) = &args.report {
        // The report must not write over the model or the checkpoint.
        let outputs = [
            ("--save", args.save.clone()),
            ("--checkpoint", args.checkpoint.clone()),
        ];
        for (flag, file) in outputs {
            let Some(file) = file else { continue };
            let clash = same_file(&file, dir)
                || crate::report::REPORT_FILES
                    .iter()
                    .any(|name| same_file(&file, &dir.join(name)));
            if clash {
                bail!(
                    "{flag} {} is the --report folder {} or one of its files ({}); \
                     the report would replace the model: save it elsewhere",
                    file.display(),
                    dir.display(),
                    crate::report::REPORT_FILES.join(", ")
                );
            }
        }
    }
    if let Some(path) = &args.save {
        check_writable(path, "--save")?;
    }
    let checkpoint_file = checkpoint_path(args.checkpoint.as_deref(), args.save.as_deref());
    if args.checkpoint.is_none() {
        // Where an interrupt or a divergence would write: found out now, not
        // when the run's work depends on it.
        let what = format!(
            "the checkpoint an interrupt writes ({}; choose another with --checkpoint FILE)",
            checkpoint_file.display()
        );
        check_name_length(&checkpoint_file, &what)?;
        probe_folder(folder_of(&checkpoint_file), &what)?;
    }
    if args.checkpoint.is_some() {
        check_writable(&checkpoint_file, "--checkpoint")?;
        if args
            .save
            .as_deref()
            .is_some_and(|save| same_file(save, &checkpoint_file))
        {
            bail!(
                "--checkpoint {0} is also the --save file; an interrupt would replace the model with a checkpoint: give two names",
                checkpoint_file.display()
            );
        }
    }
    if let Some(dir) = &args.report {
        crate::report::check_report_dir(dir)?;
    }
    let resumed = match &args.resume {
        Some(path) => Some(load_checkpoint(path)?),
        None => None,
    };
    let dir = find_data_dir(args.data.as_deref());
    let data = load_data(&dir, args.labels.as_deref())?;
    if let Some(note) = classes_without_images(&data.train) {
        eprintln!("{note}");
    }
    let all_train = match args.train_limit {
        Some(n) => data.train.take(n),
        None => data.train.clone(),
    };
    let (train_set, validation) = match args.val_split {
        Some(f) => {
            let (train, validation) = split_validation(&all_train, f, args.seed)?;
            (train, Some(validation))
        }
        None => (all_train, None),
    };
    let mut config = args.config(train_set.pixels_per_image());
    let start = match resumed {
        Some((c, model)) => {
            check_resume_matches(
                args,
                &model.settings,
                &config,
                train_set.count,
                c.batches_done,
            )?;
            Some(c)
        }
        None => None,
    };
    if let Some(c) = &start {
        if args.hidden.is_none() {
            config.hidden = c.params.shape.hidden;
        }
        if c.epochs_done >= config.epochs {
            bail!(
                "--resume {}: the run already finished {} epoch{}; pass --epochs larger than that to train on",
                args.resume.as_ref().map_or(String::new(), |p| p.display().to_string()),
                c.epochs_done,
                if c.epochs_done == 1 { "" } else { "s" }
            );
        }
    }

    let mut backend = open_backend(args.backend, "--backend", &mut |l| say(l))?;
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
        "data {}: {} training{} and {} test images of {}x{}, {} classes",
        dir.display(),
        train_set.count,
        validation
            .as_ref()
            .map(|v| format!(", {} validation", v.count))
            .unwrap_or_default(),
        data.test.count,
        train_set.rows,
        train_set.cols,
        train_set.classes
    ));
    say(&format!(
        "model: {} → {} sigmoid → {} softmax; {} epoch{}, batch {}, {} lr {}, l1 {}, l2 {}, init ±{:.4}, seed {}{}",
        train_set.pixels_per_image(),
        config.hidden,
        train_set.classes,
        config.epochs,
        if config.epochs == 1 { "" } else { "s" },
        batch_in_use(config.hyper.batch_size, train_set.count),
        config.hyper.optimizer.name(),
        readable(config.hyper.lr),
        readable(config.hyper.l1),
        readable(config.hyper.l2),
        config.init_scale,
        config.seed,
        if config.shuffle { ", shuffled" } else { "" }
    ));
    if config.lr_decay != 1.0 {
        say(&format!(
            "learning rate ×{} after every epoch",
            config.lr_decay
        ));
    }
    if let Some(c) = &start {
        say(&format!(
            "resuming after epoch {} batch {} from {}",
            c.epochs_done,
            c.batches_done,
            args.resume
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        ));
    }

    let first_epoch = start.as_ref().map_or(0, |c| c.epochs_done);
    let bar = progress_bar((config.epochs - first_epoch) as u64);
    // Guessing uniformly costs ln C; far above that the run is diverging.
    let chance = (train_set.classes.max(2) as f64).ln();
    let mut warned = false;
    let mut on_epoch = |e: &EpochReport| {
        if !warned && e.stats.loss > 10.0 * chance {
            warned = true;
            eprintln!(
                "warning: epoch {} loss {:.3e} is far above guessing (ln {} = {:.2}); training is diverging: \
                 try a lower --lr (now {}), --l1/--l2, or --init-scale",
                e.epoch,
                e.stats.loss,
                train_set.classes,
                chance,
                readable(config.hyper.lr)
            );
        }
        let validation = e
            .validation_accuracy
            .map(|a| format!("  validation {:6.2}%", 100.0 * a))
            .unwrap_or_default();
        let line = format!(
            "epoch {:>3}/{}  loss {:.4}  train accuracy {:6.2}%{validation}  test {:6.2}%  {:.2} s",
            e.epoch,
            config.epochs,
            e.stats.loss,
            100.0 * e.stats.accuracy,
            100.0 * e.test.accuracy,
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
    let labels = ModelLabels {
        rows: train_set.rows,
        cols: train_set.cols,
        class_names: data.class_names.clone(),
        settings: settings(&config, train_set.count),
    };
    let stop = crate::interrupt::stop_flag()?;
    let sets = Sets {
        train: &train_set,
        validation: validation.as_ref(),
        test: &data.test,
    };
    let control = Control {
        stop: Some(stop),
        on_epoch: &mut on_epoch,
    };
    let first_try = crate::train::run(backend.as_mut(), sets, &config, start.clone(), control);
    let outcome = match first_try {
        // `auto` promised a working backend: a GPU that fails (a limit, out
        // of memory, device lost) hands the run to the CPU backend.
        Err(e) if args.backend == BackendChoice::Auto && info.backend != "cpu" => {
            let line = format!(
                "auto: the GPU backend failed ({e:#}); falling back to the CPU backend and starting the run over"
            );
            match &bar {
                Some(bar) => bar.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
            if let Some(bar) = &bar {
                bar.reset();
            }
            backend = Box::new(CpuBackend::new(None)?);
            let control = Control {
                stop: Some(stop),
                on_epoch: &mut on_epoch,
            };
            crate::train::run(backend.as_mut(), sets, &config, start, control)
                .context("training on the CPU backend after the GPU failed")?
        }
        other => {
            other.with_context(|| format!("training on {} ({})", info.backend, info.adapter))?
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match outcome {
        Outcome::Finished(report) => report,
        Outcome::Interrupted { checkpoint, .. } => {
            save_checkpoint(&checkpoint_file, &checkpoint, &labels)?;
            eprintln!(
                "stopped after epoch {} batch {}; checkpoint written to {}",
                checkpoint.epochs_done,
                checkpoint.batches_done,
                checkpoint_file.display()
            );
            eprintln!("resume with: {}", resume_command(&checkpoint_file));
            return Err(crate::interrupt::Interrupted.into());
        }
        Outcome::Diverged {
            message,
            last_finite,
        } => {
            // Not over a resumable checkpoint of some other run: unless the
            // user named the file, the last finite weights get their own.
            let file = match &args.checkpoint {
                Some(path) => path.clone(),
                None => crate::train::beside_save(args.save.as_deref(), "last-finite"),
            };
            save_checkpoint(&file, &last_finite, &labels)?;
            let which = match last_finite.epochs_done {
                0 => "the initial weights".to_string(),
                e => format!("the weights after epoch {e}"),
            };
            bail!(
                "{message}\n{which} (the last finite ones) are saved in {}",
                file.display()
            );
        }
    };
    summarize(&report, &say);
    if let Some((epoch, accuracy)) = report.best {
        let which = match report.epochs.first() {
            Some(first) if epoch < first.epoch => format!(
                "the weights of epoch {epoch}, from before --resume (no epoch of this run beat them)"
            ),
            _ => format!("the weights of epoch {epoch}"),
        };
        say(&format!(
            "kept {which} (best validation accuracy {:.2}%)",
            100.0 * accuracy
        ));
    }
    if let Some(path) = &args.save {
        let mut settings = labels.settings.clone();
        settings.push(("test_accuracy".into(), report.test.accuracy.to_string()));
        let model = SavedModel {
            params: report.params.clone(),
            stats: report.stats.clone(),
            rows: train_set.rows,
            cols: train_set.cols,
            class_names: labels.class_names.clone(),
            settings,
        };
        // With the end-of-run state, so `--resume` can train on from here
        // (not with a validation set: the kept weights are an earlier epoch's).
        let state = report.best.is_none().then(|| TrainingState {
            epochs_done: report.checkpoint.epochs_done,
            batches_done: 0,
            optimizer: report.checkpoint.optimizer.clone(),
            best: None,
        });
        save_with_state(path, &model, state.as_ref())?;
        say(&format!("saved the model to {}", path.display()));
    }
    if let Some(dir) = &args.report {
        crate::report::write_report(dir, &report, &data.test, &data.class_names)?;
        say(&format!(
            "wrote the report to {}: {}",
            dir.display(),
            crate::report::REPORT_FILES.join(", ")
        ));
    }
    if json {
        let out = TrainJson {
            backend: &report.backend.backend,
            adapter: &report.backend.adapter,
            epochs: config.epochs,
            hidden: config.hidden,
            batch_size: batch_in_use(config.hyper.batch_size, train_set.count),
            optimizer: config.hyper.optimizer.name(),
            train_accuracy: report.train.accuracy,
            test_accuracy: report.test.accuracy,
            best_epoch: report.best.map(|b| b.0),
            loss: report.epochs.iter().map(|e| e.stats.loss).collect(),
            validation_accuracy: report
                .epochs
                .iter()
                .filter_map(|e| e.validation_accuracy)
                .collect(),
            epoch_seconds: report.epochs.iter().map(|e| e.seconds).collect(),
            total_seconds: report.total_seconds,
        };
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

/// A resumed run must see the same training images, and, inside an epoch,
/// the same batches; other settings may change, with a note.
fn check_resume_matches(
    args: &TrainArgs,
    saved: &[(String, String)],
    config: &TrainConfig,
    train_images: usize,
    batches_done: usize,
) -> Result<()> {
    let file = args
        .resume
        .as_ref()
        .map_or(String::new(), |p| p.display().to_string());
    let get = |key: &str| {
        saved
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if let Some(n) = get("train_images") {
        if n != train_images.to_string() {
            bail!(
                "--resume {file}: that run trained on {n} images, this one has {train_images}; \
                 resume with the same data, --train-limit and --val-split"
            );
        }
    }
    let now = settings(config, train_images);
    for (key, value) in &now {
        if let Some(before) = get(key) {
            if before != value {
                if key == "batch_size" && batches_done > 0 {
                    bail!(
                        "--resume {file}: that run stopped inside an epoch with batches of {before}; \
                         resume with --batch-size {before}"
                    );
                }
                if key != "epochs" {
                    eprintln!(
                        "note: resuming with {key} {value} (the checkpoint's run used {before})"
                    );
                }
            }
        }
    }
    Ok(())
}

/// The settings a model file records.
fn settings(config: &TrainConfig, train_images: usize) -> Vec<(String, String)> {
    vec![
        ("epochs".into(), config.epochs.to_string()),
        ("batch_size".into(), config.hyper.batch_size.to_string()),
        (
            "optimizer".into(),
            config.hyper.optimizer.name().to_string(),
        ),
        ("lr".into(), config.hyper.lr.to_string()),
        ("l1".into(), config.hyper.l1.to_string()),
        ("l2".into(), config.hyper.l2.to_string()),
        ("init_scale".into(), config.init_scale.to_string()),
        ("seed".into(), config.seed.to_string()),
        ("shuffle".into(), config.shuffle.to_string()),
        ("lr_decay".into(), config.lr_decay.to_string()),
        ("train_images".into(), train_images.to_string()),
    ]
}

/// This run's command line with `--resume checkpoint` in place of any
/// `--resume` it had.
fn resume_command(checkpoint: &std::path::Path) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut skip = false;
    for a in std::env::args() {
        if skip {
            skip = false;
            continue;
        }
        if a == "--resume" {
            skip = true;
            continue;
        }
        if a.starts_with("--resume=") {
            continue;
        }
        words.push(a);
    }
    words.push("--resume".into());
    words.push(checkpoint.display().to_string());
    words
        .iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", w.replace('\'', "'\\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn summarize(report: &TrainReport, say: &dyn Fn(&str)) {
    let times: Vec<f64> = report.epochs.iter().map(|e| e.seconds).collect();
    say(&format!(
        "train accuracy {:.2}%, test accuracy {:.2}% (test loss {:.4})",
        100.0 * report.train.accuracy,
        100.0 * report.test.accuracy,
        report.test.loss
    ));
    say(&format!(
        "{} epoch{} in {:.2} s (median epoch {:.3} s; setup {:.2} s)",
        report.epochs.len(),
        if report.epochs.len() == 1 { "" } else { "s" },
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
