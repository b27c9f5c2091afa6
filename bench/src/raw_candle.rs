//! (b) a hand-written training loop on candle-core: `Var`s, `backward`, a hand-written
//! Adam (what a candle user writes; candle-nn's `AdamW` is the same unfused arithmetic).

use crate::{make_data, permutation_as, AnyResult, CaseResult, CaseSpec, Workload};
use candle_core::{DType, Device, Tensor, Var, D};
use std::time::Instant;

type R<T> = candle_core::Result<T>;

/// Glorot-uniform weight `[fan_in, fan_out]` (or a conv kernel with the given shape).
fn glorot(shape: &[usize], fan_in: usize, fan_out: usize, dev: &Device) -> R<Var> {
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
    let mut rng = stratanet::random::Rng::new((fan_in * 31 + fan_out) as u64);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.uniform(-a, a) as f32).collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, dev)?)
}

fn zeros(n: usize, dev: &Device) -> R<Var> {
    Var::zeros(n, DType::F32, dev)
}

/// For each `(shape, fan_in, fan_out, bias)` row, a [`glorot`] kernel and a zero bias of
/// `bias` entries, in row order.
fn kernels_and_biases(layers: &[(&[usize], usize, usize, usize)], dev: &Device) -> R<Vec<Var>> {
    let mut vars = Vec::with_capacity(2 * layers.len());
    for &(shape, fan_in, fan_out, bias) in layers {
        vars.push(glorot(shape, fan_in, fan_out, dev)?);
        vars.push(zeros(bias, dev)?);
    }
    Ok(vars)
}

fn sigmoid(t: &Tensor) -> R<Tensor> {
    t.affine(0.5, 0.0)?.tanh()?.affine(0.5, 0.5)
}

struct Net {
    w: Workload,
    vars: Vec<Var>,
}

impl Net {
    fn new(w: Workload, dev: &Device) -> R<Self> {
        let vars = match w {
            Workload::Mlp => kernels_and_biases(
                &[
                    (&[784, 512], 784, 512, 512),
                    (&[512, 256], 512, 256, 256),
                    (&[256, 10], 256, 10, 10),
                ],
                dev,
            )?,
            Workload::Cnn => kernels_and_biases(
                &[
                    (&[32, 1, 3, 3], 9, 32 * 9, 32),
                    (&[64, 32, 3, 3], 32 * 9, 64 * 9, 64),
                    (&[1600, 128], 1600, 128, 128),
                    (&[128, 10], 128, 10, 10),
                ],
                dev,
            )?,
            Workload::Lstm => vec![
                glorot(&[32, 512], 32, 512, dev)?,
                glorot(&[128, 512], 128, 512, dev)?,
                zeros(512, dev)?,
                glorot(&[128, 10], 128, 10, dev)?,
                zeros(10, dev)?,
            ],
        };
        Ok(Self { w, vars })
    }

    fn forward(&self, x: &Tensor) -> R<Tensor> {
        let v = &self.vars;
        let dense = |x: &Tensor, w: &Var, b: &Var| x.matmul(w)?.broadcast_add(b);
        match self.w {
            Workload::Mlp => {
                let h = dense(x, &v[0], &v[1])?.relu()?;
                let h = dense(&h, &v[2], &v[3])?.relu()?;
                dense(&h, &v[4], &v[5])
            }
            Workload::Cnn => {
                let h = x
                    .conv2d(&v[0], 0, 1, 1, 1)?
                    .broadcast_add(&v[1].reshape((1, 32, 1, 1))?)?
                    .relu()?
                    .max_pool2d(2)?;
                let h = h
                    .conv2d(&v[2], 0, 1, 1, 1)?
                    .broadcast_add(&v[3].reshape((1, 64, 1, 1))?)?
                    .relu()?
                    .max_pool2d(2)?
                    .flatten_from(1)?;
                let h = dense(&h, &v[4], &v[5])?.relu()?;
                dense(&h, &v[6], &v[7])
            }
            Workload::Lstm => {
                let (b, t, f) = x.dims3()?;
                let units = 128;
                let xw = x
                    .reshape((b * t, f))?
                    .matmul(&v[0])?
                    .broadcast_add(&v[2])?
                    .reshape((b, t, 4 * units))?;
                let mut h = Tensor::zeros((b, units), DType::F32, x.device())?;
                let mut c = h.clone();
                for s in 0..t {
                    let z = (xw.narrow(1, s, 1)?.squeeze(1)? + h.matmul(&v[1])?)?;
                    let i = sigmoid(&z.narrow(1, 0, units)?)?;
                    let fg = sigmoid(&z.narrow(1, units, units)?)?;
                    let g = z.narrow(1, 2 * units, units)?.tanh()?;
                    let o = sigmoid(&z.narrow(1, 3 * units, units)?)?;
                    c = ((fg * c)? + (i * g)?)?;
                    h = (o * c.tanh()?)?;
                }
                dense(&h, &v[3], &v[4])
            }
        }
    }
}

