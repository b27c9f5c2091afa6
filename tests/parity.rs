//! Cross-engine parity: the same model, from the same seed, on candle and libtorch gives
//! the same initial weights (exactly: initialisers draw on the host), and the same outputs,
//! losses, gradients and parameters after 5 SGD (momentum) and 5 Adam steps (within f32
//! tolerance), for every activation and every loss. Inputs and targets are drawn on the
//! host with `stratanet::random::Rng`, so both engines see identical data. No Dropout: its
//! masks come from each engine's own generator by design.
//!
//! Tolerance: |a - b| <= 1e-6 + 1e-5 * max(|a|, |b|). The engines reduce (matmul, sums,
//! means) in different orders, so results differ in the last bits of f32; the absolute
//! floor covers values that are sums of terms much larger than the result (gradients that
//! nearly cancel), where relative error says nothing. Measured (candle CPU vs libtorch CPU,
//! 2 threads): the worst element of any quantity reaches 0.41 of that bound (log_softmax
//! hidden layer after 5 SGD steps), most stay below 0.15; `cargo test --features tch --test
//! parity -- --nocapture` prints the table.

#![cfg(feature = "tch")]

mod common;
mod parity_support;

use parity_support::{
    activation_cases, data, loss_cases, model, print_header, print_row, run, snapshot, Case,
    LossKind, Tolerance, FEATURES, HIDDEN,
};
use stratanet::prelude::{Dense, Input};
use stratanet::{Candle, Device, Sequential, Tch};

const TOLERANCE: Tolerance = Tolerance {
    rel: 1e-5,
    abs: 1e-6,
    left: "candle",
    right: "tch",
};

const SEED: u64 = 2024;

/// Checks one case on both engines (CPU); returns the worst error as a fraction of the
/// tolerance for forward, loss, gradients, SGD and Adam (printed by the test, visible with
/// `--nocapture`).
fn parity(case: Case, seed: u64) -> [f64; 5] {
    let d = data(case.loss, seed);
    let c = run::<Candle>(case, &d, SEED, Device::Cpu);
    let t = run::<Tch>(case, &d, SEED, Device::Cpu);
    TOLERANCE.compare(case, &c, &t)
}

fn check_all(cases: Vec<Case>, first_seed: u64) {
    println!("worst |candle - tch| as a fraction of the tolerance:");
    print_header();
    for (i, case) in cases.into_iter().enumerate() {
        print_row(case, &parity(case, first_seed + i as u64));
    }
}

#[test]
fn every_activation() {
    check_all(activation_cases(), 100);
}

#[test]
fn every_loss() {
    check_all(loss_cases(), 200);
}

#[test]
fn initial_weights_are_identical() {
    let case = Case {
        hidden: "relu",
        loss: LossKind::Cce,
    };
    let c = model::<Candle>(case, SEED, Device::Cpu);
    let t = model::<Tch>(case, SEED, Device::Cpu);
    let (c, t) = (snapshot(&c, Device::Cpu), snapshot(&t, Device::Cpu));
    assert_eq!(c.len(), 4, "kernel and bias of two Dense layers");
    assert_eq!(c, t);
    // Different seeds really give different weights.
    let mut other = Sequential::<Candle>::new().with_seed(SEED + 1);
    other.add(Input::new(&[FEATURES])).unwrap();
    other.add(Dense::new(HIDDEN)).unwrap();
    assert_ne!(snapshot(&other, Device::Cpu)[0].1, c[0].1);
}
