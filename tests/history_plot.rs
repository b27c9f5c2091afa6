//! `History` export: CSV (Keras' `CSVLogger` layout) and JSON asserted exactly for a
//! hand-made history with validation every second epoch, the JSON round trip, and the PNG /
//! SVG plots (PNG signature and IHDR size, series colours inside the plot area, one SVG
//! polyline point per logged epoch). Then a real `fit` on each engine exported and plotted.
//! Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;
use common::{quiet, tmp};

use stratanet::{History, Logs};

fn logs(pairs: &[(&str, f64)]) -> Logs {
    let mut l = Logs::new();
    for (k, v) in pairs {
        l.insert(*k, *v);
    }
    l
}

/// Four epochs; validation ran in epochs 1 and 3 only (`validation_freq = 2`).
fn hand_made() -> History {
    let mut h = History::default();
    h.push(0, &logs(&[("loss", 0.9), ("accuracy", 0.5)]));
    h.push(
        1,
        &logs(&[
            ("loss", 0.6),
            ("accuracy", 0.75),
            ("val_loss", 0.7),
            ("val_accuracy", 0.625),
        ]),
    );
    h.push(2, &logs(&[("loss", 0.45), ("accuracy", 0.875)]));
    h.push(
        3,
        &logs(&[
            ("loss", 0.1 + 0.2),
            ("accuracy", 0.9375),
            ("val_loss", 0.5),
            ("val_accuracy", 0.8125),
        ]),
    );
    h
}

#[test]
fn push_keeps_series_aligned() {
    let h = hand_made();
    assert_eq!(h.epoch, vec![0, 1, 2, 3]);
    assert_eq!(h.len(), 4);
    for values in h.history.values() {
        assert_eq!(values.len(), 4);
    }
    let val = h.get("val_loss").unwrap();
    assert!(val[0].is_nan() && val[2].is_nan());
    assert_eq!((val[1], val[3]), (0.7, 0.5));
    assert_eq!(h.recorded("val_loss"), vec![(1, 0.7), (3, 0.5)]);
    assert_eq!(h.recorded("loss").len(), 4);
    assert!(h.recorded("nope").is_empty());
    // A name first logged late is back-filled with NaN.
    let mut late = History::default();
    late.push(0, &logs(&[("loss", 1.0)]));
    late.push(1, &logs(&[("loss", 0.5), ("lr", 0.01)]));
    assert!(late.get("lr").unwrap()[0].is_nan());
    assert_eq!(late.get("lr").unwrap()[1], 0.01);
}

#[test]
fn csv_exact() {
    let h = hand_made();
    let expected = "epoch,accuracy,loss,val_accuracy,val_loss\n\
                    0,0.5,0.9,,\n\
                    1,0.75,0.6,0.625,0.7\n\
                    2,0.875,0.45,,\n\
                    3,0.9375,0.30000000000000004,0.8125,0.5\n";
    assert_eq!(h.to_csv_string().unwrap(), expected);
    let path = tmp("history.csv");
    h.to_csv(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    // Names that need CSV quoting.
    let mut q = History::default();
    q.push(0, &logs(&[("a,b", 1.0), ("say \"hi\"", 2.0)]));
    assert_eq!(
        q.to_csv_string().unwrap(),
        "epoch,\"a,b\",\"say \"\"hi\"\"\"\n0,1,2\n"
    );
    // Empty history: just the header.
    assert_eq!(History::default().to_csv_string().unwrap(), "epoch\n");
}

#[test]
fn json_exact_and_round_trip() {
    let mut h = History::default();
    h.push(0, &logs(&[("loss", 0.9)]));
    h.push(1, &logs(&[("loss", 0.1 + 0.2), ("val_loss", 0.7)]));
    let expected = r#"{
  "epoch": [
    0,
    1
  ],
  "history": {
    "loss": [
      0.9,
      0.30000000000000004
    ],
    "val_loss": [
      null,
      0.7
    ]
  }
}"#;
    assert_eq!(h.to_json_string().unwrap(), expected);
    let path = tmp("history.json");
    h.to_json(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{expected}\n")
    );
    let back = History::from_json(&path).unwrap();
    assert_eq!(back.epoch, h.epoch);
    assert_eq!(back.get("loss").unwrap(), &[0.9, 0.30000000000000004]);
    assert!(back.get("val_loss").unwrap()[0].is_nan());
    assert_eq!(back.get("val_loss").unwrap()[1], 0.7);
    assert_eq!(back.to_csv_string().unwrap(), h.to_csv_string().unwrap());
    // Round trip of the four-epoch history, bit for bit.
    let h4 = hand_made();
    let back4 = History::from_json_str(&h4.to_json_string().unwrap()).unwrap();
    for (name, values) in &h4.history {
        let got = back4.get(name).unwrap();
        for (a, b) in values.iter().zip(got) {
            assert_eq!(a.to_bits(), b.to_bits(), "{name}");
        }
    }
}

