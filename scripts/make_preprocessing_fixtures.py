#!/usr/bin/env python3
"""Keras 3 reference outputs for stratanet's preprocessing layers (tests/preprocessing.rs).

Keras' lookup and hashing layers need TensorFlow, so run it from a venv with keras,
numpy and tensorflow-cpu (the torch venv of `cargo xtask libtorch` has no Keras):

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras numpy tensorflow-cpu
    KERAS_BACKEND=tensorflow /tmp/kvenv/bin/python scripts/make_preprocessing_fixtures.py

It writes tests/fixtures/preprocessing.json (generated with keras 3.15.1, tensorflow
2.21.0, numpy 2.4): one object per case with the layer arguments, the inputs and Keras'
outputs (lists; floats as float64 of the float32 results).
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def arr(x):
    return np.asarray(x).tolist()


def strs(x):
    return [s.decode() if isinstance(s, bytes) else s for s in np.asarray(x).reshape(-1).tolist()]


def normalization_cases(rng):
    out = {}
    x = rng.normal(3.0, 2.0, size=(7, 3)).astype("float32")
    x[:, 2] = 5.0  # a constant feature: variance 0, guarded by epsilon
    y = rng.normal(0.0, 4.0, size=(4, 3)).astype("float32")
    layer = keras.layers.Normalization()
    layer.adapt(x)
    out["adapt"] = {
        "x": arr(x),
        "y": arr(y),
        "mean": arr(layer.adapt_mean.numpy()),
        "variance": arr(layer.adapt_variance.numpy()),
        "numpy_mean": arr(x.astype("float64").mean(axis=0)),
        "numpy_var": arr(x.astype("float64").var(axis=0)),
        "out": arr(layer(y)),
        "param_count": int(layer.count_params()),
    }
    inv = keras.layers.Normalization(invert=True)
    inv.adapt(x)
    out["invert"] = {"x": arr(x), "y": arr(y), "out": arr(inv(y))}
    # streaming adapt over a list of batches (Keras' running mean/variance merge)
    batches = [x[:3], x[3:5], x[5:]]
    stream = keras.layers.Normalization()
    stream.adapt(batches)
    out["batches"] = {
        "batches": [arr(b) for b in batches],
        "mean": arr(stream.adapt_mean.numpy()),
        "variance": arr(stream.adapt_variance.numpy()),
    }
    # given mean/variance, rank-3 input with axis -1
    z = rng.normal(size=(2, 2, 3)).astype("float32")
    given = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    out["given"] = {"mean": [1.0, 2.0, 3.0], "variance": [4.0, 1.0, 0.25], "x": arr(z), "out": arr(given(z))}
    # axis=None: one scalar mean/variance over everything
    scal = keras.layers.Normalization(axis=None)
    scal.adapt(x)
    out["axis_none"] = {"x": arr(x), "mean": float(scal.adapt_mean.numpy()), "variance": float(scal.adapt_variance.numpy()), "out": arr(scal(y))}
    return out


def discretization_cases(rng):
    out = {}
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], dtype="float32")
    bounds = [0.0, 1.0, 2.0]
    modes = {}
    for mode in ["int", "one_hot", "multi_hot", "count"]:
        layer = keras.layers.Discretization(bin_boundaries=bounds, output_mode=mode)
        inp = x if mode != "one_hot" else x.reshape(-1, 1)
        modes[mode] = {"x": arr(inp), "out": arr(layer(inp))}
    out["given"] = {"bin_boundaries": bounds, "modes": modes}
    adapts = []
    for n, num_bins, eps, nb in [(100, 4, 0.01, 1), (1000, 5, 0.01, 1), (37, 3, 0.01, 1),
                                  (250, 4, 0.05, 1), (300, 4, 0.01, 3), (10, 4, 0.01, 1)]:
        data = rng.normal(size=(n,)).astype("float32")
        layer = keras.layers.Discretization(num_bins=num_bins, epsilon=eps)
        if nb == 1:
            layer.adapt(data)
            batches = [data]
        else:
            batches = np.array_split(data, nb)
            layer.adapt(batches)
        adapts.append({
            "batches": [arr(b) for b in batches],
            "num_bins": num_bins,
            "epsilon": eps,
            "bin_boundaries": [float(b) for b in layer.bin_boundaries],
            "np_quantile": arr(np.quantile(data.astype("float64"), np.arange(1, num_bins) / num_bins)),
        })
    out["adapt"] = adapts
    return out


def category_encoding_cases():
    out = {}
    x = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    for mode in ["one_hot", "multi_hot", "count"]:
        layer = keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
        inp = x if mode != "one_hot" else np.array([3, 2, 0, 1])
        out[mode] = {"x": arr(inp), "out": arr(layer(inp))}
    return out


def integer_lookup_cases():
    out = {}
    data = np.array([12, 36, 1138, 42, 42, 36, 36, 7, 7, 99, 0, 0, 0, -1])
    query = np.array([[12, 1138, 42], [42, 1000, 36], [0, -1, 7]])
    cases = {
        "default": dict(),
        "mask_oov2": dict(mask_token=0, num_oov_indices=2),
        "max_tokens": dict(max_tokens=4),
        "no_oov": dict(num_oov_indices=0, mask_token=0),
    }
    for name, kw in cases.items():
        layer = keras.layers.IntegerLookup(**kw)
        layer.adapt(data)
        q = query if name != "no_oov" else np.array([[12, 36], [0, 42]])
        res = {"kwargs": kw, "vocabulary": [int(v) for v in layer.get_vocabulary()], "query": arr(q), "out": arr(layer(q))}
        inv = keras.layers.IntegerLookup(vocabulary=layer.get_vocabulary(include_special_tokens=False), invert=True, **kw)
        idx = np.array([[0, 1, 2, 3, 4, 5, 6]])
        res["invert_in"] = arr(idx)
        res["invert_out"] = arr(inv(idx))
        out[name] = res
    for mode in ["one_hot", "multi_hot", "count"]:
        layer = keras.layers.IntegerLookup(vocabulary=[12, 36, 42], output_mode=mode, mask_token=0)
        q = np.array([[12, 36, 36], [0, 5, 42]]) if mode != "one_hot" else np.array([12, 5, 0, 42])
        out[mode] = {"vocabulary": [12, 36, 42], "mask_token": 0, "query": arr(q), "out": arr(layer(q))}
    return out


def string_lookup_cases():
    out = {}
    data = np.array(["b", "a", "c", "a", "d", "d", "b", "b", "", "[UNK]", "zz", "c", "a"])
    query = np.array([["a", "b", "e"], ["", "zz", "never seen"]])
    for name, kw in {
        "default": dict(),
        "mask_oov3": dict(mask_token="", num_oov_indices=3),
        "max_tokens": dict(max_tokens=3),
    }.items():
        layer = keras.layers.StringLookup(**kw)
        layer.adapt(data)
        res = {"kwargs": kw, "vocabulary": strs(layer.get_vocabulary()), "query": strs(query), "out": np.asarray(layer(query)).reshape(-1).tolist()}
        inv = keras.layers.StringLookup(vocabulary=layer.get_vocabulary(include_special_tokens=False), invert=True, **kw)
        idx = np.array([0, 1, 2, 3, 4, 5, 6, 7])
        res["invert_in"] = arr(idx)
        res["invert_out"] = strs(inv(idx))
        out[name] = res
    vocab = ["red", "green", "blue"]
    for mode in ["one_hot", "multi_hot", "count"]:
        layer = keras.layers.StringLookup(vocabulary=vocab, output_mode=mode)
        q = [["red", "red", "pink"], ["blue", "green", "x"]] if mode != "one_hot" else ["red", "pink", "blue"]
        out[mode] = {"vocabulary": vocab, "query": np.asarray(q).reshape(-1).tolist(), "rows": len(q) if mode != "one_hot" else None, "out": arr(layer(np.asarray(q)))}
    return out


def hashing_cases():
    out = {}
    letters = np.array([["A"], ["B"], ["C"], ["D"], ["E"]])
    out["doc_example"] = {"x": strs(letters), "num_bins": 3, "out": np.asarray(keras.layers.Hashing(num_bins=3)(letters)).reshape(-1).tolist()}
    words = ["", "a", "ab", "abc", "abcd", "hello", "12345678", "123456789abcdef", "0123456789abcdef",
             "0123456789abcdefg", "the quick brown fox", "x" * 32, "y" * 33, "the quick brown fox jumps over the lazy dog!",
             "z" * 64, "w" * 65, "stratanet " * 13, "\u00e9t\u00e9 \u2603", "[UNK]"]
    big = 2**63 - 1
    out["fingerprint"] = {
        "strings": words,
        "mod_2p63m1": [int(v) for v in tf.strings.to_hash_bucket_fast(words, big).numpy()],
        "mod_1000003": [int(v) for v in tf.strings.to_hash_bucket_fast(words, 1000003).numpy()],
    }
    out["siphash"] = {
        "strings": words,
        "key": [123, 456],
        "mod_2p63m1": [int(v) for v in tf.strings.to_hash_bucket_strong(words, big, key=[123, 456]).numpy()],
        "mod_97": [int(v) for v in tf.strings.to_hash_bucket_strong(words, 97, key=[7, 7]).numpy()],
    }
    ints = np.array([[1, 2, 3], [-4, 0, 1234567890123]])
    cases = {}
    for name, kw in {
        "ints": dict(num_bins=5),
        "ints_mask": dict(num_bins=5, mask_value=0),
        "ints_salt": dict(num_bins=7, salt=133),
        "ints_salt_pair": dict(num_bins=7, salt=[1, 2]),
        "ints_count": dict(num_bins=4, output_mode="count"),
    }.items():
        cases[name] = {"kwargs": kw, "x": arr(ints), "out": arr(keras.layers.Hashing(**kw)(ints))}
    strings = np.array([["cat", "dog", ""], ["bird", "cat", "fish"]])
    for name, kw in {
        "strings": dict(num_bins=10),
        "strings_mask": dict(num_bins=10, mask_value=""),
        "strings_salt": dict(num_bins=10, salt=[5, 9]),
        "strings_multi_hot": dict(num_bins=6, output_mode="multi_hot"),
    }.items():
        cases[name] = {"kwargs": kw, "x": strs(strings), "rows": 2, "out": arr(keras.layers.Hashing(**kw)(strings))}
    out["layers"] = cases
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = ap.parse_args()
    rng = np.random.default_rng(20261129)
    fixtures = {
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "normalization": normalization_cases(rng),
        "discretization": discretization_cases(rng),
        "category_encoding": category_encoding_cases(),
        "integer_lookup": integer_lookup_cases(),
        "string_lookup": string_lookup_cases(),
        "hashing": hashing_cases(),
    }
    path = os.path.join(args.out, "preprocessing.json")
    with open(path, "w") as f:
        json.dump(fixtures, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
