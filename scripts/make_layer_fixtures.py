#!/usr/bin/env python3
"""PyTorch reference fixtures for stratanet's convolution, pooling, normalization and
reshaping layers (tests/conv_layers.rs, tests/norm_layers.rs, tests/shape_layers.rs).

Run it through the venv `cargo xtask libtorch` installs (torch 2.11.0, safetensors, numpy):

    ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_layer_fixtures.py [--out DIR]

It writes tests/fixtures/layers_{conv,pool,norm,shape}.safetensors (float32, seeded, CPU).
Names group by case: `c2_same/x`, `c2_same/kernel`, `c2_same/out`, `c2_same/grad_x`.

Layouts follow KERAS: inputs are channels-last (`[N, H, W, C]`, `[N, L, C]`), kernels are
stored as Keras stores them (the test assigns them to the layer as they are):
Conv2D `[kh, kw, in/groups, filters]`, Conv1D `[k, in/groups, filters]`, Conv2DTranspose
`[kh, kw, filters, in]`, DepthwiseConv2D `[kh, kw, in, multiplier]`, SeparableConv2D
depthwise `[kh, kw, in, multiplier]` + pointwise `[1, 1, in*multiplier, filters]`. The
script converts them to torch's layouts and computes with torch ops, where Keras
(TensorFlow) semantics differ from torch's built-ins:

- padding 'same': out = ceil(in / stride), total = max((out-1)*stride + k_eff - in, 0),
  `total // 2` before and the rest AFTER (torch's padding='same' is symmetric and refuses
  strides): the input is padded explicitly with F.pad, then conv with padding 0.
- Conv2DTranspose: output length per axis as Keras (no output_padding: in*s for same,
  in*s + max(k-s, 0) for valid; with it: (in-1)*s + k - 2*(k//2 if same) + output_padding);
  TensorFlow crops `max(full - len, 0) // 2` entries at the start of the full transposed
  convolution (same; 0 for valid) and pads zeros at the end when it is short.
- max pooling 'same' pads with -inf; average pooling 'same' divides each window by the
  number of real entries (torch's avg_pool2d(count_include_pad=False) on an explicitly
  zero-padded input would count the padding, so the reference is sum / count with both
  pooled from padded tensors).
- BatchNormalization: Keras' momentum m is torch's 1 - m, and Keras updates the moving
  variance with the BIASED batch variance where torch's running_var uses the unbiased one:
  the script runs F.batch_norm(training=True), asserts torch's running stats equal
  m*old + (1-m)*{mean, unbiased var}, and stores Keras' moving stats (biased variance).

Gradients are those of `sum(out * loss_weight)` with respect to the input and every weight.
"""

import torch
import torch.nn.functional as F

import fixture_io

torch.set_default_dtype(torch.float32)


def same_pads(n, k, s, d=1):
    k_eff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def nhwc(x):
    return x.permute(0, 3, 1, 2)


def to_nhwc(y):
    return y.permute(0, 2, 3, 1).contiguous()


def with_grads(store, case, x, weights, fn):
    """Runs fn(x, *weights) -> out; stores out, loss weight, loss and gradients."""
    x = x.clone().requires_grad_(True)
    ws = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    out = fn(x, **ws)
    lw = torch.randn(out.shape)
    loss = (out * lw).sum()
    grads = torch.autograd.grad(loss, [x] + list(ws.values()))
    store[f"{case}/x"] = x.detach()
    for k, v in ws.items():
        store[f"{case}/{k}"] = v.detach()
    store[f"{case}/out"] = out.detach().contiguous()
    store[f"{case}/loss_weight"] = lw
    store[f"{case}/loss"] = loss.detach()
    store[f"{case}/grad_x"] = grads[0]
    for (k, _), g in zip(ws.items(), grads[1:]):
        store[f"{case}/grad_{k}"] = g


# ------------------------------------------------------------------------ convolutions


def conv2d_keras(x, kernel, bias, strides, padding, dilation, groups):
    """Keras Conv2D on NHWC with a [kh, kw, in/g, f] kernel."""
    kh, kw = kernel.shape[0], kernel.shape[1]
    xc = nhwc(x)
    if padding == "same":
        ph = same_pads(xc.shape[2], kh, strides[0], dilation[0])
        pw = same_pads(xc.shape[3], kw, strides[1], dilation[1])
        xc = F.pad(xc, (pw[0], pw[1], ph[0], ph[1]))
    w = kernel.permute(3, 2, 0, 1)
    y = F.conv2d(xc, w, bias, stride=strides, dilation=dilation, groups=groups)
    return to_nhwc(y)


