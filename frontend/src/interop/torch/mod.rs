//! Importing PyTorch weights: a `state_dict` saved with Python's
//! `safetensors.torch.save_file(model.state_dict(), path)` from an equivalent `torch.nn`
//! model, loaded into a built stratanet model.
//!
//! Each torch tensor is mapped to a stratanet weight path (`dense/kernel`) with a
//! [`Layout`] conversion:
//!
//! | torch                                   | stratanet                         | layout |
//! |-----------------------------------------|-----------------------------------|--------|
//! | `Linear.weight` `[out, in]`             | `Dense/kernel` `[in, out]`        | [`Layout::Linear`] (transpose) |
//! | `Conv2d.weight` `[out, in, kh, kw]`     | `Conv2D/kernel` `[kh, kw, in, out]` | [`Layout::Conv2d`] |
//! | `Conv1d.weight` `[out, in, k]`          | `Conv1D/kernel` `[k, in, out]`    | [`Layout::Conv1d`] |
//! | `BatchNorm*.weight`/`bias`/`running_mean`/`running_var` | `gamma`/`beta`/`moving_mean`/`moving_variance` | [`Layout::Identity`] |
//! | biases                                  | `bias`                            | [`Layout::Identity`] |
//!
//! **Flatten order.** stratanet is channels-last: `Flatten` after a `Conv2D` flattens
//! `[h, w, c]`, while torch's `nn.Flatten` on NCHW flattens `[c, h, w]`. The first `Linear`
//! after the convolutions therefore needs its input columns permuted:
//! [`Layout::LinearAfterNchwFlatten`] does that (only the channel count is needed).
//! [`NameMap::by_order`] applies it automatically to the first `Linear` that follows a
//! `Conv2d` (turn that off with [`NameMap::by_order_nhwc_flatten`] when the torch model
//! permutes to NHWC before flattening).
//!
//! ```
//! use stratanet::interop::torch::{import_torch_state_dict, Layout, NameMap, StateDict};
//! use stratanet::prelude::*;
//! # fn main() -> stratanet::Result<()> {
//! // A state_dict as torch writes it: nn.Sequential(nn.Linear(3, 2)) -> "0.weight" [2, 3].
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("state_dict.safetensors");
//! let w: Vec<f32> = (0..6).map(|i| i as f32).collect();
//! StateDict::from_tensors(vec![
//!     ("0.weight".into(), stratanet::saving::HostTensor { data: stratanet::HostData::F32(w), shape: vec![2, 3] }),
//!     ("0.bias".into(), stratanet::saving::HostTensor { data: stratanet::HostData::F32(vec![0.5, -0.5]), shape: vec![2] }),
//! ]).save(&path)?;
//!
//! let mut model = Sequential::<DefaultBackend>::new();
//! model.add(Input::new(&[3]))?;
//! model.add(Dense::new(2))?;
//! // Automatic, by module order ...
//! let map = NameMap::by_order(&model, &StateDict::load(&path)?)?;
//! // ... or by hand.
//! let same = NameMap::new()
//!     .map("0.weight", "dense/kernel", Layout::Linear)
//!     .map("0.bias", "dense/bias", Layout::Identity);
//! assert_eq!(map, same);
//! import_torch_state_dict(&mut model, &path, &map)?;
//! let y = model.predict_on_batch(&Tensor::from_vec(vec![1.0f32, 0.0, 0.0], &[1, 3])?)?;
//! assert_eq!(y.to_vec_f32()?, vec![0.5, 2.5]); // column 0 of the torch weight + bias
//! # Ok(())
//! # }
//! ```

mod import;
mod layout;
mod name_map;
mod state_dict;

pub use import::import_torch_state_dict;
pub(crate) use layout::permute_host;
pub use layout::Layout;
pub use name_map::{Mapping, NameMap};
pub use state_dict::StateDict;
