//! FeatureSpace: imputation and normalisation statistics in closed form and against the
//! Normalization layer, Keras' vocabulary order for string and integer categories, OOV for
//! missing and unseen categories, hashing bins, errors, JSON save/load, and a model trained
//! on transformed features that predicts identically after both are saved and loaded.
//! Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;
use common::tmp;

use stratanet::layers::{fingerprint64, Dense, Input, Normalization};
use stratanet::tabular::{Column, CsvOptions, FeatureSpace, Impute, Table, MAX_DECLARED_COLUMNS};
use stratanet::{Backend, Device, Error, Sequential, Tensor};

fn table() -> Table {
    Table::new(vec![
        (
            "hp".to_string(),
            Column::Float(vec![Some(1.0), Some(2.0), None, Some(5.0), Some(2.0)]),
        ),
        (
            "cyl".to_string(),
            Column::Int(vec![Some(4), Some(8), Some(4), None, Some(8)]),
        ),
        (
            "origin".to_string(),
            Column::Str(vec![
                Some("usa".into()),
                Some("japan".into()),
                None,
                Some("usa".into()),
                Some("europe".into()),
            ]),
        ),
        (
            "zip".to_string(),
            Column::Str(vec![
                Some("98101".into()),
                None,
                Some("10001".into()),
                Some("98101".into()),
                Some("60601".into()),
            ]),
        ),
    ])
    .unwrap()
}

fn close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= 1e-6 * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// (x - mean) / sqrt(var) of the imputed column, var biased (numpy `var`).
fn standardize(filled: &[f64]) -> Vec<f64> {
    let n = filled.len() as f64;
    let m = filled.iter().sum::<f64>() / n;
    let v = filled.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    filled.iter().map(|x| (x - m) / v.sqrt()).collect()
}

fn column(x: &[f32], dim: usize, j: usize) -> Vec<f32> {
    x.chunks(dim).map(|r| r[j]).collect()
}

fn numeric<B: Backend>() {
    let t = table();
    // mean 10/4 = 2.5 fills the missing row
    let mut fs = FeatureSpace::new()
        .numeric("hp")
        .numeric_with("cyl", Impute::Median)
        .numeric_with("hp", Impute::Constant(-1.0));
    // the same column twice is refused
    let e = fs.adapt(&t).unwrap_err();
    assert!(e.to_string().contains("'hp' is declared twice"), "{e}");
    fs = FeatureSpace::new()
        .numeric("hp")
        .numeric_with("cyl", Impute::Median);
    fs.adapt(&t).unwrap();
    assert_eq!(fs.output_dim().unwrap(), 2);
    assert_eq!(fs.feature_names().unwrap(), ["hp", "cyl"]);
    let x = fs.transform::<B>(&t, Device::Cpu).unwrap();
    assert_eq!(x.shape(), vec![5, 2]);
    let v = x.to_vec_f32().unwrap();
    close(
        &column(&v, 2, 0),
        &standardize(&[1.0, 2.0, 2.5, 5.0, 2.0]),
        "hp mean-imputed",
    );
    // median of [4, 8, 4, 8] = 6
    close(
        &column(&v, 2, 1),
        &standardize(&[4.0, 8.0, 4.0, 6.0, 8.0]),
        "cyl median-imputed",
    );
    // the same statistics as an adapted Normalization layer on the imputed column
    let filled = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 2.5, 5.0, 2.0], &[5, 1]).unwrap();
    let mut norm = Normalization::<B>::new();
    norm.adapt(&filled).unwrap();
    let y = stratanet::layers::Layer::call(
        &norm,
        &filled,
        &mut stratanet::layers::CallContext::inference(),
    )
    .unwrap();
    let want: Vec<f64> = y
        .to_vec_f32()
        .unwrap()
        .into_iter()
        .map(|v| v as f64)
        .collect();
    close(&column(&v, 2, 0), &want, "hp vs Normalization");

    let mut c = FeatureSpace::new().numeric_with("hp", Impute::Constant(-1.0));
    c.adapt(&t).unwrap();
    let v = c
        .transform::<B>(&t, Device::Cpu)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    close(&v, &standardize(&[1.0, 2.0, -1.0, 5.0, 2.0]), "constant");
    // a constant column: (x - mean) / 1e-7 guard, as Keras' Normalization -> 0
    let flat = Table::new(vec![("k".into(), Column::Float(vec![Some(3.0); 3]))]).unwrap();
    let mut k = FeatureSpace::new().numeric("k");
    k.adapt(&flat).unwrap();
    assert_eq!(
        k.transform::<B>(&flat, Device::Cpu)
            .unwrap()
            .to_vec_f32()
            .unwrap(),
        vec![0.0; 3]
    );
}

