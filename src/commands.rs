//! Headless subcommands: `kimp snapshot` and the plain-text table it (and bare `kimp`) prints,
//! and `kimp doctor`.

pub mod doctor;
pub mod snapshot;
pub mod table;
