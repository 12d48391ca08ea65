//! One module per subcommand.

pub mod audit;
pub mod generate;
pub mod plan;
pub mod sandbox;
