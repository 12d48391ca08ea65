//! Integration tests of the Atomic CRM source against a real PostgreSQL (one throwaway database per test).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod bad_input;
mod dump_vs_live;
mod generations;
mod tls;
