//! Logging setup: `tracing` to a daily rolling file in `<data_dir>/logs/`, plus stderr for
//! headless commands (SPEC §9, STYLE §6).
//!
//! The file writer is non-blocking: a background thread does the I/O and the returned
//! [`LogGuard`] flushes it on drop, so `main` holds the guard until exit and drops it last. Never
//! log to stderr while the TUI owns the terminal.
//!
//! One file per role (SPEC §9): `market.log`, `liquidation.log`, `gateway.log`, and `kimp.log`
//! for the rest. A process running one role (`--serve --role market`) writes everything to its
//! role's file; otherwise each event is routed ([`Route::of`]): by its `feed` field when it has
//! one (a liquidation stream's feed id → liquidation, any other feed → market), else by the module
//! that logged it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing::Metadata;
use tracing::field::{Field, Visit};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines each log file's writer thread may have queued before new ones are dropped (and counted in
/// `kimp_log_dropped_lines_total`). tracing-appender's default, 128,000, is a 4 MB ring allocated
/// up front per file: 16 MB of a dashboard's RSS with its four files.
const BUFFERED_LINES: usize = 8_192;
/// Daily files kept per log before the oldest is deleted.
const MAX_LOG_FILES: usize = 14;

/// The dropped-line counters of the installed file writers.
static DROPPED: OnceLock<Vec<ErrorCounter>> = OnceLock::new();

/// Lines dropped so far because a log writer thread fell behind (for `/metrics`); 0 before
/// [`init`].
#[must_use]
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, |counters| {
        counters.iter().map(ErrorCounter::dropped_lines).sum()
    })
}

/// Which log file an event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Market,
    Liquidation,
    Gateway,
    /// Everything else: start-up, config, state, history, the dashboard, the simulator.
    Kimp,
}

/// Modules whose events go to `liquidation.log`.
const LIQUIDATION: [&str; 5] = [
    "kimp::feed::liq",
    "kimp::feed::session::liquidation",
    "kimp::server::liquidation",
    "kimp::server::ws::liquidation",
    "kimp::state::liquidations",
];
/// Modules whose events go to `gateway.log`.
const GATEWAY: [&str; 2] = ["kimp::server::gateway", "kimp::remote"];
/// Modules whose events go to `market.log`.
const MARKET: [&str; 3] = [
    "kimp::feed",
    "kimp::server::market",
    "kimp::server::ws::market",
];

impl Route {
    pub const ALL: [Route; 4] = [
        Route::Market,
        Route::Liquidation,
        Route::Gateway,
        Route::Kimp,
    ];

    /// The file name prefix: daily files are `<prefix>.YYYY-MM-DD`.
    #[must_use]
    pub fn file(self) -> &'static str {
        match self {
            Route::Market => "market.log",
            Route::Liquidation => "liquidation.log",
            Route::Gateway => "gateway.log",
            Route::Kimp => "kimp.log",
        }
    }

    /// Where an event of `target` with the fields `feed` and `service` (if any) goes.
    #[must_use]
    pub fn of(target: &str, feed: Option<&str>, service: Option<&str>) -> Route {
        match service {
            Some("market") => return Route::Market,
            Some("liquidation") => return Route::Liquidation,
            Some("gateway") => return Route::Gateway,
            _ => {}
        }
        if let Some(feed) = feed {
            return if crate::server::health::is_liquidation_feed(feed) {
                Route::Liquidation
            } else {
                Route::Market
            };
        }
        let under = |prefixes: &[&str]| {
            prefixes.iter().any(|p| {
                target
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
        };
        if under(&LIQUIDATION) {
            Route::Liquidation
        } else if under(&GATEWAY) {
            Route::Gateway
        } else if under(&MARKET) {
            Route::Market
        } else {
            Route::Kimp
        }
    }
}

/// How a process splits its log: one role's file for everything, or routed per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    /// A single-role process: every event goes to this file.
    Only(Route),
    /// Each event to the file of [`Route::of`].
    Routed,
}

/// Lets through the events routed to one file.
struct RouteFilter {
    route: Route,
    /// The global filter's most verbose level. Reported as this filter's hint too: without a
    /// hint tracing assumes TRACE, and every `trace!`/`log::trace!` in the dependencies (a few
    /// per WebSocket frame) would be built and then dropped by the global filter.
    hint: Option<LevelFilter>,
}

impl<S> Filter<S> for RouteFilter {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.hint
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, _cx: &Context<'_, S>) -> bool {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let (feed, service) = (fields.feed.as_deref(), fields.service.as_deref());
        Route::of(event.metadata().target(), feed, service) == self.route
    }
}

/// Picks the `feed` and `service` fields out of an event.
#[derive(Default)]
struct Fields {
    feed: Option<String>,
    service: Option<String>,
}

