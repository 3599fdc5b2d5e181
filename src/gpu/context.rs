//! Adapter and device selection.
//!
//! Honours `WGPU_BACKEND` (e.g. `vulkan`, `metal`, `dx12`, `gl`), `WGPU_ADAPTER_NAME` (a
//! case-insensitive substring of the adapter name) and `WGPU_POWER_PREF` (`high`/`low`,
//! default high performance). A software (CPU) adapter works but is loudly reported.

use std::sync::{Arc, Mutex};

use super::pipelines::{Kernels, NnKernels, Precision};

/// Errors from the GPU layer.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found for backends {backends} (set WGPU_BACKEND, install a Vulkan/Metal/DX12 driver, or mesa-vulkan-drivers for a CPU fallback)"
    )]
    NoAdapter { backends: String },
    #[error("WGPU_ADAPTER_NAME={wanted:?} matches no adapter; available: {available}")]
    AdapterNotFound { wanted: String, available: String },
    #[error("could not open the GPU device: {0}")]
    RequestDevice(String),
    #[error("shader {name} is invalid:\n{message}")]
    Shader { name: &'static str, message: String },
    #[error("GPU validation error: {0}")]
    Validation(String),
    #[error("GPU device lost: {0}")]
    DeviceLost(String),
    #[error("GPU start-up failed earlier: {0}")]
    StartupFailed(String),
    #[error("reading back a GPU buffer failed: {0}")]
    Map(String),
    #[error("frame buffer has {got} bytes, expected {expected}")]
    FrameSize { expected: usize, got: usize },
    #[error("frame {width}x{height} needs a {needed}-byte buffer; this adapter allows {limit}")]
    TooLarge {
        width: u32,
        height: u32,
        needed: u64,
        limit: u64,
    },
}

/// `REELGPU_SR_COOP=off` makes the device without cooperative matrices, so the upscaler
/// keeps its portable kernel where the adapter has them.
pub const COOP_ENV: &str = "REELGPU_SR_COOP";

/// What was chosen, for logs and reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// True for CPU adapters such as lavapipe/llvmpipe or WARP.
    pub software: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}{})",
            self.name,
            self.backend,
            self.device_type,
            if self.driver.is_empty() {
                String::new()
            } else {
                format!(", {}", self.driver)
            }
        )
    }
}

/// An open device with its queue and compiled pipelines.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub kernels: Kernels,
    /// nn.wgsl's kernels, compiled on first use.
    /// nn.wgsl per storage type ([`Precision::F32`], [`Precision::F16`]).
    nn: [std::sync::OnceLock<NnKernels>; 2],
    limits: wgpu::Limits,
    /// The first uncaptured validation or device error since the last check.
    error: Arc<Mutex<Option<String>>>,
    /// Why the device was lost, once it is (it stays lost).
    lost: Arc<Mutex<Option<String>>>,
}

/// A GPU context coming up on its own thread, so the caller can probe the input, start
/// ffmpeg and pass untouched frames along meanwhile; [`Self::wait`] blocks until it is up.
pub struct GpuStartup {
    state: Mutex<Startup>,
}

enum Startup {
    /// Started by the first [`GpuStartup::wait`].
    OnDemand,
    Starting(std::thread::JoinHandle<Result<Arc<GpuContext>, GpuError>>),
    Ready(Arc<GpuContext>),
    Failed(String),
}

impl GpuStartup {
    /// Starts [`GpuContext::new`] on a new thread.
    pub fn spawn() -> Self {
        Self {
            state: Mutex::new(Startup::Starting(std::thread::spawn(GpuContext::new))),
        }
    }

    /// A context started only when first waited for (a job that may never need it).
    pub fn on_demand() -> Self {
        Self {
            state: Mutex::new(Startup::OnDemand),
        }
    }

    /// A context that is already up.
    pub fn ready(ctx: Arc<GpuContext>) -> Self {
        Self {
            state: Mutex::new(Startup::Ready(ctx)),
        }
    }

