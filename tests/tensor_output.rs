//! Getting results out of a tensor (issue 19 item 6): numpy-style `Display` (expected
//! strings are numpy 2's own `str(array)` for the same values), 2-D extraction and argmax
//! to class names, on both engines.

macro_rules! tensor_output_tests {
    ($B:ty) => {
        use stratanet::{Error, Tensor};
        type B = $B;

        fn f32s(v: Vec<f32>, shape: &[usize]) -> Tensor<B> {
            Tensor::<B>::from_vec(v, shape).unwrap()
        }

        #[test]
        fn display_matches_numpy_small() {
            let t = f32s(vec![1.0, 2.5, -3.0, 0.1], &[2, 2]);
            assert_eq!(t.to_string(), "[[ 1.   2.5]\n [-3.   0.1]]");
            let t = Tensor::<B>::from_vec((0..24i64).collect::<Vec<_>>(), &[2, 3, 4]).unwrap();
            assert_eq!(
                t.to_string(),
                "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]"
            );
            // f32 at its shortest form, padded on the right to the decimal point.
            let t = f32s(vec![1.0 / 3.0, 2.0 / 3.0], &[2]);
            assert_eq!(t.to_string(), "[0.33333334 0.6666667 ]");
            // f64 capped at 8 decimals, as numpy's precision.
            let t = Tensor::<B>::from_vec(vec![1.0f64 / 3.0, 2.0 / 3.0], &[2]).unwrap();
            assert_eq!(t.to_string(), "[0.33333333 0.66666667]");
            let t = f32s(vec![f32::NAN, 1.5, f32::NEG_INFINITY], &[3]);
            assert_eq!(t.to_string(), "[ nan  1.5 -inf]");
            // Magnitudes spanning more than 1e3: scientific, mantissas padded alike.
            let t = f32s(vec![1e-5, 1.0, 250.0], &[3]);
            assert_eq!(t.to_string(), "[1.0e-05 1.0e+00 2.5e+02]");
            assert_eq!(f32s(vec![3.5], &[]).to_string(), "3.5");
            assert_eq!(f32s(vec![], &[0, 3]).to_string(), "[]");
        }

        #[test]
        fn display_summarises_past_a_thousand_elements() {
            let t = Tensor::<B>::from_vec((0..2000i64).collect::<Vec<_>>(), &[2000]).unwrap();
            assert_eq!(t.to_string(), "[   0    1    2 ... 1997 1998 1999]");
            let t = Tensor::<B>::from_vec((0..10000i64).collect::<Vec<_>>(), &[100, 100]).unwrap();
            assert_eq!(
                t.to_string(),
                "[[   0    1    2 ...   97   98   99]\n [ 100  101  102 ...  197  198  199]\n [ 200  201  202 ...  297  298  299]\n ...\n [9700 9701 9702 ... 9797 9798 9799]\n [9800 9801 9802 ... 9897 9898 9899]\n [9900 9901 9902 ... 9997 9998 9999]]"
            );
            // Exactly the threshold: everything printed.
            let t = Tensor::<B>::from_vec(vec![0i64; 1000], &[1000]).unwrap();
            assert!(!t.to_string().contains("..."));
            // A large 3-D tensor prints only its 6 x 6 x 6 corners: short, not 8000 numbers.
            let t = Tensor::<B>::from_vec((0..8000i64).collect::<Vec<_>>(), &[20, 20, 20]).unwrap();
            let s = t.to_string();
            assert!(s.starts_with("[[[   0    1    2 ...   17   18   19]\n"), "{s}");
            assert!(s.contains("]]\n\n ...\n\n [["), "{s}");
            assert!(s.ends_with("7997 7998 7999]]]"), "{s}");
            assert_eq!(s.lines().count(), 49, "{s}"); // numpy: 6 blocks of 7 lines, `...`, 6 blank lines
        }

        #[test]
        fn display_of_other_dtypes() {
            let t = Tensor::<B>::from_vec(vec![true, false], &[2]).unwrap();
            assert_eq!(t.to_string(), "[ true false]");
            let t = f32s(vec![0.1, 2.0], &[2]).to_dtype(stratanet::DType::F64).unwrap();
            // The f64 widening of an f32 0.1 shows its true value, capped at 8 decimals.
            assert_eq!(t.to_string(), "[0.1 2. ]");
        }

        #[test]
        fn to_vec2_rows_and_shape_errors() {
            let t = f32s(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
            assert_eq!(
                t.to_vec2_f32().unwrap(),
                vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]
            );
            assert_eq!(t.to_vec2_i64().unwrap()[2], vec![5, 6]);
            assert_eq!(t.to_vec2_f64().unwrap()[1], vec![3.0, 4.0]);
            assert_eq!(f32s(vec![], &[2, 0]).to_vec2_f32().unwrap(), vec![Vec::<f32>::new(); 2]);
            let e = f32s(vec![1.0; 6], &[6]).to_vec2_f32().unwrap_err();
            assert!(matches!(e, Error::Shape { .. }), "{e:?}");
            assert!(e.to_string().contains("to_vec2_f32") && e.to_string().contains("[6]"), "{e}");
            let e = f32s(vec![1.0; 8], &[2, 2, 2]).to_vec2_f64().unwrap_err();
            assert!(e.to_string().contains("[2, 2, 2]"), "{e}");
        }

        #[test]
        fn argmax_names_picks_each_rows_class() {
            let names: Vec<String> = ["drizzle", "rain", "sun"].map(String::from).to_vec();
            let p = f32s(vec![0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0], &[3, 3]);
            assert_eq!(p.argmax_names(&names).unwrap(), ["rain", "drizzle", "sun"]);
            let e = p.argmax_names(&["a", "b"]).unwrap_err();
            assert!(matches!(e, Error::Shape { .. }), "{e:?}");
            assert!(e.to_string().contains("[n, 2]") && e.to_string().contains("[3, 3]"), "{e}");
            let e = f32s(vec![0.1; 3], &[3]).argmax_names(&names).unwrap_err();
            assert!(e.to_string().contains("[3]"), "{e}");
            let e = f32s(vec![0.1, f32::NAN, 0.0, 0.2], &[2, 2])
                .argmax_names(&["a", "b"])
                .unwrap_err();
            assert!(e.to_string().contains("NaN score at row 0"), "{e}");
        }
    };
}

#[cfg(feature = "candle")]
mod candle {
    tensor_output_tests!(stratanet::Candle);
}

#[cfg(feature = "tch")]
mod tch {
    tensor_output_tests!(stratanet::Tch);
}
