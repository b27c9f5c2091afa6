"""(c) PyTorch from Python for `cargo xtask bench`: the same models, data, batch sizes,
shuffles-per-epoch and step counts as the Rust variants; times its own loops with
time.perf_counter (warm-up of 4 steps excluded) and prints `RESULT {json}`."""

import argparse
import contextlib
import os
import json
import time

import numpy as np
import torch
from torch import nn


class LstmNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def build(workload):
    if workload == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    if workload == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
        )
    return LstmNet()


def common_args(description):
    """The arguments every bench script takes (bench_keras.py imports this)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--workload", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--np", type=int, required=True)
    p.add_argument("--passes", type=int, default=1,
                   help="timed predict calls over the --np samples, back to back")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--y", required=True)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    return p


def main():
    p = common_args("PyTorch run of a bench case")
    # torch.optim.Adam's implementation: the default (a for-loop over the parameters on
    # the CPU), foreach=True (multi-tensor ops) or fused=True (one fused kernel for all the
    # updates, on the CPU since PyTorch 2.4): what a performance-minded user turns on.
    p.add_argument("--adam", default="default", choices=["default", "foreach", "fused"])
    p.add_argument("--fused", action="store_true", help="same as --adam fused")
    # The CNN in channels-last memory format (model and inputs), as
    # `model.to(memory_format=torch.channels_last)` does.
    p.add_argument("--channels-last", action="store_true")
    # torch.autocast(dtype=bfloat16|float16) around the forward pass and the loss, with a
    # GradScaler for float16: PyTorch's automatic mixed precision, what stratanet's
    # mixed_bfloat16 / mixed_float16 policies compare against.
    p.add_argument("--autocast", choices=["bf16", "f16"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_torch.py: --device cuda, but torch.cuda.is_available() is False")
    dev = torch.device(a.device)

    def sync():
        # Read the clock only after the device has finished the queued work.
        if dev.type == "cuda":
            torch.cuda.synchronize()

    torch.manual_seed(1)
    shape = {"mlp": (-1, 784), "cnn": (-1, 1, 28, 28), "lstm": (-1, 50, 32)}[a.workload]
    x = torch.from_numpy(np.fromfile(a.x, dtype="<f4").reshape(shape).copy()).to(dev)
    y = torch.from_numpy(np.fromfile(a.y, dtype="<i8").copy()).to(dev)
    bs = 128 if a.workload == "mlp" else 64
    if int(os.environ.get("STRATANET_BENCH_BATCH", "0") or 0) > 0:
        bs = int(os.environ["STRATANET_BENCH_BATCH"])  # same override as the Rust side
    model = build(a.workload).to(dev)
    if a.fused:
        a.adam = "fused"
    if a.channels_last:
        if a.workload != "cnn":
            raise SystemExit("bench_torch.py: --channels-last is for the cnn workload")
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3,
                           foreach=True if a.adam == "foreach" else None,
                           fused=True if a.adam == "fused" else None)
    loss_fn = nn.CrossEntropyLoss()

    amp_dtype = {"bf16": torch.bfloat16, "f16": torch.float16}.get(a.autocast)
    amp = (lambda: torch.autocast(dev.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler(dev.type) if a.autocast == "f16" else None

    def step(idx):
        opt.zero_grad(set_to_none=True)
        with amp():
            loss = loss_fn(model(x.index_select(0, idx)), y.index_select(0, idx))
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for s in range(min(4, a.n // bs)):
        step(torch.arange(s * bs, (s + 1) * bs, device=dev))
    sync()
    g = torch.Generator().manual_seed(77)
    epochs = []
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for e in range(a.epochs):
        perm = torch.randperm(a.n, generator=g).to(dev)
        for start in range(0, a.n, bs):
            step(perm[start:start + bs])
        if dev.type == "cuda":
            # The allocator's peak over this epoch (host bookkeeping, no sync); the Rust
            # side reads the same counters of the same allocator (bench/cuda_mem.cpp).
            epochs.append({"epoch": e + 1,
                           "gpu_peak_bytes": torch.cuda.max_memory_allocated(),
                           "gpu_allocated_bytes": torch.cuda.memory_allocated(),
                           "gpu_reserved_peak_bytes": torch.cuda.max_memory_reserved(),
                           "gpu_reserved_bytes": torch.cuda.memory_reserved()})
            torch.cuda.reset_peak_memory_stats()
    sync()
    train_secs = time.perf_counter() - t

    def predict(n):
        with torch.no_grad(), amp():
            return torch.cat([model(x[s:min(s + bs, n)]).float() for s in range(0, n, bs)])

    model.eval()
    predict(min(2 * bs, a.np))
    t = time.perf_counter()
    for _ in range(a.passes):
        out = predict(a.np)
    sync()
    predict_secs = time.perf_counter() - t
    assert tuple(out.shape) == (a.np, 10)
    result = {"train_secs": train_secs, "predict_secs": predict_secs,
              "torch": torch.__version__,
              "threads": torch.get_num_threads(),
              "device": a.device,
              "adam": a.adam,
              "channels_last": a.channels_last,
              "autocast": a.autocast,
              "epochs": epochs}
    if dev.type == "cuda":
        # Peak of PyTorch's caching allocator over predict (the per-epoch training peaks
        # are in "epochs"); the whole-run peak is the largest of them all.
        result["gpu_peak_bytes"] = max([torch.cuda.max_memory_allocated()]
                                       + [r["gpu_peak_bytes"] for r in epochs])
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
