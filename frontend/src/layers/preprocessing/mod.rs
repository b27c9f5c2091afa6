//! Preprocessing layers with Keras 3 semantics: [`Normalization`], [`Discretization`],
//! [`CategoryEncoding`], [`IntegerLookup`], [`Hashing`] (engine layers that join a model and
//! save with it) and the host-side [`StringLookup`] and [`TextVectorization`] (strings are
//! not engine tensors).
//!
//! The statistics a layer learns with `adapt` are saved with the model: `Normalization`'s
//! mean and variance as non-trainable weights (`normalization/mean`, ...), the vocabulary of
//! `IntegerLookup` and the bin boundaries of `Discretization` in the layer config. A loaded
//! model therefore preprocesses exactly as at training time.
//!
//! Hashing uses the same functions as Keras/TensorFlow: FarmHash `Fingerprint64`
//! ([`fingerprint64`], TensorFlow's `to_hash_bucket_fast`) and, with a salt, SipHash-2-4
//! ([`siphash24`], `to_hash_bucket_strong`); integers are hashed as their decimal strings.

//!
//! The image layers follow Keras' `image_preprocessing` package: [`Rescaling`],
//! [`Resizing`], [`CenterCrop`] (`image`) and the augmentation layers [`RandomFlip`],
//! [`RandomRotation`], [`RandomZoom`], [`RandomTranslation`], [`RandomContrast`],
//! [`RandomBrightness`] (`augmentation`, active only in training), with the resampling
//! they share (`sampling`).
//!
//! One file per concern, following Keras' own split: the layers (`normalization`,
//! `discretization`, `category_encoding`, `hashing`, `integer_lookup`, `string_lookup`,
//! `text_vectorization`), the lookup core they share (`index_lookup`), the hash functions (`farmhash`, `siphash`),
//! Keras' quantile sketch (`quantile_sketch`) and the shared helpers (`common`).

mod augmentation;
mod category_encoding;
mod common;
mod discretization;
mod farmhash;
mod hashing;
mod image;
mod index_lookup;
mod integer_lookup;
mod normalization;
mod quantile_sketch;
mod sampling;
mod siphash;
mod string_lookup;
mod text_vectorization;

pub use augmentation::{
    Factor, RandomBrightness, RandomBrightnessConfig, RandomContrast, RandomContrastConfig,
    RandomFlip, RandomFlipConfig, RandomRotation, RandomRotationConfig, RandomTranslation,
    RandomTranslationConfig, RandomZoom, RandomZoomConfig,
};
pub use category_encoding::CategoryEncoding;
pub use common::OutputMode;
pub use discretization::Discretization;
pub use farmhash::fingerprint64;
pub use hashing::{Hashing, MaskValue};
pub use image::{
    CenterCrop, CenterCropConfig, PerChannel, Rescaling, RescalingConfig, Resizing, ResizingConfig,
};
pub(crate) use index_lookup::LookupCore;
pub use integer_lookup::IntegerLookup;
pub use normalization::Normalization;
pub(crate) use sampling::{aspect_crop, resize_taps, Interpolation};
pub use siphash::siphash24;
pub use string_lookup::StringLookup;
pub use text_vectorization::{Ngrams, Split, Standardize, TextOutputMode, TextVectorization};
