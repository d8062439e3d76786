//! A picture of a garment (PNG or JPEG, any size and colour) brought to the
//! data set's form, the way Fashion-MNIST's own images were made: grayscale,
//! garment bright on a black background, cropped to the garment, the longer
//! side scaled to fill the model's image, centred.
//!
//! The steps, on 8-bit gray values:
//! 1. Colour to gray (Rec. 709 luma); a transparent pixel is shown on white.
//! 2. If the outermost ring of pixels is light on average (mean > 127.5), the
//!    picture is a dark garment on a light background (a product photo, a
//!    drawing on paper): every value v becomes 255 − v.
//! 3. Background to black: with b the median of the ring and m the brightest
//!    value, v ← clamp((v − b)·255/(m − b), 0, 255).
//! 4. Crop to the bounding box of the values above [`GARMENT_LEVEL`].
//! 5. Scale the crop (triangle filter, aspect ratio kept) so that its longer
//!    side fills the model's rows or cols, and centre it on black.

use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Result};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader};

/// After the background is made black, a value above this counts as garment
/// when cropping (1/16 of full scale: above JPEG noise and faint shadows).
pub const GARMENT_LEVEL: u8 = 16;

/// A picture in the data set's form.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedPicture {
    /// rows × cols gray values, row-major, garment bright on black.
    pub pixels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
    /// Whether the picture was inverted (its border was light).
    pub inverted: bool,
    /// The garment's bounding box in the source picture: x, y, width, height.
    pub crop: (usize, usize, usize, usize),
    /// The source picture's width and height.
    pub source: (usize, usize),
}

/// The largest picture `read_picture` decodes (100 megapixels, 100 MB of gray).
pub const MAX_PICTURE_PIXELS: u64 = 100_000_000;

