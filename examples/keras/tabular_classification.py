"""Keras 3 twin of examples/tabular_classification.rs: Seattle weather type from the day's
measurements, with class weights, early stopping, macro F1, a plot and a submission."""

import sys
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 42
print(f"seed: {seed}")
keras.utils.set_random_seed(seed)
out = Path("target/tabular")
out.mkdir(parents=True, exist_ok=True)

days = pd.read_csv("data/seattle-weather/seattle-weather.csv")
days["year"] = days.date.str.split("/").str[0].astype(int)
days["month"] = days.date.str.split("/").str[1].astype(int)
train, test = train_test_split(days, test_size=0.2, stratify=days.weather, random_state=seed)
classes = sorted(train.weather.unique())
y_train, y_test = (train.weather.map(classes.index), test.weather.map(classes.index))

numeric = ["precipitation", "temp_max", "temp_min", "wind"]
mean, std = train[numeric].mean(), train[numeric].std()


def features(t):
    x = (t[numeric] - mean) / std
    dummies = [
        pd.get_dummies(t[c].astype(pd.CategoricalDtype(days[c].unique())))
        for c in ["year", "month"]
    ]
    return pd.concat([x, *dummies], axis=1).to_numpy("float32")


x_train, x_test = features(train), features(test)
weights = np.sqrt(compute_class_weight("balanced", classes=np.arange(len(classes)), y=y_train))
for name, count, w in zip(classes, np.bincount(y_train), weights):
    print(f"class {name:>8}: {count:>4} training days, weight {w:.2f}")

model = keras.Sequential(
    [
        keras.Input((x_train.shape[1],)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(len(classes), activation="softmax"),
    ]
)
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping("val_loss", patience=20, restore_best_weights=True)
history = model.fit(
    x_train,
    y_train,
    epochs=200,
    batch_size=32,
    validation_split=0.2,
    class_weight=dict(enumerate(weights)),
    verbose=0,
    callbacks=[stop],
)
print(f"trained {len(history.epoch)} epochs")

probs = model.predict(x_test, batch_size=256)
predicted = probs.argmax(-1)
print(f"test accuracy: {(predicted == y_test).mean():.4f}")
print(f"macro F1: {f1_score(y_test, predicted, average='macro'):.4f}")
print(f"(majority class share in training: {np.bincount(y_train).max() / len(y_train):.4f})")

pd.DataFrame(history.history).plot()
plt.savefig(out / "seattle_weather_history.svg")
submission = pd.DataFrame({"date": test.date, "weather": np.array(classes)[predicted]})
submission.to_csv(out / "seattle_weather_submission.csv", index=False)
print(f"wrote {out / 'seattle_weather_history.svg'} and {out / 'seattle_weather_submission.csv'}")
