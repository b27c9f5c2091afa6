"""Keras 3 twin of examples/functional.rs: a functional model with two inputs (the digit's
pixels and its row sums), a residual block, and two outputs (the digit, and whether it is
even), each with its own loss, loss weight and metric."""

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(42)
x, y = load_digits(return_X_y=True)
x = x / 16.0
rows = x.reshape(-1, 8, 8).sum(-1) / 8.0
even = (y % 2 == 0).astype("float32")[:, None]
split = train_test_split(x, rows, y, even, test_size=0.2, random_state=42)
x_train, x_test, r_train, r_test, y_train, y_test, e_train, e_test = split

pixels = keras.Input((64,), name="pixels")
row_sums = keras.Input((8,), name="row_sums")
h = keras.layers.Dense(64, activation="relu")(pixels)
h = keras.layers.Add()([h, keras.layers.Dense(64, activation="relu")(h)])  # residual
h = keras.layers.Concatenate()([h, keras.layers.Dense(16, activation="relu")(row_sums)])
digit = keras.layers.Dense(10, activation="softmax", name="digit")(h)
is_even = keras.layers.Dense(1, activation="sigmoid", name="even")(h)
model = keras.Model([pixels, row_sums], [digit, is_even])
model.summary()

model.compile(
    keras.optimizers.Adam(2e-3),
    loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
    loss_weights={"digit": 1.0, "even": 0.5},
    metrics={"digit": ["accuracy"], "even": ["accuracy"]},
)
model.fit(
    {"pixels": x_train, "row_sums": r_train},
    {"digit": y_train, "even": e_train},
    epochs=20,
    batch_size=32,
    validation_split=0.1,
    verbose=2,
)
scores = model.evaluate(
    {"pixels": x_test, "row_sums": r_test}, {"digit": y_test, "even": e_test}, return_dict=True
)
for name, value in sorted(scores.items()):
    print(f"test {name}: {value:.4f}")
