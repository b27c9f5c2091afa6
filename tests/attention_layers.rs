//! `MultiHeadAttention` against PyTorch's `nn.MultiheadAttention`
//! (`scripts/make_rnn_fixtures.py` -> `tests/fixtures/layers_rnn.safetensors`, cases `mha`
//! with distinct query/key/value sizes and `mha_causal`): output, per-head attention
//! probabilities and gradients with respect to the three inputs and every Keras-layout
//! weight; plus the functional API, parameter counts, config round trip and errors. Each
//! body is generic over the engine and runs on candle and, with feature `tch`, libtorch.
//!
//! Tolerance: that of `layer_fixtures` (|diff| <= 1e-5 + 1e-5 * max(|got|, |want|)).

#[macro_use]
mod common;

mod layer_fixtures;

use layer_fixtures::{check, round_trip, Fixture};
use stratanet::layers::{BuildContext, CallContext, Input, Layer, MultiHeadAttention};
use stratanet::prelude::{Apply, Model};
use stratanet::{Backend, DType, Device, Sequential, Tensor};

fn weighted_sum<B: Backend>(out: &Tensor<B>) -> Tensor<B> {
    let n = out.numel();
    let w: Vec<f32> = (0..n).map(|k| 0.5 + ((k * 7) % 11) as f32 / 10.0).collect();
    let w = Tensor::<B>::from_vec(w, &out.shape()).unwrap();
    out.mul(&w).unwrap().sum_all().unwrap()
}

const WEIGHTS: [(&str, &str); 8] = [
    ("query/kernel", "query_kernel"),
    ("query/bias", "query_bias"),
    ("key/kernel", "key_kernel"),
    ("key/bias", "key_bias"),
    ("value/kernel", "value_kernel"),
    ("value/bias", "value_bias"),
    ("attention_output/kernel", "output_kernel"),
    ("attention_output/bias", "output_bias"),
];

fn case<B: Backend>(name: &str, causal: bool) {
    let fx = Fixture::load("layers_rnn.safetensors");
    let t = |k: &str| fx.tensor::<B>(&format!("{name}/{k}"));
    let (q, k, v) = (t("query"), t("key"), t("value"));
    let mut l = MultiHeadAttention::<B>::new(2, 4)
        .use_causal_mask(causal)
        .return_attention_scores(true);
    let shapes: Vec<Vec<usize>> = [&q, &v, &k]
        .iter()
        .map(|x| x.shape()[1..].to_vec())
        .collect();
    l.build_multi(&shapes, &mut BuildContext::new(Device::Cpu, DType::F32, 0))
        .unwrap();
    let all = l.weights();
    let mut params = Vec::new();
    for (ours, theirs) in WEIGHTS {
        let w = all.iter().find(|w| w.name == ours).unwrap();
        w.value.assign(&t(theirs)).unwrap();
        params.push(w.value.clone());
    }
    let (qp, kp, vp) = (
        q.to_param().unwrap(),
        k.to_param().unwrap(),
        v.to_param().unwrap(),
    );
    let outs = l
        .call_multi(
            &[qp.clone(), vp.clone(), kp.clone()],
            &mut CallContext::inference(),
        )
        .unwrap();
    let want_shapes = l.output_shapes(&shapes).unwrap();
    for (o, s) in outs.iter().zip(&want_shapes) {
        assert_eq!(o.shape()[1..], s[..], "{name}: output_shapes");
    }
    check(&fx, &format!("{name}/out"), &outs[0]);
    check(&fx, &format!("{name}/probs"), &outs[1]);
    let mut wrt = vec![qp, kp, vp];
    wrt.extend(params);
    let grads = weighted_sum(&outs[0]).grad(&wrt).unwrap();
    let names = ["query", "key", "value"]
        .into_iter()
        .chain(WEIGHTS.iter().map(|w| w.1));
    for (g, n) in grads.iter().zip(names) {
        check(&fx, &format!("{name}/grad_{n}"), g.as_ref().unwrap());
    }
}

fn values<B: Backend>() {
    case::<B>("mha", false);
    case::<B>("mha_causal", true);
}

fn functional<B: Backend>() {
    let q = Input::new(&[4, 8]).tensor::<B>();
    let v = Input::new(&[5, 6]).tensor::<B>();
    let mha = MultiHeadAttention::<B>::new(2, 3)
        .value_dim(5)
        .output_shape(7);
    let y = mha.apply_multi(&[q.clone(), v.clone()]).unwrap();
    let m = Model::new(&[q, v], &[y]).unwrap();
    // query 8*2*3+6, key 6*2*3+6, value 6*2*5+10, output 2*5*7+7
    assert_eq!(m.count_params().0, 54 + 42 + 70 + 77);
    let xq = Tensor::<B>::ones(&[3, 4, 8], DType::F32, Device::Cpu).unwrap();
    let xv = Tensor::<B>::ones(&[3, 5, 6], DType::F32, Device::Cpu).unwrap();
    let out = Layer::<B>::call_multi(&m, &[xq, xv], &mut CallContext::inference())
        .unwrap()
        .remove(0);
    assert_eq!(out.shape(), vec![3, 4, 7]);
}

fn sequential_and_errors<B: Backend>() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[6, 16])).unwrap();
    m.add(MultiHeadAttention::<B>::new(2, 8).dropout(0.1))
        .unwrap();
    assert_eq!(m.count_params().0, 1_088);
    let x = Tensor::<B>::ones(&[2, 6, 16], DType::F32, Device::Cpu).unwrap();
    let a = m.call(&x, true).unwrap().to_vec_f64().unwrap();
    let b = m.call(&x, false).unwrap().to_vec_f64().unwrap();
    assert_eq!(a.len(), b.len());
    let layer = &m.layers()[0];
    let bad = Tensor::<B>::ones(&[2, 6, 5], DType::F32, Device::Cpu).unwrap();
    let e = layer
        .call(&bad, &mut CallContext::inference())
        .unwrap_err()
        .to_string();
    assert!(e.contains("16") && e.contains("[6, 5]"), "{e}");
    let bad = Tensor::<B>::ones(&[2, 16], DType::F32, Device::Cpu).unwrap();
    let e = layer
        .call(&bad, &mut CallContext::inference())
        .unwrap_err()
        .to_string();
    assert!(e.contains("rank 3") && e.contains("[2, 16]"), "{e}");
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[16])).unwrap();
    let e = m
        .add(MultiHeadAttention::<B>::new(2, 8).name("att"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("att") && e.contains("[16]"), "{e}");
    round_trip::<B>(
        &MultiHeadAttention::<B>::new(4, 16)
            .value_dim(8)
            .dropout(0.2)
            .use_bias(false)
            .output_shape(32)
            .use_causal_mask(true)
            .name("m"),
    );
}

engine_tests!(values, functional, sequential_and_errors,);
