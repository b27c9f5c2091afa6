//! The [`Cell`] trait and the three cell markers: `SimpleRNN`, `LSTM`, `GRU`.

/// The cell of a [`Recurrent`](super::Recurrent) layer (marker types [`SimpleCell`], [`LstmCell`],
/// [`GruCell`]).
pub trait Cell: Send + Sync + std::fmt::Debug + 'static {
    /// Keras class name.
    const CLASS: &'static str;
    /// Gate blocks in the kernels (1, 4, 3).
    const GATES: usize;
    /// Number of states (1, or 2 for the LSTM's `h` and `c`).
    const STATES: usize;
}

/// `SimpleRNN`'s cell: `h = activation(x W + h U + b)`.
#[derive(Debug, Clone, Copy)]
pub struct SimpleCell;
/// `LSTM`'s cell (gates `i, f, c, o`).
#[derive(Debug, Clone, Copy)]
pub struct LstmCell;
/// `GRU`'s cell (gates `z, r, h`, `reset_after = true`).
#[derive(Debug, Clone, Copy)]
pub struct GruCell;

impl Cell for SimpleCell {
    const CLASS: &'static str = "SimpleRNN";
    const GATES: usize = 1;
    const STATES: usize = 1;
}
impl Cell for LstmCell {
    const CLASS: &'static str = "LSTM";
    const GATES: usize = 4;
    const STATES: usize = 2;
}
impl Cell for GruCell {
    const CLASS: &'static str = "GRU";
    const GATES: usize = 3;
    const STATES: usize = 1;
}
