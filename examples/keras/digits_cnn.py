"""Keras 3 twin of examples/digits_cnn.rs: a small CNN on the 8x8 digits, early stopping."""

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(7)
x, y = load_digits(return_X_y=True)
x = (x / 16.0).reshape(-1, 8, 8, 1)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=7)

model = keras.Sequential(
    [
        keras.Input((8, 8, 1)),
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
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping("val_loss", patience=8, restore_best_weights=True)
model.fit(x_train, y_train, epochs=40, batch_size=32, validation_split=0.1, callbacks=[stop])

loss, accuracy = model.evaluate(x_test, y_test, batch_size=128)
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")