fn categories<B: Backend>() {
    let t = table();
    let mut fs = FeatureSpace::new()
        .categorical_string("origin")
        .categorical_int("cyl")
        .hashed("zip", 4)
        .passthrough("hp");
    // passthrough does not impute: the missing hp in row 3 is an error
    fs.adapt(&t).unwrap();
    let e = fs.transform::<B>(&t, Device::Cpu).unwrap_err();
    assert!(
        e.to_string().contains("passthrough('hp')") && e.to_string().contains("row 3"),
        "{e}"
    );
    fs = FeatureSpace::new()
        .categorical_string("origin")
        .categorical_int("cyl")
        .hashed("zip", 4);
    fs.adapt(&t).unwrap();
    // usa 2, then ties by descending string: japan, europe; ints: 8 and 4 tie -> 8 first
    let names = fs.feature_names().unwrap();
    assert_eq!(
        names,
        [
            "origin=[UNK]",
            "origin=usa",
            "origin=japan",
            "origin=europe",
            "cyl=[UNK]",
            "cyl=8",
            "cyl=4",
            "zip#0",
            "zip#1",
            "zip#2",
            "zip#3"
        ]
    );
    let dim = fs.output_dim().unwrap();
    assert_eq!(dim, 11);
    // new rows: an unseen origin and cylinder count go to OOV, missing too
    let new = Table::new(vec![
        (
            "origin".into(),
            Column::Str(vec![Some("mars".into()), Some("japan".into()), None]),
        ),
        ("cyl".into(), Column::Int(vec![Some(6), None, Some(4)])),
        (
            "zip".into(),
            Column::Str(vec![Some("98101".into()), None, Some("x".into())]),
        ),
        ("unused".into(), Column::Float(vec![Some(0.0); 3])),
    ])
    .unwrap();
    let x = fs.transform::<B>(&new, Device::Cpu).unwrap();
    assert_eq!(x.shape(), vec![3, 11]);
    let v = x.to_vec_f32().unwrap();
    let hot = |s: &str| (fingerprint64(s.as_bytes()) % 4) as usize;
    let mut want = vec![0.0f32; 33];
    for (r, (o, c, z)) in [(0, 4, Some("98101")), (2, 4, None), (0, 6, Some("x"))]
        .into_iter()
        .enumerate()
    {
        want[r * 11 + o] = 1.0;
        want[r * 11 + c] = 1.0;
        if let Some(z) = z {
            want[r * 11 + 7 + hot(z)] = 1.0;
        }
    }
    assert_eq!(v, want);
}