/// Mean softmax cross-entropy of `logits` `[B, 10]` against labels `[B]` (u32).
fn cross_entropy(logits: &Tensor, labels: &Tensor) -> R<Tensor> {
    let m = logits.max_keepdim(D::Minus1)?;
    let shifted = logits.broadcast_sub(&m)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = shifted.broadcast_sub(&lse)?;
    logp.gather(&labels.unsqueeze(1)?, 1)?.mean_all()?.neg()
}

/// Adam as a candle user writes it (Keras' epsilon placement, like stratanet's).
struct Adam {
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: i32,
}

impl Adam {
    fn new(vars: &[Var]) -> R<Self> {
        let z = |v: &Var| v.zeros_like();
        Ok(Self {
            m: vars.iter().map(z).collect::<R<_>>()?,
            v: vars.iter().map(z).collect::<R<_>>()?,
            t: 0,
        })
    }

    fn step(&mut self, vars: &[Var], loss: &Tensor) -> R<()> {
        let (lr, b1, b2, eps) = (1e-3f64, 0.9f64, 0.999f64, 1e-7f64);
        let grads = loss.backward()?;
        self.t += 1;
        let lr_t = lr * (1.0 - b2.powi(self.t)).sqrt() / (1.0 - b1.powi(self.t));
        for (i, var) in vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            self.m[i] = (self.m[i].affine(b1, 0.0)? + g.affine(1.0 - b1, 0.0)?)?;
            self.v[i] = (self.v[i].affine(b2, 0.0)? + g.sqr()?.affine(1.0 - b2, 0.0)?)?;
            let upd = self.m[i]
                .div(&self.v[i].sqrt()?.affine(1.0, eps)?)?
                .affine(lr_t, 0.0)?;
            var.set(&var.as_tensor().sub(&upd)?)?;
        }
        Ok(())
    }
}

/// The candle device of a case: the first GPU with `--device cuda` (bench feature `cuda`).
fn device(cuda: bool) -> AnyResult<Device> {
    match cuda {
        false => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        true => Ok(Device::new_cuda(0)?),
        #[cfg(not(feature = "cuda"))]
        true => Err("raw candle loop: this bench was built without its `cuda` feature".into()),
    }
}

/// Waits for the device's queued work (a no-op on the CPU), so that timings are whole.
fn sync(dev: &Device) -> AnyResult<()> {
    Ok(dev.synchronize()?)
}

pub fn run(spec: &CaseSpec) -> AnyResult<CaseResult> {
    let w = spec.workload;
    let dev = device(spec.cuda)?;
    let n_data = spec.n.max(spec.n_predict);
    let (x, y) = make_data(w, n_data);
    let x = match w {
        Workload::Mlp => Tensor::from_vec(x, (n_data, 784), &dev)?,
        // One channel: NHWC and NCHW hold the same bytes.
        Workload::Cnn => Tensor::from_vec(x, (n_data, 1, 28, 28), &dev)?,
        Workload::Lstm => Tensor::from_vec(x, (n_data, 50, 32), &dev)?,
    };
    let y = Tensor::from_vec(
        y.into_iter().map(|v| v as u32).collect::<Vec<_>>(),
        n_data,
        &dev,
    )?;
    let net = Net::new(w, &dev)?;
    let mut adam = Adam::new(&net.vars)?;
    let bs = w.batch();
    let step = |adam: &mut Adam, idx: &Tensor| -> R<()> {
        let xb = x.index_select(idx, 0)?;
        let yb = y.index_select(idx, 0)?;
        let loss = cross_entropy(&net.forward(&xb)?, &yb)?;
        adam.step(&net.vars, &loss)
    };
    for s in 0..4.min(spec.n / bs) {
        step(
            &mut adam,
            &Tensor::arange((s * bs) as u32, ((s + 1) * bs) as u32, &dev)?,
        )?;
    }
    sync(&dev)?;
    let mut result = CaseResult::default();
    let t = Instant::now();
    for epoch in 0..spec.epochs {
        let perm = Tensor::from_vec(permutation_as::<u32>(spec.n, epoch), spec.n, &dev)?;
        for start in (0..spec.n).step_by(bs) {
            let len = bs.min(spec.n - start);
            step(&mut adam, &perm.narrow(0, start, len)?)?;
        }
    }
    sync(&dev)?;
    result.train_secs = t.elapsed().as_secs_f64();

    // candle has no no-grad mode: detach each batch's output (docs/ARCHITECTURE.md).
    let predict = |n: usize| -> R<Tensor> {
        let outs = (0..n)
            .step_by(bs)
            .map(|s| Ok(net.forward(&x.narrow(0, s, bs.min(n - s))?)?.detach()))
            .collect::<R<Vec<_>>>()?;
        Tensor::cat(&outs, 0)
    };
    if spec.n_predict > 0 {
        let _ = predict((2 * bs).min(spec.n_predict))?;
        let t = Instant::now();
        let mut p = predict(spec.n_predict)?;
        for _ in 1..spec.predict_passes {
            p = predict(spec.n_predict)?;
        }
        sync(&dev)?;
        result.predict_secs = t.elapsed().as_secs_f64();
        assert_eq!(p.dims(), [spec.n_predict, 10]);
    }
    Ok(result)
}
