//! Row-major f32 matrices held as `rgba32float` textures: texel (j, i) holds
//! row i, columns 4j..4j+3, with zeros past the last column. The big matrix
//! products read their operands this way because texel fetches are the
//! loads every GPU driver vectorizes: lavapipe (Mesa 22.3) fetches a texel
//! for its 8 SIMD lanes at once, while it loads a storage-buffer value lane
//! by lane, one bounds-checked scalar at a time (`cargo bench --bench
//! kernels` compares the two paths).

use anyhow::{bail, Result};

use super::buffers::{map_read, staging};
use super::context::GpuContext;

/// A rows×cols matrix as a texture, with the views its kernels bind.
pub struct RowsTexture {
    pub rows: usize,
    pub cols: usize,
    pub texture: wgpu::Texture,
    /// For `texture_2d<f32>` (read with `textureLoad`).
    pub view: wgpu::TextureView,
}

/// Texels per row: ⌈cols / 4⌉.
pub fn texels(cols: usize) -> usize {
    cols.div_ceil(4)
}

/// Refuses a matrix whose texture would exceed the adapter's 2D limit.
pub fn check_fits(ctx: &GpuContext, what: &str, rows: usize, cols: usize) -> Result<()> {
    let max = ctx.limits.max_texture_dimension_2d as usize;
    if rows > max || texels(cols) > max {
        bail!(
            "{what} ({rows} rows × {cols} columns) does not fit this GPU's textures: \
             {} allows at most {max} rows and {} columns; use a smaller --batch-size or --hidden",
            ctx.info.name,
            max * 4
        );
    }
    Ok(())
}

impl RowsTexture {
    /// A zeroed texture for a rows×cols matrix (kernels write it).
    pub fn new(ctx: &GpuContext, label: &str, rows: usize, cols: usize) -> Self {
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: extent(rows, cols),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        RowsTexture {
            rows,
            cols,
            texture,
            view,
        }
    }

    /// A texture holding `data` (rows×cols, row-major).
    pub fn from_rows(
        ctx: &GpuContext,
        label: &str,
        data: &[f32],
        rows: usize,
        cols: usize,
    ) -> Self {
        let t = RowsTexture::new(ctx, label, rows, cols);
        t.write(ctx, data);
        t
    }

    /// Overwrites the texture with `data` (rows×cols, row-major).
    pub fn write(&self, ctx: &GpuContext, data: &[f32]) {
        assert_eq!(
            data.len(),
            self.rows * self.cols,
            "texture data is not rows×cols"
        );
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let width = texels(self.cols) * 4;
        let padded: Vec<f32>;
        let texels_data = if width == self.cols {
            data
        } else {
            padded = data
                .chunks(self.cols)
                .flat_map(|row| {
                    row.iter()
                        .copied()
                        .chain(std::iter::repeat_n(0.0, width - self.cols))
                })
                .collect();
            &padded
        };
        ctx.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(texels_data),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some((width * 4) as u32),
                rows_per_image: Some(self.rows as u32),
            },
            extent(self.rows, self.cols),
        );
    }

    /// A view for `texture_storage_2d<rgba32float, write>`.
    pub fn storage_view(&self) -> wgpu::TextureView {
        self.texture
            .create_view(&wgpu::TextureViewDescriptor::default())
    }

    /// Copies the first `rows` rows back to the host, row-major, without the
    /// padding (for tests).
    pub fn read(&self, ctx: &GpuContext, rows: usize, what: &str) -> Result<Vec<f32>> {
        let rows = rows.min(self.rows);
        if rows == 0 || self.cols == 0 {
            return Ok(Vec::new());
        }
        let row_bytes = texels(self.cols) * 16;
        let stride = row_bytes.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
        let stage = staging(ctx, "texture read-back", (stride * rows) as u64);
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("texture read-back"),
            });
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &stage,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(stride as u32),
                    rows_per_image: Some(rows as u32),
                },
            },
            extent(rows, self.cols),
        );
        ctx.queue.submit([encoder.finish()]);
        let bytes = map_read(ctx, &stage, (stride * rows) as u64, what)?;
        let mut out = Vec::with_capacity(rows * self.cols);
        for row in bytes.chunks(stride).take(rows) {
            let values: &[f32] = bytemuck::cast_slice(&row[..row_bytes]);
            out.extend_from_slice(&values[..self.cols]);
        }
        Ok(out)
    }

    /// Copies the first `rows` rows with their zero padding (for tests of the
    /// padding itself).
    pub fn read_padded(&self, ctx: &GpuContext, rows: usize, what: &str) -> Result<Vec<f32>> {
        let padded = RowsTexture {
            rows: self.rows,
            cols: texels(self.cols) * 4,
            texture: self.texture.clone(),
            view: self.view.clone(),
        };
        padded.read(ctx, rows, what)
    }
}

fn extent(rows: usize, cols: usize) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width: texels(cols).max(1) as u32,
        height: rows.max(1) as u32,
        depth_or_array_layers: 1,
    }
}
