//! [`History::plot`]: loss and metric curves per epoch drawn to PNG or SVG with `plotters`.

use crate::callbacks::History;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// DejaVu Sans (from matplotlib's data files; licence in assets/fonts/LICENSE_DEJAVU),
/// so text renders without system fonts.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Panel size in pixels.
const PANEL: (u32, u32) = (640, 420);
/// Matplotlib's first two colours: training blue, validation orange.
const TRAIN: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const VAL: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "History::plot",
            "font",
            "the bundled DejaVu Sans font could not be parsed",
        ))
    }
}

/// A panel: the family's base name and its series (`loss`, then `val_loss`), each as
/// (name, 1-based epoch, value) points with finite values.
type Panel = (String, Vec<(String, Vec<(f64, f64)>)>);

fn panels(h: &History) -> Vec<Panel> {
    let mut bases: Vec<String> = Vec::new();
    for name in h.history.keys() {
        let base = name.strip_prefix("val_").unwrap_or(name).to_string();
        if !bases.contains(&base) {
            bases.push(base);
        }
    }
    // `loss` first, the rest in name order, as Keras lists them.
    bases.sort_by_key(|b| (b != "loss", b.clone()));
    bases
        .into_iter()
        .filter_map(|base| {
            let series: Vec<(String, Vec<(f64, f64)>)> = [base.clone(), format!("val_{base}")]
                .into_iter()
                .filter(|n| h.history.contains_key(n))
                .map(|n| {
                    let pts = h
                        .recorded(&n)
                        .into_iter()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(e, v)| (e as f64 + 1.0, v))
                        .collect();
                    (n, pts)
                })
                .filter(|(_, pts): &(String, Vec<(f64, f64)>)| !pts.is_empty())
                .collect();
            (!series.is_empty()).then_some((base, series))
        })
        .collect()
}

fn draw_err<E: std::error::Error + Send + Sync>(
    path: &Path,
) -> impl FnOnce(DrawingAreaErrorKind<E>) -> Error + '_ {
    move |e| {
        Error::Io(std::io::Error::other(format!(
            "{}: drawing failed: {e}",
            path.display()
        )))
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    path: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (base, series) = panel;
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    // Whole-epoch ticks, at most ten: every 1, 2, 5, 10, 20, 50, ... epochs.
    let (first, last) = (x0.round() as u64, x1.round() as u64);
    let span = (last - first).max(1);
    let step = [1u64, 2, 5]
        .iter()
        .cycle()
        .scan(1u64, |scale, &m| {
            let s = m * *scale;
            if m == 5 {
                *scale *= 10;
            }
            Some(s)
        })
        .find(|s| span / s <= 10)
        .unwrap_or(1);
    // x in hundredths of an epoch: an integer axis takes exact key points, and leaves
    // room for 5% margins (as matplotlib) so end points and markers are not clipped.
    let ticks: Vec<i64> = (first..=last)
        .filter(|e| (e - first) % step == 0)
        .map(|e| e as i64 * 100)
        .collect();
    let xpad = (((x1 - x0) * 5.0).round() as i64).max(25);
    let (x0, x1) = (
        (x0 * 100.0).round() as i64 - xpad,
        (x1 * 100.0).round() as i64 + xpad,
    );
    let ypad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.05
    };
    let (y0, y1) = (y0 - ypad, y1 + ypad);
    // Legend where the curves are not: below when the first series ends high.
    let ends_high = series[0]
        .1
        .last()
        .is_some_and(|&(_, y)| (y - y0) / (y1 - y0) > 0.5);
    let legend_at = if ends_high {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    let title = if base == "loss" {
        "Model loss".to_string()
    } else {
        format!("Model {base}")
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).with_key_points(ticks), y0..y1)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc(base.as_str())
        .x_label_formatter(&|x| format!("{}", x / 100))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err(path))?;
    for (name, pts) in series {
        let color = if name.starts_with("val_") { VAL } else { TRAIN };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, y)| ((x * 100.0).round() as i64, y)),
                color.stroke_width(2),
            ))
            .map_err(draw_err(path))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new(((x * 100.0).round() as i64, y), 3, color.filled())),
            )
            .map_err(draw_err(path))?;
    }
    chart
        .configure_series_labels()
        .position(legend_at)
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err(path))?;
    Ok(())
}

fn draw_all<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    cols: usize,
    path: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err(path))?;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel, path)?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// Encodes 8-bit RGB pixels as a PNG file.
fn write_png(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Io(std::io::Error::other(format!(
            "{}: PNG encoding failed: {e}",
            path.display()
        )))
    };
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(rgb).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))?;
    crate::saving::atomic_write(path, &bytes)
}

impl History {
    /// Draws loss and metrics per epoch to `path`, a PNG or SVG picked by the extension
    /// (`.png`, `.svg`): one panel per metric family (`loss` with `val_loss`,
    /// `accuracy` with `val_accuracy`, ...), up to three panels a row, each with a
    /// title, axis labels, a legend, training in blue and validation in orange, x the
    /// 1-based epoch as Keras prints it. Epochs in which a series was not logged are
    /// skipped (the line joins the logged ones, each marked by a dot). Text uses the
    /// bundled DejaVu Sans font, so no system fonts are needed. Feature `plot`
    /// (default).
    ///
    /// ```
    /// # fn main() -> stratanet::Result<()> {
    /// let mut h = stratanet::History::default();
    /// for (e, loss) in [0.9, 0.6, 0.5].into_iter().enumerate() {
    ///     let mut logs = stratanet::Logs::new();
    ///     logs.insert("loss", loss);
    ///     h.push(e, &logs);
    /// }
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stratanet_doc_history.svg");
    /// h.plot(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("Model loss"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An extension other than `png`/`svg`; a history with no epochs or no finite
    /// value; a misaligned history; drawing or I/O errors naming the file.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        const CTX: &str = "History::plot";
        let path = path.as_ref();
        let ext = super::lowercase_extension(path);
        if ext != "png" && ext != "svg" {
            return Err(Error::invalid(
                CTX,
                "path",
                format!(
                    "'{}' has extension '{ext}'; expected .png or .svg",
                    path.display()
                ),
            ));
        }
        if self.is_empty() {
            return Err(Error::invalid(CTX, "history", "no epochs recorded"));
        }
        self.check_aligned(CTX)?;
        let panels = panels(self);
        if panels.is_empty() {
            return Err(Error::invalid(
                CTX,
                "history",
                format!(
                    "no finite value to plot in {} epochs (series: {})",
                    self.len(),
                    self.history.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        register_font()?;
        let cols = panels.len().min(3);
        let rows = panels.len().div_ceil(cols);
        let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
        if ext == "svg" {
            let mut svg = String::new();
            draw_all(
                SVGBackend::with_string(&mut svg, size).into_drawing_area(),
                &panels,
                cols,
                path,
            )?;
            crate::saving::atomic_write(path, svg.as_bytes())
        } else {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            draw_all(
                BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area(),
                &panels,
                cols,
                path,
            )?;
            write_png(path, size, &rgb)
        }
    }
}
