//! Buffer helpers: storage and uniform buffers, bind groups, dispatch sizing, and blocking
//! readback through a reusable mapped buffer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::GpuError;

/// Invocations per workgroup along x in every shader (`@workgroup_size(64, 1, 1)`).
pub const WORKGROUP_X: u32 = 64;

/// A storage buffer of `bytes` (rounded up to 4, at least 4).
pub fn storage(device: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding one `T`.
pub fn uniform<T: bytemuck::Pod>(device: &wgpu::Device, label: &str) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (std::mem::size_of::<T>() as u64).next_multiple_of(16),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Binds `(binding, buffer)` pairs to group 0 of `pipeline`.
pub fn bind(
    device: &wgpu::Device,
    label: &str,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: *i,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// Records one dispatch covering `x * y * z` invocations.
pub fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    (x, y, z): (u32, u32, u32),
) {
    if x == 0 || y == 0 || z == 0 {
        return;
    }
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(x.div_ceil(WORKGROUP_X), y, z);
}

/// Size of a "4:2:0 sheet" dispatch (`sheet_site` in common.wgsl): luma rows of `luma.0`
/// columns on top of chroma rows holding both chroma planes side by side.
pub fn sheet_size(luma: (u32, u32), chroma: (u32, u32)) -> (u32, u32, u32) {
    (luma.0.max(2 * chroma.0), luma.1 + chroma.1, 1)
}

/// A MAP_READ buffer reused for every readback.
pub struct Readback {
    buffer: wgpu::Buffer,
    state: Arc<AtomicU8>,
}

const PENDING: u8 = 0;
const MAPPED: u8 = 1;
const FAILED: u8 = 2;

impl Readback {
    pub fn new(device: &wgpu::Device, bytes: u64) -> Self {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            buffer,
            state: Arc::new(AtomicU8::new(PENDING)),
        }
    }

    /// Records a copy of the first `bytes` of `src` into the readback buffer.
    pub fn copy_from(&self, encoder: &mut wgpu::CommandEncoder, src: &wgpu::Buffer, bytes: u64) {
        encoder.copy_buffer_to_buffer(src, 0, &self.buffer, 0, bytes.next_multiple_of(4));
    }

    /// Waits for the submitted copy, then hands the first `bytes` to `read`.
    pub fn read<R>(
        &self,
        device: &wgpu::Device,
        bytes: u64,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, GpuError> {
        let bytes = bytes.next_multiple_of(4);
        self.state.store(PENDING, Ordering::Release);
        let state = self.state.clone();
        self.buffer
            .map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
                state.store(if r.is_ok() { MAPPED } else { FAILED }, Ordering::Release);
            });
        // Another thread polling the same device can take this map's callback out of the
        // queue and run it just after our own wait returns: until the callback has run, the
        // state is still pending, which is not a failure. Poll again until it has.
        let started = std::time::Instant::now();
        loop {
            device
                .poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: None,
                })
                .map_err(|e| GpuError::Map(e.to_string()))?;
            match self.state.load(Ordering::Acquire) {
                MAPPED => break,
                FAILED => return Err(GpuError::Map("the buffer could not be mapped".into())),
                _ if started.elapsed() > std::time::Duration::from_secs(10) => {
                    return Err(GpuError::Map("the buffer's mapping never completed".into()));
                }
                _ => std::thread::yield_now(),
            }
        }
        let result = {
            let view = self
                .buffer
                .get_mapped_range(0..bytes)
                .map_err(|e| GpuError::Map(e.to_string()))?;
            read(&view)
        };
        self.buffer.unmap();
        Ok(result)
    }
}
