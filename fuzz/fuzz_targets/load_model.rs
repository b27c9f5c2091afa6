//! Fuzzes the model loader: arbitrary bytes go through the safetensors parser and
//! checksum (`saving::from_bytes`), then, written to a file, through the whole-model
//! loaders (`Sequential::load`, `Model::load`) and `load_weights`. Every input must give
//! `Ok` or a clear `Err`, never a panic, hang or abort. To let the fuzzer past the
//! checksum, the input is also tried with its checksum recomputed (`resealed`), so that
//! malformed configs and tensors behind a valid checksum are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratanet::{Candle, Model, Sequential};

fuzz_target!(|data: &[u8]| {
    let _ = stratanet::saving::from_bytes(data, "fuzz");
    let _ = stratanet::interop::torch::StateDict::from_bytes(data, "fuzz");
    let dir = std::env::temp_dir();
    let path = dir.join(format!("stratanet-fuzz-{}.safetensors", std::process::id()));
    let mut inputs = vec![data.to_vec()];
    if let Some(sealed) = reseal(data) {
        inputs.push(sealed);
    }
    for bytes in inputs {
        if std::fs::write(&path, &bytes).is_err() {
            return;
        }
        let _ = Sequential::<Candle>::load(&path);
        let _ = Model::<Candle>::load(&path);
    }
    let _ = std::fs::remove_file(&path);
});

/// The same tensors and metadata re-encoded with a correct checksum, when `data` parses as
/// safetensors at all.
fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    let st = safetensors_view(data)?;
    let (tensors, mut meta) = st;
    meta.remove(stratanet::saving::CHECKSUM_KEY);
    stratanet::saving::to_bytes(&tensors, &meta).ok()
}

type Parsed = (
    Vec<(String, stratanet::saving::HostTensor)>,
    std::collections::HashMap<String, String>,
);

fn safetensors_view(data: &[u8]) -> Option<Parsed> {
    let sd = stratanet::interop::torch::StateDict::from_bytes(data, "fuzz").ok()?;
    let tensors = sd
        .names()
        .into_iter()
        .filter_map(|(n, _)| sd.get(n).map(|t| (n.to_string(), t.clone())))
        .collect();
    let (_, header) = safetensors::SafeTensors::read_metadata(data).ok()?;
    let meta = header.metadata().clone().unwrap_or_default();
    Some((tensors, meta))
}
