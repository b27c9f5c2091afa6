//! The user-facing `Tensor<B>` API: axis resolution, shape helpers, operators and errors.
//! (The engine ops themselves are covered by the backend conformance suite.)

use stratanet::{DType, DefaultBackend as B, Device, Error, Tensor};

fn t(data: Vec<f32>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn iota(shape: &[usize]) -> Tensor<B> {
    let n: usize = shape.iter().product();
    t((0..n).map(|i| i as f32).collect(), shape)
}

#[test]
fn reshape_infers_one_dim() {
    let a = iota(&[2, 3, 4]);
    assert_eq!(a.reshape(&[-1, 4]).unwrap().shape(), vec![6, 4]);
    assert_eq!(a.reshape(&[4, -1]).unwrap().shape(), vec![4, 6]);
    assert_eq!(a.reshape(&[-1]).unwrap().shape(), vec![24]);
    assert_eq!(a.reshape(&[2, -1, 3]).unwrap().shape(), vec![2, 4, 3]);
    assert_eq!(
        a.reshape(&[-1]).unwrap().to_vec_f32().unwrap(),
        (0..24).map(|i| i as f32).collect::<Vec<_>>()
    );
    for bad in [&[-1, -1][..], &[5, -1], &[7], &[-2, 12]] {
        let err = a.reshape(bad).unwrap_err();
        assert!(err.to_string().contains("[2, 3, 4]"), "{bad:?}: {err}");
    }
}

#[test]
fn squeeze_unsqueeze_with_negative_axes() {
    let a = iota(&[2, 3]);
    assert_eq!(a.unsqueeze(0).unwrap().shape(), vec![1, 2, 3]);
    assert_eq!(a.unsqueeze(-1).unwrap().shape(), vec![2, 3, 1]);
    assert_eq!(a.unsqueeze(-2).unwrap().shape(), vec![2, 1, 3]);
    assert_eq!(a.unsqueeze(2).unwrap().shape(), vec![2, 3, 1]);
    assert!(a.unsqueeze(3).is_err());
    assert!(a.unsqueeze(-4).is_err());
    let b = a.unsqueeze(-1).unwrap();
    assert_eq!(b.squeeze(-1).unwrap().shape(), vec![2, 3]);
    assert_eq!(
        b.squeeze(2).unwrap().to_vec_f32().unwrap(),
        a.to_vec_f32().unwrap()
    );
    let err = b.squeeze(0).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("[2, 3, 1]"), "{err}");
    assert!(b.squeeze(3).is_err());
    assert_eq!(a.dim(-1).unwrap(), 3);
    assert_eq!(a.dim(-2).unwrap(), 2);
    assert!(a.dim(2).is_err());
}