#[test]
fn json_errors() {
    let err = |text: &str| History::from_json_str(text).unwrap_err().to_string();
    let e = err("{not json");
    assert!(
        e.contains("History::from_json") && e.contains("not valid JSON"),
        "{e}"
    );
    let e = err(r#"{"history": {}}"#);
    assert!(e.contains("missing `epoch`"), "{e}");
    let e = err(r#"{"epoch": [0], "history": {"loss": [0.5, 0.4]}}"#);
    assert!(e.contains("series 'loss' has 2 values for 1 epochs"), "{e}");
    let e = err(r#"{"epoch": [0], "history": {"loss": ["x"]}}"#);
    assert!(
        e.contains("history['loss'][0] = \"x\" is not a number"),
        "{e}"
    );
    let e = err(r#"{"epoch": [-1], "history": {}}"#);
    assert!(e.contains("epoch[0] = -1"), "{e}");
    let e = History::from_json(tmp("does_not_exist.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does_not_exist.json"), "{e}");
    // A hand-edited, misaligned history is refused by every writer.
    let mut bad = hand_made();
    bad.history.get_mut("loss").unwrap().pop();
    let e = bad.to_csv_string().unwrap_err().to_string();
    assert!(
        e.contains("History::to_csv") && e.contains("series 'loss' has 3 values for 4 epochs"),
        "{e}"
    );
    assert!(bad.to_json_string().is_err());
}

#[cfg(feature = "plot")]
mod plots {
    use super::*;

    /// Width, height and RGB(A) pixels of a PNG file.
    pub fn decode_png(path: &std::path::Path) -> (u32, u32, usize, Vec<u8>) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (w, h));
        let channels = info.color_type.samples();
        buf.truncate(info.buffer_size());
        (w, h, channels, buf)
    }

    /// Pixels within `tol` of `rgb` in the rectangle `x0..x1, y0..y1`.
    pub fn count_colour(
        img: &(u32, u32, usize, Vec<u8>),
        (x0, x1, y0, y1): (u32, u32, u32, u32),
        rgb: [u8; 3],
        tol: i32,
    ) -> usize {
        let (w, _, c, px) = img;
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let i = ((y * w + x) as usize) * c;
                if (0..3).all(|k| (px[i + k] as i32 - rgb[k] as i32).abs() <= tol) {
                    n += 1;
                }
            }
        }
        n
    }

    /// Point counts of the SVG's `<polyline>`s drawn in colour `stroke`, in order.
    pub fn polyline_points(svg: &str, stroke: &str) -> Vec<usize> {
        svg.split("<polyline")
            .skip(1)
            .filter(|p| p[..p.find('>').unwrap()].contains(&format!("stroke=\"{stroke}\"")))
            .map(|p| {
                let start = p.find("points=\"").unwrap() + 8;
                let end = start + p[start..].find('"').unwrap();
                p[start..end].split_whitespace().count()
            })
            .collect()
    }

    /// The trimmed contents of the SVG's `<text>` elements.
    pub fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let start = t.find('>').unwrap() + 1;
                let end = t.find("</text>").unwrap();
                t[start..end].trim().to_string()
            })
            .collect()
    }

    #[test]
    fn png_plot() {
        let path = tmp("history.png");
        hand_made().plot(&path).unwrap();
        let img = decode_png(&path);
        // Two panels (loss, accuracy) side by side, 640 x 420 each.
        assert_eq!((img.0, img.1), (1280, 420));
        for panel in 0..2u32 {
            let area = (panel * 640 + 90, panel * 640 + 620, 50, 370);
            let blue = count_colour(&img, area, [0x1f, 0x77, 0xb4], 8);
            let orange = count_colour(&img, area, [0xff, 0x7f, 0x0e], 8);
            assert!(blue > 200, "panel {panel}: {blue} training-blue pixels");
            assert!(
                orange > 100,
                "panel {panel}: {orange} validation-orange pixels"
            );
            // Title text rendered with the bundled font: dark pixels at the top.
            let title = count_colour(
                &img,
                (panel * 640, panel * 640 + 640, 0, 40),
                [0, 0, 0],
                100,
            );
            assert!(title > 50, "panel {panel}: {title} dark title pixels");
        }
        // Outside the panels' content: white background in the corner.
        assert_eq!(count_colour(&img, (0, 8, 0, 8), [255, 255, 255], 0), 64);
    }

    #[test]
    fn svg_plot() {
        let path = tmp("history.svg");
        hand_made().plot(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
        assert!(svg.contains("width=\"1280\"") && svg.contains("height=\"420\""));
        let texts = texts(&svg);
        for text in [
            "Model loss",
            "Model accuracy",
            "Epoch",
            "loss",
            "val_loss",
            "accuracy",
            "val_accuracy",
            "1",
            "4",
        ] {
            assert!(
                texts.iter().any(|t| t == text),
                "{text} missing from {texts:?}"
            );
        }
        // Series lines, per panel: training 4 points (every epoch), validation 2 (epochs 2
        // and 4); the legend's samples are 2-point lines in the same colours.
        assert_eq!(polyline_points(&svg, "#1F77B4"), vec![4, 2, 4, 2]);
        assert_eq!(polyline_points(&svg, "#FF7F0E"), vec![2, 2, 2, 2]);
        // Markers: one circle per logged value (4 + 2 + 4 + 2).
        assert_eq!(svg.matches("<circle").count(), 12);
    }

    #[test]
    fn plot_errors() {
        let h = hand_made();
        let e = h.plot(tmp("history.jpg")).unwrap_err().to_string();
        assert!(
            e.contains("History::plot")
                && e.contains("extension 'jpg'")
                && e.contains(".png or .svg"),
            "{e}"
        );
        let e = h.plot(tmp("history")).unwrap_err().to_string();
        assert!(e.contains("extension ''"), "{e}");
        let empty = tmp("empty.png");
        let e = History::default().plot(&empty).unwrap_err().to_string();
        assert!(
            e.contains("History::plot") && e.contains("no epochs recorded"),
            "{e}"
        );
        assert!(!empty.exists());
        let mut nan = History::default();
        nan.push(0, &logs(&[("loss", f64::NAN)]));
        let nan_path = tmp("nan.svg");
        let e = nan.plot(&nan_path).unwrap_err().to_string();
        assert!(
            e.contains("no finite value to plot in 1 epochs (series: loss)"),
            "{e}"
        );
        // Nothing written, not even a temporary file.
        assert_eq!(std::fs::read_dir(nan_path.dir()).unwrap().count(), 0);
        let e = h
            .plot(tmp("no_such_dir").join("x.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no_such_dir"), "{e}");
    }

    #[test]
    fn single_epoch_and_many_families() {
        let mut h = History::default();
        h.push(
            0,
            &logs(&[
                ("loss", 1.0),
                ("mae", 0.5),
                ("mse", 2.0),
                ("auc", 0.7),
                ("val_loss", 1.5),
            ]),
        );
        let path = tmp("single.svg");
        h.plot(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        // Four families: three panels a row, two rows.
        assert!(svg.contains("width=\"1920\"") && svg.contains("height=\"840\""));
        assert!(svg.contains("Model auc") && svg.contains("Model mse"));
        assert_eq!(svg.matches("<circle").count(), 5);
    }
}

mod engines {
    use super::*;
    use stratanet::prelude::*;
    use stratanet::Backend;

    /// Plots `h` to an SVG named after `stem` and the engine; returns the SVG's text.
    #[cfg(feature = "plot")]
    fn plot_svg<B: Backend>(h: &History, stem: &str) -> String {
        let path = tmp(&format!(
            "{stem}_{}.svg",
            std::any::type_name::<B>().replace("::", "_")
        ));
        h.plot(&path).unwrap();
        std::fs::read_to_string(&path).unwrap()
    }

    pub fn fit_export_plot<B: Backend>() {
        stratanet::set_random_seed(7);
        let xs: Vec<f32> = (0..16).map(|i| i as f32 / 8.0 - 1.0).collect();
        let ys: Vec<f32> = xs.chunks(2).map(|p| 2.0 * p[0] - p[1] + 0.5).collect();
        let x = Tensor::<B>::from_vec(xs.clone(), &[8, 2]).unwrap();
        let y = Tensor::<B>::from_vec(ys.clone(), &[8, 1]).unwrap();
        let mut model = Sequential::<B>::new();
        model.add(Input::new(&[2])).unwrap();
        model.add(Dense::new(1)).unwrap();
        model.compile(Sgd::new(0.05), "mse", &["mae"]).unwrap();
        let h = model
            .fit(
                &x,
                &y,
                quiet(3).batch_size(4).validation_data(x.clone(), y.clone()),
            )
            .unwrap();
        let csv = h.to_csv_string().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "epoch,loss,mae,val_loss,val_mae");
        assert_eq!(lines.len(), 4);
        // Every cell reads back as the exact value in the History.
        let names = ["loss", "mae", "val_loss", "val_mae"];
        for (row, line) in lines[1..].iter().enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], row.to_string());
            for (k, name) in names.iter().enumerate() {
                let v: f64 = cells[k + 1].parse().unwrap();
                assert_eq!(v, h.get(name).unwrap()[row], "{name} epoch {row}");
            }
        }
        let back = History::from_json_str(&h.to_json_string().unwrap()).unwrap();
        assert_eq!(back, h);
        #[cfg(feature = "plot")]
        {
            let svg = plot_svg::<B>(&h, "fit");
            // Per panel (loss, mae): training and validation lines of 3 points, then the
            // legend's 2-point samples.
            let blue = super::plots::polyline_points(&svg, "#1F77B4");
            let orange = super::plots::polyline_points(&svg, "#FF7F0E");
            assert_eq!((blue, orange), (vec![3, 2, 3, 2], vec![3, 2, 3, 2]));
        }
        // Validation every second epoch (Keras' validation_freq): empty cells in the CSV,
        // null in the JSON, 2-point validation lines in the plot.
        let h = model
            .fit(
                &x,
                &y,
                quiet(4)
                    .batch_size(4)
                    .validation_data(x.clone(), y.clone())
                    .validation_freq(2),
            )
            .unwrap();
        let csv = h.to_csv_string().unwrap();
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(rows.len(), 4);
        for (e, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), 5);
            assert!(row[1].parse::<f64>().is_ok() && row[2].parse::<f64>().is_ok());
            let validated = e % 2 == 1;
            assert_eq!(!row[3].is_empty(), validated, "epoch {e}: {row:?}");
            assert_eq!(!row[4].is_empty(), validated, "epoch {e}: {row:?}");
        }
        assert_eq!(
            h.recorded("val_loss")
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(h.to_json_string().unwrap().matches("null").count(), 4);
        #[cfg(feature = "plot")]
        {
            let svg = plot_svg::<B>(&h, "fit_freq");
            let orange = super::plots::polyline_points(&svg, "#FF7F0E");
            assert_eq!(orange, vec![2, 2, 2, 2]);
        }
    }
}

use engines::fit_export_plot;

engine_tests!(fit_export_plot);
