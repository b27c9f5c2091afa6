//! Recurrent and embedding layers against PyTorch references
//! (`scripts/make_rnn_fixtures.py` -> `tests/fixtures/layers_rnn.safetensors`): outputs,
//! final states and gradients with respect to the input and every Keras-layout weight for
//! `LSTM` (also `go_backwards`), `GRU` (`reset_after`), `SimpleRNN`, `Bidirectional(LSTM)`,
//! `Embedding`, and `Embedding(mask_zero)` + `LSTM` on right-padded sequences (torch's
//! packed sequences); plus the fused and unrolled paths agreeing, Keras parameter counts,
//! config round trips and errors. Each body is generic over the engine and runs on candle
//! and, with feature `tch` (libtorch's fused `lstm`/`gru` kernels), on libtorch.
//!
//! Tolerance: that of `layer_fixtures` (|diff| <= 1e-5 + 1e-5 * max(|got|, |want|)).

#[macro_use]
mod common;

mod layer_fixtures;

use layer_fixtures::{assert_close, check, round_trip, Fixture};
use stratanet::layers::{
    Bidirectional, BuildContext, CallContext, Embedding, Input, Layer, MergeMode, SimpleRNN, GRU,
    LSTM,
};
use stratanet::{Backend, DType, Device, Sequential, Tensor};

fn fixture() -> Fixture {
    Fixture::load("layers_rnn.safetensors")
}

/// `sum(out * w)` with the fixture script's loss weights.
fn weighted_sum<B: Backend>(out: &Tensor<B>) -> Tensor<B> {
    let n = out.numel();
    let w: Vec<f32> = (0..n).map(|k| 0.5 + ((k * 7) % 11) as f32 / 10.0).collect();
    let w = Tensor::<B>::from_vec(w, &out.shape()).unwrap();
    out.mul(&w).unwrap().sum_all().unwrap()
}

fn build<B: Backend>(layer: &mut dyn Layer<B>, shape: &[usize]) {
    layer
        .build(shape, &mut BuildContext::new(Device::Cpu, DType::F32, 0))
        .unwrap();
}

/// Assigns the named fixture weights to the layer's weights (by the layer's names) and
/// returns them as gradient targets.
fn load<B: Backend>(
    fx: &Fixture,
    case: &str,
    layer: &dyn Layer<B>,
    names: &[(&str, &str)],
) -> Vec<Tensor<B>> {
    let all = layer.weights();
    names
        .iter()
        .map(|(ours, theirs)| {
            let w = all
                .iter()
                .find(|w| w.name == *ours)
                .unwrap_or_else(|| panic!("{case}: no weight {ours}"));
            w.value
                .assign(&fx.tensor(&format!("{case}/{theirs}")))
                .unwrap();
            w.value.clone()
        })
        .collect()
}

fn check_grads<B: Backend>(
    fx: &Fixture,
    case: &str,
    loss: &Tensor<B>,
    wrt: &[Tensor<B>],
    names: &[&str],
) {
    let grads = loss.grad(wrt).unwrap();
    for (g, name) in grads.iter().zip(names) {
        let g = g
            .as_ref()
            .unwrap_or_else(|| panic!("{case}: no gradient for {name}"));
        check(fx, &format!("{case}/grad_{name}"), g);
    }
}

const KRB: [(&str, &str); 3] = [
    ("kernel", "kernel"),
    ("recurrent_kernel", "recurrent_kernel"),
    ("bias", "bias"),
];

/// One recurrent case with `return_sequences` and `return_state`: outputs, states, grads.
fn recurrent_case<B: Backend, L: Layer<B>>(fx: &Fixture, case: &str, mut layer: L, has_c: bool) {
    let x = fx.tensor::<B>(&format!("{case}/x"));
    build(&mut layer, &x.shape()[1..]);
    let params = load(fx, case, &layer, &KRB);
    let xp = x.to_param().unwrap();
    let outs = layer
        .call_multi(std::slice::from_ref(&xp), &mut CallContext::inference())
        .unwrap();
    assert_eq!(outs.len(), if has_c { 3 } else { 2 }, "{case}: outputs");
    let shapes = layer.output_shapes(&[x.shape()[1..].to_vec()]).unwrap();
    for (o, s) in outs.iter().zip(&shapes) {
        assert_eq!(o.shape()[1..], s[..], "{case}: output_shapes");
    }
    check(fx, &format!("{case}/out"), &outs[0]);
    check(fx, &format!("{case}/h"), &outs[1]);
    if has_c {
        check(fx, &format!("{case}/c"), &outs[2]);
    }
    let mut wrt = vec![xp];
    wrt.extend(params);
    check_grads(
        fx,
        case,
        &weighted_sum(&outs[0]),
        &wrt,
        &["x", "kernel", "recurrent_kernel", "bias"],
    );
}

