//! Persistence (SPEC §10): liquidation events and per-minute premium samples in an embedded `SQLite`
//! database (WAL, `synchronous=NORMAL`), written by one dedicated thread so the blocking `SQLite`
//! calls never run on a tokio worker.
//!
//! [`History`] is a cheap, cloneable handle. Writes ([`History::record_liquidation`],
//! [`History::record_premium`]) never block: they go into a bounded queue and are counted as
//! dropped if it is full (the events are still in the in-memory book). The writer commits them in
//! batches, one transaction each, when `batch_size` rows are pending or `flush_interval` after the
//! first one. Reads and [`History::flush`] are `async` and answered by the writer after it has
//! flushed everything queued before them. Old rows are pruned every `prune_interval`.
//!
//! Opening fails with a [`HistoryError`] naming the file and the cause when the database is locked
//! by another process, corrupt, or not writable; the caller logs it and falls back to
//! [`History::in_memory`] (also what `--no-persist` uses): same API, nothing on disk.
//!
//! Shutdown: `flush_and_close().await` returns when everything queued is on disk. Dropping the last
//! handle without it also flushes, but blocks the dropping thread until the writer is done.
//!
//! Warm start (state task): `load_recent(now − 24 h)` (or [`History::load_page`] for bounded
//! chunks), applied in order to a fresh `LiquidationBook`, before live events flow.

mod db;
mod error;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::oneshot;

pub use error::HistoryError;
use writer::{Msg, Reply, Writer};

use crate::model::{Liquidation, Millis, Venue};

const DAY: Duration = Duration::from_secs(86_400);

/// Tunables of the history writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Liquidations older than this are pruned (default 7 days).
    pub liquidation_retention: Duration,
    /// Premium samples older than this are pruned (default 30 days).
    pub premium_retention: Duration,
    /// Rows per transaction: a batch is written as soon as this many are pending.
    pub batch_size: usize,
    /// A partial batch is written this long after its first row arrived.
    pub flush_interval: Duration,
    /// How often old rows are pruned (also once at start).
    pub prune_interval: Duration,
    /// Capacity of the queue to the writer (a full queue drops and counts); also the most rows
    /// kept for retry while writes fail.
    pub queue_capacity: usize,
    /// How long opening waits for a lock held by another connection before failing as locked.
    pub busy_timeout: Duration,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            liquidation_retention: 7 * DAY,
            premium_retention: 30 * DAY,
            batch_size: 1_000,
            flush_interval: Duration::from_millis(200),
            prune_interval: Duration::from_secs(600),
            // ~4 MB of queued events at worst; 1.6 s of a 10 k/s burst while a batch commits.
            queue_capacity: 16_384,
            busy_timeout: Duration::from_secs(2),
        }
    }
}

/// One per-minute premium sample of a coin on a venue pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PremiumSample {
    /// Start of the minute (epoch ms; [`History::record_premium`] rounds down).
    pub minute_ms: Millis,
    pub coin: String,
    pub domestic: Venue,
    pub global: Venue,
    /// 김프 in percent, `null` when it could not be computed honestly.
    pub premium_percent: Option<f64>,
    /// 테더 김프 in percent.
    pub premium_usdt_percent: Option<f64>,
}

/// Counters of the writer, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HistoryStats {
    /// Rows accepted into the queue.
    pub queued: u64,
    /// Liquidations inserted.
    pub written: u64,
    /// Liquidations ignored because their id was already stored.
    pub duplicates: u64,
    /// Premium samples written.
    pub premiums_written: u64,
    /// Rows lost: queue full or closed, or shed while writes kept failing.
    pub dropped: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Failed writes, prunes and queries.
    pub errors: u64,
    /// Rows deleted by retention.
    pub pruned: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
    premiums_written: AtomicU64,
    dropped: AtomicU64,
    batches: AtomicU64,
    errors: AtomicU64,
    pruned: AtomicU64,
}

/// Handle to the history writer. Clones share the writer; the last one dropped flushes it.
#[derive(Debug, Clone)]
pub struct History {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    tx: SyncSender<Msg>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
    location: String,
    persistent: bool,
    /// Set by `flush_and_close`: later rows are refused at once (and counted), not queued.
    closed: AtomicBool,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Fails harmlessly if the writer already stopped (flush_and_close).
        let _ = self.tx.send(Msg::Close(None));
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(db = %self.location, "history writer thread panicked");
        }
    }
}

