//! The dense parity cases shared by `parity.rs` (candle vs libtorch) and `cuda_parity.rs`
//! (libtorch CPU vs CUDA): a hidden Dense layer per activation and every loss with its
//! output head, host-drawn data, one run (forward, loss, gradients, 5 SGD and 5 Adam
//! steps) on any engine and device, and the comparison of two runs.

#![allow(dead_code)]

use stratanet::losses::{
    BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
use stratanet::optimizers::{Adam, Optimizer, Sgd};
use stratanet::prelude::{Dense, Input};
use stratanet::random::Rng;
use stratanet::{Backend, Device, Sequential, Tensor};

pub const BATCH: usize = 16;
pub const FEATURES: usize = 6;
pub const HIDDEN: usize = 8;
pub const STEPS: usize = 5;

/// The loss a case trains with, and the output activation that goes with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossKind {
    Mse,
    Mae,
    Huber,
    Bce,
    BceLogits,
    Cce,
    CceLogits,
    Scce,
    ScceLogits,
}

impl LossKind {
    pub const ALL: [LossKind; 9] = [
        LossKind::Mse,
        LossKind::Mae,
        LossKind::Huber,
        LossKind::Bce,
        LossKind::BceLogits,
        LossKind::Cce,
        LossKind::CceLogits,
        LossKind::Scce,
        LossKind::ScceLogits,
    ];

    pub fn loss<B: Backend>(self) -> Box<dyn Loss<B>> {
        match self {
            LossKind::Mse => Box::new(MeanSquaredError),
            LossKind::Mae => Box::new(MeanAbsoluteError),
            LossKind::Huber => Box::new(Huber::new(1.0)),
            LossKind::Bce => Box::new(BinaryCrossentropy::new()),
            LossKind::BceLogits => Box::new(BinaryCrossentropy::new().from_logits(true)),
            LossKind::Cce => Box::new(CategoricalCrossentropy::new()),
            LossKind::CceLogits => Box::new(CategoricalCrossentropy::new().from_logits(true)),
            LossKind::Scce => Box::new(SparseCategoricalCrossentropy::new()),
            LossKind::ScceLogits => {
                Box::new(SparseCategoricalCrossentropy::new().from_logits(true))
            }
        }
    }

    /// Output units and activation of the last layer.
    pub fn head(self) -> (usize, &'static str) {
        match self {
            LossKind::Mse | LossKind::Mae | LossKind::Huber => (3, "linear"),
            LossKind::Bce => (3, "sigmoid"),
            LossKind::BceLogits => (3, "linear"),
            LossKind::Cce | LossKind::Scce => (4, "softmax"),
            LossKind::CceLogits | LossKind::ScceLogits => (4, "linear"),
        }
    }
}

/// Host-side data for a case: inputs and targets (`labels` for the sparse losses).
pub struct Data {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub y_shape: Vec<usize>,
    pub labels: Option<Vec<i64>>,
}

pub fn data(kind: LossKind, seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let x = (0..BATCH * FEATURES)
        .map(|_| (rng.standard_normal() * 1.5) as f32)
        .collect();
    let (units, _) = kind.head();
    let mut y = Vec::new();
    let mut labels = None;
    let y_shape = match kind {
        LossKind::Mse | LossKind::Mae | LossKind::Huber => {
            y = (0..BATCH * units)
                .map(|_| rng.standard_normal() as f32)
                .collect();
            vec![BATCH, units]
        }
        LossKind::Bce | LossKind::BceLogits => {
            y = (0..BATCH * units).map(|_| rng.below(2) as f32).collect();
            vec![BATCH, units]
        }
        LossKind::Cce | LossKind::CceLogits => {
            for _ in 0..BATCH {
                let c = rng.below(units as u64) as usize;
                y.extend((0..units).map(|j| if j == c { 1.0f32 } else { 0.0 }));
            }
            vec![BATCH, units]
        }
        LossKind::Scce | LossKind::ScceLogits => {
            labels = Some((0..BATCH).map(|_| rng.below(units as u64) as i64).collect());
            vec![BATCH]
        }
    };
    Data {
        x,
        y,
        y_shape,
        labels,
    }
}

