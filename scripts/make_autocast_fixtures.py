"""Fixtures for tests/mixed_precision_parity.rs: Dense, Conv2D and LSTM forward outputs
under PyTorch's automatic mixed precision in bfloat16, with the f32 weights and inputs
they come from, in stratanet's (Keras) layouts.

- dense: `torch.autocast("cpu", dtype=torch.bfloat16)` around `nn.functional.linear`
  (autocast casts input, weight and bias to bf16; the product accumulates in f32 and is
  rounded to bf16).
- conv: the same around `nn.functional.conv2d` (NCHW inside; x saved NHWC, the kernel
  as Keras' [kh, kw, in, out]), padding "valid", stride 1.
- lstm: CPU autocast has no LSTM entry, so the reference is what autocast does to each of
  its matrix products: torch's LSTM with its weights and input cast to bf16 (every gate
  product in bf16, states kept in bf16), run as `nn.LSTM(...).bfloat16()`. Keras layout:
  kernel = weight_ih.T, recurrent_kernel = weight_hh.T, bias = bias_ih (bias_hh = 0).

Every tensor is stored as f32 (`name/out_bf16` holds the bf16 values exactly); `name/out`
is the f32 result for comparison.

    ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_autocast_fixtures.py [--out DIR]
"""

import torch
import torch.nn.functional as F

import fixture_io


def dense(out):
    x = torch.randn(8, 16)
    k = torch.randn(16, 12) * 0.3
    b = torch.randn(12) * 0.1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = F.linear(x, k.T, b)
    assert y.dtype == torch.bfloat16
    out.update({"dense/x": x, "dense/kernel": k, "dense/bias": b,
                "dense/out_bf16": y.float(), "dense/out": F.linear(x, k.T, b)})


def conv(out):
    x = torch.randn(2, 7, 6, 3)
    k = torch.randn(3, 3, 3, 4) * 0.3
    b = torch.randn(4) * 0.1
    xin, w = x.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = F.conv2d(xin, w, b)
    assert y.dtype == torch.bfloat16
    out.update({"conv/x": x, "conv/kernel": k, "conv/bias": b,
                "conv/out_bf16": y.float().permute(0, 2, 3, 1),
                "conv/out": F.conv2d(xin, w, b).permute(0, 2, 3, 1)})


def lstm(out, n=3, t=6, d=4, u=5):
    x = torch.randn(n, t, d)
    k, rk, b = torch.randn(d, 4 * u) * 0.5, torch.randn(u, 4 * u) * 0.5, torch.randn(4 * u) * 0.2
    m = torch.nn.LSTM(d, u, batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(k.T)
        m.weight_hh_l0.copy_(rk.T)
        m.bias_ih_l0.copy_(b)
        m.bias_hh_l0.zero_()
        seq, _ = m(x)
        mb = m.bfloat16()
        seq_b, _ = mb(x.bfloat16())
    assert seq_b.dtype == torch.bfloat16
    out.update({"lstm/x": x, "lstm/kernel": k, "lstm/recurrent_kernel": rk, "lstm/bias": b,
                "lstm/out_bf16": seq_b.float()[:, -1], "lstm/out": seq[:, -1]})


def main():
    out_dir = fixture_io.out_dir()
    torch.manual_seed(20261205)
    out = {}
    with torch.no_grad():
        dense(out)
        conv(out)
    lstm(out)
    fixture_io.write(out_dir, "autocast_bf16.safetensors", out)


if __name__ == "__main__":
    main()
