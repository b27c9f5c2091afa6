//! Fuzzes the CSV reader (`Table::read_csv`, `Table::from_csv_str`, `CsvChunks`); see
//! `entry_points::read_csv`.
#![no_main]

#[path = "../entry_points.rs"]
mod entry_points;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry_points::read_csv(data));
