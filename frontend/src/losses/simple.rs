//! The `loss!` macro: a loss declared once as its hyper-parameters (a serde struct with
//! Keras' names and defaults, plus `reduction`), its Keras name, target kind and formula;
//! it generates `new`, the builder setters and the [`Loss`](super::Loss) impl, whose
//! `get_config` is the struct itself (and `from_config` its serde reading, in
//! [`registry`](super::registry)).

/// Declares a loss:
///
/// ```text
/// loss! {
///     /// Doc.
///     pub struct BinaryCrossentropy("binary_crossentropy", Binary) {
///         /// Whether predictions are logits.
///         from_logits: bool = false,
///     }
///     |self, y_true, y_pred| { ... }      // the per-sample values
///     // further `Loss` methods (per_sample_checked, check_targets), if any
/// }
/// ```
///
/// `new()` takes Keras' defaults, or the fields named in `new(field: Type, ..)` after the
/// struct name; every field gets a setter of its name, and `reduction` one too.
macro_rules! loss {
    (
        $(#[$meta:meta])*
        pub struct $t:ident($name:literal, $kind:ident) $(new($($arg:ident: $aty:ty),*))? {
            $($(#[$doc:meta])* $field:ident: $fty:ty = $default:expr,)*
        }
        |$s:ident, $y:ident, $p:ident| $body:block
        $($extra:tt)*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $t {
            $($(#[$doc])* pub $field: $fty,)*
            /// Reduction (default `sum_over_batch_size`).
            pub reduction: Reduction,
        }

        impl Default for $t {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    reduction: Reduction::default(),
                }
            }
        }

        impl $t {
            /// With Keras' defaults (for the fields not given).
            pub fn new($($($arg: $aty),*)?) -> Self {
                Self {
                    $($($arg,)*)?
                    ..Self::default()
                }
            }
            $(
                $(#[$doc])*
                pub fn $field(mut self, $field: $fty) -> Self {
                    self.$field = $field;
                    self
                }
            )*
            /// Sets the reduction.
            pub fn reduction(mut self, reduction: Reduction) -> Self {
                self.reduction = reduction;
                self
            }
        }

        impl<B: Backend> Loss<B> for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn per_sample(&$s, $y: &Tensor<B>, $p: &Tensor<B>) -> Result<Tensor<B>> $body
            fn target_kind(&self) -> TargetKind {
                TargetKind::$kind
            }
            fn get_config(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
            $($extra)*
        }
    };
}

/// A hyper-parameter-free [`loss!`] whose formula takes the targets already brought to
/// the predictions' shape (`align`).
macro_rules! simple_loss {
    ($(#[$doc:meta])* $t:ident, $name:literal, $kind:ident, |$y:ident, $p:ident| $body:block) => {
        loss! {
            $(#[$doc])*
            pub struct $t($name, $kind) {}
            |self, y_true, y_pred| {
                let $y = align($name, y_true, y_pred)?;
                let $p = y_pred;
                $body
            }
        }
    };
}
