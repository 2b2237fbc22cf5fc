//! The writer thread: owns the only connection, batches writes (one transaction per batch, flushed
//! at `batch_size` rows or `flush_interval` after the first pending row), answers queries after
//! flushing what is queued (so reads see every earlier write), prunes old rows periodically.
//!
//! A failed batch (disk full, I/O error, lock held elsewhere) is counted and logged, kept, and
//! retried after [`RETRY_DELAY`]; while failures go on, the oldest pending rows beyond
//! `queue_capacity` are dropped and counted. Nothing here panics on a database error.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Counters, HistoryError, HistoryOptions, PremiumSample, db};
use crate::clock::now_ms;
use crate::model::{Liquidation, Millis};

/// Wait after a failed batch before trying again.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Where a request's answer goes.
pub type Reply<T> = oneshot::Sender<Result<T, HistoryError>>;

/// What the handles send to the writer thread.
#[derive(Debug)]
pub enum Msg {
    Liquidation(Liquidation),
    Premium(PremiumSample),
    Flush(Reply<()>),
    LoadLiquidations {
        since_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
        reply: Reply<Vec<Liquidation>>,
    },
    LoadPremiums {
        coin: String,
        since_ms: Millis,
        reply: Reply<Vec<PremiumSample>>,
    },
    Prune {
        now_ms: Millis,
        reply: Reply<u64>,
    },
    /// Flush and stop; the reply (if any) comes once everything is on disk.
    Close(Option<Reply<()>>),
}

/// The writer thread's state.
pub struct Writer {
    pub conn: Connection,
    pub opts: HistoryOptions,
    pub counters: Arc<Counters>,
    pub location: String,
    liquidations: Vec<Liquidation>,
    premiums: Vec<PremiumSample>,
    first_pending: Option<Instant>,
    retry_at: Option<Instant>,
    next_prune: Instant,
}

impl Writer {
    pub fn new(
        conn: Connection,
        opts: HistoryOptions,
        counters: Arc<Counters>,
        location: String,
    ) -> Self {
        Writer {
            conn,
            liquidations: Vec::with_capacity(opts.batch_size),
            premiums: Vec::new(),
            opts,
            counters,
            location,
            first_pending: None,
            retry_at: None,
            next_prune: Instant::now(),
        }
    }

