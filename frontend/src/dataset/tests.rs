//! Tests of the dataset pipeline, end to end through `Dataset`.

use super::*;
use crate::backend::HostData;

fn host(n: usize) -> Dataset {
    let x = HostTensor::f32((0..2 * n).map(|v| v as f32).collect(), &[n, 2]).unwrap();
    let y = HostTensor::i64((0..n as i64).collect(), &[n]).unwrap();
    Dataset::from_host(vec![x], vec![y]).unwrap()
}

fn labels(bs: &[Batch]) -> Vec<Vec<i64>> {
    bs.iter().map(|b| b.y[0].data.to_i64_vec()).collect()
}

#[test]
fn batches_in_order() {
    let mut ds = host(5).batch(2);
    assert_eq!(ds.cardinality(), Some(3));
    let bs = ds.collect_epoch().unwrap();
    assert_eq!(labels(&bs), vec![vec![0, 1], vec![2, 3], vec![4]]);
    assert_eq!(bs[1].x[0].shape, vec![2, 2]);
    assert_eq!(bs[1].x[0].data.to_f32_vec(), vec![4.0, 5.0, 6.0, 7.0]);
    let mut ds = host(5).batch_drop_remainder(2);
    assert_eq!(ds.cardinality(), Some(2));
    assert_eq!(
        labels(&ds.collect_epoch().unwrap()),
        vec![vec![0, 1], vec![2, 3]]
    );
}

#[test]
fn shuffle_buffer_semantics() {
    // Buffer 1 keeps the order; a full buffer permutes; each pass reshuffles.
    let bs = host(10).shuffle(1, 3).batch(10).collect_epoch().unwrap();
    assert_eq!(labels(&bs), vec![(0..10).collect::<Vec<i64>>()]);
    let mut ds = host(10).shuffle(10, 3).batch(10);
    let a = labels(&ds.collect_epoch().unwrap())[0].clone();
    let b = labels(&ds.collect_epoch().unwrap())[0].clone();
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<i64>>());
    assert_ne!(a, (0..10).collect::<Vec<i64>>());
    assert_ne!(a, b, "a new order each pass");
    // Same seed and pass: same order; x rows follow their labels.
    let mut again = host(10).shuffle(10, 3).batch(10);
    let c = again.collect_epoch().unwrap();
    assert_eq!(labels(&c)[0], a);
    let x = c[0].x[0].data.to_f32_vec();
    for (i, l) in a.iter().enumerate() {
        assert_eq!(x[2 * i], (2 * l) as f32);
    }
    // A buffer of 2: element i comes out no earlier than position i - 1.
    let small = labels(&host(50).shuffle(2, 9).batch(50).collect_epoch().unwrap())[0].clone();
    for (pos, &v) in small.iter().enumerate() {
        assert!(v as usize <= pos + 1, "{v} at {pos}");
    }
}

#[test]
fn chunking_does_not_change_batches() {
    // The same samples handed down in chunks of 3, 7 or 4096 rows: identical batches,
    // with and without a sample-level map, for buffers smaller and larger than a chunk.
    for buffer in [1, 5, 13, 64] {
        let run = |chunk: usize| {
            let mut ds = host(40);
            if let Source::Host(b, _) = &ds.source {
                ds.source = Source::Host(b.clone(), chunk);
            }
            ds.shuffle(buffer, 11).map(Ok).batch(6).collect_epoch_test()
        };
        let whole = run(HOST_CHUNK);
        assert_eq!(whole.len(), 7);
        assert_eq!(run(3), whole, "buffer {buffer}");
        assert_eq!(run(7), whole, "buffer {buffer}");
    }
}

impl Dataset {
    fn collect_epoch_test(mut self) -> Vec<Batch> {
        self.collect_epoch().unwrap()
    }
}

#[test]
fn sample_map_and_batch_map() {
    let bs = host(4)
        .map(|mut s| {
            assert_eq!(s.x[0].shape, vec![2]);
            s.x[0].data =
                HostData::F32(s.x[0].data.to_f32_vec().iter().map(|v| v * 10.0).collect());
            Ok(s)
        })
        .batch(4)
        .map(|mut b| {
            assert_eq!(b.x[0].shape, vec![4, 2]);
            b.y[0].data = HostData::I64(b.y[0].data.to_i64_vec().iter().map(|v| v + 1).collect());
            Ok(b)
        })
        .collect_epoch_test();
    assert_eq!(bs[0].x[0].data.to_f32_vec()[..4], [0.0, 10.0, 20.0, 30.0]);
    assert_eq!(labels(&bs), vec![vec![1, 2, 3, 4]]);
}

#[test]
fn prefetch_matches_and_joins() {
    let plain = host(1000).shuffle(100, 5).batch(7).collect_epoch_test();
    let pre = host(1000)
        .shuffle(100, 5)
        .batch(7)
        .prefetch(2)
        .collect_epoch_test();
    assert_eq!(plain, pre);
    // Dropped mid-pass with a full channel: joins without hanging.
    let mut ds = host(10_000).batch(1).prefetch(1);
    assert!(ds.next_batch().unwrap().is_some());
    drop(ds);
}

#[test]
fn errors() {
    let x = HostTensor::f32(vec![0.0; 6], &[3, 2]).unwrap();
    let y = HostTensor::f32(vec![0.0; 4], &[4, 1]).unwrap();
    let e = Dataset::from_host(vec![x.clone()], vec![y])
        .unwrap_err()
        .to_string();
    assert!(e.contains("[3, 2]") && e.contains("[4, 1]"), "{e}");
    let e = HostTensor::f32(vec![0.0; 5], &[3, 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("[3, 2]"), "{e}");
    let mut ds = Dataset::from_host(vec![x], vec![]).unwrap().batch(0);
    let e = ds.next_batch().unwrap_err().to_string();
    assert!(
        e.contains("batch_size") && e.contains("Dataset::batch"),
        "{e}"
    );
    let e = host(3).shuffle(0, 1).next_batch().unwrap_err().to_string();
    assert!(e.contains("buffer_size"), "{e}");
    let e = host(3).prefetch(0).next_batch().unwrap_err().to_string();
    assert!(e.contains("prefetch"), "{e}");
}
