"""Keras 3 twin of examples/callbacks.rs: a learning-rate schedule, early stopping that
restores the best weights, a checkpoint, a CSV log, then a resume from the checkpoint."""

from pathlib import Path

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(42)
x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.2, random_state=42)
out = Path("target/callbacks")
out.mkdir(parents=True, exist_ok=True)

model = keras.Sequential(
    [
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-2 * 0.8**epoch)
stop = keras.callbacks.EarlyStopping("val_loss", patience=5, restore_best_weights=True)
checkpoint = keras.callbacks.ModelCheckpoint(out / "best.keras", save_best_only=True)
log = keras.callbacks.CSVLogger(out / "log.csv")
history = model.fit(
    x_train,
    y_train,
    epochs=100,
    validation_split=0.1,
    verbose=0,
    callbacks=[schedule, stop, checkpoint, log],
)
best = min(range(len(history.epoch)), key=lambda e: history.history["val_loss"][e])
print(f"stopped at epoch {stop.stopped_epoch + 1}; best epoch {best + 1}")
print(f"learning rate went from 1e-2 to {history.history['learning_rate'][-1]:.2e}")
print(f"log: {len(open(out / 'log.csv').readlines()) - 1} rows in {out / 'log.csv'}")
print(f"test accuracy (restored best weights): {model.evaluate(x_test, y_test, verbose=0)[1]:.4f}")

resumed = keras.models.load_model(out / "best.keras")
resumed.fit(
    x_train,
    y_train,
    initial_epoch=best + 1,
    epochs=best + 6,
    validation_split=0.1,
    verbose=0,
    callbacks=[keras.callbacks.CSVLogger(out / "log.csv", append=True)],
)
print(f"resumed from the epoch-{best + 1} checkpoint for 5 more epochs")
print(f"test accuracy after resume: {resumed.evaluate(x_test, y_test, verbose=0)[1]:.4f}")
