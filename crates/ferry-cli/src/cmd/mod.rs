//! One module per subcommand.

pub mod apply;
pub mod audit;
pub mod demo;
pub mod generate;
pub mod migration;
pub mod plan;
pub mod progress;
pub mod rollback;
pub mod sandbox;
pub mod verify;
