//! A panic caught around `fit` (a panicking callback) leaves the model compiled, ready to
//! fit again, on both engines.

#[macro_use]
mod common;

use stratanet::callbacks::{Callback, CallbackContext};
use stratanet::prelude::*;
use stratanet::Backend;

struct Panics;

impl Callback for Panics {
    fn on_epoch_begin(
        &mut self,
        _epoch: usize,
        _ctx: &mut CallbackContext<'_>,
    ) -> stratanet::Result<()> {
        panic!("callback panics on purpose");
    }
}

fn compiled_after_caught_panic<B: Backend>() {
    let mut model = Sequential::<B>::new().with_seed(1);
    model.add(Input::new(&[3])).unwrap();
    model.add(Dense::new(1)).unwrap();
    model.compile(Sgd::new(0.1), "mse", &[]).unwrap();
    let x = Tensor::<B>::uniform(&[8, 3], -1.0, 1.0, 2, DType::F32, Device::Cpu).unwrap();
    let y = x.sum(&[-1], true).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.fit(
            &x,
            &y,
            FitOptions::new().epochs(1).verbose(0).callback(Panics),
        )
    }));
    assert!(caught.is_err(), "the callback's panic reaches catch_unwind");
    assert!(model.compiled().is_some(), "still compiled after the panic");
    let h = model
        .fit(&x, &y, FitOptions::new().epochs(2).verbose(0))
        .unwrap();
    assert_eq!(h.get("loss").unwrap().len(), 2);
}

engine_tests!(compiled_after_caught_panic);
