//! Why the history database could not be opened or used. Every variant names the database and the
//! cause, so the caller can log it and fall back to [`History::in_memory`](super::History).

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// A history failure.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Another process holds a lock on the database (another kimp on the same data dir?).
    #[error(
        "history database {} is locked by another process ({source}); stop the other kimp, use another --data-dir, or run with --no-persist",
        .path.display()
    )]
    Locked {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file exists but is not a (healthy) `SQLite` database.
    #[error(
        "history database {} is corrupt or not a SQLite database ({source}); move it aside or run with --no-persist",
        .path.display()
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file or its directory cannot be created or written (read-only, no permission).
    #[error(
        "history database {} cannot be created or written: read-only file or directory, or no permission ({source}); choose a writable --data-dir or run with --no-persist",
        .path.display()
    )]
    NotWritable {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The data directory could not be created.
    #[error("cannot create the directory {} for the history database: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Any other failure to open the database.
    #[error("cannot open history database {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A write or a query failed at runtime (disk full, I/O error, lock).
    #[error("history database {location}: {source}")]
    Sql {
        location: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the history writer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The writer has been closed (or has stopped); nothing more can be written or read.
    #[error("history writer is closed")]
    Closed,
}

impl HistoryError {
    /// Sorts an error raised while opening the database at `path` into its cause.
    #[must_use]
    pub fn classify(path: &Path, source: rusqlite::Error) -> HistoryError {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                HistoryError::Locked { path, source }
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                HistoryError::Corrupt { path, source }
            }
            Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                HistoryError::NotWritable { path, source }
            }
            _ => HistoryError::Open { path, source },
        }
    }
}
