//! When the UI loop draws: at most once a frame interval, as soon as possible after input, and
//! so that the header clock's second and the market's snapshots share frames.
//!
//! Idle, the dashboard still draws for two reasons: a snapshot from the state task (4 a second
//! at the default `publish_interval_ms`) and the clock tick just after each wall-clock second.
//! The frame cap alone does not merge them: the two arrive at unrelated moments, usually more
//! than a frame interval apart, so each got a frame of its own — 5 a second. Here the clock's
//! frame may come up to `CLOCK_SLACK` after the tick (the header still changes within a frame
//! interval of the second), and a snapshot arriving within a frame interval before a tick waits
//! for it (no more than the cap could delay it anyway). A snapshot on either side of the second,
//! 1.9 frame intervals of every 250 ms, draws the clock too; the other snapshots draw at once.
//!
//! Pure bookkeeping over instants: the loop asks [`Schedule::wake_at`] when to wake and then
//! [`Schedule::tick_due`] and [`Schedule::frame_due`] what to do.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::Millis;

/// How long after a wall-clock second the tick comes: late enough that a clock a little behind
/// the timer still reads the new second.
pub const TICK_OFFSET: Duration = Duration::from_millis(5);

/// The frame timing of one run of the loop.
#[derive(Debug)]
pub struct Schedule {
    interval: Duration,
    /// No frame before this: the last frame plus one interval (the cap).
    earliest: Instant,
    /// Something changed that should show as soon as the cap allows.
    urgent: bool,
    /// A snapshot waits for the clock tick: draw then.
    held_until: Option<Instant>,
    /// The clock moved to a new second: draw by then.
    clock_by: Option<Instant>,
    next_tick: Instant,
}

impl Schedule {
    /// A schedule at `now` (wall clock `wall_ms`) whose first frame is due at once.
    #[must_use]
    pub fn new(interval: Duration, now: Instant, wall_ms: Millis) -> Self {
        Schedule {
            interval,
            earliest: now,
            urgent: true,
            held_until: None,
            clock_by: None,
            next_tick: next_tick(now, wall_ms),
        }
    }

    /// Input or background work changed the screen: draw as soon as the cap allows.
    pub fn changed(&mut self) {
        self.urgent = true;
    }

    /// A new snapshot at `now`: drawn at once, or held for the clock tick when that is less than
    /// a frame interval away.
    pub fn snapshot(&mut self, now: Instant) {
        if self.next_tick.saturating_duration_since(now) <= self.interval {
            self.held_until.get_or_insert(self.next_tick);
        } else {
            self.urgent = true;
        }
    }

    /// Whether the clock tick is due at `now`.
    #[must_use]
    pub fn tick_due(&self, now: Instant) -> bool {
        now >= self.next_tick
    }

    /// The clock ticked at `now` (wall clock `wall_ms`): the next frame must come within
    /// [`Self::clock_slack`]; the next tick is after the next wall-clock second.
    pub fn ticked(&mut self, now: Instant, wall_ms: Millis) {
        let by = now + self.clock_slack();
        self.clock_by = Some(self.clock_by.map_or(by, |b| b.min(by)));
        self.next_tick = next_tick(now, wall_ms);
    }

    /// How long the clock's frame may wait after the tick for a snapshot to share it: the header
    /// shows the new second within a frame interval of it (the tick itself is [`TICK_OFFSET`]
    /// late, and a timer may fire a little late too).
    #[must_use]
    pub fn clock_slack(&self) -> Duration {
        self.interval.saturating_sub(TICK_OFFSET * 2)
    }

    /// When the next frame is due, if anything waits to be drawn.
    #[must_use]
    pub fn due(&self) -> Option<Instant> {
        let urgent = self.urgent.then_some(self.earliest);
        let want = [urgent, self.held_until, self.clock_by]
            .into_iter()
            .flatten()
            .min()?;
        Some(want.max(self.earliest))
    }

    /// Whether a frame is due at `now`.
    #[must_use]
    pub fn frame_due(&self, now: Instant) -> bool {
        self.due().is_some_and(|due| due <= now)
    }

