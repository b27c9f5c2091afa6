#!/usr/bin/env python3
"""Keras 3 reference outputs for stratanet's TextVectorization (tests/text_vectorization.rs).

Keras' TextVectorization runs on TensorFlow string ops, so run this from a venv with keras
and tensorflow-cpu (the torch venv of `cargo xtask libtorch` has no TensorFlow):

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu keras==3.15.1
    KERAS_BACKEND=tensorflow /tmp/tfvenv/bin/python scripts/make_text_vectorization_fixtures.py

It writes tests/fixtures/text_vectorization.json (generated with keras 3.15.1,
tensorflow 2.21.0): the adapt corpus, the query batch, and one object per case with the
layer arguments, Keras' vocabulary, idf weights (tf_idf), the query outputs (floats as
float64 of the float32 results), the vocabulary size and Keras' config.
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Punctuation, case, repeated words, ties in counts (several words occur exactly twice or
# once), non-ASCII letters (TensorFlow lowercases ASCII only), runs of ASCII whitespace
# (space, tab, newline, vertical tab, form feed, carriage return), a no-break space and an
# ideographic space (not split on), the literal OOV token and an empty document.
CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log!",
    "A cat, a dog, and a bird.",
    "Dogs and cats: friends or foes?",
    "I love my cat; my cat loves me.",
    "Don't stop believing -- hold on to that feeling.",
    "E-mail me at cat@example.com (or not).",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "the quick brown fox jumps over the lazy dog",
    "Café ÉCOLE naïve Ünïcode café",
    "  leading and trailing spaces   ",
    "tabs\tand\nnewlines\x0band\x0cform\rfeeds",
    "no\u00a0break and ideographic\u3000space",
    "[UNK] is the out of vocabulary token",
    "",
    "Numbers 123 and 4.56 and 7,890 stay digits",
    "Under_score and back\\slash and {braces} [brackets] <angles>",
    "\"Quoted\" 'single' `backtick` ~tilde^caret|pipe",
    "zebra yak xylophone",
    "yak zebra",
    "apple banana cherry",
    "cherry banana apple",
    "a b c d e f g",
    "g f e d c b a",
    "repeat repeat repeat repeat",
    "one two two three three three",
    "Hello, World! Hello, Rust! Hello, Keras!",
    "The end.",
]

QUERY = [
    "The cat and the dog.",
    "An unseen WORD, and another unseen word!",
    "",
    "...!!!",
    "the quick brown fox jumps over the lazy dog and the cat sat on the mat again",
    "Café café CAFÉ",
    "zebra  yak\txylophone",
    "[UNK] [unk] unk",
]


def arr(x):
    return np.asarray(x).tolist()


def case(name, query=QUERY, vocabulary_given=False, **kwargs):
    layer = keras.layers.TextVectorization(**kwargs)
    if not vocabulary_given:
        layer.adapt(CORPUS)
    out = layer(np.array(query, dtype=object))
    cfg = layer.get_config()
    res = {
        "name": name,
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()},
        "adapted": not vocabulary_given,
        "vocabulary": layer.get_vocabulary(),
        "vocabulary_size": int(layer.vocabulary_size()),
        "query": query,
        "output": arr(out),
        "output_dtype": str(np.asarray(out).dtype),
        "config_keys": sorted(cfg.keys()),
        "config": json.loads(json.dumps(cfg, default=str)),
    }
    if "split" in kwargs and kwargs["split"] is None:
        # Without a split, Keras' output depends on the layout of the texts: also record
        # the `[batch, 1]` one (for `[batch]` texts multi_hot collapses the batch).
        res["output_column"] = arr(layer(np.array([[q] for q in query], dtype=object)))
    if layer._output_mode == "tf_idf":
        res["idf_weights"] = arr(layer._lookup_layer.idf_weights_const.numpy())
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"),
    )
    args = ap.parse_args()
    cases = [
        case("default"),
        case("seq_len_6", output_sequence_length=6),
        case("seq_len_20", output_sequence_length=20),
        case("max_tokens_10", max_tokens=10),
        case("max_tokens_3", max_tokens=3, output_sequence_length=4),
        case("ngrams_2", ngrams=2),
        case("ngrams_2_3", ngrams=(2, 3), output_sequence_length=8),
        case("ngrams_2_multi_hot", ngrams=2, output_mode="multi_hot", max_tokens=25),
        case("lower", standardize="lower"),
        case("strip_punctuation", standardize="strip_punctuation"),
        case("no_standardize", standardize=None),
        case("character", split="character", output_sequence_length=12),
        case("character_ngrams", split="character", ngrams=(1, 2), max_tokens=30),
        case("no_split", split=None),
        case("no_split_multi_hot", split=None, output_mode="multi_hot"),
        case("multi_hot", output_mode="multi_hot"),
        case("count", output_mode="count"),
        case("count_max_tokens", output_mode="count", max_tokens=12),
        case("multi_hot_padded", output_mode="multi_hot", max_tokens=150, pad_to_max_tokens=True),
        case("tf_idf", output_mode="tf_idf"),
        case("tf_idf_max_tokens", output_mode="tf_idf", max_tokens=12),
        case("tf_idf_padded", output_mode="tf_idf", max_tokens=150, pad_to_max_tokens=True),
        case("tf_idf_ngrams", output_mode="tf_idf", ngrams=2, max_tokens=40),
        case(
            "given_vocabulary",
            vocabulary_given=True,
            vocabulary=["earth", "wind", "and", "fire", "the"],
            output_sequence_length=7,
        ),
        case(
            "given_vocabulary_count",
            vocabulary_given=True,
            vocabulary=["earth", "wind", "and", "fire", "the"],
            output_mode="count",
        ),
        case(
            "given_idf",
            vocabulary_given=True,
            vocabulary=["the", "cat", "dog", "and"],
            idf_weights=[0.5, 1.25, 2.0, 0.75],
            output_mode="tf_idf",
        ),
        case(
            "given_idf_with_specials",
            vocabulary_given=True,
            vocabulary=["[UNK]", "the", "cat", "dog", "and"],
            idf_weights=[3.0, 0.5, 1.25, 2.0, 0.75],
            output_mode="tf_idf",
            max_tokens=8,
            pad_to_max_tokens=True,
        ),
    ]
    doc = {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "corpus": CORPUS,
        "cases": cases,
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "text_vectorization.json")
    # One line per case: reviewable diffs without tens of thousands of lines.
    head = {k: v for k, v in doc.items() if k != "cases"}
    with open(path, "w") as f:
        f.write("{\n")
        for k, v in head.items():
            f.write(f"{json.dumps(k)}: {json.dumps(v)},\n")
        f.write('"cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
