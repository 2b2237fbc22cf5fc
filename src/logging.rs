//! Logging setup: `tracing` to a daily rolling file in `<data_dir>/logs/`, plus stderr for
//! headless commands (SPEC §9, STYLE §6).
//!
//! The file writer is non-blocking: a background thread does the I/O and the returned
//! [`LogGuard`] flushes it on drop, so `main` holds the guard until exit and drops it last. Never
//! log to stderr while the TUI owns the terminal.
//!
//! Per-role files (`market.log`, `liquidation.log`, `gateway.log`, routed by module) come with the
//! roles; until then everything goes to `kimp.log`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Daily files are named `kimp.log.YYYY-MM-DD`.
const LOG_FILE_PREFIX: &str = "kimp.log";
/// Daily files kept before the oldest is deleted.
const MAX_LOG_FILES: usize = 14;

/// Keeps the file writer alive; dropping it flushes buffered lines. Hold it in `main` until exit.
#[must_use = "dropping the guard stops file logging"]
#[derive(Debug)]
pub struct LogGuard {
    _worker: WorkerGuard,
    dropped: ErrorCounter,
    dir: PathBuf,
}

impl LogGuard {
    /// Lines dropped because the writer thread fell behind (for `/metrics`).
    #[must_use]
    pub fn dropped_lines(&self) -> usize {
        self.dropped.dropped_lines()
    }

    /// The directory the log files are written to.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot create the log directory {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open a log file in {}: {source}", .dir.display())]
    OpenFile {
        dir: PathBuf,
        #[source]
        source: tracing_appender::rolling::InitError,
    },
    /// `what` is `RUST_LOG` or the configured level.
    #[error("invalid log filter in {what}: {source}")]
    Filter {
        what: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the global subscriber: `level` as the filter (unless `RUST_LOG` is set, which wins),
/// the rolling file in `<data_dir>/logs/`, and stderr too when `stderr` is true.
pub fn init(data_dir: &Path, level: &str, stderr: bool) -> Result<LogGuard, LoggingError> {
    let filter = filter(level, std::env::var("RUST_LOG").ok().as_deref())?;
    let dir = data_dir.join("logs");
    let appender = open_appender(&dir)?;
    let (writer, worker) = tracing_appender::non_blocking(appender);
    let dropped = writer.error_counter();

    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false);
    let stderr_layer = stderr.then(|| {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
        .try_init()?;
    Ok(LogGuard {
        _worker: worker,
        dropped,
        dir,
    })
}

/// The filter from `RUST_LOG` when set and non-empty, else from `level`.
fn filter(level: &str, rust_log: Option<&str>) -> Result<EnvFilter, LoggingError> {
    let (what, directives) = match rust_log {
        Some(env) if !env.trim().is_empty() => ("RUST_LOG".to_owned(), env),
        _ => (format!("log level `{level}`"), level),
    };
    EnvFilter::builder()
        .parse(directives)
        .map_err(|source| LoggingError::Filter { what, source })
}

fn open_appender(dir: &Path) -> Result<RollingFileAppender, LoggingError> {
    std::fs::create_dir_all(dir).map_err(|source| LoggingError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .max_log_files(MAX_LOG_FILES)
        .build(dir)
        .map_err(|source| LoggingError::OpenFile {
            dir: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_over_the_level() {
        let f = filter("info", Some("kimp=trace")).unwrap();
        assert_eq!(f.to_string(), "kimp=trace");
        let f = filter("warn", Some("  ")).unwrap();
        assert_eq!(f.to_string(), "warn");
        let f = filter("debug", None).unwrap();
        assert_eq!(f.to_string(), "debug");
    }

    #[test]
    fn bad_filters_name_their_source() {
        let err = filter("kimp=loud", None).unwrap_err().to_string();
        assert!(err.contains("log level `kimp=loud`"), "{err}");
        let err = filter("info", Some("kimp=loud")).unwrap_err().to_string();
        assert!(err.contains("RUST_LOG"), "{err}");
    }

    #[test]
    fn log_dir_that_cannot_be_created_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let dir = file.join("logs");
        let err = open_appender(&dir).unwrap_err();
        assert!(matches!(err, LoggingError::CreateDir { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn appender_writes_into_the_log_dir() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let mut appender = open_appender(&dir).unwrap();
        appender.write_all(b"hello\n").unwrap();
        appender.flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].starts_with("kimp.log."), "{names:?}");
    }
}
