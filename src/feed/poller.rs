//! Generic REST polling: the shared HTTP client, one bounded fetch, a tick loop and a reporter.
//!
//! The Upbit market list and the USD/KRW sources are both "fetch a URL every N seconds, parse the
//! body, tell the state task". This module holds everything they share so each poller is only its
//! own parsing and fallback logic: [`fetch`] (timeout, status check, size cap, messages without
//! URLs), [`Schedule`] (`MissedTickBehavior::Delay`, an optional sooner retry), [`until_cancelled`]
//! and [`Reporter`] (feed id, cancellable sends, status sent on transitions only).

use std::future::Future;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::feed::FeedMsg;
use crate::model::{FeedId, FeedState, MarketEvent};
use crate::record::Recorder;

/// TCP + TLS connect budget of the shared client; the whole request has its own timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest body accepted (Upbit's full market list is ~250 KB).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How much of an error body goes into a message.
const ERROR_BODY_CHARS: usize = 200;

/// Why a fetch produced no body. Messages never contain the URL (it may one day carry a key).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("transport: {0}")]
    Transport(String),
}

impl FetchError {
    /// The HTTP status, when the server answered with an error status.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The shared HTTP client every poller uses, and the recording (`--record`) its bodies go to.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    recorder: Option<Recorder>,
}

impl Http {
    /// Records every fetched body (and, through the collectors' session specs, every frame).
    #[must_use]
    pub fn with_recorder(mut self, recorder: Option<Recorder>) -> Self {
        self.recorder = recorder;
        self
    }

    /// The recording of this run, if any.
    #[must_use]
    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }
}

/// What a fetched body is, for the recording: the feed and, when the feed makes more than one kind
/// of request, which one (`fx`'s sources, Bithumb's list and alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub feed: FeedId,
    pub src: Option<&'static str>,
}

impl Tag {
    #[must_use]
    pub const fn feed(feed: FeedId) -> Tag {
        Tag { feed, src: None }
    }

    #[must_use]
    pub const fn sub(feed: FeedId, src: &'static str) -> Tag {
        Tag {
            feed,
            src: Some(src),
        }
    }
}

/// The one shared HTTP client: rustls, `User-Agent: kimp/<version>`, a connect timeout; no
/// recording.
///
/// # Panics
///
/// Never in practice: the settings are static and rustls ships its own roots.
#[must_use]
pub fn http_client() -> Http {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("kimp/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .expect("a rustls client with static settings always builds");
    Http {
        client,
        recorder: None,
    }
}

/// GET `url`; the whole exchange (connect, headers, body) is bounded by `timeout`. A non-2xx status
/// is an error carrying the start of the body. A body is recorded under `tag` when recording.
pub async fn fetch(
    client: &Http,
    tag: Tag,
    url: &str,
    timeout: Duration,
) -> Result<Bytes, FetchError> {
    let result = match tokio::time::timeout(timeout, fetch_unbounded(&client.client, url)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout(timeout)),
    };
    if let (Some(recorder), Ok(body)) = (&client.recorder, &result) {
        recorder.rest(tag.feed, tag.src, body);
    }
    result
}

async fn fetch_unbounded(client: &reqwest::Client, url: &str) -> Result<Bytes, FetchError> {
    let mut response = client.get(url).send().await.map_err(transport)?;
    let status = response.status();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        Ok(body.freeze())
    } else {
        let text = String::from_utf8_lossy(&body);
        Err(FetchError::Status {
            status: status.as_u16(),
            body: text.chars().take(ERROR_BODY_CHARS).collect(),
        })
    }
}

/// A reqwest error as text without its URL, with the underlying causes (`connection refused`).
fn transport(err: reqwest::Error) -> FetchError {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Transport(text)
}

/// When to poll: at once, then every `interval` with `MissedTickBehavior::Delay` (a slow poll
/// pushes the schedule back instead of bursting), with an optional sooner retry.
#[derive(Debug)]
pub struct Schedule {
    ticks: tokio::time::Interval,
}

impl Schedule {
    #[must_use]
    pub fn new(interval: Duration) -> Self {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Schedule { ticks }
    }

    /// Waits until the next poll is due; `false` once `cancel` fires.
    pub async fn wait(&mut self, cancel: &CancellationToken) -> bool {
        tokio::select! {
            biased;
            () = cancel.cancelled() => false,
            _ = self.ticks.tick() => true,
        }
    }

    /// Makes the next poll due after `delay` (a retry sooner than the interval); the regular
    /// interval resumes from there.
    pub fn retry_after(&mut self, delay: Duration) {
        self.ticks.reset_after(delay);
    }
}

