//! `engine_ops!`: writes the one-line trait methods an engine forwards to a kernel of its
//! own (`fn add(a, b) -> binary("add", a, b, |a, b| a.kernel(b))`), so an engine lists
//! each op once as `name => kernel` instead of repeating the same method body.

/// Implements trait methods that each forward to an engine helper with the op's name.
///
/// - `engine_ops!(binary helper, Tensor: add => broadcast_add, …)` writes
///   `fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> { helper("add", a, b, |a, b| a.broadcast_add(b)) }`;
/// - `engine_ops!(unary helper, Tensor: exp => exp, …)` writes
///   `fn exp(t: &Tensor) -> Result<Tensor> { helper("exp", t, |t| t.exp()) }`.
///
/// Used inside an `impl …Ops for Engine` block.
#[macro_export]
macro_rules! engine_ops {
    (binary $helper:path, $tensor:ty: $($name:ident => $kernel:ident),* $(,)?) => {
        $(
            fn $name(a: &$tensor, b: &$tensor) -> $crate::Result<$tensor> {
                $helper(stringify!($name), a, b, |a, b| a.$kernel(b))
            }
        )*
    };
    (unary $helper:path, $tensor:ty: $($name:ident => $kernel:ident),* $(,)?) => {
        $(
            fn $name(t: &$tensor) -> $crate::Result<$tensor> {
                $helper(stringify!($name), t, |t| t.$kernel())
            }
        )*
    };
}
