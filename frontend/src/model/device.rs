//! Device placement of models: where a model or layer is built ([`placement`]), which
//! layers sit elsewhere ([`misplaced`]), rebuilding a layer on another device with its
//! weights ([`rebuild_layer`]), and the model calls [`ModelCore::device`] and
//! [`ModelCore::to_device`] built on them.

use super::api::{ModelCore, ModelParts};
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::layers::{BuildContext, Layer, Weight};

/// [`Device::placement`] for a model or layer named `who`: an invalid `STRATANET_DEVICE`
/// (or an unusable scoped device) is an error naming `who` as well as the variable.
pub(crate) fn placement<B: Backend>(who: &str) -> Result<Device> {
    Device::placement::<B>().map_err(|e| match e {
        Error::InvalidArgument {
            context,
            argument,
            message,
        } => Error::InvalidArgument {
            context: format!("{who} (default device, {context})"),
            argument,
            message,
        },
        other => other,
    })
}

/// Whether any of `layer`'s weights is not on `device`.
pub(crate) fn misplaced<B: Backend>(layer: &dyn Layer<B>, device: Device) -> bool {
    layer.weights().iter().any(|w| w.value.device() != device)
}

/// `layer` rebuilt on `device`: a new layer from its class and config, built for
/// `input_shapes` with weights of `cast` when given, else of its own float dtype (`dtype`
/// when it has none) under a [`Device::scope`] of `device` (nested
/// models), named and frozen like `layer`, holding copies of `layer`'s weights (copied
/// device to device, in `layer.weights()` order, checked by name and shape). `None` when
/// there is nothing to move: an unbuilt layer, or a layer without weights that cannot be
/// rebuilt from its config (an unregistered custom layer; it keeps working as it is).
///
/// # Errors
/// A layer with weights that cannot be rebuilt from its config (register custom layers
/// with [`crate::layers::register_layer`]), a rebuilt layer whose weights differ in name or
/// shape, engine errors of the copy.
pub(crate) fn rebuild_layer<B: Backend>(
    layer: &dyn Layer<B>,
    input_shapes: &[Vec<usize>],
    device: Device,
    dtype: DType,
    cast: Option<DType>,
) -> Result<Option<Box<dyn Layer<B>>>> {
    if !layer.built() {
        return Ok(None);
    }
    let old = layer.weights();
    let label = format!("{} ({})", layer.name(), layer.class_name());
    let mut fresh =
        match crate::model::layer_from_config::<B>(layer.class_name(), &layer.get_config()) {
            Ok(f) => f,
            Err(_) if old.is_empty() => return Ok(None),
            Err(e) => {
                return Err(Error::invalid(
                    label,
                    "to_device",
                    format!(
                        "its weights cannot be moved: the layer cannot be rebuilt from its \
                     config ({e}); register custom layers with register_layer"
                    ),
                ))
            }
        };
    fresh.set_name(layer.name().to_string());
    fresh.set_trainable(layer.trainable());
    // The layer's own float dtype (a pre-built layer may differ from the model's).
    let dtype = old
        .iter()
        .map(|w| w.value.dtype())
        .find(|d| d.is_float())
        .unwrap_or(dtype);
    let dtype = cast.unwrap_or(dtype);
    let mut ctx = BuildContext::new(device, dtype, 0);
    Device::scope(device, || {
        crate::limits::in_layer(
            || label.clone(),
            || fresh.build_multi(input_shapes, &mut ctx),
        )
    })?;
    let new = fresh.weights();
    let describe = |ws: &[Weight<B>]| {
        ws.iter()
            .map(|w| format!("{} {:?}", w.name, w.value.shape()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if old.len() != new.len()
        || old
            .iter()
            .zip(&new)
            .any(|(o, n)| o.name != n.name || o.value.shape() != n.value.shape())
    {
        return Err(Error::invalid(
            label,
            "to_device",
            format!(
                "rebuilt from its config the layer has weights [{}], not [{}]; \
                 it cannot be moved",
                describe(&new),
                describe(&old)
            ),
        ));
    }
    for (o, n) in old.iter().zip(&new) {
        let v = o.value.detach().to_device(device)?;
        let v = if v.dtype() == n.value.dtype() {
            v
        } else {
            v.to_dtype(n.value.dtype())?
        };
        n.value.assign(&v)?;
    }
    Ok(Some(fresh))
}

impl<B: Backend, A> ModelCore<B, A>
where
    Self: ModelParts<B>,
{
    /// The device the model's weights live on: by default [`Device::auto`]
    /// (CUDA when the engine sees a GPU, else the CPU; `STRATANET_DEVICE`
    /// overrides it). `fit`, `evaluate`, `predict` and `call` move their inputs
    /// here.
    ///
    /// [`Device::auto`]: crate::Device::auto
    pub fn device(&self) -> crate::Device {
        <Self as crate::model::Network<B>>::device(self)
    }

    /// Moves the model to `device`, like PyTorch's `model.to(device)`: every built
    /// layer is rebuilt from its config on `device` and given a copy of its weights
    /// (device to device), and the compiled optimizer's state (moments, step count,
    /// gradient accumulators) moves with it, so training continues exactly where it
    /// was: no recompiling needed. Moving to the device the model is on copies the
    /// weights all the same.
    ///
    /// A layer keeps its place in the model, but is a new object: weight tensors
    /// taken from the model before the move (`weights()`,
    /// `trainable_weights()`) still hold the old copies, and a layer shared with
    /// another model (a [`Shared`](crate::model::Shared) applied in both) moves for
    /// both. Layers are rebuilt as `save`/`load` rebuilds them, so custom layers must
    /// be registered ([`crate::layers::register_layer`]).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Sequential::<DefaultBackend>::new().with_seed(3);
    /// m.add(Input::new(&[4]))?;
    /// m.add(Dense::new(2))?;
    /// let x = Tensor::<DefaultBackend>::ones(&[1, 4], DType::F32, Device::Cpu)?;
    /// let before = m.predict_with(&x, 8)?.to_vec_f32()?;
    /// m.to_device(Device::Cpu)?;
    /// assert_eq!(m.device(), Device::Cpu);
    /// assert_eq!(m.predict_with(&x, 8)?.to_vec_f32()?, before);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A device the engine cannot use (naming `to_device`), a layer with weights that
    /// cannot be rebuilt from its config, engine errors. On error the model is
    /// unchanged.
    pub fn to_device(&mut self, device: crate::Device) -> Result<()> {
        let device = crate::Device::resolve::<B>(&device.to_string(), "to_device(device)")?;
        // Move the optimizer's state first (fallible, nothing committed yet).
        let moved = match self.state().compiled.as_ref() {
            Some(c) => c
                .optimizer
                .variables()
                .into_iter()
                .map(|(n, t)| Ok((n, t.to_device(device)?)))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        self.move_layers(device, None)?;
        if let Some(c) = self.state_mut().compiled.as_mut() {
            if !moved.is_empty() {
                c.optimizer.set_variables(&moved)?;
            }
        }
        self.state_mut().pending_activity = None;
        Ok(())
    }

    /// Casts every float variable of the model to `dtype`, like PyTorch's
    /// `model.to(torch.bfloat16)`: the layers are rebuilt (as [`Self::to_device`] does)
    /// with their weights rounded to `dtype`, the compiled optimizer's float state is cast
    /// with them (the loss scale of a `LossScaleOptimizer` stays exact), and the model
    /// computes and predicts in `dtype` from then on.
    ///
    /// The usual use: shrink a model trained under a mixed precision policy to a 16-bit
    /// file (`cast_variables(DType::BF16)` then `save`), half the size of the `f32` one.
    /// Such a file loads like any other: a `Sequential` comes back with `bf16` variables,
    /// a functional model with the `bf16` values widened to `f32`.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Sequential::<DefaultBackend>::new().with_seed(3);
    /// m.add(Input::new(&[4]))?;
    /// m.add(Dense::new(2))?;
    /// m.cast_variables(DType::BF16)?;
    /// assert!(m.weights().iter().all(|(_, w)| w.value.dtype() == DType::BF16));
    /// let x = Tensor::<DefaultBackend>::ones(&[1, 4], DType::F32, Device::Cpu)?;
    /// assert_eq!(m.predict_with(&x, 8)?.dtype(), DType::BF16);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `cast_variables(dtype)` for a dtype that is not a
    /// float; as [`Self::to_device`] otherwise. On error the model is unchanged.
    pub fn cast_variables(&mut self, dtype: DType) -> Result<()> {
        if !dtype.is_float() {
            return Err(Error::invalid(
                <Self as crate::model::Network<B>>::model_name(self),
                "cast_variables(dtype)",
                format!("a float dtype (f32, f64, bf16, f16), got {dtype}"),
            ));
        }
        let cast = match self.state().compiled.as_ref() {
            Some(c) => c
                .optimizer
                .variables()
                .into_iter()
                .map(|(n, t)| {
                    let keep = !t.dtype().is_float() || n.starts_with("loss_scale/");
                    Ok((n, if keep { t } else { t.to_dtype(dtype)? }))
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let device = self.device();
        self.move_layers(device, Some(dtype))?;
        if let Some(c) = self.state_mut().compiled.as_mut() {
            if !cast.is_empty() {
                c.optimizer.set_variables(&cast)?;
            }
        }
        self.state_mut().pending_activity = None;
        Ok(())
    }
}
