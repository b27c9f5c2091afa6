"""Keras 3 twin of examples/quickstart.rs: an MLP on the UCI handwritten digits."""

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(42)
x, y = load_digits(return_X_y=True)
x = x / 16.0
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)

model = keras.Sequential(
    [
        keras.Input((64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.summary()
model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=30, batch_size=32, validation_split=0.1)

loss, accuracy = model.evaluate(x_test, y_test)
predicted = model.predict(x_test[:5]).argmax(-1)
print(f"final val_accuracy: {history.history['val_accuracy'][-1]:.4f}")
print(f"first test digits: predicted {predicted.tolist()}, actual {y_test[:5].tolist()}")
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")