fn lstm<B: Backend>() {
    let fx = fixture();
    let l = || LSTM::<B>::new(5).return_sequences(true).return_state(true);
    recurrent_case::<B, _>(&fx, "lstm", l(), true);
    recurrent_case::<B, _>(&fx, "lstm_back", l().go_backwards(true), true);
}

fn gru<B: Backend>() {
    let fx = fixture();
    recurrent_case::<B, _>(
        &fx,
        "gru",
        GRU::<B>::new(5).return_sequences(true).return_state(true),
        false,
    );
}

fn simple_rnn<B: Backend>() {
    let fx = fixture();
    recurrent_case::<B, _>(
        &fx,
        "rnn",
        SimpleRNN::<B>::new(5)
            .return_sequences(true)
            .return_state(true),
        false,
    );
}

fn bidirectional<B: Backend>() {
    let fx = fixture();
    let case = "bilstm";
    let x = fx.tensor::<B>("bilstm/x");
    let mut layer = Bidirectional::new(LSTM::<B>::new(4).return_sequences(true));
    build(&mut layer, &x.shape()[1..]);
    let names = [
        ("forward/kernel", "forward_kernel"),
        ("forward/recurrent_kernel", "forward_recurrent_kernel"),
        ("forward/bias", "forward_bias"),
        ("backward/kernel", "backward_kernel"),
        ("backward/recurrent_kernel", "backward_recurrent_kernel"),
        ("backward/bias", "backward_bias"),
    ];
    let params = load(&fx, case, &layer, &names);
    let xp = x.to_param().unwrap();
    let out = layer.call(&xp, &mut CallContext::inference()).unwrap();
    assert_eq!(
        out.shape()[1..],
        layer.output_shape(&x.shape()[1..]).unwrap()[..]
    );
    check(&fx, "bilstm/out", &out);
    let mut wrt = vec![xp];
    wrt.extend(params);
    let gnames: Vec<&str> = std::iter::once("x")
        .chain(names.iter().map(|n| n.1))
        .collect();
    check_grads(&fx, case, &weighted_sum(&out), &wrt, &gnames);
    // the other merge modes, from the concatenated halves
    let (fwd, bwd) = (out.narrow(-1, 0, 4).unwrap(), out.narrow(-1, 4, 4).unwrap());
    for (mode, want) in [
        (MergeMode::Sum, fwd.add(&bwd).unwrap()),
        (MergeMode::Mul, fwd.mul(&bwd).unwrap()),
        (
            MergeMode::Ave,
            fwd.add(&bwd).unwrap().mul_scalar(0.5).unwrap(),
        ),
    ] {
        let mut l = Bidirectional::new(LSTM::<B>::new(4).return_sequences(true)).merge_mode(mode);
        build(&mut l, &x.shape()[1..]);
        load(&fx, case, &l, &names);
        let got = l.call(&x, &mut CallContext::inference()).unwrap();
        assert_close(
            &format!("{}: merge {mode:?}", B::NAME),
            &got.to_vec_f64().unwrap(),
            &want.to_vec_f64().unwrap(),
        );
    }
}

fn embedding<B: Backend>() {
    let fx = fixture();
    let ids = fx.tensor::<B>("embedding/ids");
    let mut e = Embedding::<B>::new(9, 4);
    build(&mut e, &ids.shape()[1..]);
    let params = load(&fx, "embedding", &e, &[("embeddings", "embeddings")]);
    let out = e.call(&ids, &mut CallContext::inference()).unwrap();
    check(&fx, "embedding/out", &out);
    check_grads(
        &fx,
        "embedding",
        &weighted_sum(&out),
        &params,
        &["embeddings"],
    );
    // i64 indices give the same rows
    let ids64 = ids.to_dtype(DType::I64).unwrap();
    let out64 = e.call(&ids64, &mut CallContext::inference()).unwrap();
    check(&fx, "embedding/out", &out64);
}

