//! A grid of test images with their predicted and true classes, as one SVG
//! file: each image a PNG (encoded by the `image` crate) inside a `data:`
//! URI, each label an SVG `<text>`, so the file needs no fonts to make and
//! no other file to show. Wrong predictions get a red frame and red label.

use std::fmt::Write;

use anyhow::{Context, Result};
use base64::Engine;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::data::Dataset;

/// Text made safe inside an SVG element or attribute.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The first `count` images of `test`, `columns` to a row, each with its
/// predicted class (from `predictions`) and its true class.
pub fn samples_svg(
    test: &Dataset,
    predictions: &[u8],
    class_names: &[String],
    count: usize,
    columns: usize,
) -> Result<String> {
    let name = |c: u8| {
        class_names
            .get(usize::from(c))
            .map_or_else(|| c.to_string(), |n| escape(n))
    };
    // Each image scaled so its longer side is 84 px (3× for 28×28).
    let scale = 84.0 / test.rows.max(test.cols) as f64;
    let (iw, ih) = (test.cols as f64 * scale, test.rows as f64 * scale);
    let (cw, ch) = (iw.max(84.0) + 30.0, ih + 44.0);
    let columns = columns.max(1);
    let rows = count.div_ceil(columns);
    let (width, height) = (cw * columns as f64 + 20.0, ch * rows as f64 + 60.0);
    let wrong = (0..count)
        .filter(|&i| predictions.get(i) != Some(&test.labels[i]))
        .count();
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
    )?;
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#)?;
    writeln!(
        svg,
        r#"<text x="{}" y="30" font-size="20" text-anchor="middle">First {count} test images: predicted class (true class when wrong); {wrong} wrong, in red</text>"#,
        width / 2.0
    )?;
    for i in 0..count {
        let (gx, gy) = ((i % columns) as f64, (i / columns) as f64);
        let (x, y) = (10.0 + gx * cw + (cw - iw) / 2.0, 50.0 + gy * ch);
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(
                test.image(i),
                test.cols as u32,
                test.rows as u32,
                ExtendedColorType::L8,
            )
            .with_context(|| format!("encoding test image {i} as PNG"))?;
        writeln!(
            svg,
            r#"<image x="{x:.1}" y="{y:.1}" width="{iw:.1}" height="{ih:.1}" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
            base64::engine::general_purpose::STANDARD.encode(&png)
        )?;
        let truth = test.labels[i];
        let predicted = predictions.get(i).copied();
        let cx = 10.0 + gx * cw + cw / 2.0;
        match predicted {
            Some(p) if p == truth => {
                writeln!(
                    svg,
                    r#"<text x="{cx:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="black">{}</text>"#,
                    y + ih + 15.0,
                    name(p)
                )?;
            }
            _ => {
                writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="red" stroke-width="3"/>"#,
                    x - 1.5,
                    y - 1.5,
                    iw + 3.0,
                    ih + 3.0
                )?;
                writeln!(
                    svg,
                    r#"<text x="{cx:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="red">{}</text>"#,
                    y + ih + 15.0,
                    predicted.map_or_else(|| "?".into(), name)
                )?;
                writeln!(
                    svg,
                    r#"<text x="{cx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="dimgray">(true: {})</text>"#,
                    y + ih + 29.0,
                    name(truth)
                )?;
            }
        }
    }
    writeln!(svg, "</svg>")?;
    Ok(svg)
}
