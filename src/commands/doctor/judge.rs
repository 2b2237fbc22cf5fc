//! Turns what was seen of one feed during the doctor window into a verdict with a hint.

use std::time::Duration;

use super::probe::hint;
use super::targets::{Target, Transport};
use super::{Check, Status, Step};
use crate::model::FeedState;
use crate::state::snapshot::FeedRow;

/// Everything observed about one feed.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// DNS result of the URL's host (`None`: not probed).
    pub dns: Option<Result<(), String>>,
    /// WebSocket handshake result (`None`: a REST feed).
    pub connect: Option<Result<(), String>>,
    /// Time from start until the feed was first `live` or `quiet`.
    pub first_data: Option<Duration>,
    /// The feed's row at the end of the window.
    pub row: Option<FeedRow>,
    /// The list feed this one waits for failed.
    pub needs_failed: Option<&'static str>,
}

/// The verdict on one feed after `window`.
#[must_use]
pub fn judge(target: &Target, seen: &Seen, window: Duration) -> Check {
    let mut check = Check::feed(target);
    check.dns = step(seen.dns.as_ref());
    check.connect = step(seen.connect.as_ref());
    let row = seen.row.clone().unwrap_or_else(|| empty_row(target.feed));
    check.data = if seen.first_data.is_some() {
        Step::Ok
    } else {
        Step::Fail
    };
    let (status, detail, error) = verdict(target, seen, &row, window);
    check.status = match status {
        Status::Fail if !target.required => Status::Warn,
        other => other,
    };
    check.detail = detail;
    check.hint = error;
    check
}

fn step(result: Option<&Result<(), String>>) -> Step {
    match result {
        None => Step::Skipped,
        Some(Ok(())) => Step::Ok,
        Some(Err(_)) => Step::Fail,
    }
}

fn empty_row(feed: &'static str) -> FeedRow {
    FeedRow {
        feed,
        state: FeedState::Connecting,
        age_ms: None,
        messages: 0,
        parse_errors: 0,
        reconnects: 0,
        gap_ms: 0,
        gaps: Vec::new(),
        detail: None,
        last_error: None,
    }
}

/// Status, detail, and the hint (`None` when all is well).
fn verdict(
    target: &Target,
    seen: &Seen,
    row: &FeedRow,
    window: Duration,
) -> (Status, String, Option<String>) {
    let key = target.url_key;
    if let Some(Err(e)) = &seen.dns {
        return (Status::Fail, e.clone(), Some(hint(e, key)));
    }
    if let Some(Err(e)) = &seen.connect {
        return (Status::Fail, e.clone(), Some(hint(e, key)));
    }
    let secs = window.as_secs_f64();
    let last_error = row.last_error.clone().unwrap_or_default();
    if row.parse_errors > 0 {
        let detail = format!(
            "{} of {} messages did not parse in {secs:.0} s (last: {last_error})",
            row.parse_errors, row.messages
        );
        let error = format!("parse: {last_error}");
        return (Status::Fail, detail, Some(hint(&error, key)));
    }
    let Some(first) = seen.first_data else {
        return no_data(target, seen, row, secs);
    };
    if row.reconnects > 0 {
        let detail = format!(
            "connection dropped {} time(s) in {secs:.0} s (last: {last_error})",
            row.reconnects
        );
        let advice = format!(
            "the venue or something in between (proxy, NAT, Wi-Fi) cuts connections; kimp \
             reconnects, but expect gaps; check the network and `{key}`"
        );
        return (Status::Fail, detail, Some(advice));
    }
    if !row.state.is_usable() {
        let why = row
            .last_error
            .clone()
            .or(row.detail.clone())
            .unwrap_or_default();
        let detail = format!("{} after delivering: {why}", row.state.as_str());
        return (Status::Fail, detail, Some(hint(&why, key)));
    }
    let detail = format!(
        "{}: first data after {} ms, {} messages",
        row.state.as_str(),
        first.as_millis(),
        row.messages
    );
    (Status::Ok, detail, None)
}

/// Nothing usable arrived in the window: why.
fn no_data(
    target: &Target,
    seen: &Seen,
    row: &FeedRow,
    secs: f64,
) -> (Status, String, Option<String>) {
    if let Some(needs) = seen.needs_failed {
        let detail = format!("not started: it waits for {needs}, which failed");
        return (Status::Fail, detail, None);
    }
    let key = target.url_key;
    if let Some(e) = &row.last_error {
        let detail = format!("no data in {secs:.0} s: {e}");
        return (Status::Fail, detail, Some(hint(e, key)));
    }
    let moved = format!("the endpoint may have moved; see `{key}`");
    match target.transport {
        Transport::WebSocket if row.messages > 0 => {
            let detail = format!(
                "connected but no data: subscribed, the venue answers ({} acks/pongs) but sent \
                 no data in {secs:.0} s",
                row.messages
            );
            (Status::Fail, detail, Some(moved))
        }
        Transport::WebSocket => {
            let detail = format!(
                "connected but no data: nothing at all (no data, no acks/pongs) in {secs:.0} s \
                 after subscribing"
            );
            (
                Status::Fail,
                detail,
                Some(format!("the venue is silent or {moved}")),
            )
        }
        Transport::Rest => {
            let detail = format!("no reply in {secs:.0} s");
            let advice = hint(&detail, key);
            (Status::Fail, detail, Some(advice))
        }
    }
}