/// `Embedding(mask_zero)` + `LSTM` in a `Sequential` model: the last output on
/// right-padded sequences equals torch's packed-sequence `h_n`.
fn masked<B: Backend>() {
    let fx = fixture();
    let ids = fx.tensor::<B>("masked/ids");
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[7])).unwrap();
    m.add(Embedding::<B>::new(7, 3).mask_zero(true)).unwrap();
    m.add(LSTM::<B>::new(4)).unwrap();
    let layers = m.layers();
    let e_w = load(
        &fx,
        "masked",
        layers[0].as_ref(),
        &[("embeddings", "embeddings")],
    );
    let l_w = load(&fx, "masked", layers[1].as_ref(), &KRB);
    let h = m.call(&ids, false).unwrap();
    check(&fx, "masked/h", &h);
    let mut wrt = e_w;
    wrt.extend(l_w);
    check_grads(
        &fx,
        "masked",
        &weighted_sum(&h),
        &wrt,
        &["embeddings", "kernel", "recurrent_kernel", "bias"],
    );
    // without the mask the padded steps change the result
    let mut m2 = Sequential::<B>::new();
    m2.add(Input::new(&[7])).unwrap();
    m2.add(Embedding::<B>::new(7, 3)).unwrap();
    m2.add(LSTM::<B>::new(4)).unwrap();
    let layers = m2.layers();
    load(
        &fx,
        "masked",
        layers[0].as_ref(),
        &[("embeddings", "embeddings")],
    );
    load(&fx, "masked", layers[1].as_ref(), &KRB);
    let h2 = m2.call(&ids, false).unwrap().to_vec_f64().unwrap();
    let h = h.to_vec_f64().unwrap();
    assert!(h.iter().zip(&h2).any(|(a, b)| (a - b).abs() > 1e-4));
}

/// The unrolled loop (forced by an all-ones timestep mask) equals the `RnnOps` path
/// (fused on libtorch), for LSTM and GRU, values and gradients.
fn fused_matches_unrolled<B: Backend>() {
    let fx = fixture();
    for case in ["lstm", "gru"] {
        let x = fx.tensor::<B>(&format!("{case}/x"));
        let s = x.shape();
        let mut layer: Box<dyn Layer<B>> = if case == "lstm" {
            Box::new(LSTM::<B>::new(5).return_sequences(true))
        } else {
            Box::new(GRU::<B>::new(5).return_sequences(true))
        };
        build(layer.as_mut(), &s[1..]);
        let params = load(&fx, case, layer.as_ref(), &KRB);
        let run = |masked: bool| {
            let mut ctx = CallContext::inference();
            if masked {
                ctx.set_sequence_mask(Tensor::<B>::ones(&s[..2], DType::F32, Device::Cpu).unwrap());
            }
            let out = layer.call(&x, &mut ctx).unwrap();
            let g = weighted_sum(&out).grad(&params).unwrap();
            let mut v = out.to_vec_f64().unwrap();
            for g in g {
                v.extend(g.unwrap().to_vec_f64().unwrap());
            }
            v
        };
        assert_close(
            &format!("{}: {case} fused vs unrolled", B::NAME),
            &run(true),
            &run(false),
        );
    }
}

/// Dropout only in training, reproducible for a seed, and recurrent dropout takes effect.
fn dropout<B: Backend>() {
    let fx = fixture();
    let x = fx.tensor::<B>("lstm/x");
    for rd in [0.0, 0.4] {
        let mut l = LSTM::<B>::new(5).dropout(0.3).recurrent_dropout(rd);
        build(&mut l, &x.shape()[1..]);
        let values =
            |l: &LSTM<B>, mut ctx: CallContext| l.call(&x, &mut ctx).unwrap().to_vec_f64().unwrap();
        let inf = values(&l, CallContext::inference());
        let mut plain = LSTM::<B>::new(5);
        build(&mut plain, &x.shape()[1..]);
        let p = values(&plain, CallContext::inference());
        assert_close("inference ignores dropout", &inf, &p);
        let a = values(&l, CallContext::training(3));
        let b = values(&l, CallContext::training(3));
        assert_eq!(a, b, "same seed, same masks");
        assert!(a.iter().zip(&inf).any(|(x, y)| (x - y).abs() > 1e-4));
    }
}

