//! `--replay FILE [--speed X|max]`: a recording (module [`record`](crate::record)) drives the same
//! parsers and the same state task as live feeds, with no network connection at all.
//!
//! Each `ws` frame goes through its feed's frame parser (the venue modules' `parse`, or a fresh
//! stateful liquidation parser per recorded session, reset on each `open` line); each `rest` body
//! through the parser its poller uses, so parser state (OKX contract tables, held liquidations,
//! Bithumb's list before its alerts) is rebuilt from the recorded bodies in order; `status` lines
//! are re-sent as they were received. Before a line's messages a [`FeedMsg::Tick`] moves the state
//! task's clock to the line's time: replaying a file twice gives identical snapshots.
//!
//! A line that does not parse, or names an unknown feed, is skipped with a warning naming its line
//! number, counted in the [`ReplayReport`] and as a parse error of the `replay` feed.

mod decode;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::decode::{Decoder, static_feed_id};
use crate::feed::FeedMsg;
use crate::model::{FeedId, FeedState, Millis};
use crate::record::line::{Header, Line};
use crate::record::read::{self, Reader, Step};

/// The feed that reports the replay itself (skipped lines, the end).
pub const FEED_ID: FeedId = "replay";
/// Skipped lines kept with their reasons in the report (all are counted).
const KEEP_SKIPPED: usize = 20;
/// Longest single sleep while pacing, so cancel is noticed.
const PACE_SLICE: Duration = Duration::from_millis(100);

/// How fast a recording is replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the parsers and the state task go.
    Max,
    /// The recorded pace times this factor (`1` = real time).
    Times(f64),
}

impl Speed {
    /// `max`, or a positive number (`1`, `10`, `0.5`).
    pub fn parse(text: &str) -> Result<Speed, String> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::Times(x)),
            _ => Err(format!(
                "--speed {text}: expected `max` or a positive number like 1, 10 or 0.5"
            )),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Lines read after the header.
    pub lines: usize,
    /// Lines applied (turned into messages for the state task).
    pub applied: usize,
    /// Lines skipped (corrupt, truncated, unknown feed).
    pub skipped: usize,
    /// The first skipped lines: line number and why.
    pub skipped_lines: Vec<(usize, String)>,
    /// The recording's time span (first to last line), ms.
    pub span_ms: Millis,
    /// The recording's last time: the state's "now" at the end.
    pub end_ms: Millis,
    /// The replay ended early (cancelled, or the state task went away).
    pub interrupted: bool,
}

impl ReplayReport {
    /// One line for logs and the `replay` feed's status.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut text = format!(
            "end of recording: {} lines applied, {} skipped, {:.1} s recorded",
            self.applied,
            self.skipped,
            self.span_ms as f64 / 1000.0
        );
        if let Some((line, why)) = self.skipped_lines.first() {
            let _ = write!(text, "; first skipped: line {line}: {why}");
        }
        text
    }

    fn skip(&mut self, line: usize, why: String) {
        tracing::warn!(line, reason = %why, "replay: line skipped");
        self.skipped += 1;
        if self.skipped_lines.len() < KEEP_SKIPPED {
            self.skipped_lines.push((line, why));
        }
    }
}

/// Opens a recording: its header and the reader of the lines after it.
pub fn open(path: &Path) -> anyhow::Result<(Header, Reader)> {
    read::open(path)
}

/// Replays `reader` into `tx` at `speed` until its end or `cancel`. Blocking: run it on a blocking
/// thread. The state task's clock starts at `start_ms` and never goes back.
#[must_use]
pub fn run_blocking(
    mut reader: Reader,
    speed: Speed,
    start_ms: Millis,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
) -> ReplayReport {
    let mut report = ReplayReport::default();
    let mut decoder = Decoder::new();
    let mut clock = start_ms;
    let mut first: Option<Millis> = None;
    let started = Instant::now();
    let send = |msg: FeedMsg| tx.blocking_send(msg).is_ok();
    while let Some(step) = reader.next_line() {
        if cancel.is_cancelled() {
            report.interrupted = true;
            break;
        }
        let (number, bytes) = match step {
            Step::Line(number, bytes) => (number, bytes),
            Step::Broken(after, why) => {
                report.skip(after + 1, format!("unreadable: {why}"));
                let _ = send(skipped_msg(after + 1, &why));
                break;
            }
        };
        report.lines += 1;
        let msgs = match serde_json::from_slice::<Line<'_>>(&bytes) {
            Ok(line) => {
                let t0 = *first.get_or_insert(line.t);
                if let Speed::Times(x) = speed
                    && !pace(started, line.t - t0, x, cancel)
                {
                    report.interrupted = true;
                    break;
                }
                report.span_ms = report.span_ms.max(line.t - t0);
                decoder.decode(&line).map(|msgs| (line.t, msgs))
            }
            Err(e) => Err(format!("not a record: {e}")),
        };
        let ok = match msgs {
            Ok((t, msgs)) => {
                report.applied += 1;
                let tick = (t > clock).then(|| {
                    clock = t;
                    FeedMsg::Tick { at_ms: t }
                });
                tick.into_iter().chain(msgs).all(send)
            }
            Err(why) => {
                let msg = skipped_msg(number, &why);
                report.skip(number, why);
                send(msg)
            }
        };
        if !ok {
            report.interrupted = true;
            break;
        }
    }
    report.end_ms = clock;
    let _ = send(FeedMsg::Status {
        feed: FEED_ID,
        state: FeedState::Live,
        at_ms: clock,
        detail: Some(report.summary()),
    });
    report
}

fn skipped_msg(line: usize, why: &str) -> FeedMsg {
    FeedMsg::ParseError {
        feed: FEED_ID,
        error: format!("line {line}: {why}"),
    }
}

/// Sleeps until `offset_ms / speed` after `started`; `false` when cancelled first.
fn pace(started: Instant, offset_ms: Millis, speed: f64, cancel: &CancellationToken) -> bool {
    let due = Duration::from_secs_f64((offset_ms.max(0) as f64 / 1000.0) / speed);
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        match due.checked_sub(started.elapsed()) {
            Some(left) if !left.is_zero() => std::thread::sleep(left.min(PACE_SLICE)),
            _ => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_parses() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("MAX"), Ok(Speed::Max));
        assert_eq!(Speed::parse("2.5"), Ok(Speed::Times(2.5)));
        for bad in ["0", "-1", "fast", "inf", "NaN", ""] {
            assert!(Speed::parse(bad).unwrap_err().contains("--speed"), "{bad}");
        }
    }
}
