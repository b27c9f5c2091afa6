//! (b) a hand-written training loop on tch: `nn::VarStore`, `nn` layers, `nn::Adam`; for
//! the CNN also in channels-last memory format (variant `raw_cl`), as a PyTorch user gets
//! with `model.to(memory_format=torch.channels_last)`.

use crate::{cuda_mem, make_data, permutation_as, AnyResult, CaseResult, CaseSpec, Workload};
use std::time::Instant;
use tch::nn::{self, Module, OptimizerConfig, RNN};
use tch::{Device, Kind, Tensor};

#[derive(Debug)]
struct LstmNet {
    lstm: nn::LSTM,
    head: nn::Linear,
}

impl Module for LstmNet {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let (out, _) = self.lstm.seq(xs);
        self.head.forward(&out.select(1, -1))
    }
}

fn build(w: Workload, root: &nn::Path) -> Box<dyn Module> {
    let lin = Default::default;
    match w {
        Workload::Mlp => Box::new(
            nn::seq()
                .add(nn::linear(root / "l1", 784, 512, lin()))
                .add_fn(|x| x.relu())
                .add(nn::linear(root / "l2", 512, 256, lin()))
                .add_fn(|x| x.relu())
                .add(nn::linear(root / "l3", 256, 10, lin())),
        ),
        Workload::Cnn => Box::new(
            nn::seq()
                .add(nn::conv2d(root / "c1", 1, 32, 3, Default::default()))
                .add_fn(|x| x.relu().max_pool2d_default(2))
                .add(nn::conv2d(root / "c2", 32, 64, 3, Default::default()))
                .add_fn(|x| x.relu().max_pool2d_default(2).flatten(1, -1))
                .add(nn::linear(root / "l1", 1600, 128, lin()))
                .add_fn(|x| x.relu())
                .add(nn::linear(root / "l2", 128, 10, lin())),
        ),
        Workload::Lstm => Box::new(LstmNet {
            lstm: nn::lstm(
                root / "lstm",
                32,
                128,
                nn::RNNConfig {
                    batch_first: true,
                    ..Default::default()
                },
            ),
            head: nn::linear(root / "head", 128, 10, lin()),
        }),
    }
}

/// `t [n, c, h, w]` copied into channels-last memory format: same shape, the strides of an
/// `[n, h, w, c]` layout, as `t.contiguous(memory_format=torch.channels_last)` makes (tch
/// has no memory-format argument). `permute(0, 2, 3, 1).contiguous()` is not enough: with
/// one channel the permuted view already counts as contiguous, keeps a stride of `h * w`
/// on the channel axis, and libtorch then picks its channels-first kernels (the input and
/// first convolution weight of this CNN, with one input channel, did until this helper).
fn to_channels_last(t: &Tensor) -> Tensor {
    let s = t.size();
    let (c, h, w) = (s[1], s[2], s[3]);
    let mut out = Tensor::empty_strided(
        s.as_slice(),
        [c * h * w, 1, w * c, c].as_slice(),
        (t.kind(), t.device()),
    );
    out.copy_(t);
    out
}

/// Puts the 4-D (convolution) weights of `vs` in channels-last memory format (see
/// [`to_channels_last`]), which libtorch's convolutions follow (their outputs come out
/// channels-last too).
fn weights_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut t) in vs.variables() {
            if t.dim() == 4 {
                t.set_data(&to_channels_last(&t));
            }
        }
    });
}

/// Runs the case; `channels_last` (CNN only): the model's convolution weights and the
/// input batches in channels-last memory format.
pub fn run(spec: &CaseSpec, channels_last: bool) -> AnyResult<CaseResult> {
    let w = spec.workload;
    tch::manual_seed(1);
    let n_data = spec.n.max(spec.n_predict);
    let (x, y) = make_data(w, n_data);
    let shape: Vec<i64> = match w {
        Workload::Mlp => vec![n_data as i64, 784],
        Workload::Cnn => vec![n_data as i64, 1, 28, 28],
        Workload::Lstm => vec![n_data as i64, 50, 32],
    };
    let dev = if spec.cuda {
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    // Reads the clock only after the device has finished the queued work.
    let sync = || {
        if spec.cuda {
            tch::Cuda::synchronize(0);
        }
    };
    let x = Tensor::from_slice(&x).view(shape.as_slice()).to_device(dev);
    if channels_last && w != Workload::Cnn {
        return Err("raw_cl: channels-last is for the cnn workload".into());
    }
    // Channels-last: the images stored [n, h, w, c]; each batch is a [b, c, h, w] slice
    // of that storage (channels-last strides, no copy).
    let x = if channels_last {
        to_channels_last(&x)
    } else {
        x
    };
    let y = Tensor::from_slice(&y).to_device(dev);
    let vs = nn::VarStore::new(dev);
    let model = build(w, &vs.root());
    if channels_last {
        weights_channels_last(&vs);
    }
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let bs = w.batch();
    let step = |opt: &mut nn::Optimizer, idx: &Tensor| {
        let xb = x.index_select(0, idx);
        let yb = y.index_select(0, idx);
        let loss = model.forward(&xb).cross_entropy_for_logits(&yb);
        opt.backward_step(&loss);
    };
    // Warm-up: 4 steps.
    for s in 0..4.min(spec.n / bs) {
        step(
            &mut opt,
            &Tensor::arange_start((s * bs) as i64, ((s + 1) * bs) as i64, (Kind::Int64, dev)),
        );
    }
    let mut result = CaseResult::default();
    if spec.cuda {
        cuda_mem::reset_peak(0);
    }
    let t = Instant::now();
    for epoch in 0..spec.epochs {
        let perm = Tensor::from_slice(&permutation_as::<i64>(spec.n, epoch)).to_device(dev);
        for start in (0..spec.n).step_by(bs) {
            let len = bs.min(spec.n - start);
            step(&mut opt, &perm.narrow(0, start as i64, len as i64));
        }
        // libtorch's allocator peak over the epoch (host bookkeeping, no sync).
        if let Some(m) = cuda_mem::stats(0).filter(|_| spec.cuda) {
            result.epochs.push(serde_json::json!({
                "epoch": epoch + 1,
                "gpu_peak_bytes": m.allocated_peak,
                "gpu_allocated_bytes": m.allocated,
                "gpu_reserved_peak_bytes": m.reserved_peak,
                "gpu_reserved_bytes": m.reserved,
            }));
            cuda_mem::reset_peak(0);
        }
    }
    sync();
    result.train_secs = t.elapsed().as_secs_f64();

    let predict = |n: usize| {
        tch::no_grad(|| {
            let outs: Vec<Tensor> = (0..n)
                .step_by(bs)
                .map(|s| model.forward(&x.narrow(0, s as i64, bs.min(n - s) as i64)))
                .collect();
            Tensor::cat(&outs, 0)
        })
    };
    if spec.n_predict > 0 {
        let _ = predict((2 * bs).min(spec.n_predict));
        let t = Instant::now();
        let mut p = predict(spec.n_predict);
        for _ in 1..spec.predict_passes {
            p = predict(spec.n_predict);
        }
        sync();
        result.predict_secs = t.elapsed().as_secs_f64();
        assert_eq!(p.size(), [spec.n_predict as i64, 10]);
    }
    Ok(result)
}