    /// The context, once up. A failed start-up gives its error the first time and
    /// [`GpuError::StartupFailed`] with the same message after that.
    pub fn wait(&self) -> Result<Arc<GpuContext>, GpuError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let placeholder = Startup::Failed(String::new());
        let joined = match std::mem::replace(&mut *state, placeholder) {
            Startup::OnDemand => GpuContext::new(),
            Startup::Starting(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(GpuError::StartupFailed("the GPU thread panicked".into()))),
            Startup::Ready(ctx) => Ok(ctx),
            Startup::Failed(message) => Err(GpuError::StartupFailed(message)),
        };
        *state = match &joined {
            Ok(ctx) => Startup::Ready(ctx.clone()),
            Err(GpuError::StartupFailed(m)) => Startup::Failed(m.clone()),
            Err(e) => Startup::Failed(e.to_string()),
        };
        joined
    }

    /// Like [`Self::wait`] where start-up has begun; `None` for an on-demand context nobody
    /// needed.
    pub fn wait_if_started(&self) -> Option<Result<Arc<GpuContext>, GpuError>> {
        let on_demand = matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            Startup::OnDemand
        );
        (!on_demand).then(|| self.wait())
    }
}

impl GpuContext {
    /// Opens the preferred adapter (see the module docs) and compiles every pipeline.
    pub fn new() -> Result<Arc<Self>, GpuError> {
        pollster::block_on(Self::new_async())
    }

