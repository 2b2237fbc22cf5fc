//! Headless subcommands: `kimp snapshot` and the plain-text table it (and bare `kimp`) prints.

pub mod snapshot;
pub mod table;