#[test]
fn transpose_values() {
    let a = iota(&[2, 3]);
    let tr = a.transpose(0, 1).unwrap();
    assert_eq!(tr.shape(), vec![3, 2]);
    assert_eq!(tr.to_vec_f32().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(
        a.transpose(-1, -2).unwrap().to_vec_f32().unwrap(),
        tr.to_vec_f32().unwrap()
    );
    // batched: swap the last two axes of [2, 2, 3]
    let b = iota(&[2, 2, 3]);
    let bt = b.transpose(-2, -1).unwrap();
    assert_eq!(bt.shape(), vec![2, 3, 2]);
    let v = bt.to_vec_f32().unwrap();
    for n in 0..2 {
        for i in 0..3 {
            for j in 0..2 {
                assert_eq!(v[n * 6 + i * 2 + j], (n * 6 + j * 3 + i) as f32);
            }
        }
    }
    assert!(a.transpose(0, 2).is_err());
    assert!(a.permute(&[0, 0]).is_err());
    assert!(a.permute(&[1]).is_err());
}

#[test]
fn reductions_and_softmax_with_negative_axes() {
    let a = iota(&[2, 3]);
    assert_eq!(
        a.sum(&[-1], false).unwrap().to_vec_f32().unwrap(),
        vec![3.0, 12.0]
    );
    assert_eq!(a.sum(&[0], true).unwrap().shape(), vec![1, 3]);
    assert_eq!(
        a.mean(&[-2], false).unwrap().to_vec_f32().unwrap(),
        vec![1.5, 2.5, 3.5]
    );
    assert_eq!(
        a.max(&[-1], false).unwrap().to_vec_f32().unwrap(),
        vec![2.0, 5.0]
    );
    assert_eq!(
        a.argmax(-1, false).unwrap().to_vec_i64().unwrap(),
        vec![2, 2]
    );
    assert_eq!(a.sum_all().unwrap().item().unwrap(), 15.0);
    assert!(a.sum(&[2], false).is_err());
    let s0 = a.softmax(0).unwrap().to_vec_f32().unwrap();
    let sneg = a.softmax(-2).unwrap().to_vec_f32().unwrap();
    assert_eq!(s0, sneg);
    // columns differ by 3: softmax over axis 0 is [1/(1+e^3), e^3/(1+e^3)] in each column
    let lo = 1.0 / (1.0 + 3f64.exp());
    for c in 0..3 {
        assert!((s0[c] as f64 - lo).abs() < 1e-6);
        assert!((s0[3 + c] as f64 - (1.0 - lo)).abs() < 1e-6);
    }
}

#[test]
fn operators_return_results() -> stratanet::Result<()> {
    let a = t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = t(vec![10.0, 20.0], &[2]);
    assert_eq!((&a + &b)?.to_vec_f32()?, vec![11.0, 22.0, 13.0, 24.0]);
    assert_eq!((&a - &b)?.to_vec_f32()?, vec![-9.0, -18.0, -7.0, -16.0]);
    assert_eq!((&a * &b)?.to_vec_f32()?, vec![10.0, 40.0, 30.0, 80.0]);
    assert_eq!((&b / &a)?.to_vec_f32()?, vec![10.0, 10.0, 10.0 / 3.0, 5.0]);
    assert_eq!((&a * 2.0)?.to_vec_f32()?, vec![2.0, 4.0, 6.0, 8.0]);
    assert_eq!((&a + 0.5)?.to_vec_f32()?, vec![1.5, 2.5, 3.5, 4.5]);
    assert_eq!((&a - 1.0)?.to_vec_f32()?, vec![0.0, 1.0, 2.0, 3.0]);
    assert_eq!((&a / 4.0)?.to_vec_f32()?, vec![0.25, 0.5, 0.75, 1.0]);
    assert_eq!((-&a)?.to_vec_f32()?, vec![-1.0, -2.0, -3.0, -4.0]);
    // owned operands
    assert_eq!(
        (a.clone() + a.clone())?.to_vec_f32()?,
        vec![2.0, 4.0, 6.0, 8.0]
    );
    // chained
    let c = (&(&a * 3.0)? - &a)?;
    assert_eq!(c.to_vec_f32()?, vec![2.0, 4.0, 6.0, 8.0]);
    // incompatible shapes: an error naming both shapes
    let bad = t(vec![1.0, 2.0, 3.0], &[3]);
    let err = (&a + &bad).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("[2, 2]") && msg.contains("[3]"), "{msg}");
    Ok(())
}

#[test]
fn dtype_mismatch_names_both_dtypes() {
    let a = t(vec![1.0, 2.0], &[2]);
    let i = Tensor::<B>::from_vec(vec![1i64, 2], &[2]).unwrap();
    for r in [&a + &i, &a * &i, a.eq(&i)] {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::DType { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("f32") && msg.contains("i64"), "{msg}");
    }
    // after an explicit conversion it works
    let s = (&a + &i.to_dtype(DType::F32).unwrap()).unwrap();
    assert_eq!(s.to_vec_f32().unwrap(), vec![2.0, 4.0]);
}

#[test]
fn item_and_creation_errors() {
    assert_eq!(Tensor::<B>::scalar(2.5).unwrap().item().unwrap(), 2.5);
    assert_eq!(t(vec![7.0], &[1, 1]).item().unwrap(), 7.0);
    let err = t(vec![1.0, 2.0], &[2]).item().unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("[2]"), "{err}");
    let err = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert!(err.to_string().contains('3'), "{err}");
    let z = Tensor::<B>::zeros(&[2, 3], DType::I64, Device::Cpu).unwrap();
    assert_eq!(z.dtype(), DType::I64);
    assert_eq!(z.to_vec_i64().unwrap(), vec![0; 6]);
    let f = Tensor::<B>::full(&[2], -1.5, DType::F64, Device::Cpu).unwrap();
    assert_eq!(f.to_vec_f64().unwrap(), vec![-1.5, -1.5]);
    assert_eq!(
        Tensor::<B>::arange(4, Device::Cpu)
            .unwrap()
            .to_vec_i64()
            .unwrap(),
        vec![0, 1, 2, 3]
    );
    // clones share storage with parameters: assign is seen through every handle
    let p = t(vec![1.0, 2.0], &[2]).to_param().unwrap();
    let alias = p.clone();
    p.assign(&t(vec![5.0, 6.0], &[2])).unwrap();
    assert_eq!(alias.to_vec_f32().unwrap(), vec![5.0, 6.0]);
    assert!(p.assign(&t(vec![1.0; 3], &[3])).is_err());
}