def conv1d_keras(x, kernel, bias, stride, padding, dilation, groups):
    """Keras Conv1D on [N, L, C] with a [k, in/g, f] kernel."""
    k = kernel.shape[0]
    xc = x.permute(0, 2, 1)
    if padding == "same":
        xc = F.pad(xc, same_pads(xc.shape[2], k, stride, dilation))
    elif padding == "causal":
        xc = F.pad(xc, ((k - 1) * dilation, 0))
    y = F.conv1d(xc, kernel.permute(2, 1, 0), bias, stride=stride, dilation=dilation, groups=groups)
    return y.permute(0, 2, 1).contiguous()


def conv_transpose2d_keras(x, kernel, bias, strides, padding, output_padding, dilation):
    """Keras/TensorFlow Conv2DTranspose on NHWC with a [kh, kw, f, in] kernel."""
    xc = nhwc(x)
    w = kernel.permute(3, 2, 0, 1)  # [in, f, kh, kw]
    y = F.conv_transpose2d(xc, w, None, stride=strides, dilation=dilation)
    for i in range(2):
        n, s, d = xc.shape[2 + i], strides[i], dilation[i]
        k = (kernel.shape[i] - 1) * d + 1
        if output_padding is None:
            length = n * s if padding == "same" else n * s + max(k - s, 0)
        else:
            length = (n - 1) * s + k - (2 * (k // 2) if padding == "same" else 0) + output_padding[i]
        full = (n - 1) * s + k
        assert y.shape[2 + i] == full
        before = max(full - length, 0) // 2 if padding == "same" else 0
        y = y.narrow(2 + i, before, min(length, full - before))
        short = length - y.shape[2 + i]
        if short > 0:
            pad = [0, 0, 0, 0]
            pad[(1 - i) * 2 + 1] = short
            y = F.pad(y, pad)
    y = y + bias.view(1, -1, 1, 1)
    return to_nhwc(y)


def depthwise_keras(x, kernel, strides, padding, dilation):
    """Keras DepthwiseConv2D (no bias) with a [kh, kw, in, m] kernel."""
    kh, kw, c, m = kernel.shape
    xc = nhwc(x)
    if padding == "same":
        ph = same_pads(xc.shape[2], kh, strides[0], dilation[0])
        pw = same_pads(xc.shape[3], kw, strides[1], dilation[1])
        xc = F.pad(xc, (pw[0], pw[1], ph[0], ph[1]))
    w = kernel.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    return F.conv2d(xc, w, None, stride=strides, dilation=dilation, groups=c)


def conv_fixtures():
    torch.manual_seed(1)
    st = {}
    cases2d = [
        # name, x shape, kernel (kh, kw), filters, strides, padding, dilation, groups
        ("c2_valid", (2, 5, 6, 3), (3, 2), 4, (1, 1), "valid", (1, 1), 1),
        ("c2_same_stride", (2, 7, 6, 3), (3, 3), 4, (2, 2), "same", (1, 1), 1),
        ("c2_same_even_kernel", (2, 6, 5, 2), (2, 4), 3, (2, 1), "same", (1, 1), 1),
        ("c2_dilation_groups", (2, 7, 7, 4), (3, 3), 6, (1, 1), "same", (2, 2), 2),
    ]
    for name, xs, (kh, kw), f, s, p, d, g in cases2d:
        x = torch.randn(xs)
        w = torch.randn(kh, kw, xs[3] // g, f) * 0.5
        b = torch.randn(f)
        with_grads(st, name, x, {"kernel": w, "bias": b},
                   lambda x, kernel, bias: conv2d_keras(x, kernel, bias, s, p, d, g))
    cases1d = [
        ("c1_same_stride", (2, 9, 3), 3, 4, 2, "same", 1),
        ("c1_causal_dilation", (2, 8, 2), 3, 3, 1, "causal", 2),
        ("c1_valid", (2, 7, 3), 4, 2, 1, "valid", 1),
    ]
    for name, xs, k, f, s, p, d in cases1d:
        x = torch.randn(xs)
        w = torch.randn(k, xs[2], f) * 0.5
        b = torch.randn(f)
        with_grads(st, name, x, {"kernel": w, "bias": b},
                   lambda x, kernel, bias: conv1d_keras(x, kernel, bias, s, p, d, 1))
    casest = [
        # name, x shape, k, filters, strides, padding, output_padding, dilation
        ("ct_same", (2, 4, 5, 2), (3, 3), 3, (2, 2), "same", None, (1, 1)),
        ("ct_valid", (2, 3, 4, 2), (3, 2), 3, (2, 3), "valid", None, (1, 1)),
        ("ct_same_even", (2, 3, 3, 2), (4, 4), 2, (2, 2), "same", None, (1, 1)),
        ("ct_output_padding", (2, 3, 4, 2), (3, 3), 2, (2, 2), "valid", (1, 0), (1, 1)),
    ]
    for name, xs, (kh, kw), f, s, p, op, d in casest:
        x = torch.randn(xs)
        w = torch.randn(kh, kw, f, xs[3]) * 0.5
        b = torch.randn(f)
        with_grads(st, name, x, {"kernel": w, "bias": b},
                   lambda x, kernel, bias: conv_transpose2d_keras(x, kernel, bias, s, p, op, d))
    # depthwise: multiplier 2, same, stride 2
    x = torch.randn(2, 6, 5, 3)
    w = torch.randn(3, 3, 3, 2) * 0.5
    b = torch.randn(6)
    with_grads(st, "dw_same_stride", x, {"kernel": w, "bias": b},
               lambda x, kernel, bias: to_nhwc(depthwise_keras(x, kernel, (2, 2), "same", (1, 1))
                                               + bias.view(1, -1, 1, 1)))
    # separable: multiplier 2, valid
    x = torch.randn(2, 6, 6, 3)
    dw = torch.randn(3, 3, 3, 2) * 0.5
    pw = torch.randn(1, 1, 6, 4) * 0.5
    b = torch.randn(4)
    with_grads(st, "sep_valid", x, {"depthwise_kernel": dw, "pointwise_kernel": pw, "bias": b},
               lambda x, depthwise_kernel, pointwise_kernel, bias: to_nhwc(F.conv2d(
                   depthwise_keras(x, depthwise_kernel, (1, 1), "valid", (1, 1)),
                   pointwise_kernel.permute(3, 2, 0, 1), bias)))
    return st


# ------------------------------------------------------------------------ pooling


def pool2d_keras(x, kind, pool, strides, padding):
    xc = nhwc(x)
    if padding == "same":
        ph = same_pads(xc.shape[2], pool[0], strides[0])
        pw = same_pads(xc.shape[3], pool[1], strides[1])
        pads = (pw[0], pw[1], ph[0], ph[1])
    else:
        pads = (0, 0, 0, 0)
    if kind == "max":
        y = F.max_pool2d(F.pad(xc, pads, value=float("-inf")), pool, strides)
    else:
        s = F.avg_pool2d(F.pad(xc, pads), pool, strides) * (pool[0] * pool[1])
        ones = torch.ones(1, 1, xc.shape[2], xc.shape[3])
        cnt = F.avg_pool2d(F.pad(ones, pads), pool, strides) * (pool[0] * pool[1])
        y = s / cnt
    return to_nhwc(y)


def pool_fixtures():
    torch.manual_seed(2)
    st = {}
    cases = [
        ("max2d_valid", (2, 6, 7, 3), "max", (2, 2), (2, 2), "valid"),
        ("max2d_same", (2, 7, 6, 3), "max", (3, 3), (2, 2), "same"),
        ("avg2d_valid", (2, 6, 7, 3), "avg", (3, 2), (1, 2), "valid"),
        ("avg2d_same", (2, 7, 6, 3), "avg", (3, 3), (2, 2), "same"),
        ("avg2d_same_s1", (1, 4, 5, 2), "avg", (2, 3), (1, 1), "same"),
    ]
    for name, xs, kind, pool, s, p in cases:
        with_grads(st, name, torch.randn(xs), {},
                   lambda x: pool2d_keras(x, kind, pool, s, p))
    cases1 = [
        ("max1d_same", (2, 9, 3), "max", 2, 2, "same"),
        ("avg1d_same", (2, 9, 3), "avg", 3, 2, "same"),
        ("avg1d_valid", (2, 8, 3), "avg", 2, 2, "valid"),
    ]
    for name, xs, kind, pool, s, p in cases1:
        with_grads(st, name, torch.randn(xs), {},
                   lambda x: pool2d_keras(x.unsqueeze(1), kind, (1, pool), (1, s), p).squeeze(1))
    with_grads(st, "gap2d", torch.randn(2, 4, 5, 3), {}, lambda x: x.mean(dim=(1, 2)))
    with_grads(st, "gmp2d", torch.randn(2, 4, 5, 3), {}, lambda x: x.amax(dim=(1, 2)))
    with_grads(st, "gap1d", torch.randn(2, 6, 3), {}, lambda x: x.mean(dim=1))
    with_grads(st, "gmp1d", torch.randn(2, 6, 3), {}, lambda x: x.amax(dim=1))
    return st


# ------------------------------------------------------------------------ normalization


def norm_fixtures():
    torch.manual_seed(3)
    st = {}
    momentum, eps = 0.9, 1e-3
    for name, xs in [("bn_2d", (6, 4)), ("bn_4d", (4, 3, 3, 2))]:
        c = xs[-1]
        x = torch.randn(xs) * 2 + 1
        gamma = torch.rand(c) + 0.5
        beta = torch.randn(c)
        mm0 = torch.randn(c) * 0.1
        mv0 = torch.rand(c) + 0.5
        # torch layout: channels at axis 1
        def torch_layout(t):
            return t if t.dim() == 2 else t.permute(0, 3, 1, 2)

        def keras_layout(t):
            return t if t.dim() == 2 else t.permute(0, 2, 3, 1).contiguous()

        rm, rv = mm0.clone(), mv0.clone()
        with_grads(st, name + "_train", x, {"gamma": gamma, "beta": beta},
                   lambda x, gamma, beta: keras_layout(F.batch_norm(
                       torch_layout(x), rm, rv, gamma, beta, training=True,
                       momentum=1 - momentum, eps=eps)))
        axes = tuple(range(x.dim() - 1))
        bmean = x.mean(dim=axes)
        bvar_biased = x.var(dim=axes, unbiased=False)
        bvar_unbiased = x.var(dim=axes, unbiased=True)
        assert torch.allclose(rm, momentum * mm0 + (1 - momentum) * bmean, atol=1e-6)
        assert torch.allclose(rv, momentum * mv0 + (1 - momentum) * bvar_unbiased, atol=1e-6)
        st[f"{name}_train/moving_mean_init"] = mm0
        st[f"{name}_train/moving_variance_init"] = mv0
        st[f"{name}_train/moving_mean"] = momentum * mm0 + (1 - momentum) * bmean
        st[f"{name}_train/moving_variance"] = momentum * mv0 + (1 - momentum) * bvar_biased
        with_grads(st, name + "_infer", x, {"gamma": gamma, "beta": beta},
                   lambda x, gamma, beta: keras_layout(F.batch_norm(
                       torch_layout(x), mm0, mv0, gamma, beta, training=False, eps=eps)))
        st[f"{name}_infer/moving_mean"] = mm0
        st[f"{name}_infer/moving_variance"] = mv0
    x = torch.randn(3, 4, 5) * 3
    with_grads(st, "ln", x, {"gamma": torch.rand(5) + 0.5, "beta": torch.randn(5)},
               lambda x, gamma, beta: F.layer_norm(x, (5,), gamma, beta, eps=eps))
    return st


# ------------------------------------------------------------------------ reshaping


def shape_fixtures():
    torch.manual_seed(4)
    st = {}
    with_grads(st, "zeropad", torch.randn(2, 3, 4, 2), {},
               lambda x: to_nhwc(F.pad(nhwc(x), (2, 0, 1, 3))))
    with_grads(st, "upsample", torch.randn(2, 3, 4, 2), {},
               lambda x: to_nhwc(F.interpolate(nhwc(x), scale_factor=(2, 3), mode="nearest")))
    with_grads(st, "permute", torch.randn(2, 3, 4, 5), {},
               lambda x: x.permute(0, 3, 1, 2).contiguous())
    with_grads(st, "repeat", torch.randn(3, 4), {},
               lambda x: x.unsqueeze(1).expand(3, 5, 4).contiguous())
    return st


def main():
    out = fixture_io.out_dir()
    for name, fn in [("conv", conv_fixtures), ("pool", pool_fixtures),
                     ("norm", norm_fixtures), ("shape", shape_fixtures)]:
        fixture_io.write(out, f"layers_{name}.safetensors", fn())


if __name__ == "__main__":
    main()
