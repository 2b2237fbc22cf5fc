//! kimp — the kimchi premium (김프) and liquidation dashboard, collector and exchange simulator.
//!
//! The binary is a thin shell around this library so that tests and benchmarks reach every module.
//! Data flows one way: [`feed`] collectors → one bounded channel → the single-writer [`state`] task
//! → an `Arc<Snapshot>` on a watch channel that every consumer reads.

pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod feed;
pub mod history;
pub mod logging;
pub mod model;
pub mod record;
pub mod remote;
pub mod replay;
mod run;
pub mod server;
pub mod sim;
pub mod state;
pub mod symbols;
pub mod tui;
pub use run::run;
