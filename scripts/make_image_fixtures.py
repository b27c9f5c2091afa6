#!/usr/bin/env python3
"""Keras 3 reference outputs for stratanet's image preprocessing layers (tests/image_layers.rs).

Run with the torch venv of `cargo xtask libtorch` (keras 3.15.1, torch backend):

    KERAS_BACKEND=torch ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_image_fixtures.py

It writes tests/fixtures/image_layers.safetensors (generated with keras 3.15.1, torch 2.11):
for each case `<case>/x` (the input, NHWC float32) and `<case>/y` (Keras' output), and
for tests/image_folder.rs `folder_<mode>/pixels` (8-bit values as float32) with Keras'
resizes of them to 8 x 10 (`bilinear`, `nearest`, `crop`: smart_resize).

The random layers are made deterministic by a factor range of zero width, which Keras
draws as that one value (`RandomRotation(factor=(0.125, 0.125))` is a 45 degree turn;
`RandomContrast(factor=(-0.5, 0.5))` is Keras' contrast factor 1.5), and called with
`training=True`. `RandomFlip` outputs are random per image: its case stores Keras' flip of
every image (`flip/full`), the test checks each output image is the input or that flip.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fixture_io import out_dir, write  # noqa: E402

assert keras.backend.backend() == "torch", "run with KERAS_BACKEND=torch"


def t(a):
    return torch.tensor(np.asarray(a, dtype="float32"))


def main():
    out = out_dir()
    rng = np.random.default_rng(2024)
    tensors = {}

    def case(name, layer, x, training=False):
        y = layer(x, training=training)
        y = keras.ops.convert_to_numpy(y)
        tensors[f"{name}/x"] = t(x)
        tensors[f"{name}/y"] = t(y)

    # Pixel values 0..255 on odd sizes, 3 channels.
    img = rng.uniform(0, 255, size=(2, 7, 9, 3)).astype("float32")
    small = rng.uniform(0, 255, size=(2, 5, 6, 2)).astype("float32")

    case("rescaling", keras.layers.Rescaling(1 / 127.5, offset=-1.0), img)
    case("rescaling_channels", keras.layers.Rescaling([0.5, 2.0, -1.0], offset=[1.0, 0.0, 3.0]), img)

    case("resize_down", keras.layers.Resizing(4, 5), img)
    case("resize_up", keras.layers.Resizing(11, 13), img)
    case("resize_mixed", keras.layers.Resizing(3, 14), img)
    case("resize_nearest", keras.layers.Resizing(5, 4, interpolation="nearest"), img)
    case("resize_crop", keras.layers.Resizing(4, 4, crop_to_aspect_ratio=True), img)
    case("resize_crop_wide", keras.layers.Resizing(3, 8, crop_to_aspect_ratio=True), img)
    case("resize_pad", keras.layers.Resizing(6, 6, pad_to_aspect_ratio=True, fill_value=7.0), img)

    case("center_crop", keras.layers.CenterCrop(4, 6), img)
    case("center_crop_odd", keras.layers.CenterCrop(5, 4), img)
    case("center_crop_up", keras.layers.CenterCrop(8, 6), img)  # taller than 7: smart_resize

    for mode in ["reflect", "wrap", "constant", "nearest"]:
        case(
            f"rotation_{mode}",
            keras.layers.RandomRotation((0.125, 0.125), fill_mode=mode, fill_value=9.0),
            img,
            training=True,
        )
    case(
        "rotation_nearest_interp",
        keras.layers.RandomRotation((-0.1, -0.1), interpolation="nearest", fill_mode="constant"),
        img,
        training=True,
    )
    case("rotation_zero", keras.layers.RandomRotation(0.0), img, training=True)
    case("rotation_inference", keras.layers.RandomRotation(0.3), img, training=False)

    case(
        "zoom_out",
        keras.layers.RandomZoom((0.3, 0.3), fill_mode="constant", fill_value=4.0),
        img,
        training=True,
    )
    case(
        "zoom_in_width",
        keras.layers.RandomZoom((-0.4, -0.4), width_factor=(0.2, 0.2), fill_mode="reflect"),
        img,
        training=True,
    )
    case(
        "zoom_wrap",
        keras.layers.RandomZoom((0.5, 0.5), width_factor=(0.5, 0.5), fill_mode="wrap"),
        small,
        training=True,
    )

    case(
        "translation",
        keras.layers.RandomTranslation((0.25, 0.25), (-0.1, -0.1)),
        img,
        training=True,
    )
    case(
        "translation_constant",
        keras.layers.RandomTranslation((-0.3, -0.3), (0.35, 0.35), fill_mode="constant"),
        img,
        training=True,
    )
    case(
        "translation_nearest",
        keras.layers.RandomTranslation((0.5, 0.5), (0.5, 0.5), fill_mode="nearest", interpolation="nearest"),
        small,
        training=True,
    )

    case("contrast", keras.layers.RandomContrast((-0.5, 0.5)), img, training=True)
    case("contrast_unit", keras.layers.RandomContrast((-0.3, 0.3), value_range=(0, 1)), img / 255.0, training=True)
    case("brightness_up", keras.layers.RandomBrightness((0.2, 0.2)), img, training=True)
    case("brightness_down", keras.layers.RandomBrightness((-0.3, -0.3), value_range=(0, 1)), img / 255.0, training=True)

    # RandomFlip: Keras' full flip of each image (the transformation with every flag set).
    flips = rng.uniform(0, 255, size=(64, 3, 4, 1)).astype("float32")
    for mode in ["horizontal", "vertical", "horizontal_and_vertical"]:
        layer = keras.layers.RandomFlip(mode)
        full = layer.transform_images(
            keras.ops.convert_to_tensor(flips),
            {"flips": keras.ops.ones((64, 1, 1, 1), dtype="bool"), "input_shape": flips.shape},
            training=True,
        )
        tensors[f"flip_{mode}/x"] = t(flips)
        tensors[f"flip_{mode}/full"] = t(keras.ops.convert_to_numpy(full))

    # image_dataset_from_directory: 8-bit pixels (the Rust test writes them as PNG files)
    # and Keras' resize of them. Keras resizes folder images with tf.image.resize
    # (bilinear, half-pixel centres, no antialiasing); on the torch backend
    # keras.ops.image.resize is F.interpolate(align_corners=False, antialias=False), the
    # same formula, and needs no TensorFlow.
    from keras.src.utils.image_utils import smart_resize

    folder = {
        "gray": rng.integers(0, 256, size=(9, 6, 1)),
        "rgb": rng.integers(0, 256, size=(13, 17, 3)),
        "rgba": rng.integers(0, 256, size=(20, 11, 4)),
    }
    for name, px in folder.items():
        px = px.astype("float32")
        tensors[f"folder_{name}/pixels"] = t(px)
        tensors[f"folder_{name}/bilinear"] = t(
            keras.ops.convert_to_numpy(keras.ops.image.resize(px, (8, 10), interpolation="bilinear"))
        )
        tensors[f"folder_{name}/nearest"] = t(
            keras.ops.convert_to_numpy(keras.ops.image.resize(px, (8, 10), interpolation="nearest"))
        )
        tensors[f"folder_{name}/crop"] = t(
            keras.ops.convert_to_numpy(smart_resize(px, (8, 10), interpolation="bilinear"))
        )

    write(out, "image_layers.safetensors", tensors)


if __name__ == "__main__":
    main()
