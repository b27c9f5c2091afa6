//! [`serde_via_config!`]: `Serialize`/`Deserialize` for the hand-configured types
//! (activations, initializers, regularizers) through their `to_config`/`from_config`, so
//! that a `…Config` struct holding one derives its own serde impls.

/// `Serialize` writing `self.to_config()` (a `serde_json::Value`), and `Deserialize`
/// reading a `serde_json::Value` `v` and returning the given expression of it (a
/// `Result<Self, D::Error>`; `v` is a `&serde_json::Value`). Each impl takes the doc
/// comment written above its line.
///
/// ```ignore
/// serde_via_config! {
///     /// Written as [`Activation::to_config`] writes it.
///     Serialize for Activation;
///     /// Read as [`Activation::from_config`] reads it.
///     Deserialize with |v| Activation::from_config(v).map_err(crate::error::field_error);
/// }
/// ```
macro_rules! serde_via_config {
    (
        $(#[$ser:meta])* Serialize for $ty:ty;
        $(#[$de:meta])* Deserialize with |$v:ident| $read:expr;
    ) => {
        $(#[$ser])*
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&self.to_config(), s)
            }
        }

        $(#[$de])*
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let value = <serde_json::Value as ::serde::Deserialize>::deserialize(d)?;
                let $v = &value;
                $read
            }
        }
    };
}
pub(crate) use serde_via_config;

/// Serde impls for a type named by a string: written as its `as_str()`, read with its
/// `parse(&str) -> Result<Self>` (or the two methods named: `serde_by_name!(Policy, name,
/// from_name)`), whose error (an unknown name) stays the stratanet error through
/// [`crate::error::field_error`].
macro_rules! serde_by_name {
    ($ty:ty) => {
        $crate::config_serde::serde_by_name!($ty, as_str, parse);
    };
    ($ty:ty, $to:ident, $from:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.$to())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(d)?;
                <$ty>::$from(&name).map_err($crate::error::field_error)
            }
        }
    };
}
pub(crate) use serde_by_name;