/// Reads a PNG or JPEG file (EXIF orientation applied) as gray values,
/// transparent pixels shown on white: (values, width, height). Every failure
/// is one line naming the file and what to do.
pub fn read_picture(path: &Path) -> Result<(Vec<u8>, usize, usize)> {
    // A pipe would wait for a writer: only regular files are read.
    if path.exists() && !path.is_file() {
        bail!(
            "{} is a folder, device or pipe, not a picture file; give a PNG or JPEG file",
            path.display()
        );
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{}: no such file; check the picture's path", path.display())
        }
        Err(e) => bail!("{}: cannot be read ({e})", path.display()),
    };
    if bytes.is_empty() {
        bail!(
            "{} is empty (0 bytes); give a PNG or JPEG picture",
            path.display()
        );
    }
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        Ok(other) => bail!(
            "{} is a {other:?} picture; only PNG and JPEG are read: convert it to PNG",
            path.display()
        ),
        Err(_) => bail!(
            "{} is not a PNG or JPEG picture (it starts with neither signature); \
             give a PNG or JPEG file",
            path.display()
        ),
    };
    let name = if format == ImageFormat::Png {
        "PNG"
    } else {
        "JPEG"
    };
    let damaged = |e: image::ImageError| {
        anyhow::anyhow!(
            "{}: the {name} data is damaged or cut off ({e}); save or export the picture again",
            path.display()
        )
    };
    let mut decoder = ImageReader::with_format(Cursor::new(&bytes), format)
        .into_decoder()
        .map_err(damaged)?;
    // A few kilobytes of PNG can claim a picture of gigabytes: refuse before
    // decoding what no photo of a garment needs.
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PICTURE_PIXELS {
        bail!(
            "{}: the picture is {w}x{h} pixels, more than the {} megapixels this reads; \
             scale it down (the model sees it at its own size, e.g. 28x28)",
            path.display(),
            MAX_PICTURE_PIXELS / 1_000_000
        );
    }
    let orientation = decoder.orientation().map_err(damaged)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    picture.apply_orientation(orientation);
    let (w, h) = (picture.width() as usize, picture.height() as usize);
    // Gray over white: v·a + 255·(1 − a).
    let gray = picture
        .to_luma_alpha8()
        .pixels()
        .map(|p| {
            let [v, a] = p.0;
            ((u32::from(v) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
        })
        .collect();
    Ok((gray, w, h))
}

/// Brings `width`×`height` gray values to a `rows`×`cols` image of the data
/// set's form (steps 2–5 of the module notes). Fails when no garment stands
/// out from the background.
pub fn prepare_picture(
    gray: &[u8],
    width: usize,
    height: usize,
    rows: usize,
    cols: usize,
) -> Result<PreparedPicture> {
    assert_eq!(gray.len(), width * height, "gray values of the picture");
    assert!(width > 0 && height > 0 && rows > 0 && cols > 0);
    let ring: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| x == 0 || y == 0 || x + 1 == width || y + 1 == height)
        .map(|(x, y)| gray[y * width + x])
        .collect();
    let ring_mean = ring.iter().map(|&v| f64::from(v)).sum::<f64>() / ring.len() as f64;
    let inverted = ring_mean > 127.5;
    let mut v: Vec<u8> = if inverted {
        gray.iter().map(|&p| 255 - p).collect()
    } else {
        gray.to_vec()
    };
    let mut sorted_ring: Vec<u8> = ring
        .iter()
        .map(|&p| if inverted { 255 - p } else { p })
        .collect();
    sorted_ring.sort_unstable();
    let background = i32::from(sorted_ring[sorted_ring.len() / 2]);
    let brightest = i32::from(*v.iter().max().expect("width, height > 0")); // invariant: asserted above
    if brightest - background <= i32::from(GARMENT_LEVEL) {
        bail!("the picture is blank: nothing stands out from its background");
    }
    for p in &mut v {
        *p = ((i32::from(*p) - background).max(0) * 255 / (brightest - background)) as u8;
    }
    // Bounding box of the garment.
    let (mut x0, mut y0, mut x1, mut y1) = (width, height, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if v[y * width + x] > GARMENT_LEVEL {
                (x0, y0) = (x0.min(x), y0.min(y));
                (x1, y1) = (x1.max(x), y1.max(y));
            }
        }
    }
    // invariant: brightest − background > GARMENT_LEVEL, so the brightest
    // pixel maps to 255 and the box holds at least it.
    let (bw, bh) = (x1 + 1 - x0, y1 + 1 - y0);
    // invariant: v has width × height values.
    let full = GrayImage::from_raw(width as u32, height as u32, v).expect("width × height values"); // invariant
    let garment = imageops::crop_imm(&full, x0 as u32, y0 as u32, bw as u32, bh as u32).to_image();
    // The longer side (relative to the target) fills the target.
    let scale = (cols as f64 / bw as f64).min(rows as f64 / bh as f64);
    let nw = ((bw as f64 * scale).round() as usize).clamp(1, cols);
    let nh = ((bh as f64 * scale).round() as usize).clamp(1, rows);
    let scaled = imageops::resize(&garment, nw as u32, nh as u32, FilterType::Triangle);
    let (ox, oy) = ((cols - nw) / 2, (rows - nh) / 2);
    let mut pixels = vec![0u8; rows * cols];
    for y in 0..nh {
        for x in 0..nw {
            pixels[(oy + y) * cols + ox + x] = scaled.get_pixel(x as u32, y as u32).0[0];
        }
    }
    Ok(PreparedPicture {
        pixels,
        rows,
        cols,
        inverted,
        crop: (x0, y0, bw, bh),
        source: (width, height),
    })
}

/// [`read_picture`] then [`prepare_picture`] for a `rows`×`cols` model, with
/// the file named in every error.
pub fn load_picture(path: &Path, rows: usize, cols: usize) -> Result<PreparedPicture> {
    let (gray, w, h) = read_picture(path)?;
    prepare_picture(&gray, w, h, rows, cols).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e:#}; give a picture of one garment on a plain background",
            path.display()
        )
    })
}
