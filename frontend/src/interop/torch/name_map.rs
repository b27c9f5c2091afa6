//! The torch name → stratanet weight path map: built by hand ([`NameMap::map`]) or by
//! lining up torch modules and stratanet layers in order ([`NameMap::by_order`]).

use super::layout::Layout;
use super::state_dict::{is_ignored, StateDict};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use std::collections::HashMap;

/// One torch tensor → stratanet weight mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The `state_dict` key (`features.0.weight`).
    pub torch: String,
    /// The stratanet weight path (`conv2d/kernel`).
    pub target: String,
    /// The layout conversion.
    pub layout: Layout,
}

/// The torch name → stratanet weight path map used by
/// [`import_torch_state_dict`](super::import_torch_state_dict).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    /// The mappings, in order.
    pub entries: Vec<Mapping>,
}

/// What a group of tensors (one module or layer) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dense,
    Conv2d,
    Conv1d,
    BatchNorm,
}

impl Kind {
    /// The kind of a module or layer whose weight (kernel) has `rank` axes, if one maps.
    fn of_weight_rank(rank: Option<usize>) -> Option<Kind> {
        match rank {
            Some(2) => Some(Kind::Dense),
            Some(4) => Some(Kind::Conv2d),
            Some(3) => Some(Kind::Conv1d),
            _ => None,
        }
    }

    fn torch_name(self) -> &'static str {
        match self {
            Kind::Dense => "nn.Linear",
            Kind::Conv2d => "nn.Conv2d",
            Kind::Conv1d => "nn.Conv1d",
            Kind::BatchNorm => "nn.BatchNorm",
        }
    }
}

/// Groups `(key, item)` pairs by key: the keys in first-seen order, and each key's items
/// in order.
fn group_in_order<K: Eq + std::hash::Hash + Clone, T>(
    pairs: impl IntoIterator<Item = (K, T)>,
) -> (Vec<K>, HashMap<K, Vec<T>>) {
    let mut order = Vec::new();
    let mut groups: HashMap<K, Vec<T>> = HashMap::new();
    for (key, item) in pairs {
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(item);
    }
    (order, groups)
}

/// Compares `features.10.weight`-style names segment by segment, numbers numerically.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => p.cmp(q),
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn split_last(name: &str, sep: char) -> (&str, &str) {
    name.rsplit_once(sep).unwrap_or(("", name))
}

impl NameMap {
    /// An empty map; add entries with [`NameMap::map`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `torch` → `target` with `layout`.
    pub fn map(mut self, torch: &str, target: &str, layout: Layout) -> Self {
        self.entries.push(Mapping {
            torch: torch.to_string(),
            target: target.to_string(),
            layout,
        });
        self
    }

    /// Builds the map by order for stacks of `nn.Linear`, `nn.Conv2d`, `nn.Conv1d` and
    /// `nn.BatchNorm*` modules (parameter-free modules such as `ReLU`, pooling, `Flatten`
    /// and `Dropout` are skipped on both sides): the i-th torch module with weights goes to
    /// the i-th stratanet layer with weights. Torch modules are ordered by their
    /// `state_dict` names compared segment by segment, numbers numerically (`0`, `1`, ...,
    /// `10`): that is definition order for `nn.Sequential` and for modules named in
    /// definition order (`fc1`, `fc2`); otherwise build the map by hand with
    /// [`NameMap::map`].
    ///
    /// The first `nn.Linear` after an `nn.Conv2d` gets
    /// [`Layout::LinearAfterNchwFlatten`], for a torch model that flattens NCHW maps with
    /// `nn.Flatten` (the usual case); see [`NameMap::by_order_nhwc_flatten`].
    ///
    /// # Errors
    /// A module or layer of a kind it cannot map, a kind mismatch at some position, or
    /// different numbers of modules and layers: the message lists both sequences.
    pub fn by_order<B: Backend, M: ModelParts<B>>(
        model: &M,
        state_dict: &StateDict,
    ) -> Result<Self> {
        Self::build_by_order(model, state_dict, true)
    }

    /// As [`NameMap::by_order`], for a torch model that permutes its feature maps to NHWC
    /// before flattening (so that its flatten order already matches stratanet's): every
    /// `nn.Linear` gets the plain [`Layout::Linear`].
    ///
    /// # Errors
    /// As [`NameMap::by_order`].
    pub fn by_order_nhwc_flatten<B: Backend, M: ModelParts<B>>(
        model: &M,
        state_dict: &StateDict,
    ) -> Result<Self> {
        Self::build_by_order(model, state_dict, false)
    }

