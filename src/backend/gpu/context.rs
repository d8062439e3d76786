//! The wgpu instance, adapter choice, device, and the capture of wgpu errors
//! as values instead of panics.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};

use crate::backend::BackendInfo;

/// Which graphics API to open the GPU through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// The best adapter of any API.
    Any,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl Api {
    fn backends(self) -> wgpu::Backends {
        match self {
            Api::Any => wgpu::Backends::all(),
            Api::Vulkan => wgpu::Backends::VULKAN,
            Api::Metal => wgpu::Backends::METAL,
            Api::Dx12 => wgpu::Backends::DX12,
            Api::Gl => wgpu::Backends::GL,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Api::Any => "auto",
            Api::Vulkan => "vulkan",
            Api::Metal => "metal",
            Api::Dx12 => "dx12",
            Api::Gl => "gl",
        }
    }
}

/// One adapter as `fashion-nn adapters` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub backend: String,
    pub name: String,
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}, driver {})",
            self.backend, self.name, self.device_type, self.driver
        )
    }
}

fn backend_name(backend: wgpu::Backend) -> String {
    match backend {
        wgpu::Backend::Vulkan => "vulkan".into(),
        wgpu::Backend::Metal => "metal".into(),
        wgpu::Backend::Dx12 => "dx12".into(),
        wgpu::Backend::Gl => "gl".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn summarize(info: &wgpu::AdapterInfo) -> AdapterSummary {
    let driver = match (info.driver.is_empty(), info.driver_info.is_empty()) {
        (false, false) => format!("{} {}", info.driver, info.driver_info),
        (false, true) => info.driver.clone(),
        (true, false) => info.driver_info.clone(),
        (true, true) => "unknown".into(),
    };
    AdapterSummary {
        backend: backend_name(info.backend),
        name: info.name.clone(),
        device_type: format!("{:?}", info.device_type),
        driver,
    }
}

fn instance(api: Api) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = api.backends();
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu finds on any API.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let instance = instance(Api::Any);
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| summarize(&a.get_info()))
        .collect()
}

/// Preference among device types: a real GPU first, the CPU rasterizer last.
fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// [`GpuContext::new`] found no adapter of the API asked for. The message
/// lists the adapters that do exist; the command line adds which flag picks
/// another (`--backend` or `--backends`, see `cli::open_backend`).
#[derive(Debug)]
pub struct NoAdapter {
    pub api: Api,
    pub present: Vec<AdapterSummary>,
}

impl std::fmt::Display for NoAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no {} GPU adapter found (adapters present: ",
            self.api.name()
        )?;
        if self.present.is_empty() {
            write!(f, "none")?;
        }
        for (i, a) in self.present.iter().enumerate() {
            write!(f, "{}{a}", if i == 0 { "" } else { "; " })?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for NoAdapter {}

/// The errors wgpu reports through its uncaptured-error callback, kept until
/// the next [`GpuContext::check`].
type ErrorSink = Arc<Mutex<Vec<String>>>;

/// An open device and its queue.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub is_software: bool,
    errors: ErrorSink,
    lost: Arc<Mutex<Option<String>>>,
    /// FASHION_NN_MAX_BINDING_BYTES, when set.
    binding_cap: Option<u64>,
}

/// The environment variable that lowers the binding size fashion-nn assumes.
const BINDING_CAP_VAR: &str = "FASHION_NN_MAX_BINDING_BYTES";

/// The cap FASHION_NN_MAX_BINDING_BYTES sets, if any: a whole number of
/// bytes, at least 4 (one f32).
fn binding_cap_from_env() -> Result<Option<u64>> {
    let Some(value) = std::env::var_os(BINDING_CAP_VAR) else {
        return Ok(None);
    };
    match value.to_str().and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(bytes) if bytes >= 4 => Ok(Some(bytes)),
        _ => bail!(
            "{BINDING_CAP_VAR}={}: not a whole number of bytes from 4 to {}; \
             unset it, or give the binding size to assume, such as 100000000",
            value.to_string_lossy(),
            u64::MAX
        ),
    }
}

