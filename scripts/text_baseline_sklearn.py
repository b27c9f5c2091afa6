"""scikit-learn's logistic regression on TF-IDF features for examples/text_classification.rs.

    python scripts/text_baseline_sklearn.py

Reads data/sms-spam/sms-spam.csv (the SMS Spam Collection with its fixed `split` column,
the split the Rust example uses), fits `TfidfVectorizer()` (scikit-learn's defaults:
lowercase, tokens of two or more word characters, unigrams, smooth idf, l2 rows) on the
training messages, and prints the test accuracy of

- `LogisticRegression()` with scikit-learn's default C=1, and
- `LogisticRegression(C)` with C picked by 5-fold stratified cross-validation of the
  whole pipeline (vectorizer refitted per fold) on the training split alone, by accuracy,
  so the test split is never used to tune;

and the majority-class baseline of the test split. Deterministic (lbfgs, fixed folds).
"""

import csv
import os

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

CS = [0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CSV = os.path.join(ROOT, "data", "sms-spam", "sms-spam.csv")


def load():
    with open(CSV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    parts = {}
    for split in ("train", "test"):
        part = [r for r in rows if r["split"] == split]
        parts[split] = ([r["text"] for r in part], [int(r["label"] == "spam") for r in part])
    return parts


def main():
    parts = load()
    (x_train, y_train), (x_test, y_test) = parts["train"], parts["test"]
    def pipeline(c):
        return make_pipeline(TfidfVectorizer(), LogisticRegression(C=c, max_iter=1000))

    def test_accuracy(c):
        predicted = pipeline(c).fit(x_train, y_train).predict(x_test)
        return sum(int(p == y) for p, y in zip(predicted, y_test)) / len(y_test)

    folds = StratifiedKFold(5)
    cv = [cross_val_score(pipeline(c), x_train, y_train, cv=folds).mean() for c in CS]
    best = CS[cv.index(max(cv))]
    majority = max(set(y_test), key=y_test.count)
    print(f"train messages: {len(y_train)}, test messages: {len(y_test)}")
    print("5-fold CV accuracy on train by C: " + ", ".join(f"{c:g}: {a:.4f}" for c, a in zip(CS, cv)))
    print(f"sklearn LogisticRegression (C=1) test accuracy: {test_accuracy(1):.4f}")
    print(
        f"sklearn LogisticRegression (C={best:g}, 5-fold CV on train) "
        f"test accuracy: {test_accuracy(best):.4f}"
    )
    print(f"baseline accuracy: {y_test.count(majority) / len(y_test):.4f}")


if __name__ == "__main__":
    main()