fn param_counts<B: Backend>() {
    let count = |layer: Box<dyn Layer<B>>, input: &[usize]| {
        let mut m = Sequential::<B>::new();
        m.add(Input::new(input)).unwrap();
        m.add_boxed(layer).unwrap();
        m.count_params().0
    };
    assert_eq!(count(Box::new(LSTM::<B>::new(128)), &[10, 32]), 82_432);
    assert_eq!(count(Box::new(GRU::<B>::new(64)), &[10, 32]), 18_816);
    assert_eq!(
        count(Box::new(SimpleRNN::<B>::new(16)), &[10, 8]),
        8 * 16 + 16 * 16 + 16
    );
    assert_eq!(
        count(Box::new(Bidirectional::new(LSTM::<B>::new(8))), &[5, 4]),
        2 * 4 * (4 * 8 + 8 * 8 + 8)
    );
    assert_eq!(
        count(Box::new(Embedding::<B>::new(1000, 64)), &[10]),
        64_000
    );
}

fn configs<B: Backend>() {
    let layers: Vec<Box<dyn Layer<B>>> = vec![
        Box::new(
            LSTM::<B>::new(8)
                .return_sequences(true)
                .go_backwards(true)
                .dropout(0.1)
                .name("l"),
        ),
        Box::new(
            GRU::<B>::new(4)
                .return_state(true)
                .recurrent_dropout(0.2)
                .use_bias(false),
        ),
        Box::new(SimpleRNN::<B>::new(3).activation("relu").seed(5)),
        Box::new(
            Bidirectional::new(GRU::<B>::new(4).return_sequences(true)).merge_mode(MergeMode::Ave),
        ),
        Box::new(Bidirectional::new(LSTM::<B>::new(2))),
        Box::new(Embedding::<B>::new(100, 8).mask_zero(true)),
    ];
    for l in &layers {
        round_trip::<B>(l.as_ref());
    }
}

fn errors<B: Backend>() {
    let mut l = LSTM::<B>::new(4).name("lstm_1");
    build(&mut l, &[5, 3]);
    let bad = |x: Tensor<B>| {
        l.call(&x, &mut CallContext::inference())
            .unwrap_err()
            .to_string()
    };
    let e = bad(Tensor::zeros(&[2, 5], DType::F32, Device::Cpu).unwrap());
    assert!(e.contains("lstm_1") && e.contains("[2, 5]"), "{e}");
    let e = bad(Tensor::zeros(&[2, 5, 7], DType::F32, Device::Cpu).unwrap());
    assert!(
        e.contains("lstm_1") && e.contains("[2, 5, 7]") && e.contains('3'),
        "{e}"
    );
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[8])).unwrap();
    let e = m
        .add(GRU::<B>::new(4).name("gru_x"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("gru_x") && e.contains("[8]"), "{e}");
    let e = Layer::<B>::validate(&LSTM::<B>::new(4).dropout(1.5).name("d"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("dropout"), "{e}");
    // wrong initial-state count
    let x = Tensor::<B>::zeros(&[2, 5, 3], DType::F32, Device::Cpu).unwrap();
    let h = Tensor::<B>::zeros(&[2, 4], DType::F32, Device::Cpu).unwrap();
    let e = l
        .call_multi(&[x.clone(), h.clone()], &mut CallContext::inference())
        .unwrap_err()
        .to_string();
    assert!(e.contains("initial_state"), "{e}");
    assert!(l
        .call_multi(&[x, h.clone(), h], &mut CallContext::inference())
        .is_ok());
}

engine_tests!(
    lstm,
    gru,
    simple_rnn,
    bidirectional,
    embedding,
    masked,
    fused_matches_unrolled,
    dropout,
    param_counts,
    configs,
    errors,
);
