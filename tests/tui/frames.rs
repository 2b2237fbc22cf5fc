//! How many frames the idle dashboard draws: snapshots come every 250 ms (the default publish
//! interval) at some phase of the wall-clock second, and the header clock must show each new
//! second within a frame interval (100 ms) of it. A snapshot just before or just after the
//! second shares its frame with the clock — 4 frames a second, not 5 — and when the snapshots
//! fall in neither window the clock still gets a frame of its own in time.
//!
//! Real time (the crate has no tokio `test-util`), so the bounds leave room for a busy machine:
//! phases sit in the middle of their windows and the clock may be 50 ms later than promised.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::{Opts, start};
use crate::fixtures::{NOW, market};

const SNAPSHOT_EVERY: u64 = 250;
const SECONDS: u64 = 4;
/// The promise (a frame interval) plus scheduling noise.
const CLOCK_LAG: Duration = Duration::from_millis(150);

/// `HH:MM:SS` at the end of a header row.
fn header_clock(header: &str) -> String {
    let hms = header.trim_end().trim_end_matches("KST").trim_end();
    let start = hms.char_indices().rev().nth(7).map_or(0, |(i, _)| i);
    hms.get(start..).unwrap_or("").to_string()
}

/// Frames drawn over `SECONDS` s of snapshots `phase` ms after each quarter second; checks the
/// clock on the way.
async fn frames_with_snapshots_at(phase: u64) -> usize {
    let app = start(200, 60, Opts::default());
    // The loop's clock starts at NOW, a whole second (09:00:00 KST), with `start`.
    let t0 = Instant::now();
    let state = market();
    let end = SECONDS * 1_000 + 500;
    let mut at = phase;
    while at < end {
        tokio::time::sleep_until((t0 + Duration::from_millis(at)).into()).await;
        let ms = i64::try_from(at).expect("short");
        app.snaps.send_replace(Arc::new(state.snapshot(NOW + ms)));
        at += SNAPSHOT_EVERY;
    }
    tokio::time::sleep_until((t0 + Duration::from_millis(end)).into()).await;
    let headers = app.screen.headers();
    for second in 1..=SECONDS {
        let want = format!("09:00:{second:02}");
        let (when, _) = headers
            .iter()
            .find(|(_, h)| header_clock(h) == want)
            .unwrap_or_else(|| panic!("phase {phase}: {want} never shown"));
        let lag = when.saturating_duration_since(t0 + Duration::from_secs(second));
        assert!(lag <= CLOCK_LAG, "phase {phase}: {want} shown {lag:?} late");
    }
    let from = t0 + Duration::from_millis(500);
    let to = t0 + Duration::from_millis(500 + SECONDS * 1_000);
    let frames = headers
        .iter()
        .filter(|(when, _)| (from..to).contains(when))
        .count();
    app.quits().await;
    frames
}

#[tokio::test]
async fn snapshots_next_to_the_second_draw_the_clock_too() {
    // Snapshots just after the clock tick, then just before the second.
    for phase in [45, 200] {
        let frames = frames_with_snapshots_at(phase).await;
        // One frame per snapshot (16); a clock with frames of its own would make 20.
        assert!(
            (15..=17).contains(&frames),
            "snapshots at +{phase} ms: {frames} frames in {SECONDS} s"
        );
    }
}

#[tokio::test]
async fn the_clock_gets_its_own_frame_when_no_snapshot_is_near() {
    // 130 ms after the second (past the clock's wait) and 120 ms before the next one.
    let frames = frames_with_snapshots_at(130).await;
    assert!(
        (19..=21).contains(&frames),
        "{frames} frames in {SECONDS} s: 16 for snapshots, 4 for the clock"
    );
}
