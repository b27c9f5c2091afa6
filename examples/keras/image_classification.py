"""Keras 3 twin of examples/image_classification.rs: digits written as PNG folders, read back
with image_dataset_from_directory, a CNN with augmentation layers."""

import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_digit_folders(root, seed):
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    for rank, i in enumerate(order):
        folder = root / ("test" if rank < len(y) // 5 else "train") / str(y[i])
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.kron(x[i].reshape(8, 8), np.ones((4, 4))) * 255 / 16
        Image.fromarray(pixels.round().astype("uint8")).save(folder / f"{i:04}.png")


keras.utils.set_random_seed(7)
root = Path(tempfile.mkdtemp(prefix="stratanet-digits-"))
write_digit_folders(root, 7)
print(f"image folder: {root}")
options = dict(image_size=(32, 32), color_mode="grayscale", batch_size=32, seed=7)
train, val = keras.utils.image_dataset_from_directory(
    root / "train", validation_split=0.2, subset="both", **options
)
test = keras.utils.image_dataset_from_directory(root / "test", shuffle=False, **options)
print(f"classes: {train.class_names}")

model = keras.Sequential(
    [
        keras.Input((32, 32, 1)),
        keras.layers.Rescaling(1.0 / 255),
        keras.layers.RandomRotation(0.04),
        keras.layers.RandomZoom(0.1),
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.summary()
model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping("val_loss", patience=6, restore_best_weights=True)
start = time.time()
history = model.fit(train, epochs=40, validation_data=val, callbacks=[stop])
seconds, epochs = time.time() - start, len(history.epoch)
print(f"training time: {seconds:.1f} s ({epochs} epochs, {seconds / epochs:.2f} s/epoch)")

loss, accuracy = model.evaluate(test)
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")
