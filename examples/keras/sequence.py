"""Keras 3 twin of examples/sequence.rs: does a digit sequence contain "3 7"? (Embedding + LSTM)"""

import time

import keras
import numpy as np

STEPS = 20


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    xs, ys = np.zeros((n, STEPS), "float32"), np.zeros((n, 1), "float32")
    for i in range(n):
        length = min(8 + int(rng.uniform() * (STEPS - 7)), STEPS)
        seq = []
        while len(seq) < length:
            d = 1 + int(rng.uniform() * 9.0) % 9
            if not (d == 7 and seq and seq[-1] == 3):
                seq.append(d)
        if i % 2 == 0:
            at = int(rng.uniform() * (length - 1))
            seq[at], seq[at + 1] = 3, 7
        xs[i, :length], ys[i] = seq, float(i % 2 == 0)
    return xs, ys


keras.utils.set_random_seed(42)
start = time.time()
x_train, y_train = make_data(3000, 1)
x_test, y_test = make_data(1000, 2)

model = keras.Sequential(
    [
        keras.Input((STEPS,)),
        keras.layers.Embedding(10, 16, mask_zero=True),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()
model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=2)

loss, accuracy = model.evaluate(x_test, y_test, batch_size=256)
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")
print(f"time: {time.time() - start:.1f}s")
