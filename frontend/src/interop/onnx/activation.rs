//! Built-in activations as ONNX nodes (GELU and SiLU composed from primitives, as the
//! engines compute them).

use super::builder::{attr_float, attr_int, Builder};
use crate::activations::Activation;
use crate::error::Result;
use serde_json::Value;

impl Builder {
    /// Applies the activation `spec` (a config value) to `x`; returns the output value.
    pub(super) fn activation(&mut self, layer: &str, x: &str, spec: &Value) -> Result<String> {
        let a = Activation::from_config(spec)?;
        Ok(match a {
            Activation::Linear => x.to_string(),
            Activation::Relu => self.node("Relu", layer, &[x], vec![]),
            Activation::Sigmoid => self.node("Sigmoid", layer, &[x], vec![]),
            Activation::Tanh => self.node("Tanh", layer, &[x], vec![]),
            Activation::Softmax => self.node("Softmax", layer, &[x], vec![attr_int("axis", -1)]),
            Activation::LogSoftmax => {
                self.node("LogSoftmax", layer, &[x], vec![attr_int("axis", -1)])
            }
            Activation::Gelu => {
                // x * (0.5 + 0.5 * erf(x / sqrt(2))), as the engines compute it.
                let k = self.scalar(layer, std::f64::consts::FRAC_1_SQRT_2);
                let s = self.node("Mul", layer, &[x, &k], vec![]);
                let e = self.node("Erf", layer, &[&s], vec![]);
                let half = self.scalar(layer, 0.5);
                let h = self.node("Mul", layer, &[&e, &half], vec![]);
                let h = self.node("Add", layer, &[&h, &half], vec![]);
                self.node("Mul", layer, &[x, &h], vec![])
            }
            Activation::Silu => {
                let s = self.node("Sigmoid", layer, &[x], vec![]);
                self.node("Mul", layer, &[x, &s], vec![])
            }
            Activation::Elu => self.node("Elu", layer, &[x], vec![attr_float("alpha", 1.0)]),
            Activation::Selu => self.node(
                "Selu",
                layer,
                &[x],
                vec![
                    attr_float("alpha", 1.673_263_242_354_377_3),
                    attr_float("gamma", 1.050_700_987_355_480_5),
                ],
            ),
            Activation::LeakyRelu(alpha) => {
                self.node("LeakyRelu", layer, &[x], vec![attr_float("alpha", alpha)])
            }
            Activation::Softplus => self.node("Softplus", layer, &[x], vec![]),
        })
    }
}