/// One case: a hidden Dense layer with `hidden` activation, then the loss' head.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub hidden: &'static str,
    pub loss: LossKind,
}

impl Case {
    pub fn name(&self) -> String {
        format!("hidden {} / {:?}", self.hidden, self.loss)
    }
}

/// A hidden layer per activation, trained with MSE.
pub fn activation_cases() -> Vec<Case> {
    std::iter::once("linear")
        .chain(crate::common::fixture_activations())
        .map(|hidden| Case {
            hidden,
            loss: LossKind::Mse,
        })
        .collect()
}

/// Every loss (with its output activation) after a tanh hidden layer.
pub fn loss_cases() -> Vec<Case> {
    LossKind::ALL
        .into_iter()
        .map(|loss| Case {
            hidden: "tanh",
            loss,
        })
        .collect()
}

/// The case's model, seeded with `seed`, its weights on `device`.
pub fn model<B: Backend>(case: Case, seed: u64, device: Device) -> Sequential<B> {
    let (units, head) = case.loss.head();
    let mut m = Sequential::<B>::new().with_seed(seed).on_device(device);
    m.add(Input::new(&[FEATURES])).unwrap();
    m.add(Dense::new(HIDDEN).activation(case.hidden)).unwrap();
    m.add(Dense::new(units).activation(head)).unwrap();
    m
}

/// Every weight as (path, values).
pub type Snapshot = Vec<(String, Vec<f64>)>;

/// Every weight as (path, values), checking that it lives on `device`.
pub fn snapshot<B: Backend>(m: &Sequential<B>, device: Device) -> Snapshot {
    m.weights()
        .into_iter()
        .map(|(n, w)| {
            assert_eq!(
                w.value.device(),
                device,
                "weight {n} is on the wrong device"
            );
            (n, w.value.to_vec_f64().unwrap())
        })
        .collect()
}

/// What one engine on one device computes for one case, on the host.
pub struct Run {
    pub initial: Snapshot,
    pub output: Vec<f64>,
    pub loss: f64,
    pub grads: Snapshot,
    pub sgd_losses: Vec<f64>,
    pub after_sgd: Snapshot,
    pub adam_losses: Vec<f64>,
    pub after_adam: Snapshot,
}

/// Runs `case` on engine `B` and `device`: forward pass, loss and gradients of the initial
/// model, then 5 SGD (momentum) steps and 5 Adam steps from the same initial weights.
pub fn run<B: Backend>(case: Case, d: &Data, seed: u64, device: Device) -> Run {
    let x = Tensor::<B>::from_vec_on(d.x.clone(), &[BATCH, FEATURES], device).unwrap();
    let y = match &d.labels {
        Some(l) => Tensor::<B>::from_vec_on(l.clone(), &d.y_shape, device).unwrap(),
        None => Tensor::<B>::from_vec_on(d.y.clone(), &d.y_shape, device).unwrap(),
    };
    let mut m = model::<B>(case, seed, device);
    let initial = snapshot(&m, device);
    let pred = m.call(&x, false).unwrap();
    assert_eq!(pred.device(), device, "{}: output device", case.name());
    let loss = case.loss.loss::<B>().call(&y, &pred).unwrap();
    let weights = m.weights();
    let params: Vec<Tensor<B>> = weights.iter().map(|(_, w)| w.value.clone()).collect();
    let grads = loss
        .grad(&params)
        .unwrap()
        .into_iter()
        .zip(&weights)
        .map(|(g, (n, _))| {
            let g = g.unwrap_or_else(|| panic!("{}: no gradient for {n}", case.name()));
            (n.clone(), g.to_vec_f64().unwrap())
        })
        .collect();
    let train = |opt: Box<dyn Optimizer<B>>| {
        let mut m = model::<B>(case, seed, device);
        m.compile(opt, case.loss.loss::<B>(), &[]).unwrap();
        let losses = (0..STEPS)
            .map(|_| m.train_on_batch(&x, &y).unwrap().get("loss").unwrap())
            .collect();
        (losses, snapshot(&m, device))
    };
    let (sgd_losses, after_sgd) = train(Box::new(Sgd::new(0.05).momentum(0.9)));
    let (adam_losses, after_adam) = train(Box::new(Adam::new(0.01)));
    Run {
        initial,
        output: pred.to_vec_f64().unwrap(),
        loss: loss.item().unwrap(),
        grads,
        sgd_losses,
        after_sgd,
        adam_losses,
        after_adam,
    }
}

