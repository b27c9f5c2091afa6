//! The entry points of the fuzz targets, shared by the `cargo fuzz` binaries in
//! `fuzz/fuzz_targets/` and by the stable-toolchain replay test `tests/fuzz_corpus.rs`
//! (both include this file with `#[path]`), so that every committed corpus and regression
//! file goes through exactly the code the fuzzer ran. Each function must return normally
//! for every input: a library `Err` is a correct answer, a panic (or abort, hang, huge
//! allocation) is a bug.

// Each fuzz binary uses one of these functions.
#![allow(dead_code)]

use std::io::Write;
use stratanet::tabular::{CsvChunks, CsvOptions, FeatureSpace, Table};
use stratanet::{Candle, Device, Model, Sequential};

/// The model loader: arbitrary bytes go through the safetensors parser and checksum
/// (`saving::from_bytes`) and the PyTorch state-dict reader, then, written to a unique
/// temporary file, through the whole-model loaders (`Sequential::load`, `Model::load`).
/// To get past the checksum, the input is also tried with its checksum recomputed
/// (`reseal`), so that malformed configs and tensors behind a valid checksum are reached.
pub fn load_model(data: &[u8]) {
    let _ = stratanet::saving::from_bytes(data, "fuzz");
    let _ = stratanet::interop::torch::StateDict::from_bytes(data, "fuzz");
    let mut inputs = vec![data.to_vec()];
    if let Some(sealed) = reseal(data) {
        inputs.push(sealed);
    }
    for bytes in inputs {
        let Some(file) = temp_file_with(&bytes, ".safetensors") else {
            return;
        };
        let _ = Sequential::<Candle>::load(file.path());
        let _ = Model::<Candle>::load(file.path());
    }
}

/// The CSV reader: arbitrary bytes, written to a unique temporary file, through
/// `Table::read_csv` and `CsvChunks` (every chunk read), and, when they are UTF-8, through
/// the in-memory `Table::from_csv_str`. The first byte picks the options (delimiter,
/// header or not) and the chunk size, the rest is the file.
pub fn read_csv(data: &[u8]) {
    let (opts, chunk_rows, body) = match data.split_first() {
        Some((&b, rest)) => {
            let delimiter = [b',', b';', b'\t', b'|'][(b & 3) as usize];
            let opts = CsvOptions::new()
                .delimiter(delimiter)
                .has_header(b & 4 == 0);
            (opts, 1 + ((b >> 3) & 3) as usize, rest)
        }
        None => (CsvOptions::new(), 1, data),
    };
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = Table::from_csv_str(text, &opts);
    }
    let Some(file) = temp_file_with(body, ".csv") else {
        return;
    };
    if let Ok(table) = Table::read_csv(file.path(), &opts) {
        let _ = table.schema();
    }
    if let Ok(chunks) = CsvChunks::open(file.path(), &opts, chunk_rows) {
        let tables: Vec<Table> = chunks.filter_map(|c| c.ok()).collect();
        let _ = Table::concat(&tables);
    }
}

/// A small raw table with one column of each kind a `FeatureSpace` reads (float with a
/// missing value, int, string with a missing value), named as in the seed JSON.
pub const FEATURE_TABLE: &str = "x,i,s,p,h\n1.5,3,a,0.5,u\n,4,,1.0,v\n-2,3,b,2.0,u\n";

/// `FeatureSpace::from_json` on arbitrary text; when it parses, the space (and a copy
/// re-adapted on [`FEATURE_TABLE`]) transforms that table to host values and to a candle
/// tensor, and its JSON must read back.
pub fn feature_space(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(fs) = FeatureSpace::from_json(text) else {
        return;
    };
    let table = Table::from_csv_str(FEATURE_TABLE, &CsvOptions::new())
        .expect("the fixed feature table parses");
    let again = FeatureSpace::from_json(&fs.to_json());
    assert!(
        again.is_ok(),
        "FeatureSpace::to_json of a parsed space does not read back: {:?}",
        again.err()
    );
    let _ = fs.output_dim();
    let _ = fs.feature_names();
    let _ = fs.transform_host(&table);
    let _ = fs.transform::<Candle>(&table, Device::Cpu);
    let mut adapted = fs.clone();
    if adapted.adapt(&table).is_ok() {
        let _ = adapted.transform_host(&table);
    }
}

/// `bytes` in a new temporary file that no other caller can pick (removed on drop).
fn temp_file_with(bytes: &[u8], suffix: &str) -> Option<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("stratanet-fuzz-")
        .suffix(suffix)
        .tempfile()
        .ok()?;
    file.write_all(bytes).ok()?;
    file.flush().ok()?;
    Some(file)
}

/// The same tensors and metadata re-encoded with a correct checksum, when `data` parses as
/// safetensors at all.
fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    let sd = stratanet::interop::torch::StateDict::from_bytes(data, "fuzz").ok()?;
    let tensors: Vec<(String, stratanet::saving::HostTensor)> = sd
        .names()
        .into_iter()
        .filter_map(|(n, _)| sd.get(n).map(|t| (n.to_string(), t.clone())))
        .collect();
    let (_, header) = safetensors::SafeTensors::read_metadata(data).ok()?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    meta.remove(stratanet::saving::CHECKSUM_KEY);
    stratanet::saving::to_bytes(&tensors, &meta).ok()
}