    async fn new_async() -> Result<Arc<Self>, GpuError> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let backends = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
            Ok(wanted) if !wanted.is_empty() => {
                let adapters = instance.enumerate_adapters(backends).await;
                let lower = wanted.to_lowercase();
                let names: Vec<String> = adapters
                    .iter()
                    .map(|a| {
                        let i = a.get_info();
                        format!("{} ({:?})", i.name, i.backend)
                    })
                    .collect();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&lower))
                    .ok_or_else(|| GpuError::AdapterNotFound {
                        wanted,
                        available: if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        },
                    })?
            }
            _ => {
                let power_preference = wgpu::PowerPreference::from_env()
                    .unwrap_or(wgpu::PowerPreference::HighPerformance);
                instance
                    .request_adapter(&wgpu::RequestAdapterOptions {
                        power_preference,
                        ..Default::default()
                    })
                    .await
                    .map_err(|_| GpuError::NoAdapter {
                        backends: format!("{backends:?}"),
                    })?
            }
        };
        let info = adapter.get_info();
        let software = info.device_type == wgpu::DeviceType::Cpu;
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            software,
        };
        tracing::info!(adapter = %summary, "GPU adapter selected");
        if software {
            tracing::warn!(
                adapter = %summary,
                "SOFTWARE (CPU) GPU ADAPTER: correct but slow; use a real GPU for production exports"
            );
        }
        let supported = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: supported.max_storage_buffer_binding_size,
            max_buffer_size: supported.max_buffer_size,
            max_storage_buffers_per_shader_stage: 8,
            ..wgpu::Limits::downlevel_defaults()
        };
        // f16 storage for the AI upscaler where the adapter has it, and cooperative matrices
        // (tensor cores) for its convolutions unless REELGPU_SR_COOP=off; the latter is one
        // of wgpu's experimental features, which must be opted into (each use is checked
        // against the portable kernel on the device before it is trusted)
        let mut required_features = adapter.features() & wgpu::Features::SHADER_F16;
        let coop_props = adapter.cooperative_matrix_properties();
        let want_coop = !matches!(
            std::env::var(COOP_ENV)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str(),
            "off" | "0" | "false" | "no"
        );
        let coop = want_coop
            && adapter
                .features()
                .contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX);
        if coop {
            required_features |= wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX;
            tracing::info!(shapes = ?coop_props, "the adapter has cooperative matrices");
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("reelgpu"),
                required_features,
                required_limits: limits.clone(),
                // SAFETY: the one experimental feature requested is cooperative matrices,
                // used by one kernel that is compared with the portable kernel on this device
                // before use (nn::coop::verify)
                experimental_features: if coop {
                    unsafe { wgpu::ExperimentalFeatures::enabled() }
                } else {
                    wgpu::ExperimentalFeatures::disabled()
                },
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;

        let error = Arc::new(Mutex::new(None::<String>));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            tracing::error!("GPU error: {e}");
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        // A lost device (driver reset, GPU fallen off the bus, or destroyed) is recorded, never
        // a panic: every GPU call after it fails, and those failures are reported as the loss.
        let lost = Arc::new(Mutex::new(None::<String>));
        let lost_slot = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            tracing::error!("GPU device lost: {reason:?} {message}");
            let mut slot = lost_slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("{reason:?}: {message}"));
        });

        let kernels = Kernels::new(&device, if coop { &coop_props } else { &[] })?;
        Ok(Arc::new(Self {
            device,
            queue,
            adapter: summary,
            kernels,
            nn: Default::default(),
            limits,
            error,
            lost,
        }))
    }

    /// The neural networks' kernels (nn.wgsl), compiled on the first call.
    pub fn nn_kernels(&self, precision: Precision) -> Result<&NnKernels, GpuError> {
        let slot = &self.nn[precision as usize];
        if let Some(k) = slot.get() {
            return Ok(k);
        }
        if precision == Precision::F16
            && !self.device.features().contains(wgpu::Features::SHADER_F16)
        {
            return Err(GpuError::Validation(format!(
                "f16 network kernels need shader-f16, which {} does not have",
                self.adapter
            )));
        }
        let k = NnKernels::new(&self.device, precision)?;
        Ok(slot.get_or_init(|| k))
    }

    /// [`Precision::best`] for this device, `env` naming the variable that overrides it.
    pub fn best_precision(&self, env: &str) -> Precision {
        Precision::best(&self.device, self.adapter.software, env)
    }

    /// Like [`Self::lost`], polling for up to `within` so that wgpu runs a device-lost
    /// callback it has not run yet: for a GPU error, when whether it was the loss matters more
    /// than the wait (jobs sharing a device race to see the loss, and the one that does not may
    /// fail on a plain error a few milliseconds before the callback).
    pub fn lost_within(&self, within: std::time::Duration) -> Option<String> {
        let until = std::time::Instant::now() + within;
        loop {
            let _ = self.device.poll(wgpu::PollType::Poll);
            if let Some(why) = self.lost() {
                return Some(why);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Why the device was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fails with the device's loss, else with the first GPU error raised since the last
    /// call, if any.
    pub fn check(&self) -> Result<(), GpuError> {
        if let Some(why) = self.lost() {
            return Err(GpuError::DeviceLost(why));
        }
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some(msg) => Err(GpuError::Validation(msg)),
            None => Ok(()),
        }
    }

    /// An error from a GPU call, as the device's loss when the device is gone (whatever the
    /// call itself said).
    pub fn explain(&self, e: GpuError) -> GpuError {
        // let wgpu run a device-lost callback it has queued
        let _ = self.device.poll(wgpu::PollType::Poll);
        match self.lost() {
            Some(why) if !matches!(e, GpuError::DeviceLost(_)) => {
                GpuError::DeviceLost(format!("{why} ({e})"))
            }
            _ => e,
        }
    }

    /// Largest storage buffer this device accepts.
    /// GPU buffers alive on the device and their bytes (wgpu's internal counters): what a
    /// soak watches for growth.
    pub fn live_buffers(&self) -> (i64, i64) {
        let c = self.device.get_internal_counters();
        (
            c.hal.buffers.read() as i64,
            c.hal.buffer_memory.read() as i64,
        )
    }

    pub fn max_buffer_bytes(&self) -> u64 {
        self.limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On demand: nothing starts until asked; spawned: the same context on every wait.
    #[test]
    fn gpu_startup_starts_when_asked_and_keeps_its_context() {
        let lazy = GpuStartup::on_demand();
        assert!(lazy.wait_if_started().is_none());
        let ctx = lazy.wait().expect("a GPU adapter (lavapipe in CI)");
        let again = lazy.wait_if_started().expect("started").unwrap();
        assert!(Arc::ptr_eq(&ctx, &again));

        let eager = GpuStartup::spawn();
        let a = eager.wait_if_started().expect("started").unwrap();
        assert!(Arc::ptr_eq(&a, &eager.wait().unwrap()));
        assert!(Arc::ptr_eq(
            &GpuStartup::ready(a.clone()).wait().unwrap(),
            &a
        ));
    }
}