/// Runs `work` unless `cancel` fires first (`None`): a request in flight never delays shutdown.
pub async fn until_cancelled<F: Future>(cancel: &CancellationToken, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        out = work => Some(out),
    }
}

/// The receiving side of the feed channel is gone: the app is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("feed channel closed or cancelled")]
pub struct Closed;

/// Sends one feed's messages; a status is sent only when state or detail changes.
#[derive(Debug)]
pub struct Reporter {
    feed: FeedId,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
    last_status: Option<(FeedState, Option<String>)>,
}

impl Reporter {
    #[must_use]
    pub fn new(feed: FeedId, tx: mpsc::Sender<FeedMsg>, cancel: CancellationToken) -> Self {
        Reporter {
            feed,
            tx,
            cancel,
            last_status: None,
        }
    }

    #[must_use]
    pub fn feed(&self) -> FeedId {
        self.feed
    }

    pub async fn events(&self, events: Vec<MarketEvent>) -> Result<(), Closed> {
        self.send(FeedMsg::Events {
            feed: self.feed,
            events,
        })
        .await
    }

    pub async fn parse_error(&self, error: String) -> Result<(), Closed> {
        tracing::debug!(feed = self.feed, %error, "parse error");
        self.send(FeedMsg::ParseError {
            feed: self.feed,
            error,
        })
        .await
    }

    /// Sends a status unless it repeats the last one sent.
    pub async fn status(&mut self, state: FeedState, detail: Option<String>) -> Result<(), Closed> {
        let current = (state, detail);
        if self.last_status.as_ref() == Some(&current) {
            return Ok(());
        }
        let (state, detail) = current.clone();
        self.send(FeedMsg::Status {
            feed: self.feed,
            state,
            at_ms: now_ms(),
            detail,
        })
        .await?;
        self.last_status = Some(current);
        Ok(())
    }

    async fn send(&self, msg: FeedMsg) -> Result<(), Closed> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Closed),
            sent = self.tx.send(msg) => sent.map_err(|_| Closed),
        }
    }
}

/// Wall-clock epoch milliseconds (re-exported so pollers need one import).
pub use crate::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    // tokio's `test-util` (paused time) is not enabled for this crate: these use short real delays.
    #[tokio::test]
    async fn schedule_fires_at_once_then_on_interval_and_honours_retry() {
        let cancel = CancellationToken::new();
        let start = tokio::time::Instant::now();
        let mut schedule = Schedule::new(Duration::from_millis(200));
        let mut at = Vec::new();
        while at.len() < 4 && schedule.wait(&cancel).await {
            at.push(start.elapsed().as_millis() / 10);
            if at.len() == 1 {
                schedule.retry_after(Duration::from_millis(50));
            }
        }
        // 0, 50, 250, 450 ms, give or take scheduling (in tens of ms).
        let expect = [0, 5, 25, 45];
        assert!(
            at.iter()
                .zip(expect)
                .all(|(got, want)| (want..want + 4).contains(got)),
            "{at:?}"
        );
        cancel.cancel();
        assert!(!schedule.wait(&cancel).await);
    }

    #[tokio::test]
    async fn cancel_interrupts_work_in_flight() {
        let cancel = CancellationToken::new();
        let child = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            child.cancel();
        });
        let work = tokio::time::sleep(Duration::from_secs(3600));
        let out =
            tokio::time::timeout(Duration::from_secs(5), until_cancelled(&cancel, work)).await;
        assert_eq!(out.unwrap(), None);
        assert_eq!(
            until_cancelled(&CancellationToken::new(), async { 7 }).await,
            Some(7)
        );
    }

    #[tokio::test]
    async fn reporter_sends_status_on_transitions_only() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut reporter = Reporter::new("x.y", tx, CancellationToken::new());
        reporter
            .status(FeedState::Live, Some("a".into()))
            .await
            .unwrap();
        reporter
            .status(FeedState::Live, Some("a".into()))
            .await
            .unwrap();
        reporter
            .status(FeedState::Live, Some("b".into()))
            .await
            .unwrap();
        drop(reporter);
        let mut details = Vec::new();
        while let Some(msg) = rx.recv().await {
            let FeedMsg::Status { detail, .. } = msg else {
                panic!("{msg:?}")
            };
            details.push(detail.unwrap());
        }
        assert_eq!(details, vec!["a", "b"]);
    }

    #[tokio::test]
    async fn transport_error_has_no_url() {
        let client = http_client();
        // Port 9 on localhost: nothing listens, the connection is refused at once.
        let err = fetch(
            &client,
            Tag::feed("x.y"),
            "http://127.0.0.1:9/secret?key=abc",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FetchError::Transport(_)), "{text}");
        assert!(
            !text.contains("secret") && !text.contains("key=abc"),
            "{text}"
        );
    }
}