fn errors<B: Backend>() {
    let t = table();
    let fs = FeatureSpace::new().numeric("hp");
    let e = fs.transform::<B>(&t, Device::Cpu).unwrap_err();
    assert!(
        matches!(e, Error::NotReady { .. }) && e.to_string().contains("adapt"),
        "{e}"
    );
    assert!(fs.output_dim().is_err() && fs.feature_names().is_err());
    let e = FeatureSpace::new().numeric("weight").adapt(&t).unwrap_err();
    assert!(
        e.to_string().contains("weight") && e.to_string().contains("origin"),
        "{e}"
    );
    let e = FeatureSpace::new().numeric("origin").adapt(&t).unwrap_err();
    assert!(
        e.to_string().contains("numeric('origin')") && e.to_string().contains("str column"),
        "{e}"
    );
    let e = FeatureSpace::new()
        .categorical_string("cyl")
        .adapt(&t)
        .unwrap_err();
    assert!(e.to_string().contains("expected a string column"), "{e}");
    let e = FeatureSpace::new()
        .categorical_int("hp")
        .adapt(&t)
        .unwrap_err();
    assert!(e.to_string().contains("expected an integer column"), "{e}");
    let e = FeatureSpace::new().hashed("hp", 3).adapt(&t).unwrap_err();
    assert!(e.to_string().contains("hashed('hp')"), "{e}");
    let e = FeatureSpace::new().hashed("zip", 0).adapt(&t).unwrap_err();
    assert!(e.to_string().contains("bins"), "{e}");
    let e = FeatureSpace::new().adapt(&t).unwrap_err();
    assert!(e.to_string().contains("none declared"), "{e}");
    let empty = Table::new(vec![("hp".into(), Column::Float(vec![None, None]))]).unwrap();
    let e = FeatureSpace::new().numeric("hp").adapt(&empty).unwrap_err();
    assert!(e.to_string().contains("no present value"), "{e}");
    // a string column at transform time where an int column was adapted
    let mut fs = FeatureSpace::new().categorical_int("cyl");
    fs.adapt(&t).unwrap();
    let bad = Table::new(vec![("cyl".into(), Column::Str(vec![Some("4".into())]))]).unwrap();
    let e = fs.transform::<B>(&bad, Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("categorical_int('cyl')"), "{e}");
    // malformed and newer JSON
    assert!(FeatureSpace::from_json("{").is_err());
    let newer = fs
        .to_json()
        .replace("\"format_version\":1", "\"format_version\":99");
    let e = FeatureSpace::from_json(&newer).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
    let e = FeatureSpace::from_json(&fs.to_json().replace("categorical_int", "bogus")).unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
}

/// Hash bins, OOV, mask and padding columns together are capped at MAX_DECLARED_COLUMNS,
/// for built and for loaded spaces, before anything of that size is allocated (found by
/// the `feature_space` fuzz target: `"bins": 822222244` made `transform` allocate 9.8 GB;
/// see fuzz/regressions/feature_space/).
fn declared_columns_ceiling<B: Backend>() {
    let t = table();
    let max = MAX_DECLARED_COLUMNS;
    assert_eq!(max, 1 << 20);
    // at the ceiling: fine, one hot column per present row
    let mut fs = FeatureSpace::new().hashed("zip", max);
    fs.adapt(&t).unwrap();
    let x = fs.transform::<B>(&t, Device::Cpu).unwrap();
    assert_eq!(x.shape(), vec![5, max]);
    let ones: Vec<f32> = x
        .to_vec_f32()
        .unwrap()
        .chunks(max)
        .map(|r| r.iter().sum())
        .collect();
    assert_eq!(ones, [1.0, 0.0, 1.0, 1.0, 1.0]);
    // one column more, built or loaded, alone or with other features: refused by name
    let e = FeatureSpace::new()
        .hashed("zip", max + 1)
        .adapt(&t)
        .unwrap_err();
    assert!(
        e.to_string().contains("hashed('zip')") && e.to_string().contains("MAX_DECLARED_COLUMNS"),
        "{e}"
    );
    let e = FeatureSpace::new()
        .numeric("hp")
        .hashed("zip", max)
        .adapt(&t)
        .unwrap_err();
    assert!(e.to_string().contains("1 declared before it"), "{e}");
    let json = |bins: &str| {
        format!(
            r#"{{"class_name":"FeatureSpace","adapted":true,"features":[{{"name":"zip","kind":"hashed","bins":{bins}}}]}}"#
        )
    };
    assert!(FeatureSpace::from_json(&json(&max.to_string())).is_ok());
    for bins in ["822222244", "1000000000000", "18446744073709551615"] {
        let e = FeatureSpace::from_json(&json(bins)).unwrap_err();
        assert!(e.to_string().contains("hashed('zip')"), "{bins}: {e}");
    }
    // OOV indices of a loaded lookup count too; its vocabulary tokens do not
    let mut fs = FeatureSpace::new().categorical_string("origin");
    fs.adapt(&t).unwrap();
    let saved = fs.to_json();
    assert!(saved.contains("\"num_oov_indices\":1"), "{saved}");
    let e = FeatureSpace::from_json(
        &saved.replace("\"num_oov_indices\":1", "\"num_oov_indices\":2000000"),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("categorical_string('origin')"),
        "{e}"
    );
}

