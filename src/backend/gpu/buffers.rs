//! Buffer creation with labels and stated usages, and read-back to the host.

use anyhow::{anyhow, Result};
use wgpu::util::DeviceExt;

use super::context::GpuContext;

/// A storage buffer the kernels read and write, that can also be copied from
/// (for read-back) and written by the queue (for uploads).
pub fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // wgpu rejects zero-sized bindings: keep at least one word.
        size: bytes.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A storage buffer holding `contents` (padded with zeros to a multiple of 4 bytes).
pub fn storage_init(ctx: &GpuContext, label: &str, contents: &[u8]) -> wgpu::Buffer {
    let mut padded;
    let bytes = if contents.is_empty() || !contents.len().is_multiple_of(4) {
        padded = contents.to_vec();
        padded.resize(contents.len().max(4).next_multiple_of(4), 0);
        &padded[..]
    } else {
        contents
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        })
}

/// A uniform buffer holding `contents`, writable by the queue.
pub fn uniform_init(ctx: &GpuContext, label: &str, contents: &[u8]) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// A host-visible buffer to copy results into and map for reading.
pub fn staging(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Maps `buffer` (a [`staging`] buffer whose copies are already submitted),
/// waits for the GPU, and returns its first `bytes` bytes.
pub fn map_read(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
    what: &str,
) -> Result<Vec<u8>> {
    map_read_at(ctx, buffer, 0, bytes, what)
}

/// [`map_read`] of the `bytes` bytes from `offset` (a multiple of 8).
pub fn map_read_at(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    offset: u64,
    bytes: u64,
    what: &str,
) -> Result<Vec<u8>> {
    let slice = buffer.slice(offset..offset + bytes.max(4).next_multiple_of(4));
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        // The receiver lives until after the poll below; a failed send only
        // means nobody is waiting any more.
        let _ = tx.send(result);
    });
    ctx.wait(what)?;
    rx.recv()
        .map_err(|_| anyhow!("the GPU never answered the read-back while {what}"))?
        .map_err(|e| anyhow!("reading back from the GPU while {what}: {e}"))?;
    let data = slice
        .get_mapped_range()
        .map_err(|e| anyhow!("reading back from the GPU while {what}: {e:?}"))?[..bytes as usize]
        .to_vec();
    buffer.unmap();
    Ok(data)
}

/// Copies the first `bytes` bytes of a storage buffer to the host.
pub fn read_back(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
    what: &str,
) -> Result<Vec<u8>> {
    let stage = staging(ctx, "read-back staging", bytes);
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("read-back"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &stage, 0, bytes.max(4).next_multiple_of(4));
    ctx.queue.submit([encoder.finish()]);
    map_read(ctx, &stage, bytes, what)
}

/// Reads back `len` f32 values.
pub fn read_f32(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    len: usize,
    what: &str,
) -> Result<Vec<f32>> {
    let bytes = read_back(ctx, buffer, (len * 4) as u64, what)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
