//! The report's two charts, drawn with plotters into SVG text.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::train::EpochReport;

const FONT: &str = "sans-serif";

/// Training loss (left axis) and training/test accuracy (right axis, %) per
/// epoch. The training figures are those of each epoch's own forward passes;
/// the test figures come from a pass over the test set after the epoch.
pub fn learning_curve_svg(epochs: &[EpochReport]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        draw_learning_curve(&root, epochs).map_err(|e| anyhow!("drawing the loss curve: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("drawing the loss curve: {e}"))?;
    }
    Ok(svg)
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw_learning_curve(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    epochs: &[EpochReport],
) -> DrawResult {
    root.fill(&WHITE)?;
    let n = epochs.len().max(1) as f64;
    let loss_max = epochs
        .iter()
        .map(|e| e.stats.loss.max(e.test.loss))
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    let acc_min = epochs
        .iter()
        .map(|e| 100.0 * e.stats.accuracy.min(e.test.accuracy))
        .fold(100.0f64, f64::min);
    // Round the accuracy axis down to a multiple of 10 so the lines fill it.
    let acc_low = ((acc_min - 1.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    // Empty room right of the last epoch holds the legend.
    let x_max = n + 0.5 + 0.45 * n.max(2.0);
    let mut chart = ChartBuilder::on(root)
        .caption("Learning curve", (FONT, 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .right_y_label_area_size(64)
        .build_cartesian_2d(0.5f64..x_max, 0.0f64..loss_max)?
        .set_secondary_coord(0.5f64..x_max, acc_low..100.0f64);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss (cross-entropy)")
        .x_labels((1.45 * n) as usize + 2)
        .x_label_formatter(&|x| {
            let epoch = x.round();
            if (x - epoch).abs() < 1e-6 && epoch <= n {
                format!("{epoch}")
            } else {
                String::new()
            }
        })
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("accuracy (%)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let green = RGBColor(44, 160, 44);
    let point = |e: &EpochReport, v: f64| (e.epoch as f64, v);
    chart
        .draw_series(LineSeries::new(
            epochs.iter().map(|e| point(e, e.stats.loss)),
            blue.stroke_width(2),
        ))?
        .label("training loss")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart.draw_series(
        epochs
            .iter()
            .map(|e| Circle::new(point(e, e.stats.loss), 3, blue.filled())),
    )?;
    chart
        .draw_secondary_series(LineSeries::new(
            epochs.iter().map(|e| point(e, 100.0 * e.stats.accuracy)),
            orange.stroke_width(2),
        ))?
        .label("training accuracy (%)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2)));
    chart
        .draw_secondary_series(LineSeries::new(
            epochs.iter().map(|e| point(e, 100.0 * e.test.accuracy)),
            green.stroke_width(2),
        ))?
        .label("test accuracy (%)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(2)));
    chart.draw_secondary_series(
        epochs
            .iter()
            .map(|e| Circle::new(point(e, 100.0 * e.test.accuracy), 3, green.filled())),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The confusion matrix as a heat map: rows the true class, columns the
/// predicted one, each cell shaded by its share of the row (the recall on
/// the diagonal) and labelled with its count.
pub fn confusion_svg(confusion: &[Vec<usize>], class_names: &[String]) -> Result<String> {
    let c = confusion.len().max(1);
    let cell = (640 / c).clamp(6, 64) as i32;
    let label_w = 150;
    let (left, top) = (label_w + 30, 70);
    let size = (
        (left + cell * c as i32 + 30) as u32,
        (top + cell * c as i32 + 110) as u32,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_confusion(&root, confusion, class_names, cell, left, top)
            .map_err(|e| anyhow!("drawing the confusion matrix: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("drawing the confusion matrix: {e}"))?;
    }
    Ok(svg)
}

fn draw_confusion(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    confusion: &[Vec<usize>],
    class_names: &[String],
    cell: i32,
    left: i32,
    top: i32,
) -> DrawResult {
    root.fill(&WHITE)?;
    let c = confusion.len() as i32;
    let center = Pos::new(HPos::Center, VPos::Center);
    root.draw(&Text::new(
        "Confusion matrix (test set)",
        (left + cell * c / 2, 22),
        (FONT, 22).into_font().into_text_style(root).pos(center),
    ))?;
    root.draw(&Text::new(
        "predicted class →",
        (left + cell * c / 2, top - 22),
        (FONT, 15).into_font().into_text_style(root).pos(center),
    ))?;
    let label_size = (cell - 2).clamp(8, 14);
    let show_names = cell >= 10;
    let show_counts = cell >= 28;
    for (y, row) in confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (x, &count) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            // White to dark blue.
            let mix = |from: u8, to: u8| (from as f64 + (to as f64 - from as f64) * share) as u8;
            let fill = RGBColor(mix(255, 8), mix(255, 48), mix(255, 107));
            let (x0, y0) = (left + x as i32 * cell, top + y as i32 * cell);
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                fill.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                RGBColor(220, 220, 220).stroke_width(1),
            ))?;
            if show_counts {
                let ink = if share > 0.5 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    count.to_string(),
                    (x0 + cell / 2, y0 + cell / 2),
                    (FONT, (cell / 3).min(15))
                        .into_font()
                        .into_text_style(root)
                        .pos(center)
                        .color(&ink),
                ))?;
            }
        }
    }
    if show_names {
        for (i, name) in class_names.iter().enumerate() {
            let mid = i as i32 * cell + cell / 2;
            // True classes along the left, right-aligned.
            root.draw(&Text::new(
                name.clone(),
                (left - 8, top + mid),
                (FONT, label_size)
                    .into_font()
                    .into_text_style(root)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            // Predicted classes along the bottom, turned to read upwards.
            root.draw(&Text::new(
                name.clone(),
                (left + mid, top + c * cell + 8),
                (FONT, label_size)
                    .into_font()
                    .transform(FontTransform::Rotate270)
                    .into_text_style(root)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
    }
    root.draw(&Text::new(
        "true class ↓",
        (left - 8, top - 22),
        (FONT, 15)
            .into_font()
            .into_text_style(root)
            .pos(Pos::new(HPos::Right, VPos::Center)),
    ))?;
    Ok(())
}
