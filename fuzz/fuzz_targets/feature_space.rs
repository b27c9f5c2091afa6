//! Fuzzes `FeatureSpace::from_json` and the transform of a parsed space; see
//! `entry_points::feature_space`.
#![no_main]

#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::feature_space(data));
