pub use stratanet_frontend::*;
