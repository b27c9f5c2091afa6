"""Keras 3 twin of examples/text_classification.rs: SMS spam with a tf-idf TextVectorization."""

import keras
import numpy as np
import pandas as pd

keras.utils.set_random_seed(42)
sms = pd.read_csv("data/sms-spam/sms-spam.csv")
train, test = sms[sms.split == "train"], sms[sms.split == "test"]
y_train, y_test = (train.label == "spam").astype(int), (test.label == "spam").astype(int)

vectorizer = keras.layers.TextVectorization(max_tokens=10_000, ngrams=2, output_mode="tf_idf")
vectorizer.adapt(train.text.values)
vocabulary = vectorizer.get_vocabulary()
print(f"vocabulary: {len(vocabulary)} terms, most frequent {vocabulary[:5]}")
f_train, f_test = vectorizer(train.text.values), vectorizer(test.text.values)

model = keras.Sequential(
    [
        keras.Input((len(vocabulary),)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(2, activation="softmax"),
    ]
)
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(f_train, y_train, epochs=4, batch_size=32, validation_split=0.1)

loss, accuracy = model.evaluate(f_test, y_test)
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")
print(f"baseline accuracy: {max(y_test.mean(), 1 - y_test.mean()):.4f}")

keras.Sequential([vectorizer, model]).save("target/text/sms_spam.keras")
loaded = keras.models.load_model("target/text/sms_spam.keras")
new = ["WINNER! Claim your free prize now, txt WIN to 80086", "see you at lunch?"]
for text, cls in zip(new, loaded.predict(np.array(new)).argmax(-1)):
    print(f"{text!r}: {['ham', 'spam'][cls]}")