    /// The thread body: runs until a `Close` or until every handle is gone, then flushes.
    pub fn run(mut self, rx: &Receiver<Msg>) {
        loop {
            let wait = self.next_wake().saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Close(reply)) => {
                    let result = self.close();
                    self.refuse_rest(rx);
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                    return;
                }
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.tick();
        }
        // Every handle is gone without a Close: still persist what was queued.
        let _ = self.close();
    }

    /// After a close: rows that raced in are counted as dropped; requests get no answer, which
    /// their callers see as [`HistoryError::Closed`].
    fn refuse_rest(&self, rx: &Receiver<Msg>) {
        while let Ok(msg) = rx.try_recv() {
            if matches!(msg, Msg::Liquidation(_) | Msg::Premium(_)) {
                self.counters.dropped.fetch_add(1, Relaxed);
            }
        }
    }

    /// The last flush: what cannot be written now is lost, and counted as dropped.
    fn close(&mut self) -> Result<(), HistoryError> {
        let result = self.flush();
        let lost = self.pending();
        if lost > 0 {
            self.counters
                .dropped
                .fetch_add(u64::try_from(lost).unwrap_or(u64::MAX), Relaxed);
            tracing::error!(db = %self.location, lost, "history closed with unwritten rows");
        }
        result
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Liquidation(l) => self.pend(|w| w.liquidations.push(l)),
            Msg::Premium(p) => self.pend(|w| w.premiums.push(p)),
            Msg::Flush(reply) => {
                let _ = reply.send(self.flush());
            }
            Msg::LoadLiquidations {
                since_ms,
                after,
                limit,
                reply,
            } => {
                let _ = self.flush();
                let rows = db::load_liquidations(&self.conn, since_ms, after.as_ref(), limit);
                let _ = reply.send(rows.map_err(|e| self.sql_error(e)));
            }
            Msg::LoadPremiums {
                coin,
                since_ms,
                reply,
            } => {
                let _ = self.flush();
                let rows = db::load_premiums(&self.conn, &coin, since_ms);
                let _ = reply.send(rows.map_err(|e| self.sql_error(e)));
            }
            Msg::Prune { now_ms, reply } => {
                let _ = self.flush();
                let _ = reply.send(self.prune(now_ms));
            }
            Msg::Close(_) => {}
        }
    }

    fn pend(&mut self, push: impl FnOnce(&mut Self)) {
        push(self);
        self.first_pending.get_or_insert_with(Instant::now);
    }

    fn pending(&self) -> usize {
        self.liquidations.len() + self.premiums.len()
    }

    /// When the loop must wake up even if nothing arrives.
    fn next_wake(&self) -> Instant {
        let flush = self.first_pending.map(|t| {
            let due = t + self.opts.flush_interval;
            self.retry_at.map_or(due, |r| r.max(due))
        });
        flush.map_or(self.next_prune, |f| f.min(self.next_prune))
    }

    /// Flushes a full or old enough batch (unless waiting to retry) and prunes when due.
    fn tick(&mut self) {
        let now = Instant::now();
        let retry_ok = self.retry_at.is_none_or(|r| now >= r);
        let due = self.pending() >= self.opts.batch_size
            || self
                .first_pending
                .is_some_and(|t| now.duration_since(t) >= self.opts.flush_interval);
        if due && retry_ok {
            let _ = self.flush();
        }
        if now >= self.next_prune {
            self.next_prune = now + self.opts.prune_interval;
            if let Err(e) = self.prune(now_ms()) {
                tracing::warn!(db = %self.location, error = %e, "history prune failed");
            }
        }
    }

    /// Writes everything pending in one transaction.
    fn flush(&mut self) -> Result<(), HistoryError> {
        if self.pending() == 0 {
            return Ok(());
        }
        match db::write_batch(&mut self.conn, &self.liquidations, &self.premiums) {
            Ok(w) => {
                let c = &self.counters;
                c.written.fetch_add(w.liquidations, Relaxed);
                c.duplicates.fetch_add(w.duplicates, Relaxed);
                c.premiums_written.fetch_add(w.premiums, Relaxed);
                c.batches.fetch_add(1, Relaxed);
                self.liquidations.clear();
                self.premiums.clear();
                self.first_pending = None;
                self.retry_at = None;
                Ok(())
            }
            Err(e) => {
                self.counters.errors.fetch_add(1, Relaxed);
                self.retry_at = Some(Instant::now() + RETRY_DELAY);
                self.shed();
                tracing::warn!(
                    db = %self.location, error = %e, pending = self.pending(),
                    "history batch failed; kept for retry"
                );
                Err(self.sql_error(e))
            }
        }
    }

    /// Bounds what is kept for retry: the oldest rows beyond `queue_capacity` are dropped.
    fn shed(&mut self) {
        let cap = self.opts.queue_capacity.max(self.opts.batch_size);
        let excess = self.pending().saturating_sub(cap);
        if excess == 0 {
            return;
        }
        let from_liq = excess.min(self.liquidations.len());
        self.liquidations.drain(..from_liq);
        self.premiums
            .drain(..(excess - from_liq).min(self.premiums.len()));
        self.counters
            .dropped
            .fetch_add(u64::try_from(excess).unwrap_or(u64::MAX), Relaxed);
        tracing::warn!(db = %self.location, dropped = excess, "history writes failing: oldest pending rows dropped");
    }

    fn prune(&mut self, now_ms: Millis) -> Result<u64, HistoryError> {
        let ms = |d: Duration| Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX);
        let liq_before = now_ms.saturating_sub(ms(self.opts.liquidation_retention));
        let premium_before = now_ms.saturating_sub(ms(self.opts.premium_retention));
        let n = db::prune(&mut self.conn, liq_before, premium_before).map_err(|e| {
            self.counters.errors.fetch_add(1, Relaxed);
            self.sql_error(e)
        })?;
        self.counters.pruned.fetch_add(n, Relaxed);
        Ok(n)
    }

    fn sql_error(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sql {
            location: self.location.clone(),
            source,
        }
    }
}
