//! [`setters!`]: the builder methods of the option structs outside the layers
//! (`FitOptions`, `PlotOptions`, `CsvOptions`), written once: `new()` (the defaults) and
//! the consuming setters, as a list of `setter(argument: Type) => field = value;` lines.

/// Builder methods: an optional leading `new();` line (with its doc comment) becomes
/// `pub fn new() -> Self` returning `Self::default()`; each line
/// `setter(arg: Type, ...) => field.path = expr;` (with its doc comment) becomes
/// `pub fn setter(mut self, arg: Type, ...) -> Self` assigning `expr` (which may use the
/// arguments) to `self.field.path`.
///
/// ```ignore
/// setters! {
///     /// Keras' defaults.
///     new();
///     /// Sets `epochs`.
///     epochs(epochs: usize) => epochs = epochs;
///     /// Sets the seed for shuffling and dropout.
///     seed(seed: u64) => seed = Some(seed);
/// }
/// ```
macro_rules! setters {
    ($(#[$new_doc:meta])* new(); $($rest:tt)*) => {
        $(#[$new_doc])*
        pub fn new() -> Self {
            Self::default()
        }
        $crate::builder::setters!($($rest)*);
    };
    ($(
        $(#[$doc:meta])*
        $setter:ident($($arg:ident: $ty:ty),+) => $($field:ident).+ = $value:expr;
    )*) => {$(
        $(#[$doc])*
        pub fn $setter(mut self, $($arg: $ty),+) -> Self {
            self.$($field).+ = $value;
            self
        }
    )*};
}
pub(crate) use setters;