impl GpuContext {
    /// Opens the best adapter of `api`, or explains which adapters exist.
    pub fn new(api: Api) -> Result<Self> {
        let instance = instance(api);
        let mut adapters = pollster::block_on(instance.enumerate_adapters(api.backends()));
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let Some(adapter) = adapters.into_iter().next() else {
            return Err(NoAdapter {
                api,
                present: list_adapters(),
            }
            .into());
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("fashion-nn device"),
            required_features: wgpu::Features::empty(),
            // Ask for everything the adapter offers: the data set wants the
            // largest storage-buffer binding it allows.
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .with_context(|| format!("opening GPU device {} ({:?})", info.name, info.backend))?;

        let errors: ErrorSink = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut v) = lost_sink.lock() {
                *v = Some(format!("{reason:?}: {message}"));
            }
        });
        let is_software = info.device_type == wgpu::DeviceType::Cpu;
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            is_software,
            errors,
            lost,
            binding_cap: binding_cap_from_env()?,
        })
    }

    /// Backend, adapter and driver for display.
    pub fn backend_info(&self) -> BackendInfo {
        let s = summarize(&self.info);
        BackendInfo {
            backend: s.backend,
            adapter: s.name,
            driver: s.driver,
        }
    }

    /// Turns any error wgpu reported since the last call into an `Err`.
    pub fn check(&self, what: &str) -> Result<()> {
        if let Ok(lost) = self.lost.lock() {
            if let Some(reason) = lost.as_ref() {
                bail!("the GPU device was lost while {what} ({reason})");
            }
        }
        let errors = match self.errors.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => Vec::new(),
        };
        if !errors.is_empty() {
            // wgpu's messages span lines; keep the error to one line.
            let flat: Vec<String> = errors
                .iter()
                .map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            bail!("GPU error while {what}: {}", flat.join("; "));
        }
        Ok(())
    }

    /// Blocks until the queue has finished everything submitted so far.
    pub fn wait(&self, what: &str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| anyhow!("waiting for the GPU while {what}: {e}"))?;
        self.check(what)
    }

    /// The largest storage buffer one binding takes: the adapter's
    /// max_storage_buffer_binding_size and max_buffer_size, or less when the
    /// environment variable FASHION_NN_MAX_BINDING_BYTES says so (for tests
    /// of what happens on smaller GPUs).
    pub fn max_binding(&self) -> u64 {
        let max = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.binding_cap.map_or(max, |c| c.min(max))
    }

    /// A storage buffer of `size` bytes must fit one binding of this adapter.
    /// `remedy` names the flags that shrink it.
    pub fn check_binding(&self, what: &str, size: u64, remedy: &str) -> Result<()> {
        let max_binding = self.limits.max_storage_buffer_binding_size;
        let max_buffer = self.limits.max_buffer_size;
        let max = self.max_binding();
        if size > max {
            let capped = match self.binding_cap {
                Some(cap) if cap < max_binding.min(max_buffer) => {
                    format!(", capped to {cap} bytes by {BINDING_CAP_VAR}")
                }
                _ => String::new(),
            };
            bail!(
                "{what} needs a {:.1} MiB storage buffer, but this adapter ({}) binds at most {:.1} MiB \
                 (max_storage_buffer_binding_size {max_binding}, max_buffer_size {max_buffer}{capped}); \
                 {remedy}, or --backend cpu",
                size as f64 / 1048576.0,
                self.info.name,
                max as f64 / 1048576.0
            );
        }
        Ok(())
    }

    /// A dispatch of `groups` workgroups along one dimension must be allowed.
    pub fn check_dispatch(&self, what: &str, groups: u32) -> Result<()> {
        let max = self.limits.max_compute_workgroups_per_dimension;
        if groups > max {
            bail!(
                "{what} needs {groups} workgroups along one dimension, but this adapter allows \
                 {max} (max_compute_workgroups_per_dimension); use a smaller --batch-size"
            );
        }
        Ok(())
    }
}
