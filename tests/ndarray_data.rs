//! `ndarray` arrays as data (feature `ndarray`): a model trained and evaluated on arrays
//! (including a transposed view) gives bit-identical results to the same values as
//! tensors; predictions come back as arrays; wrong dtypes and shapes are errors.
#![cfg(feature = "ndarray")]

#[macro_use]
mod common;

use ndarray::{Array1, Array2};
use stratanet::prelude::*;
use stratanet::Backend;

fn data() -> (Array2<f32>, Array1<i64>) {
    let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
    let y = Array1::from_shape_fn(40, |i| ((i * 7) % 11 > 5) as i64);
    (x, y)
}

/// `set_random_seed` is process-wide: the tests of this binary run on parallel threads, so
/// each holds this lock while it builds and trains (without it, `errors` could draw
/// weights between the two models of `arrays_match_tensors`, which then differ).
static SEED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn model<B: Backend>() -> stratanet::Result<Sequential<B>> {
    stratanet::set_random_seed(3);
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[3]))?;
    m.add(Dense::new(8).activation("relu"))?;
    m.add(Dense::new(2).activation("softmax"))?;
    m.compile(
        Adam::new(1e-2),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    Ok(m)
}

fn arrays_match_tensors<B: Backend>() {
    let _seed = SEED.lock().unwrap_or_else(|e| e.into_inner());
    let (x, y) = data();
    let opts = || FitOptions::new().epochs(3).batch_size(8).seed(1).verbose(0);
    let mut a = model::<B>().unwrap();
    let ha = a.fit(&x, &y, opts()).unwrap();
    let xt = Tensor::<B>::from_vec(x.iter().copied().collect(), &[40, 3]).unwrap();
    let yt = Tensor::<B>::from_vec(y.to_vec(), &[40]).unwrap();
    let mut b = model::<B>().unwrap();
    let hb = b.fit(&xt, &yt, opts()).unwrap();
    assert_eq!(
        ha.get("loss"),
        hb.get("loss"),
        "same losses from arrays and tensors"
    );

    let sa = a.evaluate(&x, &y).unwrap();
    let sb = b.evaluate(&xt, &yt).unwrap();
    assert_eq!(sa.value("loss").unwrap(), sb.value("loss").unwrap());

    // A transposed view is read in index order, not memory order.
    let xt_view = x.t().to_owned();
    let back = xt_view.t();
    let pa = a.predict(back).unwrap();
    let pb = b.predict(&xt).unwrap();
    let pa = HostTensor::from_tensor(&pa).unwrap();
    let arr = pa.to_ndarray_f32().unwrap();
    assert_eq!(arr.shape(), &[40, 2]);
    assert_eq!(
        arr.iter().copied().collect::<Vec<_>>(),
        pb.to_vec_f32().unwrap()
    );
}

fn errors<B: Backend>() {
    let _seed = SEED.lock().unwrap_or_else(|e| e.into_inner());
    let (x, _) = data();
    let a = model::<B>().unwrap();
    // Four features where the model takes three: an error naming the shapes.
    let wide = Array2::<f32>::zeros((5, 4));
    let e = a.predict(&wide).unwrap_err().to_string();
    assert!(e.contains('4') && e.contains('3'), "{e}");
    let h = HostTensor::from(&x);
    let e = h.to_ndarray_i64().unwrap_err().to_string();
    assert!(e.contains("i64") && e.contains("f32"), "{e}");
}

engine_tests!(arrays_match_tensors, errors);