impl History {
    /// Opens or creates the database at `path` (creating its directory) and starts the writer.
    pub fn open(path: &Path, opts: HistoryOptions) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = db::open_file(path, opts.busy_timeout)?;
        Self::start(conn, opts, path.display().to_string(), true)
    }

    /// A history kept in memory only (`--no-persist`, or the fallback when the file fails).
    pub fn in_memory() -> Result<History, HistoryError> {
        Self::in_memory_with(HistoryOptions::default())
    }

    /// [`History::in_memory`] with explicit options.
    pub fn in_memory_with(opts: HistoryOptions) -> Result<History, HistoryError> {
        Self::start(db::open_memory()?, opts, ":memory:".into(), false)
    }

    /// Opens `path`, or memory when `path` is `None` (`--no-persist`) or the file cannot be used;
    /// the error that caused the fallback is returned alongside for the caller to report.
    pub fn open_or_memory(
        path: Option<&Path>,
        opts: HistoryOptions,
    ) -> Result<(History, Option<HistoryError>), HistoryError> {
        let Some(path) = path else {
            return Ok((Self::in_memory_with(opts)?, None));
        };
        match Self::open(path, opts.clone()) {
            Ok(h) => Ok((h, None)),
            Err(e) => {
                tracing::warn!(error = %e, "history falls back to memory");
                Ok((Self::in_memory_with(opts)?, Some(e)))
            }
        }
    }

    fn start(
        conn: Connection,
        opts: HistoryOptions,
        location: String,
        persistent: bool,
    ) -> Result<History, HistoryError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(opts.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let writer = Writer::new(conn, opts, Arc::clone(&counters), location.clone());
        let thread = std::thread::Builder::new()
            .name("kimp-history".into())
            .spawn(move || writer.run(&rx))
            .map_err(HistoryError::Spawn)?;
        Ok(History {
            shared: Arc::new(Shared {
                tx,
                thread: Some(thread),
                counters,
                location,
                persistent,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The database file, or `:memory:`.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    /// Whether rows reach a file (false for the in-memory history).
    #[must_use]
    pub fn is_persistent(&self) -> bool {
        self.shared.persistent
    }

    /// Queues a liquidation (never blocks). False if the queue is full or closed: the row is
    /// counted as dropped and logged (at 1, 2, 4, 8 … drops).
    #[expect(
        clippy::must_use_candidate,
        reason = "a refused row is already counted and logged; callers may ignore it"
    )]
    pub fn record_liquidation(&self, liq: Liquidation) -> bool {
        self.enqueue(Msg::Liquidation(liq))
    }

    /// Queues a premium sample (never blocks), its minute rounded down.
    #[expect(
        clippy::must_use_candidate,
        reason = "a refused row is already counted and logged; callers may ignore it"
    )]
    pub fn record_premium(&self, mut sample: PremiumSample) -> bool {
        sample.minute_ms -= sample.minute_ms.rem_euclid(60_000);
        self.enqueue(Msg::Premium(sample))
    }

    fn enqueue(&self, msg: Msg) -> bool {
        let c = &self.shared.counters;
        if !self.shared.closed.load(Relaxed) && self.shared.tx.try_send(msg).is_ok() {
            c.queued.fetch_add(1, Relaxed);
            return true;
        }
        let n = c.dropped.fetch_add(1, Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(db = %self.shared.location, dropped = n,
                "history queue full or closed: rows not persisted (still in memory)");
        }
        false
    }

    /// Returns once everything queued before it is committed (or the commit failed).
    pub async fn flush(&self) -> Result<(), HistoryError> {
        self.request(Msg::Flush).await
    }

    /// Every stored liquidation with `time_ms ≥ since_ms`, ordered by time (then id).
    pub async fn load_recent(&self, since_ms: Millis) -> Result<Vec<Liquidation>, HistoryError> {
        self.load_page(since_ms, None, usize::MAX).await
    }

    /// Like [`History::load_recent`], at most `limit` rows after `after` = (time, id) of the last
    /// row of the previous page: lets a warm start stream 24 h in bounded chunks.
    pub async fn load_page(
        &self,
        since_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<Liquidation>, HistoryError> {
        self.request(|reply| Msg::LoadLiquidations {
            since_ms,
            after,
            limit,
            reply,
        })
        .await
    }

    /// Premium samples of `coin` since `since_ms` (every venue pair), ordered by minute.
    pub async fn premium_history(
        &self,
        coin: &str,
        since_ms: Millis,
    ) -> Result<Vec<PremiumSample>, HistoryError> {
        let coin = coin.to_string();
        self.request(|reply| Msg::LoadPremiums {
            coin,
            since_ms,
            reply,
        })
        .await
    }

    /// Applies retention now as if the time were `now_ms`; returns the rows deleted. (The writer
    /// also does this by itself every `prune_interval`.)
    pub async fn prune(&self, now_ms: Millis) -> Result<u64, HistoryError> {
        self.request(|reply| Msg::Prune { now_ms, reply }).await
    }

    /// Flushes everything queued and stops the writer (for every clone of this handle).
    pub async fn flush_and_close(self) -> Result<(), HistoryError> {
        self.shared.closed.store(true, Relaxed);
        self.request(|reply| Msg::Close(Some(reply))).await
    }

    /// Current counters.
    #[must_use]
    pub fn stats(&self) -> HistoryStats {
        let c = &self.shared.counters;
        HistoryStats {
            queued: c.queued.load(Relaxed),
            written: c.written.load(Relaxed),
            duplicates: c.duplicates.load(Relaxed),
            premiums_written: c.premiums_written.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            batches: c.batches.load(Relaxed),
            errors: c.errors.load(Relaxed),
            pruned: c.pruned.load(Relaxed),
        }
    }

    async fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> Result<T, HistoryError> {
        let (reply, answer) = oneshot::channel();
        let msg = make(reply);
        if self.shared.closed.load(Relaxed) && !matches!(msg, Msg::Close(_)) {
            return Err(HistoryError::Closed);
        }
        match self.shared.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(_)) => return Err(HistoryError::Closed),
            Err(TrySendError::Full(msg)) => {
                // Wait for room on a blocking-pool thread, never on a runtime worker.
                let tx = self.shared.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(msg))
                    .await
                    .map_err(|_| HistoryError::Closed)?
                    .map_err(|_| HistoryError::Closed)?;
            }
        }
        answer.await.map_err(|_| HistoryError::Closed)?
    }
}
