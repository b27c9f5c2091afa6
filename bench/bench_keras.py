"""(d) Keras 3 on its torch backend for `cargo xtask bench`: the same models, data, batch
sizes and epochs as the other variants, through `model.fit(..., verbose=0)` and
`model.predict(..., verbose=0)` — what a Keras user writes. Times its own calls with
time.perf_counter (a warm-up `fit` of 4 steps and a warm-up `predict` excluded) and prints
`RESULT {json}`. Run with KERAS_BACKEND=torch (the bench sets it)."""

import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

from bench_torch import common_args  # noqa: E402  (the script beside this one)


def build(workload):
    if workload == "mlp":
        body = [keras.Input((784,)), layers.Dense(512, activation="relu"),
                layers.Dense(256, activation="relu")]
    elif workload == "cnn":
        body = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(128, activation="relu")]
    else:
        body = [keras.Input((50, 32)), layers.LSTM(128)]
    model = keras.Sequential(body + [layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main():
    a = common_args("Keras 3 (torch backend) run of a bench case").parse_args()
    if keras.backend.backend() != "torch":
        raise SystemExit(f"bench_keras.py: KERAS_BACKEND is {keras.backend.backend()}, not torch")
    torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_keras.py: --device cuda, but torch.cuda.is_available() is False")
    keras.utils.set_random_seed(1)
    shape = {"mlp": (-1, 784), "cnn": (-1, 28, 28, 1), "lstm": (-1, 50, 32)}[a.workload]
    x = np.fromfile(a.x, dtype="<f4").reshape(shape)
    y = np.fromfile(a.y, dtype="<i8")
    bs = 128 if a.workload == "mlp" else 64
    if int(os.environ.get("STRATANET_BENCH_BATCH", "0") or 0) > 0:
        bs = int(os.environ["STRATANET_BENCH_BATCH"])

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    model = build(a.workload)
    k = min(4 * bs, a.n)
    model.fit(x[:k], y[:k], batch_size=bs, epochs=1, verbose=0)
    sync()
    t = time.perf_counter()
    model.fit(x[:a.n], y[:a.n], batch_size=bs, epochs=a.epochs, shuffle=True, verbose=0)
    sync()
    train_secs = time.perf_counter() - t
    model.predict(x[:min(2 * bs, a.np)], batch_size=bs, verbose=0)
    t = time.perf_counter()
    for _ in range(a.passes):
        out = model.predict(x[:a.np], batch_size=bs, verbose=0)
    sync()
    predict_secs = time.perf_counter() - t
    assert tuple(out.shape) == (a.np, 10)
    print("RESULT " + json.dumps({
        "train_secs": train_secs, "predict_secs": predict_secs,
        "keras": keras.__version__, "backend": keras.backend.backend(),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "device": a.device,
        "epochs": []}))


if __name__ == "__main__":
    main()