    fn build_by_order<B: Backend, M: ModelParts<B>>(
        model: &M,
        sd: &StateDict,
        nchw_flatten: bool,
    ) -> Result<Self> {
        let origin = &sd.origin;
        // Torch modules: prefix -> (suffix -> shape), ordered naturally.
        let (mut prefixes, torch_groups) =
            group_in_order(sd.tensors.iter().filter(|(name, _)| !is_ignored(name)).map(
                |(name, t)| {
                    let (prefix, leaf) = split_last(name, '.');
                    (prefix, (leaf, t.shape.as_slice()))
                },
            ));
        prefixes.sort_by(|a, b| natural_cmp(a, b));
        let mut torch_mods: Vec<(&str, Kind)> = Vec::new();
        for p in &prefixes {
            let g = &torch_groups[p];
            let has = |leaf: &str| g.iter().find(|(l, _)| *l == leaf).map(|(_, s)| *s);
            let kind = if has("running_mean").is_some() && has("running_var").is_some() {
                Kind::BatchNorm
            } else {
                match Kind::of_weight_rank(has("weight").map(|s| s.len())) {
                    Some(kind) => kind,
                    None => {
                        return Err(Error::config(
                            origin,
                            format!(
                                "cannot map torch module '{p}' ({}) automatically: only nn.Linear, nn.Conv1d/2d and nn.BatchNorm* are; build the NameMap by hand",
                                g.iter().map(|(l, s)| format!("{l} {s:?}")).collect::<Vec<_>>().join(", ")
                            ),
                        ))
                    }
                }
            };
            torch_mods.push((p, kind));
        }
        // stratanet layers, in model order.
        let weights = model.named_weights();
        let (layer_order, layer_groups) = group_in_order(weights.iter().map(|(path, w)| {
            let (layer, leaf) = split_last(path, '/');
            (layer, (leaf, w.value.shape()))
        }));
        let mut layers: Vec<(&str, Kind)> = Vec::new();
        for l in &layer_order {
            let g = &layer_groups[l];
            let has = |leaf: &str| g.iter().find(|(x, _)| *x == leaf).map(|(_, s)| s.len());
            let kind = if has("moving_mean").is_some() {
                Kind::BatchNorm
            } else {
                match Kind::of_weight_rank(has("kernel")) {
                    Some(kind) => kind,
                    None => {
                        return Err(Error::config(
                            origin,
                            format!(
                                "cannot map layer '{l}' (weights {}) automatically: only Dense, Conv1D/2D and BatchNormalization are; build the NameMap by hand",
                                g.iter().map(|(x, _)| *x).collect::<Vec<_>>().join(", ")
                            ),
                        ))
                    }
                }
            };
            layers.push((l, kind));
        }
        let describe_t = || {
            torch_mods
                .iter()
                .map(|(p, k)| format!("{p} ({})", k.torch_name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let describe_s = || {
            layers
                .iter()
                .map(|(l, _)| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut map = NameMap::new();
        let mut conv_channels: Option<usize> = None;
        for ((p, tk), (l, lk)) in torch_mods.iter().zip(&layers) {
            if tk != lk {
                return Err(Error::config(
                    origin,
                    format!(
                        "torch module '{p}' ({}) lines up with layer '{l}' of another kind; torch: [{}]; stratanet: [{}]",
                        tk.torch_name(),
                        describe_t(),
                        describe_s()
                    ),
                ));
            }
            let tname = |leaf: &str| {
                if p.is_empty() {
                    leaf.to_string()
                } else {
                    format!("{p}.{leaf}")
                }
            };
            let g = &torch_groups[p];
            let has = |leaf: &str| g.iter().any(|(x, _)| *x == leaf);
            match tk {
                Kind::Dense => {
                    let layout = match conv_channels.take() {
                        Some(c) if nchw_flatten => Layout::LinearAfterNchwFlatten { channels: c },
                        _ => Layout::Linear,
                    };
                    map = map.map(&tname("weight"), &format!("{l}/kernel"), layout);
                    if has("bias") {
                        map = map.map(&tname("bias"), &format!("{l}/bias"), Layout::Identity);
                    }
                }
                Kind::Conv2d | Kind::Conv1d => {
                    let layout = if *tk == Kind::Conv2d {
                        conv_channels = g.iter().find(|(x, _)| *x == "weight").map(|(_, s)| s[0]);
                        Layout::Conv2d
                    } else {
                        conv_channels = None;
                        Layout::Conv1d
                    };
                    map = map.map(&tname("weight"), &format!("{l}/kernel"), layout);
                    if has("bias") {
                        map = map.map(&tname("bias"), &format!("{l}/bias"), Layout::Identity);
                    }
                }
                Kind::BatchNorm => {
                    for (t, s) in [
                        ("weight", "gamma"),
                        ("bias", "beta"),
                        ("running_mean", "moving_mean"),
                        ("running_var", "moving_variance"),
                    ] {
                        if has(t) {
                            map = map.map(&tname(t), &format!("{l}/{s}"), Layout::Identity);
                        }
                    }
                }
            }
        }
        if torch_mods.len() != layers.len() {
            return Err(Error::config(
                origin,
                format!(
                    "{} torch modules with weights but {} stratanet layers with weights; torch: [{}]; stratanet: [{}]",
                    torch_mods.len(),
                    layers.len(),
                    describe_t(),
                    describe_s()
                ),
            ));
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["10.weight", "2.weight", "1.weight", "fc.bias"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["1.weight", "2.weight", "10.weight", "fc.bias"]);
    }
}