fn save_load_with_model<B: Backend>() {
    let csv = "mpg,cylinders,horsepower,weight,origin\n\
               18,8,130,3504,usa\n15,8,165,3693,usa\n24,4,95,2372,japan\n\
               26,4,,1835,europe\n21,6,85,2587,usa\n27,4,88,2130,japan\n\
               10,8,215,4615,usa\n31,4,65,1773,japan\n25,4,,2046,europe\n";
    let train = Table::from_csv_str(csv, &CsvOptions::new()).unwrap();
    let mut fs = FeatureSpace::new()
        .numeric("horsepower")
        .numeric("weight")
        .categorical_int("cylinders")
        .categorical_string("origin");
    fs.adapt(&train).unwrap();
    let dim = fs.output_dim().unwrap();
    let x = fs.transform::<B>(&train, Device::Cpu).unwrap();
    let y = train.to_tensor::<B>(&["mpg"], Device::Cpu).unwrap();
    let mut m = Sequential::<B>::new().with_seed(5);
    m.add(Input::new(&[dim])).unwrap();
    m.add(Dense::new(8).activation("relu")).unwrap();
    m.add(Dense::new(1)).unwrap();
    m.compile(stratanet::optimizers::Adam::new(0.05), "mse", &[])
        .unwrap();
    let h = m
        .fit(&x, &y, stratanet::FitOptions::new().epochs(30).verbose(0))
        .unwrap();
    let loss = h.history["loss"].clone();
    assert!(
        loss.last().unwrap() < &loss[0],
        "training lowers the loss: {loss:?}"
    );

    let (mp, fp) = (tmp("model.safetensors"), tmp("features.json"));
    m.save(&mp).unwrap();
    fs.save(&fp).unwrap();
    let m2 = Sequential::<B>::load(&mp).unwrap();
    let fs2 = FeatureSpace::load(&fp).unwrap();
    assert_eq!(fs2.to_json(), fs.to_json());
    assert_eq!(fs2.feature_names().unwrap(), fs.feature_names().unwrap());
    // new rows, with a missing value and an unseen category
    let new = Table::from_csv_str(
        "mpg,cylinders,horsepower,weight,origin\n0,5,,3000,mars\n0,4,90,2200,japan\n",
        &CsvOptions::new(),
    )
    .unwrap();
    let a = m
        .predict_with(fs.transform::<B>(&new, Device::Cpu).unwrap(), 8)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let b = m2
        .predict_with(fs2.transform::<B>(&new, Device::Cpu).unwrap(), 8)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_eq!(a, b);
    let e = FeatureSpace::load(tmp("absent.json")).unwrap_err();
    assert!(e.to_string().contains("absent.json"), "{e}");
    std::fs::remove_file(&mp).ok();
    std::fs::remove_file(&fp).ok();
}

engine_tests!(
    numeric,
    categories,
    errors,
    declared_columns_ceiling,
    save_load_with_model,
);
