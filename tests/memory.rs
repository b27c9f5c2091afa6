//! candle keeps the autograd graph of every tensor computed from a parameter alive for as
//! long as the tensor lives. `predict` and `evaluate` must hold only detached results, so
//! their peak memory must not grow with the number of batches (DESIGN.md).
//!
//! One test per binary: the process' peak RSS (`VmHWM`) is global.

#[cfg(target_os = "linux")]
#[test]
fn predict_and_evaluate_peak_rss_does_not_grow_with_batches() {
    use stratanet::prelude::*;
    use stratanet::DefaultBackend as B;

    fn peak_rss_mb() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb / 1024.0
    }

    let mut m = Sequential::<B>::new().with_seed(0);
    m.add(Input::new(&[64])).unwrap();
    m.add(Dense::new(512).activation("relu")).unwrap();
    m.add(Dense::new(512).activation("relu")).unwrap();
    m.add(Dense::new(10).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();

    let n = 20_000;
    let x = Tensor::<B>::uniform(&[n, 64], 0.0, 1.0, 1, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), &[n]).unwrap();
    let small_x = x.narrow(0, 0, 1_000).unwrap();
    let small_y = y.narrow(0, 0, 1_000).unwrap();

    // Warm up allocators with the small runs (10 batches each), then run 200 batches.
    m.predict(&small_x, 100).unwrap();
    m.evaluate(&small_x, &small_y, 100).unwrap();
    let before = peak_rss_mb();
    let out = m.predict(&x, 100).unwrap();
    assert_eq!(out.shape(), vec![n, 10]);
    m.evaluate(&x, &y, 100).unwrap();
    let after = peak_rss_mb();
    // Outputs kept by predict: 20,000 x 10 f32 = 0.8 MB. A retained graph would keep about
    // 2 x 100 x 512 x 4 bytes = 0.4 MB of activations per batch, 80 MB for 200 batches.
    println!("peak RSS: {before:.1} MB after 10 batches, {after:.1} MB after 200 batches");
    assert!(
        after - before < 25.0,
        "peak RSS grew by {:.1} MB over 190 more batches",
        after - before
    );
}
