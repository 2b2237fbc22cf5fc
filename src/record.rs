//! `--record FILE`: every raw WebSocket frame, REST body and feed status as it arrived, appended as
//! JSON lines (zstd-compressed when the name ends in `.zst`) for `--replay` and other tools.
//!
//! Collectors never wait for the disk: a [`Recorder`] hands each record to a writer thread over a
//! bounded queue (by count and by bytes); when it is full the record is dropped and counted, and the
//! count is reported when the recording is finished. [`Recorder::finish`] drains the queue, flushes
//! and closes the file (a zstd stream gets its end mark), on every shutdown path.

pub mod line;
pub mod read;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;

use self::line::{Header, Kind, Line};
use crate::clock::now_ms;
use crate::model::{FeedId, FeedState, Millis};

/// Records queued for the writer at most.
const QUEUE_RECORDS: usize = 16_384;
/// Payload bytes queued for the writer at most (frames can be ~300 KB).
const QUEUE_BYTES: usize = 64 << 20;
/// The writer flushes after this long without a record, so a killed process loses little.
const IDLE_FLUSH: Duration = Duration::from_millis(500);
/// zstd level: fast, still ~10× smaller than the JSON.
const ZSTD_LEVEL: i32 = 3;

/// What one recording achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordReport {
    pub path: PathBuf,
    pub written: u64,
    /// Records dropped because the writer fell behind (never blocks a feed).
    pub dropped: u64,
    /// The first write error; everything after it was dropped.
    pub error: Option<String>,
}

impl std::fmt::Display for RecordReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recorded {} records to {} ({} dropped)",
            self.written,
            self.path.display(),
            self.dropped
        )?;
        if let Some(e) = &self.error {
            write!(f, "; write error: {e}")?;
        }
        Ok(())
    }
}

/// One queued record, serialised by the writer thread.
enum Entry {
    Data {
        t: Millis,
        feed: FeedId,
        kind: Kind,
        s: Option<u64>,
        src: Option<&'static str>,
        payload: Bytes,
    },
    Status {
        t: Millis,
        feed: FeedId,
        state: FeedState,
        at: Millis,
        detail: Option<String>,
    },
    Finish,
}

/// What the writer thread ends with: records written, the first error.
type WriterResult = (u64, Option<String>);

struct Inner {
    path: PathBuf,
    tx: SyncSender<Entry>,
    queued_bytes: Arc<AtomicUsize>,
    dropped: AtomicU64,
    sessions: AtomicU64,
    writer: Mutex<Option<JoinHandle<WriterResult>>>,
}

