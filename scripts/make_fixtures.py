#!/usr/bin/env python3
"""PyTorch reference fixtures for stratanet's tests (tests/pytorch_fixtures.rs).

Run it through the venv `cargo xtask libtorch` installs (torch 2.11.0, safetensors, numpy):

    ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_fixtures.py [--out DIR]

It writes small `.safetensors` files into tests/fixtures/ (or DIR) and prints what it wrote.
Everything is seeded (torch.manual_seed) and computed in float32 on the CPU, so a rerun
reproduces the committed files (tests/pytorch_fixtures.rs reruns it into a temporary folder
and compares when STRATANET_PYTHON names this interpreter, as `cargo xtask test` does).

Tensors are float32 unless noted (sparse labels are int64; optimizer hyper-parameters are
float64 scalars). Names use `/` to group: `relu/out`, `adam/m`.

stratanet implements KERAS 3 semantics; where they differ from PyTorch's built-ins, the
reference is either chosen so that both agree exactly, or written as the Keras formula with
torch ops and checked here against the matching torch built-in:

- losses: per-sample values are means over the last axis for mse/mae/huber/binary CE (as
  Keras); probabilities are clipped to [1e-7, 1 - 1e-7] by Keras but not by torch, so the
  fixture probabilities stay far from the clip bounds (then clipping is the identity and
  its gradient is 1). Categorical CE on probabilities (dense and sparse) RENORMALISES the
  rows in Keras (p / sum(p)); the fixture rows are softmax outputs (normalised), so the
  values equal torch's -sum(y log p) / nll_loss(log p), but the gradient does not (the
  renormalisation adds sum(y)/sum(p) per element): the stored gradient is that of the
  Keras formula written with torch ops, and the script asserts its value agrees with the
  torch built-in.
- SGD: Keras' velocity form (v = m v - lr g; p += v, or p += m v - lr g with Nesterov)
  equals torch.optim.SGD (dampening 0) with v = -lr * momentum_buffer for a constant lr;
  the reference runs torch.optim.SGD and stores the Keras velocity. torch's weight_decay
  is a coupled L2 term (g += wd p); Keras' is decoupled (p -= lr wd p before the step), so
  for weight decay the script applies that decay with torch ops before each
  torch.optim.SGD(weight_decay=0) step and asserts it agrees with the whole Keras formula
  written out with torch ops.
- Adam: Keras adds epsilon to sqrt(v) and folds the bias corrections into
  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); torch adds it to sqrt(v_hat) = sqrt(v) /
  sqrt(1 - b2^t). torch.optim.Adam with a per-step eps_t = eps / sqrt(1 - b2^t) is therefore
  exactly Keras' Adam: the reference runs that, asserts it agrees with the Keras formula
  written with torch ops (rel 1e-6) and, for ordinary gradients, with plain
  torch.optim.Adam(eps=1e-7) within the Rust tests' tolerance (rel 1e-5, abs 1e-6; measured
  2e-6 relative: the only difference is eps * (1 - sqrt(1 - b2^t)) against sqrt(v) >= ~1e-2
  here); those plain-torch trajectories are stored as `*/params_torch_eps` for reference.
  `adam_tiny_grads` uses gradients of size ~1e-6, where the epsilon placement matters: there
  only the Keras reference is stored (and the script checks torch.optim.Adam(eps=1e-7)
  really differs). Keras' decoupled weight decay for Adam
  (p -= lr wd p before the step) is exactly torch.optim.AdamW's.
- optimizers_toolkit.safetensors (tests/optimizer_toolkit.rs): every Keras 3 optimizer
  with the shared options (weight decay, clipnorm, clipvalue, global_clipnorm, gradient
  accumulation, a schedule); which reference comes from torch.optim and which from the Keras
  formula, and how far torch's built-ins are, is written above optimizer_toolkit().
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)  # deterministic reduction order

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def close(a, b, rel, abs_=0.0, what=""):
    a = a.detach().double()
    b = b.detach().double()
    ok = torch.all((a - b).abs() <= abs_ + rel * torch.maximum(a.abs(), b.abs()))
    assert ok, f"{what}: max diff {(a - b).abs().max().item():.3e}\n{a}\n{b}"


def save(out_dir, name, tensors):
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    path = os.path.join(out_dir, name)
    # One metadata entry: safetensors writes a map's keys in no fixed order, and the files
    # should be byte-for-byte reproducible.
    save_file(tensors, path,
              metadata={"generator": f"scripts/make_fixtures.py, torch {torch.__version__}"})
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")
    for k in sorted(tensors):
        t = tensors[k]
        print(f"  {k:46s} {str(t.dtype).replace('torch.', ''):8s} {list(t.shape)}")


# ----------------------------------------------------------------------------- dense

def dense(out_dir):
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3)
    x = torch.randn(4, 5).requires_grad_(True)
    w = torch.randn(4, 3)  # fixed weighting of the outputs in the loss
    out = lin(x)
    loss = (out * w).sum()
    loss.backward()
    save(out_dir, "dense.safetensors", {
        "x": x,
        # Keras layout: kernel [in, units] = torch's weight [units, in] transposed.
        "kernel": lin.weight.T,
        "bias": lin.bias,
        "out": out,
        "loss_weight": w,
        "loss": loss.reshape(()),
        "grad_kernel": lin.weight.grad.T,
        "grad_bias": lin.bias.grad,
        "grad_x": x.grad,
    })


# ----------------------------------------------------------------------------- activations

def activations(out_dir):
    torch.manual_seed(1)
    # No exact zeros (kinks of relu/leaky_relu/elu); large magnitudes on both sides.
    x = torch.cat([
        torch.tensor([-80.0, -30.0, -12.5, -4.0, -1.5, -0.3, -1e-3, 2e-3, 0.25, 1.0, 3.0,
                      7.5, 19.0, 25.0, 40.0, 90.0]),
        torch.randn(8) * 2.0,
    ])
    # Softmax rows: ordinary, large spread (saturates), large common offset.
    x2 = torch.cat([
        torch.randn(1, 4),
        torch.tensor([[60.0, -40.0, 3.0, 59.0]]),
        torch.tensor([[1000.0, 1001.5, 998.0, 1000.5]]),
    ])
    w = torch.randn(x.shape)
    w2 = torch.randn(x2.shape)
    fns = {
        "relu": F.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": lambda t: F.gelu(t, approximate="none"),
        "silu": F.silu,
        "elu": lambda t: F.elu(t, alpha=1.0),
        "selu": F.selu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.2),
        "softplus": F.softplus,
    }
    out = {"x": x, "w": w, "x2d": x2, "w2d": w2}
    for name, fn in fns.items():
        xi = x.clone().requires_grad_(True)
        y = fn(xi)
        (y * w).sum().backward()
        out[f"{name}/out"] = y
        out[f"{name}/grad"] = xi.grad
    for name, fn in {"softmax": lambda t: F.softmax(t, dim=-1),
                     "log_softmax": lambda t: F.log_softmax(t, dim=-1)}.items():
        xi = x2.clone().requires_grad_(True)
        y = fn(xi)
        (y * w2).sum().backward()
        out[f"{name}/out"] = y
        out[f"{name}/grad"] = xi.grad
    save(out_dir, "activations.safetensors", out)


# ----------------------------------------------------------------------------- losses

def losses(out_dir):
    torch.manual_seed(2)
    n, d, k = 4, 3, 5
    tensors = {}

    def record(name, y_true, y_pred, torch_per_sample, keras_per_sample=None):
        """torch_per_sample: the torch built-in; keras_per_sample: the Keras formula in torch
        ops where the gradients differ (its value must agree with the built-in)."""
        p = y_pred.clone().requires_grad_(True)
        per = torch_per_sample(y_true, p)
        if keras_per_sample is not None:
            pk = y_pred.clone().requires_grad_(True)
            perk = keras_per_sample(y_true, pk)
            close(perk, per, 1e-6, 0.0, f"{name}: Keras formula vs torch")
            per, p = perk, pk
        mean = per.mean()
        mean.backward()
        tensors.update({
            f"{name}/y_true": y_true,
            f"{name}/y_pred": y_pred,
            f"{name}/per_sample": per,
            f"{name}/mean": mean.reshape(()),
            f"{name}/grad": p.grad,
        })

    # Regression: errors on both sides of the Huber delta (1.0).
    y_true = torch.randn(n, d)
    y_pred = y_true + torch.tensor([[0.3, -2.5, 0.9], [-0.05, 1.7, -0.6],
                                    [3.1, 0.2, -1.2], [-0.8, -0.4, 2.2]])
    mean_last = lambda f: (lambda t, p: f(p, t, reduction="none").mean(-1))
    record("mse", y_true, y_pred, mean_last(F.mse_loss))
    record("mae", y_true, y_pred, mean_last(F.l1_loss))
    record("huber", y_true, y_pred,
           lambda t, p: F.huber_loss(p, t, reduction="none", delta=1.0).mean(-1))

    # Binary: 0/1 targets plus a soft row; probabilities in [0.05, 0.95] (far from the clip).
    yb = (torch.rand(n, d) > 0.5).float()
    yb[3] = torch.tensor([0.25, 0.5, 0.9])
    logits = torch.randn(n, d) * 1.5
    probs = (torch.sigmoid(logits) * 0.9 + 0.05)
    record("binary_crossentropy", yb, probs,
           lambda t, p: F.binary_cross_entropy(p, t, reduction="none").mean(-1))
    record("binary_crossentropy_from_logits", yb, logits * 3.0,
           lambda t, p: F.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1))

    # Categorical: one-hot rows plus a soft row; probabilities are softmax rows (sum 1, all
    # entries well inside the clip bounds).
    labels = torch.randint(0, k, (n,), dtype=torch.int64)
    onehot = F.one_hot(labels, k).float()
    onehot[2] = torch.tensor([0.1, 0.2, 0.3, 0.15, 0.25])
    clogits = torch.randn(n, k) * 2.0
    cprobs = F.softmax(clogits, dim=-1)
    assert cprobs.min() > 1e-3 and cprobs.max() < 1 - 1e-3

    def keras_cce(t, p):
        p = p / p.sum(-1, keepdim=True)
        return -(t * torch.log(p.clamp(1e-7, 1 - 1e-7))).sum(-1)

    record("categorical_crossentropy", onehot, cprobs,
           lambda t, p: -(t * torch.log(p)).sum(-1), keras_cce)
    record("categorical_crossentropy_from_logits", onehot, clogits * 4.0,
           lambda t, p: F.cross_entropy(p, t, reduction="none"))

    def keras_scce(t, p):
        p = p / p.sum(-1, keepdim=True)
        return -torch.log(p.clamp(1e-7, 1 - 1e-7)).gather(1, t[:, None])[:, 0]

    record("sparse_categorical_crossentropy", labels, cprobs,
           lambda t, p: F.nll_loss(torch.log(p), t, reduction="none"), keras_scce)
    record("sparse_categorical_crossentropy_from_logits", labels, clogits * 4.0,
           lambda t, p: F.cross_entropy(p, t, reduction="none"))
    save(out_dir, "losses.safetensors", tensors)


# ----------------------------------------------------------------------------- optimizers

STEPS = 10


def run_torch(opt_fn, p0, grads, before_step=None):
    """Runs a torch optimizer over the fixed gradients; returns params after each step and
    the optimizer."""
    p = torch.nn.Parameter(p0.clone())
    opt = opt_fn([p])
    hist = []
    for t, g in enumerate(grads, start=1):
        if before_step is not None:
            before_step(opt, p, t)
        p.grad = g.clone()
        opt.step()
        hist.append(p.detach().clone())
    return torch.stack(hist), opt.state[p], p


def keras_sgd(p0, grads, lr, momentum, nesterov, wd):
    p = p0.clone()
    v = torch.zeros_like(p)
    hist = []
    for g in grads:
        if wd:
            p = p - p * (lr * wd)
        if momentum:
            v = momentum * v - lr * g
            p = p + (momentum * v - lr * g if nesterov else v)
        else:
            p = p - lr * g
        hist.append(p.clone())
    return torch.stack(hist), v


def keras_adam(p0, grads, lr, b1, b2, eps, wd):
    p = p0.clone()
    m = torch.zeros_like(p)
    v = torch.zeros_like(p)
    hist = []
    for t, g in enumerate(grads, start=1):
        if wd:
            p = p - p * (lr * wd)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        p = p - lr_t * m / (torch.sqrt(v) + eps)
        hist.append(p.clone())
    return torch.stack(hist), m, v


def optimizers(out_dir):
    torch.manual_seed(3)
    p0 = torch.randn(3, 4)
    grads = torch.randn(STEPS, 3, 4)
    tensors = {"param0": p0, "grads": grads, "grads_tiny": grads * 1e-6}
    f64 = lambda v: torch.tensor(float(v), dtype=torch.float64)

    for name, lr, mom, nest, wd in [
        ("sgd", 0.1, 0.0, False, 0.0),
        ("sgd_momentum", 0.1, 0.9, False, 0.0),
        ("sgd_nesterov", 0.1, 0.9, True, 0.0),
        ("sgd_momentum_wd", 0.1, 0.9, False, 0.05),
        ("sgd_nesterov_wd", 0.1, 0.9, True, 0.05),
    ]:
        def decay(opt, p, t, lr=lr, wd=wd):
            if wd:
                with torch.no_grad():
                    p.mul_(1 - lr * wd)  # Keras' decoupled weight decay

        hist, state, _ = run_torch(
            lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mom, nesterov=nest, dampening=0.0,
                                       weight_decay=0.0),
            p0, grads, decay)
        khist, kv = keras_sgd(p0, grads, lr, mom, nest, wd)
        close(hist, khist, 1e-5, 1e-6, f"{name}: torch.optim.SGD vs Keras formula")
        tensors[f"{name}/params"] = hist
        if mom:
            velocity = -lr * state["momentum_buffer"]  # Keras' velocity
            close(velocity, kv, 1e-5, 1e-6, f"{name}: velocity")
            tensors[f"{name}/velocity"] = velocity
        for k, v in {"lr": lr, "momentum": mom, "nesterov": float(nest),
                     "weight_decay": wd}.items():
            tensors[f"{name}/{k}"] = f64(v)

    b1, b2, eps = 0.9, 0.999, 1e-7
    for name, lr, wd, g in [
        ("adam", 0.01, 0.0, grads),
        ("adam_wd", 0.01, 0.1, grads),
        ("adam_tiny_grads", 0.01, 0.0, grads * 1e-6),
    ]:
        def keras_eps(opt, p, t):
            # torch adds eps to sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t): this is Keras' eps.
            opt.param_groups[0]["eps"] = eps / math.sqrt(1 - b2 ** t)

        cls = torch.optim.AdamW if wd else torch.optim.Adam
        hist, state, _ = run_torch(
            lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), p0, g, keras_eps)
        khist, km, kv = keras_adam(p0, g, lr, b1, b2, eps, wd)
        close(hist, khist, 1e-6, 1e-7, f"{name}: torch Adam with Keras eps vs Keras formula")
        close(state["exp_avg"], km, 1e-5, 1e-7, f"{name}: m")
        close(state["exp_avg_sq"], kv, 1e-5, 1e-9, f"{name}: v")
        plain, _, _ = run_torch(
            lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), p0, g)
        if name == "adam_tiny_grads":
            d = (plain - khist).abs().max().item()
            assert d > 1e-4, f"{name}: epsilon placement should matter here ({d})"
        else:
            # Documented tolerance between Keras' and PyTorch's epsilon placement.
            close(plain, khist, 1e-5, 1e-6, f"{name}: plain torch.optim.Adam vs Keras")
            tensors[f"{name}/params_torch_eps"] = plain
        tensors[f"{name}/params"] = hist
        tensors[f"{name}/m"] = state["exp_avg"]
        tensors[f"{name}/v"] = state["exp_avg_sq"]
        for k, v in {"lr": lr, "beta_1": b1, "beta_2": b2, "epsilon": eps,
                     "weight_decay": wd}.items():
            tensors[f"{name}/{k}"] = f64(v)
    save(out_dir, "optimizers.safetensors", tensors)



# ----------------------------------------------------------------------------- optimizer toolkit

# Keras 3 optimizers with their shared options, 10 calls with fixed gradients on two
# parameters (so that global_clipnorm has something to do). Each config is run by one
# driver that implements Keras' base optimizer in torch ops (gradient accumulation, then
# clipping, then decoupled weight decay p -= p * wd * lr, then the rule; the schedule is
# evaluated at the raw call count) and either
#   - a torch.optim built-in, where its rule equals Keras' (SGD for a constant rate; Adam /
#     AdamW / AMSGrad with eps_t = eps / sqrt(1 - b2^t); Adadelta; NAdam with
#     momentum_decay=1.0), with weight_decay=0 (the driver decays) except AdamW and NAdam,
#     whose decoupled decay is Keras'. The Keras formula written with torch ops is run too
#     and must agree (rel 1e-5, abs 1e-6);
#   - or the Keras formula written with torch ops, where torch differs (RMSprop, Adagrad
#     and Adamax put epsilon elsewhere; SGD with momentum under a changing rate keeps a
#     buffer without the rate; Lion is not in torch.optim). The script asserts how far the
#     torch built-in is (see TORCH_GAP below).
# Stored per config NAME: NAME/w and NAME/b (the parameters after every call, [10, ...]),
# NAME/var/<variable> (the final optimizer variables under stratanet's names, e.g.
# NAME/var/m/0, NAME/var/gradient_accumulator/count), NAME/iterations (applied updates)
# and NAME/hp/<key> (float64 hyper-parameters).

# Bounds on the maximum |param difference| over the 10 calls between torch's built-in and
# the Keras formula, where they differ (measured with torch 2.11, printed by the script):
# RMSprop 2.0e-4 (plain) and 1.5e-3 (centered, where v - avg^2 gets small): Keras adds
# epsilon under the square root, torch outside it; Adagrad 1.2e-7 and Adamax 6.0e-8: the
# epsilon placement is within float32 rounding here (accumulators >= 0.1, u >= |g|);
# SGD with momentum under a schedule 0.89: Keras' velocity keeps the past rates, torch's
# buffer is multiplied by the current one.
TORCH_GAP = {
    "rmsprop": (5e-5, 1e-3),
    "rmsprop_centered_momentum_wd": (5e-4, 5e-3),
    "adagrad_clipnorm": (0.0, 1e-6),
    "adamax_wd": (0.0, 1e-6),
    "sgd_momentum_schedule": (0.1, 2.0),
}


def keras_clip(gs, cfg):
    if cfg.get("clipnorm"):
        c = cfg["clipnorm"]
        return [g * c / torch.maximum(g.square().sum().sqrt(), torch.tensor(c)) for g in gs]
    if cfg.get("global_clipnorm"):
        c = cfg["global_clipnorm"]
        norm = torch.stack([g.square().sum() for g in gs]).sum().sqrt()
        scale = c * torch.minimum(1.0 / norm, torch.tensor(1.0 / c))
        return [g * scale for g in gs]
    if cfg.get("clipvalue"):
        v = cfg["clipvalue"]
        return [g.clamp(-v, v) for g in gs]
    return gs


def torch_clip_check(gs, cfg):
    """The clip against torch.nn.utils (which adds 1e-6 to the norm)."""
    mine = keras_clip(gs, cfg)
    ps = [torch.nn.Parameter(torch.zeros_like(g)) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    if cfg.get("clipnorm"):
        for p in ps:
            torch.nn.utils.clip_grad_norm_([p], cfg["clipnorm"])
    elif cfg.get("global_clipnorm"):
        torch.nn.utils.clip_grad_norm_(ps, cfg["global_clipnorm"])
    elif cfg.get("clipvalue"):
        torch.nn.utils.clip_grad_value_(ps, cfg["clipvalue"])
    for m, p in zip(mine, ps):
        close(m, p.grad, 1e-5, 1e-6, "clip vs torch.nn.utils")


def exp_decay(initial, steps, rate):
    return lambda t: initial * rate ** (t / steps)


def keras_rule(kind, cfg):
    """The Keras 3 update rule in torch ops: (p, g, state dict, lr, step) -> new p."""
    b1, b2 = cfg.get("beta_1"), cfg.get("beta_2")
    eps = cfg.get("epsilon")

    def zeros(st, k, p, init=0.0):
        if k not in st:
            st[k] = torch.full_like(p, init)
        return st[k]

    def sgd(p, g, st, lr, t):
        mom = cfg.get("momentum", 0.0)
        if not mom:
            return p - lr * g
        v = mom * zeros(st, "momentum", p) - lr * g
        st["momentum"] = v
        return p + (mom * v - lr * g if cfg.get("nesterov") else v)

    def adam(p, g, st, lr, t):
        m = zeros(st, "m", p) + (g - zeros(st, "m", p)) * (1 - b1)
        v = zeros(st, "v", p) + (g * g - zeros(st, "v", p)) * (1 - b2)
        st["m"], st["v"] = m, v
        if cfg.get("amsgrad"):
            v = torch.maximum(zeros(st, "vhat", p), v)
            st["vhat"] = v
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return p - m * alpha / (torch.sqrt(v) + eps)

    def rmsprop(p, g, st, lr, t):
        rho, mom = cfg["rho"], cfg.get("momentum", 0.0)
        vel = rho * zeros(st, "velocity", p) + (1 - rho) * g * g
        st["velocity"] = vel
        if cfg.get("centered"):
            avg = rho * zeros(st, "average_gradient", p) + (1 - rho) * g
            st["average_gradient"] = avg
            den = vel - avg * avg + eps
        else:
            den = vel + eps
        inc = lr * g / torch.sqrt(den)
        if mom:
            m = mom * zeros(st, "momentum", p) + inc
            st["momentum"] = m
            return p - m
        return p - inc

    def adagrad(p, g, st, lr, t):
        acc = zeros(st, "accumulator", p, cfg["initial_accumulator_value"]) + g * g
        st["accumulator"] = acc
        return p - lr * g / torch.sqrt(acc + eps)

    def adadelta(p, g, st, lr, t):
        rho = cfg["rho"]
        ag = rho * zeros(st, "accumulated_grad", p) + (1 - rho) * g * g
        ad = zeros(st, "accumulated_delta_var", p)
        delta = -torch.sqrt(ad + eps) * g / torch.sqrt(ag + eps)
        st["accumulated_grad"] = ag
        st["accumulated_delta_var"] = rho * ad + (1 - rho) * delta * delta
        return p + lr * delta

    def adamax(p, g, st, lr, t):
        m = zeros(st, "m", p) + (g - zeros(st, "m", p)) * (1 - b1)
        u = torch.maximum(b2 * zeros(st, "u", p), g.abs())
        st["m"], st["u"] = m, u
        return p - lr * m / ((1 - b1 ** t) * (u + eps))

    def nadam(p, g, st, lr, t):
        u = lambda i: b1 * (1.0 - 0.5 * 0.96 ** i)
        u_prod = math.prod(u(i) for i in range(1, t + 1))
        u_t, u_t1 = u(t), u(t + 1)
        m = zeros(st, "m", p) + (g - zeros(st, "m", p)) * (1 - b1)
        v = zeros(st, "v", p) + (g * g - zeros(st, "v", p)) * (1 - b2)
        st["m"], st["v"] = m, v
        m_hat = u_t1 * m / (1 - u_prod * u_t1) + (1 - u_t) * g / (1 - u_prod)
        v_hat = v / (1 - b2 ** t)
        return p - m_hat * lr / (torch.sqrt(v_hat) + eps)

    def lion(p, g, st, lr, t):
        m = zeros(st, "momentum", p)
        c = m * b1 + g * (1 - b1)
        # sign() of a value near 0 could flip between engines: keep the fixture clear of it
        assert c.abs().min() > 1e-4, f"lion: sign argument too close to 0 ({c.abs().min()})"
        st["momentum"] = m * b2 + g * (1 - b2)
        return p - lr * torch.sign(c)

    return {"sgd": sgd, "adam": adam, "adamw": adam, "rmsprop": rmsprop, "adagrad": adagrad,
            "adadelta": adadelta, "adamax": adamax, "nadam": nadam, "lion": lion}[kind]


def torch_builtin(kind, cfg):
    """(constructor, per-step hook, state-name map) for torch's own optimizer."""
    eps, b1, b2 = cfg.get("epsilon"), cfg.get("beta_1"), cfg.get("beta_2")
    if kind == "sgd":
        return (lambda ps: torch.optim.SGD(ps, lr=cfg["lr"], momentum=cfg.get("momentum", 0.0),
                                           nesterov=bool(cfg.get("nesterov")), dampening=0.0),
                None, {"momentum_buffer": "momentum"})
    if kind in ("adam", "adamw"):
        def keras_eps(opt, t):
            opt.param_groups[0]["eps"] = eps / math.sqrt(1 - b2 ** t)
        if kind == "adamw":
            ctor = lambda ps: torch.optim.AdamW(ps, lr=cfg["lr"], betas=(b1, b2), eps=eps,
                                                weight_decay=cfg["weight_decay"],
                                                amsgrad=bool(cfg.get("amsgrad")))
        else:
            ctor = lambda ps: torch.optim.Adam(ps, lr=cfg["lr"], betas=(b1, b2), eps=eps,
                                               amsgrad=bool(cfg.get("amsgrad")))
        return ctor, keras_eps, {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vhat"}
    if kind == "rmsprop":
        return (lambda ps: torch.optim.RMSprop(ps, lr=cfg["lr"], alpha=cfg["rho"], eps=eps,
                                               momentum=cfg.get("momentum", 0.0),
                                               centered=bool(cfg.get("centered"))),
                None, {"square_avg": "velocity", "grad_avg": "average_gradient"})
    if kind == "adagrad":
        return (lambda ps: torch.optim.Adagrad(
                    ps, lr=cfg["lr"], eps=eps,
                    initial_accumulator_value=cfg["initial_accumulator_value"]),
                None, {"sum": "accumulator"})
    if kind == "adadelta":
        return (lambda ps: torch.optim.Adadelta(ps, lr=cfg["lr"], rho=cfg["rho"], eps=eps),
                None, {"square_avg": "accumulated_grad", "acc_delta": "accumulated_delta_var"})
    if kind == "adamax":
        return (lambda ps: torch.optim.Adamax(ps, lr=cfg["lr"], betas=(b1, b2), eps=eps),
                None, {"exp_avg": "m", "exp_inf": "u"})
    if kind == "nadam":
        return (lambda ps: torch.optim.NAdam(ps, lr=cfg["lr"], betas=(b1, b2), eps=eps,
                                             momentum_decay=1.0,
                                             weight_decay=cfg.get("weight_decay", 0.0),
                                             decoupled_weight_decay=True),
                None, {"exp_avg": "m", "exp_avg_sq": "v"})
    return None


def drive(kind, cfg, w0, b0, gw, gb, use_torch):
    """Keras' base optimizer around either torch's optimizer or the Keras rule."""
    params = [torch.nn.Parameter(w0.clone()), torch.nn.Parameter(b0.clone())]
    n_acc = cfg.get("accumulation")
    schedule = cfg.get("schedule") or (lambda t: cfg["lr"])
    wd = cfg.get("weight_decay")
    # torch's AdamW / NAdam decay the weights themselves (decoupled, as Keras)
    driver_decays = wd and not (use_torch and kind in ("adamw", "nadam"))
    if use_torch:
        ctor, hook, names = torch_builtin(kind, cfg)
        opt = ctor(params)
    else:
        rule = keras_rule(kind, cfg)
        states = [{}, {}]
    acc = [torch.zeros_like(p) for p in params]
    calls = 0
    hist_w, hist_b = [], []
    for t in range(STEPS):
        gs = [gw[t].clone(), gb[t].clone()]
        update = True
        if n_acc:
            if (calls + 1) % n_acc != 0:
                acc = [a + g for a, g in zip(acc, gs)]
                update = False
            else:
                gs = [(g + a) / n_acc for g, a in zip(gs, acc)]
                acc = [torch.zeros_like(a) for a in acc]
        if update:
            torch_clip_check(gs, cfg)
            gs = keras_clip(gs, cfg)
            lr = schedule(calls)
            step = calls // (n_acc or 1) + 1
            with torch.no_grad():
                if driver_decays:
                    for p in params:
                        p.copy_(p - p * (wd * lr))
                if use_torch:
                    opt.param_groups[0]["lr"] = lr
                    if hook:
                        hook(opt, step)
                    for p, g in zip(params, gs):
                        p.grad = g
                    opt.step()
                else:
                    for p, g, st in zip(params, gs, states):
                        p.copy_(rule(p.detach().clone(), g, st, lr, step))
        calls += 1
        hist_w.append(params[0].detach().clone())
        hist_b.append(params[1].detach().clone())
    # final variables under stratanet's names
    var = {}
    for i, p in enumerate(params):
        st = {names[k]: v for k, v in opt.state[p].items() if k in names} if use_torch \
            else states[i]
        if use_torch and kind == "sgd" and "momentum" in st:
            st["momentum"] = -cfg["lr"] * st["momentum"]  # Keras' velocity (constant rate)
        for k, v in st.items():
            var[f"{k}/{i}"] = v.detach().clone()
        if n_acc:
            var[f"gradient_accumulator/{i}"] = acc[i]
    if n_acc:
        var["gradient_accumulator/count"] = torch.tensor(float(calls % n_acc))
    return torch.stack(hist_w), torch.stack(hist_b), var, calls // (n_acc or 1)


def optimizer_toolkit(out_dir):
    torch.manual_seed(4)
    w0 = torch.randn(3, 4)
    b0 = torch.randn(5)
    # per-call gradient scales: clipping is active on some calls and not on others
    scale = torch.tensor([0.3, 1.5, 0.8, 2.5, 0.1, 1.0, 3.0, 0.5, 1.2, 0.05])
    gw = torch.randn(STEPS, 3, 4) * scale[:, None, None]
    gb = torch.randn(STEPS, 5) * scale[:, None]
    tensors = {"w0": w0, "b0": b0, "grads_w": gw, "grads_b": gb}
    adam_hp = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    configs = [
        # name, kind, reference ("torch" or "keras"), hyper-parameters
        ("sgd_nesterov_wd_clipnorm", "sgd", "torch",
         {"lr": 0.05, "momentum": 0.9, "nesterov": 1.0, "weight_decay": 0.01,
          "clipnorm": 2.0}),
        ("sgd_accum4_clipvalue", "sgd", "torch",
         {"lr": 0.1, "clipvalue": 0.7, "accumulation": 4}),
        ("sgd_momentum_schedule", "sgd", "keras",
         {"lr": 0.1, "momentum": 0.9, "exp_decay_steps": 3, "exp_decay_rate": 0.5}),
        ("adam_amsgrad_clipvalue", "adam", "torch",
         {"lr": 0.01, **adam_hp, "amsgrad": 1.0, "clipvalue": 0.5}),
        ("adam_accum3_schedule", "adam", "torch",
         {"lr": 0.02, **adam_hp, "accumulation": 3, "exp_decay_steps": 4,
          "exp_decay_rate": 0.5}),
        ("adamw_global_clipnorm", "adamw", "torch",
         {"lr": 0.01, **adam_hp, "weight_decay": 0.05, "global_clipnorm": 2.0}),
        ("rmsprop", "rmsprop", "keras", {"lr": 0.01, "rho": 0.9, "epsilon": 1e-7}),
        ("rmsprop_centered_momentum_wd", "rmsprop", "keras",
         {"lr": 0.01, "rho": 0.9, "epsilon": 1e-7, "momentum": 0.9, "centered": 1.0,
          "weight_decay": 0.02}),
        ("adagrad_clipnorm", "adagrad", "keras",
         {"lr": 0.1, "initial_accumulator_value": 0.1, "epsilon": 1e-7, "clipnorm": 1.0}),
        ("adadelta_accum2", "adadelta", "torch",
         {"lr": 1.0, "rho": 0.95, "epsilon": 1e-7, "accumulation": 2}),
        ("adamax_wd", "adamax", "keras", {"lr": 0.02, **adam_hp, "weight_decay": 0.01}),
        ("nadam_wd_global_clipnorm", "nadam", "torch",
         {"lr": 0.01, **adam_hp, "weight_decay": 0.01, "global_clipnorm": 1.5}),
        ("lion_wd_clipnorm", "lion", "keras",
         {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.1, "clipnorm": 1.0}),
    ]
    for name, kind, ref, hp in configs:
        cfg = dict(hp)
        if "exp_decay_steps" in cfg:
            cfg["schedule"] = exp_decay(cfg["lr"], cfg["exp_decay_steps"], cfg["exp_decay_rate"])
        kw, kb, kvar, iters = drive(kind, cfg, w0, b0, gw, gb, use_torch=False)
        if ref == "torch":
            w, b, var, iters_t = drive(kind, cfg, w0, b0, gw, gb, use_torch=True)
            assert iters_t == iters
            close(w, kw, 1e-5, 1e-6, f"{name}: torch.optim vs Keras formula (w)")
            close(b, kb, 1e-5, 1e-6, f"{name}: torch.optim vs Keras formula (b)")
            assert sorted(var) == sorted(kvar), f"{name}: {sorted(var)} vs {sorted(kvar)}"
            for k in var:
                close(var[k], kvar[k], 1e-5, 1e-6, f"{name}: variable {k}")
        else:
            w, b, var = kw, kb, kvar
            if torch_builtin(kind, cfg) is not None:
                tw, tb, _, _ = drive(kind, cfg, w0, b0, gw, gb, use_torch=True)
                gap = max((tw - kw).abs().max().item(), (tb - kb).abs().max().item())
                lo, hi = TORCH_GAP[name]
                print(f"  {name}: torch.optim built-in differs from Keras by {gap:.2e}")
                assert lo <= gap < hi, f"{name}: torch gap {gap} outside ({lo}, {hi})"
        tensors[f"{name}/w"] = w
        tensors[f"{name}/b"] = b
        tensors[f"{name}/iterations"] = torch.tensor(float(iters), dtype=torch.float64)
        for k, v in var.items():
            tensors[f"{name}/var/{k}"] = v
        for k, v in hp.items():
            tensors[f"{name}/hp/{k}"] = torch.tensor(float(v), dtype=torch.float64)
    save(out_dir, "optimizers_toolkit.safetensors", tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures"),
                    help="output folder (default: tests/fixtures)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    dense(args.out)
    activations(args.out)
    losses(args.out)
    optimizers(args.out)
    optimizer_toolkit(args.out)


if __name__ == "__main__":
    main()
