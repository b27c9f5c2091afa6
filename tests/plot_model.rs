//! `to_dot` / `plot_model`: the DOT text of a small Sequential asserted exactly, a
//! two-input functional model with a shared layer and a residual merge drawn with exactly
//! its edges, option and extension errors, rendering to SVG/PNG when Graphviz is installed
//! (skipped with a note otherwise), and the no-Graphviz fallback (run in a child process
//! whose PATH has no `dot`). Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;
use common::tmp;

use stratanet::layers::{ActivationLayer, Add, Concatenate, Dense, Dropout, Input};
use stratanet::model::{Apply, Model, Shared};
use stratanet::utils::{graphviz_available, plot_model, PlotOptions};
use stratanet::{Backend, Sequential};

fn sequential<B: Backend>() -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_name("mlp");
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(8).activation("relu").name("hidden"))
        .unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    m.add(Dense::new(3).activation("softmax").name("out"))
        .unwrap();
    m
}

const HEADER: &str = "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f2f2f2\", fontname=\"Helvetica\", fontsize=11];\n";

fn sequential_dot<B: Backend>() {
    let m = sequential::<B>();
    let plain = m.to_dot(&PlotOptions::new()).unwrap();
    let expected = format!(
        "digraph \"mlp\" {{\n  graph [rankdir=TB, dpi=96];\n{HEADER}\
         \x20 \"hidden\" [label=\"hidden (Dense)\"];\n\
         \x20 \"dropout\" [label=\"dropout (Dropout)\"];\n\
         \x20 \"out\" [label=\"out (Dense)\"];\n\
         \x20 \"hidden\" -> \"dropout\";\n\
         \x20 \"dropout\" -> \"out\";\n}}\n"
    );
    assert_eq!(plain, expected);
    let full = m
        .to_dot(
            &PlotOptions::new()
                .show_shapes(true)
                .show_layer_activations(true)
                .rankdir("LR")
                .dpi(200),
        )
        .unwrap();
    let expected = format!(
        "digraph \"mlp\" {{\n  graph [rankdir=LR, dpi=200];\n{HEADER}\
         \x20 \"hidden\" [label=\"hidden (Dense)\\nActivation: relu\\nInput shape: (None, 4)\\nOutput shape: (None, 8)\"];\n\
         \x20 \"dropout\" [label=\"dropout (Dropout)\\nInput shape: (None, 8)\\nOutput shape: (None, 8)\"];\n\
         \x20 \"out\" [label=\"out (Dense)\\nActivation: softmax\\nInput shape: (None, 8)\\nOutput shape: (None, 3)\"];\n\
         \x20 \"hidden\" -> \"dropout\";\n\
         \x20 \"dropout\" -> \"out\";\n}}\n"
    );
    assert_eq!(full, expected);
    let nameless = m
        .to_dot(&PlotOptions::new().show_layer_names(false))
        .unwrap();
    assert!(
        nameless.contains("  \"hidden\" [label=\"Dense\"];\n"),
        "{nameless}"
    );
    // The generic entry point writes the same text.
    let path = tmp(&format!("{}.dot", short::<B>()));
    plot_model(&m, &path, &PlotOptions::new()).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), plain);
}

fn short<B>() -> String {
    std::any::type_name::<B>()
        .rsplit("::")
        .next()
        .unwrap()
        .to_lowercase()
}

/// Inputs `a`, `b`; a `shared` Dense applied to both; `residual = a + shared(a)`;
/// `concat = [residual, shared(b)]`; outputs `out1(concat)` and `out2(shared(b))`.
fn functional<B: Backend>() -> Model<B> {
    let a = Input::new(&[4]).name("a").tensor::<B>();
    let b = Input::new(&[4]).name("b").tensor::<B>();
    let shared = Shared::<B>::new(Dense::new(4).name("shared"));
    let ha = shared.apply(&a).unwrap();
    let hb = shared.apply(&b).unwrap();
    let res = Add()
        .name("residual")
        .apply_multi(&[a.clone(), ha])
        .unwrap();
    let cat = Concatenate::new(-1)
        .name("concat")
        .apply_multi(&[res, hb.clone()])
        .unwrap();
    let out1 = Dense::new(1).name("out1").apply(&cat).unwrap();
    let out2 = Dense::new(2).name("out2").apply(&hb).unwrap();
    Model::new(&[a, b], &[out1, out2])
        .unwrap()
        .with_name("two_in")
}

fn edges(dot: &str) -> Vec<(String, String)> {
    dot.lines()
        .filter_map(|l| {
            let (a, b) = l.trim().strip_suffix(';')?.split_once(" -> ")?;
            Some((
                a.trim_matches('"').to_string(),
                b.trim_matches('"').to_string(),
            ))
        })
        .collect()
}