/// How two runs are compared: `|a - b| <= abs + rel * max(|a|, |b|)`, with the names of the
/// two sides for messages.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub rel: f64,
    pub abs: f64,
    pub left: &'static str,
    pub right: &'static str,
}

impl Tolerance {
    /// Largest `|a - b| / (abs + rel * max(|a|, |b|))` (at most 1 is within the bound),
    /// with its position.
    pub fn worst(&self, a: &[f64], b: &[f64]) -> (f64, usize) {
        assert_eq!(a.len(), b.len());
        let mut w = (0.0f64, 0);
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            let r = (x - y).abs() / (self.abs + self.rel * x.abs().max(y.abs()));
            if !w.0.is_nan() && (r.is_nan() || r > w.0) {
                w = (r, i);
            }
        }
        w
    }

    /// Asserts the worst element is at most `limit` times the bound; returns it.
    pub fn assert_close(&self, what: &str, a: &[f64], b: &[f64], limit: f64) -> f64 {
        let (r, i) = self.worst(a, b);
        let (l, rt) = (self.left, self.right);
        assert!(
            r <= limit,
            "{what}: element {i}: {l} {} vs {rt} {} (|diff| {:.3e}, {r:.2} x the tolerance, \
             limit {limit})\n{l}: {a:?}\n{rt}: {b:?}",
            a[i],
            b[i],
            (a[i] - b[i]).abs()
        );
        r
    }

    /// [`Self::assert_close`] over every weight, in order.
    pub fn assert_weights_close(&self, what: &str, a: &Snapshot, b: &Snapshot, limit: f64) -> f64 {
        assert_eq!(a.len(), b.len(), "{what}: weight count");
        let mut r = 0.0f64;
        for ((na, va), (nb, vb)) in a.iter().zip(b) {
            assert_eq!(na, nb, "{what}: weight order");
            r = r.max(self.assert_close(&format!("{what}: {na}"), va, vb, limit));
        }
        r
    }

    /// Compares two runs of one case: initial weights bit-identical (host initialisers),
    /// then forward, loss, gradients, SGD and Adam within the bound. Returns the worst
    /// error of each as a fraction of the bound.
    pub fn compare(&self, case: Case, a: &Run, b: &Run) -> [f64; 5] {
        let name = case.name();
        assert_eq!(a.initial, b.initial, "{name}: initial weights differ");
        let close = |what: &str, x: &[f64], y: &[f64]| {
            self.assert_close(&format!("{name}: {what}"), x, y, 1.0)
        };
        let weights = |what: &str, x: &Snapshot, y: &Snapshot| {
            self.assert_weights_close(&format!("{name}: {what}"), x, y, 1.0)
        };
        let forward = close("forward", &a.output, &b.output);
        let loss = close("loss", &[a.loss], &[b.loss]);
        let grads = weights("gradient", &a.grads, &b.grads);
        let sgd = close("SGD losses", &a.sgd_losses, &b.sgd_losses).max(weights(
            &format!("after {STEPS} SGD steps"),
            &a.after_sgd,
            &b.after_sgd,
        ));
        let adam = close("Adam losses", &a.adam_losses, &b.adam_losses).max(weights(
            &format!("after {STEPS} Adam steps"),
            &a.after_adam,
            &b.after_adam,
        ));
        [forward, loss, grads, sgd, adam]
    }
}

/// Prints the table header of [`print_row`].
pub fn print_header() {
    println!("{:32} forward     loss    grads      sgd     adam", "case");
}

/// Prints one case's worst errors (fractions of the bound).
pub fn print_row(case: Case, r: &[f64; 5]) {
    println!(
        "{:32} {:7.3} {:8.3} {:8.3} {:8.3} {:8.3}",
        case.name(),
        r[0],
        r[1],
        r[2],
        r[3],
        r[4]
    );
}