/// A handle to an open recording; cheap to clone, shared by every collector of a run.
#[derive(Clone)]
pub struct Recorder(Arc<Inner>);

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.0.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Creates (truncates) `path`, writes the header and starts the writer thread.
    pub fn create(path: &Path, header: &Header) -> anyhow::Result<Recorder> {
        let file = File::create(path).with_context(|| format!("--record {}", path.display()))?;
        let mut sink = Sink::new(file, is_zst(path))
            .with_context(|| format!("--record {}: starting zstd", path.display()))?;
        serde_json::to_writer(&mut sink, header).context("writing the recording header")?;
        sink.write_all(b"\n")
            .with_context(|| format!("--record {}", path.display()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_RECORDS);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let writer = {
            let queued_bytes = queued_bytes.clone();
            std::thread::Builder::new()
                .name("kimp-recorder".into())
                .spawn(move || write_loop(sink, &rx, &queued_bytes))
                .context("starting the recorder thread")?
        };
        Ok(Recorder(Arc::new(Inner {
            path: path.to_path_buf(),
            tx,
            queued_bytes,
            dropped: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            writer: Mutex::new(Some(writer)),
        })))
    }

    /// A new session id for the `s` field of a stream's `ws`/`open` lines.
    #[must_use]
    pub fn next_session(&self) -> u64 {
        self.0.sessions.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A WebSocket data frame of session `s`, received now.
    pub fn ws(&self, feed: FeedId, s: u64, payload: &[u8]) {
        self.data(
            feed,
            Kind::Ws,
            Some(s),
            None,
            Bytes::copy_from_slice(payload),
        );
    }

    /// Session `s` connected now.
    pub fn open(&self, feed: FeedId, s: u64) {
        self.data(feed, Kind::Open, Some(s), None, Bytes::new());
    }

    /// A REST body of `feed` (`src` names the request when the feed makes several kinds).
    pub fn rest(&self, feed: FeedId, src: Option<&'static str>, body: &Bytes) {
        self.data(feed, Kind::Rest, None, src, body.clone());
    }

    /// A status transition as the state task received it.
    pub fn status(&self, feed: FeedId, state: FeedState, at: Millis, detail: Option<&str>) {
        let entry = Entry::Status {
            t: now_ms(),
            feed,
            state,
            at,
            detail: detail.map(str::to_owned),
        };
        self.enqueue(entry, 0);
    }

    fn data(
        &self,
        feed: FeedId,
        kind: Kind,
        s: Option<u64>,
        src: Option<&'static str>,
        payload: Bytes,
    ) {
        let len = payload.len();
        let entry = Entry::Data {
            t: now_ms(),
            feed,
            kind,
            s,
            src,
            payload,
        };
        self.enqueue(entry, len);
    }

    /// Queues without ever blocking: a full queue drops the record and counts it.
    fn enqueue(&self, entry: Entry, len: usize) {
        let queued = self.0.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if queued + len > QUEUE_BYTES {
            self.0.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.0.tx.try_send(entry)
        {
            self.0.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes what is queued, closes the file and reports. Later records are dropped (counted).
    /// Blocking: call it from a blocking context (see [`Recorder::finish`]).
    #[must_use]
    pub fn finish_blocking(&self) -> RecordReport {
        let writer = self
            .0
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (written, error) = match writer {
            Some(writer) => {
                // Blocks while the queue is full: the writer is draining it.
                let _ = self.0.tx.send(Entry::Finish);
                writer
                    .join()
                    .unwrap_or_else(|_| (0, Some("the recorder thread panicked".into())))
            }
            None => (0, Some("already finished".into())),
        };
        RecordReport {
            path: self.0.path.clone(),
            written,
            dropped: self.0.dropped.load(Ordering::Relaxed),
            error,
        }
    }

    /// [`Recorder::finish_blocking`] off the async runtime.
    pub async fn finish(&self) -> RecordReport {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.finish_blocking()).await {
            Ok(report) => report,
            Err(e) => RecordReport {
                path: self.0.path.clone(),
                error: Some(format!("finishing the recording: {e}")),
                ..RecordReport::default()
            },
        }
    }
}

/// Whether `path` names a zstd file (`….zst`).
#[must_use]
pub fn is_zst(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zst"))
}

/// The file, plain or zstd.
enum Sink {
    Plain(BufWriter<File>),
    Zstd(zstd::Encoder<'static, BufWriter<File>>),
}

impl Sink {
    fn new(file: File, zst: bool) -> std::io::Result<Sink> {
        let out = BufWriter::with_capacity(1 << 16, file);
        Ok(if zst {
            Sink::Zstd(zstd::Encoder::new(out, ZSTD_LEVEL)?)
        } else {
            Sink::Plain(out)
        })
    }

    /// Flushes and, for zstd, writes the end of the stream.
    fn close(self) -> std::io::Result<()> {
        let mut out = match self {
            Sink::Plain(out) => out,
            Sink::Zstd(enc) => enc.finish()?,
        };
        out.flush()?;
        out.get_ref().sync_all()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

/// The writer thread: serialise, write, flush when idle; returns the count and the first error.
fn write_loop(
    mut sink: Sink,
    rx: &Receiver<Entry>,
    queued_bytes: &AtomicUsize,
) -> (u64, Option<String>) {
    let mut written = 0u64;
    let mut error: Option<String> = None;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let entry = match rx.recv_timeout(IDLE_FLUSH) {
            Ok(Entry::Finish) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(entry) => entry,
            Err(RecvTimeoutError::Timeout) => {
                if error.is_none()
                    && let Err(e) = sink.flush()
                {
                    error = Some(e.to_string());
                }
                continue;
            }
        };
        if let Entry::Data { payload, .. } = &entry {
            queued_bytes.fetch_sub(payload.len(), Ordering::Relaxed);
        }
        if error.is_some() {
            continue;
        }
        buf.clear();
        serialise(&entry, &mut buf);
        match sink.write_all(&buf) {
            Ok(()) => written += 1,
            Err(e) => {
                tracing::error!("recording: {e}; further records are dropped");
                error = Some(e.to_string());
            }
        }
    }
    if let Err(e) = sink.close()
        && error.is_none()
    {
        error = Some(e.to_string());
    }
    (written, error)
}

fn serialise(entry: &Entry, buf: &mut Vec<u8>) {
    let line = match entry {
        Entry::Data {
            t,
            feed,
            kind,
            s,
            src,
            payload,
        } => {
            let mut line = Line::new(*t, feed, *kind);
            line.s = *s;
            line.src = src.map(std::borrow::Cow::Borrowed);
            if *kind != Kind::Open {
                line = line.with_payload(payload);
            }
            line
        }
        Entry::Status {
            t,
            feed,
            state,
            at,
            detail,
        } => {
            let mut line = Line::new(*t, feed, Kind::Status);
            line.state = Some(*state);
            line.at = Some(*at);
            line.detail = detail.as_deref().map(std::borrow::Cow::Borrowed);
            line
        }
        Entry::Finish => return,
    };
    // A struct of strings and numbers always serialises.
    if serde_json::to_writer(&mut *buf, &line).is_ok() {
        buf.push(b'\n');
    }
}
