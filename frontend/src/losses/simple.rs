//! The `simple_loss!` macro: a hyper-parameter-free loss with a `reduction` field.

/// Declares a hyper-parameter-free loss with a `reduction` field and builder.
macro_rules! simple_loss {
    ($(#[$doc:meta])* $t:ident, $name:literal, $kind:expr, |$y:ident, $p:ident| $body:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t {
            /// Reduction (default `sum_over_batch_size`).
            pub reduction: Reduction,
        }

        impl $t {
            /// With default arguments.
            pub fn new() -> Self {
                Self::default()
            }
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
            fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
                let $y = align($name, y_true, y_pred)?;
                let $p = y_pred;
                $body
            }
            fn target_kind(&self) -> TargetKind {
                $kind
            }
            fn get_config(&self) -> serde_json::Value {
                json!({"reduction": self.reduction.as_str()})
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
        }
    };
}