impl Fields {
    fn slot(&mut self, field: &Field) -> Option<&mut Option<String>> {
        match field.name() {
            "feed" => Some(&mut self.feed),
            "service" => Some(&mut self.service),
            _ => None,
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if let Some(slot) = self.slot(field) {
            *slot = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

/// Keeps the file writers alive; dropping it flushes buffered lines. Hold it in `main` until exit.
#[must_use = "dropping the guard stops file logging"]
#[derive(Debug)]
pub struct LogGuard {
    _workers: Vec<WorkerGuard>,
    dir: PathBuf,
}

impl LogGuard {
    /// Lines dropped because a writer thread fell behind (for `/metrics`).
    #[must_use]
    pub fn dropped_lines(&self) -> usize {
        dropped_lines()
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
/// the rolling files in `<data_dir>/logs/` split as `files` says, and stderr too when `stderr`
/// is true.
pub fn init(
    data_dir: &Path,
    level: &str,
    stderr: bool,
    files: Files,
) -> Result<LogGuard, LoggingError> {
    let filter = filter(level, std::env::var("RUST_LOG").ok().as_deref())?;
    let (subscriber, guard) = subscriber(data_dir, filter, stderr, &files)?;
    subscriber.try_init()?;
    Ok(guard)
}

/// The subscriber [`init`] installs, and the guard of its file writers.
fn subscriber(
    data_dir: &Path,
    filter: EnvFilter,
    stderr: bool,
    files: &Files,
) -> Result<(impl tracing::Subscriber + Send + Sync, LogGuard), LoggingError> {
    let hint = filter.max_level_hint();
    let dir = data_dir.join("logs");
    let routes: &[Route] = match files {
        Files::Only(route) => std::slice::from_ref(route),
        Files::Routed => &Route::ALL,
    };
    let mut workers = Vec::new();
    let mut counters = Vec::new();
    let mut file_layers = Vec::new();
    for &route in routes {
        let (writer, worker) = NonBlockingBuilder::default()
            .buffered_lines_limit(BUFFERED_LINES)
            .finish(open_appender(&dir, route.file())?);
        counters.push(writer.error_counter());
        workers.push(worker);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false);
        let layer = match files {
            Files::Only(_) => layer.boxed(),
            Files::Routed => layer.with_filter(RouteFilter { route, hint }).boxed(),
        };
        file_layers.push(layer);
    }
    let _ = DROPPED.set(counters);
    let stderr_layer = stderr.then(|| {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        // The global filter's level again: an unfiltered layer beside filtered ones would make
        // the whole subscriber's hint unknown (see `RouteFilter::hint`).
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .with_filter(hint.unwrap_or(LevelFilter::TRACE))
    });
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(file_layers)
        .with(stderr_layer);
    let guard = LogGuard {
        _workers: workers,
        dir,
    };
    Ok((subscriber, guard))
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

fn open_appender(dir: &Path, prefix: &str) -> Result<RollingFileAppender, LoggingError> {
    std::fs::create_dir_all(dir).map_err(|source| LoggingError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(prefix)
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
    fn the_level_caps_what_dependencies_build() {
        // tracing (and the `log` bridge) skip a disabled event cheaply only when the installed
        // subscriber says how verbose it can get; routed files must not hide that.
        let dir = tempfile::tempdir().unwrap();
        for files in [Files::Routed, Files::Only(Route::ALL[0])] {
            for stderr in [false, true] {
                let f = filter("info", None).unwrap();
                let (sub, _guard) = subscriber(dir.path(), f, stderr, &files).unwrap();
                assert_eq!(
                    tracing::Subscriber::max_level_hint(&sub),
                    Some(LevelFilter::INFO),
                    "{files:?}, stderr {stderr}"
                );
            }
        }
    }

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
        let err = open_appender(&dir, "kimp.log").unwrap_err();
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
        let mut appender = open_appender(&dir, "kimp.log").unwrap();
        appender.write_all(b"hello\n").unwrap();
        appender.flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].starts_with("kimp.log."), "{names:?}");
    }

    #[test]
    fn events_are_routed_by_feed_then_module() {
        assert_eq!(
            Route::of("kimp::feed::session::conn", Some("upbit.ticker"), None),
            Route::Market
        );
        assert_eq!(
            Route::of(
                "kimp::feed::session::conn",
                Some("bybit.liquidations"),
                None
            ),
            Route::Liquidation
        );
        assert_eq!(
            Route::of("kimp::feed::liq::okx", None, None),
            Route::Liquidation
        );
        assert_eq!(
            Route::of("kimp::feed::upbit::markets", None, None),
            Route::Market
        );
        assert_eq!(Route::of("kimp::server::market", None, None), Route::Market);
        assert_eq!(
            Route::of("kimp::server::ws::liquidation", None, None),
            Route::Liquidation
        );
        assert_eq!(
            Route::of("kimp::remote::stream", None, None),
            Route::Gateway
        );
        assert_eq!(
            Route::of("kimp::server::gateway", None, None),
            Route::Gateway
        );
        // A prefix matches whole path segments only.
        assert_eq!(Route::of("kimp::feedback", None, None), Route::Kimp);
        assert_eq!(Route::of("kimp::state::task", None, None), Route::Kimp);
        assert_eq!(Route::of("kimp::run", None, None), Route::Kimp);
        assert_eq!(
            Route::of("kimp::server", None, Some("gateway")),
            Route::Gateway
        );
    }
}
