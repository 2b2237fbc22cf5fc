//! REST fallback for a streaming feed: polls a venue's all-market REST ticker only while the
//! WebSocket is not live (Bithumb `ALL_KRW` every 3 s, Bybit spot tickers every 5 s — the seed's
//! methods), and stands by otherwise. The session publishes its liveness on a watch channel.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::poller::{self, Closed, Reporter, Schedule};
use super::{FeedMsg, ParseError};
use crate::model::{FeedId, FeedState, MarketEvent, Millis};

/// How long the stream must be down before polling starts: a reconnect that succeeds within this
/// costs no REST calls.
pub const GRACE: Duration = Duration::from_secs(5);

/// A REST body parser: all quotes in one response.
pub type ParseBody = fn(&[u8], Millis) -> Result<Vec<MarketEvent>, ParseError>;

/// One fallback poller.
#[derive(Debug, Clone)]
pub struct Fallback {
    /// This poller's own feed id (`bithumb.rest`), reported separately from the stream's.
    pub feed: FeedId,
    /// The stream it stands in for, named in its status detail.
    pub stream: FeedId,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub grace: Duration,
    pub parse: ParseBody,
}

/// Runs until `cancel`: stands by (`disabled`, "standby") while `live` is true, polls otherwise.
pub async fn run(
    spec: Fallback,
    client: crate::feed::poller::Http,
    mut live: watch::Receiver<bool>,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    let mut reporter = Reporter::new(spec.feed, tx, cancel.clone());
    loop {
        let standby = format!("standby while {} is live", spec.stream);
        if reporter
            .status(FeedState::Disabled, Some(standby))
            .await
            .is_err()
        {
            return;
        }
        // Wait for the stream to be down for a whole grace period.
        if !wait_down(&mut live, spec.grace, &cancel).await {
            return;
        }
        tracing::warn!(
            feed = spec.feed,
            stream = spec.stream,
            "stream down: polling REST instead"
        );
        match poll_while_down(&spec, &client, &mut live, &mut reporter, &cancel).await {
            Ok(()) => tracing::info!(
                feed = spec.feed,
                stream = spec.stream,
                "stream back: REST on standby"
            ),
            Err(Closed) => return,
        }
    }
}

/// True once `live` has been false for `grace`; false when cancelled or the sender is gone.
async fn wait_down(
    live: &mut watch::Receiver<bool>,
    grace: Duration,
    cancel: &CancellationToken,
) -> bool {
    loop {
        while *live.borrow_and_update() {
            tokio::select! {
                () = cancel.cancelled() => return false,
                r = live.changed() => if r.is_err() { return false },
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(grace) => return true,
            r = live.changed() => if r.is_err() { return false },
        }
    }
}

/// Polls every interval until the stream is live again.
async fn poll_while_down(
    spec: &Fallback,
    client: &crate::feed::poller::Http,
    live: &mut watch::Receiver<bool>,
    reporter: &mut Reporter,
    cancel: &CancellationToken,
) -> Result<(), Closed> {
    let mut schedule = Schedule::new(spec.interval);
    loop {
        tokio::select! {
            r = live.changed() => {
                if r.is_err() || *live.borrow_and_update() {
                    return Ok(());
                }
                continue;
            }
            due = schedule.wait(cancel) => if !due { return Err(Closed) },
        }
        match poller::until_cancelled(
            cancel,
            poller::fetch(
                client,
                poller::Tag::feed(spec.feed),
                &spec.url,
                spec.timeout,
            ),
        )
        .await
        {
            None => return Err(Closed),
            Some(Err(e)) => {
                reporter
                    .status(FeedState::Down, Some(e.to_string()))
                    .await?;
            }
            Some(Ok(body)) => match (spec.parse)(&body, poller::now_ms()) {
                Ok(events) => {
                    let detail = format!("polling while {} is down", spec.stream);
                    reporter.status(FeedState::Live, Some(detail)).await?;
                    reporter.events(events).await?;
                }
                Err(e) => {
                    reporter.parse_error(e.to_string()).await?;
                    reporter
                        .status(FeedState::Down, Some(e.to_string()))
                        .await?;
                }
            },
        }
    }
}