fn functional_dot<B: Backend>() {
    let m = functional::<B>();
    let dot = m.to_dot(&PlotOptions::new().show_shapes(true)).unwrap();
    assert!(dot.starts_with("digraph \"two_in\" {\n"), "{dot}");
    let mut got = edges(&dot);
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("a", "shared"),
        ("b", "shared"),
        ("a", "residual"),
        ("shared", "residual"),
        ("residual", "concat"),
        ("shared", "concat"),
        ("concat", "out1"),
        ("shared", "out2"),
    ]
    .iter()
    .map(|(x, y)| (x.to_string(), y.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want, "{dot}");
    // One node per input and per layer; the shared layer once, with both calls' shapes.
    for (name, label) in [
        ("a", "a (InputLayer)\\nOutput shape: (None, 4)"),
        ("b", "b (InputLayer)\\nOutput shape: (None, 4)"),
        (
            "shared",
            "shared (Dense)\\nInput shape: (None, 4)\\nOutput shape: (None, 4)",
        ),
        (
            "residual",
            "residual (Add)\\nInput shape: [(None, 4), (None, 4)]\\nOutput shape: (None, 4)",
        ),
        (
            "concat",
            "concat (Concatenate)\\nInput shape: [(None, 4), (None, 4)]\\nOutput shape: (None, 8)",
        ),
        (
            "out1",
            "out1 (Dense)\\nInput shape: (None, 8)\\nOutput shape: (None, 1)",
        ),
        (
            "out2",
            "out2 (Dense)\\nInput shape: (None, 4)\\nOutput shape: (None, 2)",
        ),
    ] {
        let line = format!("  \"{name}\" [label=\"{label}\"];\n");
        assert_eq!(dot.matches(&line).count(), 1, "{line} in\n{dot}");
    }
    assert_eq!(dot.matches("[label=").count(), 7);

    // A shared layer called on different shapes shows `multiple`, like Keras.
    let x = Input::new(&[4]).name("x").tensor::<B>();
    let act = Shared::<B>::new(ActivationLayer::new("relu"));
    let h = act.apply(&x).unwrap();
    let wide = Concatenate::new(-1)
        .name("wide")
        .apply_multi(&[h.clone(), h])
        .unwrap();
    let y = act.apply(&wide).unwrap();
    let m2 = Model::new(&[x], &[y]).unwrap();
    let dot2 = m2.to_dot(&PlotOptions::new().show_shapes(true)).unwrap();
    assert!(
        dot2.contains("\"activation\" [label=\"activation (Activation)\\nInput shape: multiple\\nOutput shape: multiple\"]"),
        "{dot2}"
    );
    let mut e2 = edges(&dot2);
    e2.sort();
    assert_eq!(
        e2,
        vec![
            ("activation".to_string(), "wide".to_string()),
            ("wide".to_string(), "activation".to_string()),
            ("x".to_string(), "activation".to_string()),
        ]
    );
}

fn errors<B: Backend>() {
    let m = sequential::<B>();
    let e = plot_model(&m, tmp("model.jpg"), &PlotOptions::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plot_model") && e.contains("extension 'jpg'") && e.contains(".dot"),
        "{e}"
    );
    let e = m
        .to_dot(&PlotOptions::new().rankdir("BT"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Sequential::to_dot") && e.contains("rankdir") && e.contains("'BT'"),
        "{e}"
    );
    let e = functional::<B>()
        .to_dot(&PlotOptions::new().dpi(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Model::to_dot") && e.contains("dpi"), "{e}");
    let e = Sequential::<B>::new()
        .to_dot(&PlotOptions::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no layers"), "{e}");
    // Not built: fine without shapes, an error with them.
    let mut unbuilt = Sequential::<B>::new();
    unbuilt.add(Dense::new(2).name("d")).unwrap();
    assert!(unbuilt
        .to_dot(&PlotOptions::new())
        .unwrap()
        .contains("\"d\" [label=\"d (Dense)\"]"));
    let e = unbuilt
        .to_dot(&PlotOptions::new().show_shapes(true))
        .unwrap_err()
        .to_string();
    assert!(e.contains("to_dot") && e.contains("built"), "{e}");
}

fn render<B: Backend>() {
    if !graphviz_available() {
        println!("note: Graphviz `dot` is not installed; SVG/PNG rendering not checked");
        return;
    }
    let m = functional::<B>();
    let svg_path = tmp(&format!("two_in_{}.svg", short::<B>()));
    plot_model(&m, &svg_path, &PlotOptions::new().show_shapes(true)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    assert_eq!(svg.matches("class=\"node\"").count(), 7);
    assert_eq!(svg.matches("class=\"edge\"").count(), 8);
    for name in [
        "shared (Dense)",
        "residual (Add)",
        "concat (Concatenate)",
        "Output shape: (None, 8)",
    ] {
        assert!(svg.contains(name), "{name} missing");
    }
    let png_path = tmp(&format!("mlp_{}.png", short::<B>()));
    plot_model(&sequential::<B>(), &png_path, &PlotOptions::new()).unwrap();
    let png = std::fs::read(&png_path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// Without Graphviz, a picture request writes the DOT next to it and says why it failed.
/// Runs in a child process of this test binary whose PATH holds no `dot`.
#[test]
fn without_graphviz() {
    if std::env::var_os("STRATANET_PLOT_CHILD").is_some() {
        assert!(!graphviz_available());
        let path = tmp("child.svg");
        let m = sequential::<stratanet::DefaultBackend>();
        let e = plot_model(&m, &path, &PlotOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("Graphviz is not installed"), "{e}");
        assert!(e.contains("child.dot"), "{e}");
        assert!(!path.exists());
        let dot = std::fs::read_to_string(path.with_extension("dot")).unwrap();
        assert_eq!(dot, m.to_dot(&PlotOptions::new()).unwrap());
        return;
    }
    let empty = tmp("empty_path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_graphviz",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STRATANET_PLOT_CHILD", "1")
        .env("PATH", &*empty)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

engine_tests!(sequential_dot, functional_dot, errors, render,);
