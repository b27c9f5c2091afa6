"""Keras 3 twin of examples/kaggle.rs: the README's Kaggle workflow on auto-mpg."""

import keras
import pandas as pd

cars = pd.read_csv("data/auto-mpg/auto-mpg.csv").dropna(subset=["Miles_per_Gallon"])
train = cars.sample(frac=0.8, random_state=42)
test = cars.drop(train.index)
median = train.Horsepower.median()


def features(t):
    origin = pd.get_dummies(t.Origin.astype(pd.CategoricalDtype(sorted(train.Origin.unique()))))
    x = t[["Horsepower", "Weight_in_lbs", "Displacement", "Year"]].fillna({"Horsepower": median})
    x = (x - train[x.columns].mean()) / train[x.columns].std()
    return pd.concat([x, origin], axis=1).to_numpy("float32")


model = keras.Sequential(
    [
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ]
)
model.compile(keras.optimizers.Adam(1e-3), "mae")
stop = keras.callbacks.EarlyStopping("val_loss", patience=30, restore_best_weights=True)
history = model.fit(
    features(train), train.Miles_per_Gallon, epochs=500, validation_split=0.2, callbacks=[stop]
)
pd.DataFrame(history.history).plot().figure.savefig("history.png")
pred = model.predict(features(test))[:, 0]
pd.DataFrame({"Name": test.Name, "mpg": pred}).to_csv("submission.csv", index=False)
model.save("model.keras")