    /// A frame was drawn at `now`: everything waiting is on screen.
    pub fn drawn(&mut self, now: Instant) {
        self.earliest = now + self.interval;
        self.urgent = false;
        self.held_until = None;
        self.clock_by = None;
    }

    /// When the loop must wake next: the clock tick or the next frame, whichever is first.
    #[must_use]
    pub fn wake_at(&self) -> Instant {
        self.due()
            .map_or(self.next_tick, |due| due.min(self.next_tick))
    }
}

/// [`TICK_OFFSET`] after the wall-clock second following `wall_ms` (which is `now`).
fn next_tick(now: Instant, wall_ms: Millis) -> Instant {
    let to_second = 1_000 - wall_ms.rem_euclid(1_000);
    now + Duration::from_millis(to_second.unsigned_abs()) + TICK_OFFSET
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(100);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A schedule started at wall-clock second + 0 ms that has drawn its first frame.
    fn started() -> (Schedule, Instant) {
        let t0 = Instant::now();
        let mut s = Schedule::new(FRAME, t0, 5_000_000);
        assert_eq!(s.due(), Some(t0));
        s.drawn(t0);
        assert_eq!(s.due(), None);
        assert_eq!(s.wake_at(), t0 + ms(1_005));
        (s, t0)
    }

    #[test]
    fn input_draws_at_once_within_the_cap() {
        let (mut s, t0) = started();
        s.changed();
        // The cap: one interval after the first frame.
        assert_eq!(s.due(), Some(t0 + FRAME));
        s.drawn(t0 + FRAME);
        s.changed();
        assert!(s.frame_due(t0 + ms(500)));
    }

    #[test]
    fn a_snapshot_far_from_the_second_draws_at_once() {
        let (mut s, t0) = started();
        s.snapshot(t0 + ms(300));
        assert_eq!(s.due(), Some(t0 + FRAME));
        assert!(s.frame_due(t0 + ms(300)));
    }

    #[test]
    fn a_snapshot_just_before_the_second_waits_for_the_tick() {
        let (mut s, t0) = started();
        s.snapshot(t0 + ms(950));
        let tick = t0 + ms(1_005);
        assert_eq!(s.due(), Some(tick));
        assert!(!s.frame_due(t0 + ms(1_000)));
        assert!(s.tick_due(tick));
        s.ticked(tick, 5_001_005);
        // One frame for both, at the tick.
        assert!(s.frame_due(tick));
        s.drawn(tick);
        assert_eq!(s.due(), None);
        assert_eq!(s.wake_at(), t0 + ms(2_005));
    }

    #[test]
    fn the_clock_waits_for_a_snapshot_but_not_past_its_slack() {
        let (mut s, t0) = started();
        let tick = t0 + ms(1_005);
        s.ticked(tick, 5_001_005);
        assert_eq!(s.due(), Some(tick + s.clock_slack()));
        assert!(s.clock_slack() < FRAME);
        // A snapshot within the slack draws the clock too, at once.
        s.snapshot(t0 + ms(1_040));
        assert!(s.frame_due(t0 + ms(1_040)));
        s.drawn(t0 + ms(1_040));
        assert_eq!(s.due(), None);

        // No snapshot: the clock alone, at the end of the slack.
        let tick = t0 + ms(2_005);
        s.ticked(tick, 5_002_005);
        assert!(!s.frame_due(tick + ms(50)));
        assert!(s.frame_due(tick + s.clock_slack()));
    }

    #[test]
    fn the_tick_follows_the_wall_clock() {
        let t0 = Instant::now();
        // Started 300 ms into a second: the first tick 700 ms later.
        let mut s = Schedule::new(FRAME, t0, 7_300);
        assert!(s.tick_due(t0 + ms(705)));
        assert!(!s.tick_due(t0 + ms(704)));
        // A tick served late (busy loop) still aims at the next second, not a second later.
        s.ticked(t0 + ms(760), 8_060);
        assert!(s.tick_due(t0 + ms(1_705)));
        assert!(!s.tick_due(t0 + ms(1_704)));
    }
}
