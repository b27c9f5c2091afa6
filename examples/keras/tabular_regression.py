"""Keras 3 twin of examples/tabular_regression.rs: miles per gallon from the auto-mpg table,
a Normalization layer, early stopping, a least-squares baseline, save and reload with the
preprocessing, a plot, the history as CSV and a submission."""

import sys
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 42
keras.utils.set_random_seed(seed)
out = Path("target/tabular")
out.mkdir(parents=True, exist_ok=True)

cars = pd.read_csv("data/auto-mpg/auto-mpg.csv").rename_axis("id").reset_index()
print(f"horsepower missing in {cars.Horsepower.isna().sum()} rows")
cars = cars.dropna(subset=["Miles_per_Gallon"])
train = cars.sample(frac=0.8, random_state=seed)
test = cars.drop(train.index)
numeric = ["Cylinders", "Displacement", "Weight_in_lbs", "Acceleration", "Year"]
median = train.Horsepower.median()


def features(t):
    origin = pd.get_dummies(t.Origin.astype(pd.CategoricalDtype(sorted(train.Origin.unique()))))
    x = pd.concat([t.Horsepower.fillna(median), origin, t[numeric]], axis=1)
    return x.to_numpy("float32")


x_train, x_test = features(train), features(test)
y_train, y_test = train.Miles_per_Gallon.to_numpy(), test.Miles_per_Gallon.to_numpy()
print(f"rows: {len(train)} train, {len(test)} test")

normalizer = keras.layers.Normalization()
normalizer.adapt(x_train)
model = keras.Sequential(
    [
        keras.Input((x_train.shape[1],)),
        normalizer,
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ]
)
model.compile(keras.optimizers.Adam(1e-3), "mean_absolute_error")
stop = keras.callbacks.EarlyStopping("val_loss", patience=50, restore_best_weights=True)
history = model.fit(
    x_train, y_train, epochs=500, batch_size=32, validation_split=0.2, verbose=0, callbacks=[stop]
)
print(f"trained {len(history.epoch)} epochs, best val_loss {min(history.history['val_loss']):.3f}")

baseline = LinearRegression().fit(x_train, y_train).predict(x_test)
print(f"test MAE: {model.evaluate(x_test, y_test, batch_size=128, verbose=0):.3f}")
print(f"baseline MAE: {mean_absolute_error(y_test, baseline):.3f}")

path = out / "auto_mpg.keras"
model.save(path)
pred = model.predict(x_test, batch_size=128)
diff = np.abs(pred - keras.models.load_model(path).predict(features(test))).max()
print(f"reloaded model: max |prediction difference| = {diff:e}")

pd.DataFrame(history.history).plot()
plt.savefig(out / "auto_mpg_history.png")
pd.DataFrame(history.history).to_csv(out / "auto_mpg_history.csv")
submission = pd.DataFrame({"id": test.id, "Miles_per_Gallon": pred[:, 0]})
submission.to_csv(out / "auto_mpg_submission.csv", index=False)
print(f"wrote {out / 'auto_mpg_history.png'} and {out / 'auto_mpg_submission.csv'}")
