//! The UI loop: waits on input, snapshots, background results and one timer, set by
//! [`Schedule`] to the next clock tick (header clock, "N s ago") or the next frame — only when
//! something changed, at most once a frame interval, with a tick and a snapshot sharing a frame
//! where they can. Never polls: an idle dashboard without data wakes once a second.
//!
//! Generic over the backend and the input stream, so tests run the real loop on a `TestBackend`
//! with scripted keys and pushed snapshots. Slow work (history reads, saving favourites) runs on
//! other tasks and comes back over a channel; nothing here blocks.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::crossterm::event::Event;
use ratatui::layout::Rect;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::history::History;
use crate::model::Millis;
use crate::state::snapshot::Snapshot;
use crate::state::task::StateCommand;
use crate::tui::keymap::{self, Action};
use crate::tui::schedule::Schedule;
use crate::tui::terminal::FrameBackend;
use crate::tui::ui_state::{Effect, SparkData, UiState};
use crate::tui::{TuiError, favourites, widgets};

/// How far back the detail view's history reaches.
const HISTORY_SPAN_MS: Millis = 7 * 24 * 3_600_000;

/// A source of "now" in epoch ms: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// What the loop talks to besides the terminal and the keys.
pub struct LoopDeps {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Venue pair switches go to the state task.
    pub commands: mpsc::Sender<StateCommand>,
    /// Premium samples for the detail sparkline; `None` shows "collecting…".
    pub history: Option<History>,
    /// Where favourites are saved; `None` keeps them for this run only.
    pub favourites: Option<PathBuf>,
    pub clock: Clock,
    /// Shortest time between two frames (1 / `tui.max_fps`).
    pub frame_interval: Duration,
    /// SIGTERM (and everything else that stops the app) ends the loop.
    pub cancel: CancellationToken,
}

/// Results of work done off the loop.
enum Background {
    History { symbol: String, data: SparkData },
    Saved(Result<(), String>),
}

/// The loop's own state besides the terminal and its timers.
struct Session {
    ui: UiState,
    snap: Arc<Snapshot>,
    commands: mpsc::Sender<StateCommand>,
    history: Option<History>,
    favourites: Option<PathBuf>,
    clock: Clock,
    frame_interval: Duration,
    bg: mpsc::UnboundedSender<Background>,
}

/// What the loop does after an input event.
enum Flow {
    Quit,
    /// Continue; `true` when the screen changed.
    Go(bool),
}

impl Session {
    /// The session for `deps`, with `ui` refreshed for the current snapshot, and the receiver of
    /// work done off the loop.
    fn new(mut ui: UiState, mut deps: LoopDeps) -> (Session, mpsc::UnboundedReceiver<Background>) {
        let (bg, bg_rx) = mpsc::unbounded_channel();
        let snap = deps.snapshots.borrow_and_update().clone();
        ui.refresh(&snap);
        let session = Session {
            ui,
            snap,
            commands: deps.commands,
            history: deps.history,
            favourites: deps.favourites,
            clock: deps.clock,
            frame_interval: deps.frame_interval,
            bg,
        };
        (session, bg_rx)
    }

    /// One frame, bracketed for synchronized output.
    fn draw<B>(&self, term: &mut Terminal<B>) -> Result<(), TuiError>
    where
        B: FrameBackend,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let now = (self.clock)();
        term.backend_mut().begin_frame()?;
        term.draw(|f| widgets::draw(f, &self.snap, &self.ui, now))
            .map_err(TuiError::backend)?;
        term.backend_mut().end_frame()?;
        Ok(())
    }

    fn on_input(&mut self, ev: &Event) -> Flow {
        let action = match event_action(ev, &mut self.ui) {
            Input::Ignore => return Flow::Go(false),
            Input::Redraw => return Flow::Go(true),
            Input::Act(action) => action,
        };
        let now = (self.clock)();
        match self.ui.update(action, &self.snap, now) {
            Some(Effect::Quit) => return Flow::Quit,
            Some(effect) => self.apply(effect, now),
            None => {}
        }
        Flow::Go(true)
    }

    fn on_snapshot(&mut self, new: Arc<Snapshot>) {
        self.ui.on_snapshot(&self.snap, &new, (self.clock)());
        self.snap = new;
    }

    fn on_background(&mut self, done: Background) {
        match done {
            Background::History { symbol, data } => self.ui.history_arrived(&symbol, data),
            Background::Saved(Ok(())) => {}
            Background::Saved(Err(e)) => {
                let l = crate::tui::labels::labels(self.ui.language);
                self.ui
                    .set_status(format!("{}: {e}", l.saved_failed), true, (self.clock)());
            }
        }
    }

    /// Starts a history read when the detail view needs one.
    fn fetch_if_needed(&mut self) {
        let now = (self.clock)();
        if let Some(symbol) = self.ui.wants_history(now).map(str::to_string) {
            self.ui.history_requested(&symbol, now);
            fetch_history(self.history.clone(), symbol, now, self.bg.clone());
        }
    }

    fn apply(&mut self, effect: Effect, now: Millis) {
        match effect {
            Effect::Quit => {}
            Effect::SetPair(pair) => {
                if let Err(e) = self.commands.try_send(StateCommand::SetPair(pair)) {
                    self.ui.pending_pair = None;
                    // Closed: nothing computes premiums here (`--remote` shows the server's pair).
                    let text = if self.commands.is_closed() {
                        "venue switch unavailable: the server sets the pair (--remote)".to_string()
                    } else {
                        format!("venue switch failed: {e}")
                    };
                    self.ui.set_status(text, true, now);
                }
            }
            Effect::SaveFavourites(list) => {
                let Some(path) = self.favourites.clone() else {
                    return;
                };
                let bg = self.bg.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = bg.send(Background::Saved(favourites::save(&path, &list)));
                });
            }
        }
    }
}

/// Runs until `q`/Ctrl-C, the end of `cancel`, or an error of the terminal or the input.
pub async fn run_loop<B, I>(
    term: &mut Terminal<B>,
    mut input: I,
    mut ui: UiState,
    deps: LoopDeps,
) -> Result<(), TuiError>
where
    B: FrameBackend,
    B::Error: std::error::Error + Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    let size = term.size().map_err(TuiError::backend)?;
    ui.screen = Rect::new(0, 0, size.width, size.height);
    let (mut snapshots, cancel) = (deps.snapshots.clone(), deps.cancel.clone());
    let (mut s, mut bg_rx) = Session::new(ui, deps);
    let mut plan = Schedule::new(s.frame_interval, Instant::now(), (s.clock)());
    let wake = tokio::time::sleep_until(plan.wake_at());
    tokio::pin!(wake);
    let (mut input_open, mut snaps_open) = (true, true);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            ev = input.next(), if input_open => match ev {
                None => input_open = false,
                Some(Err(e)) => return Err(TuiError::Input(e)),
                Some(Ok(ev)) => {
                    if let Event::Resize(w, h) = ev {
                        // The terminal's viewport is fixed (no size query per frame): follow it.
                        term.resize(Rect::new(0, 0, w, h)).map_err(TuiError::backend)?;
                    }
                    match s.on_input(&ev) {
                        Flow::Quit => break,
                        Flow::Go(true) => plan.changed(),
                        Flow::Go(false) => {}
                    }
                }
            },
            changed = snapshots.changed(), if snaps_open => match changed {
                Ok(()) => {
                    s.on_snapshot(snapshots.borrow_and_update().clone());
                    plan.snapshot(Instant::now());
                }
                Err(_) => snaps_open = false,
            },
            Some(done) = bg_rx.recv() => {
                s.on_background(done);
                plan.changed();
            }
            () = &mut wake => {
                let now = Instant::now();
                if plan.tick_due(now) {
                    let wall = (s.clock)();
                    s.ui.on_tick(wall);
                    plan.ticked(now, wall);
                }
                if plan.frame_due(now) {
                    s.draw(term)?;
                    plan.drawn(now);
                }
            }
        }
        s.fetch_if_needed();
        // Also after the timer fired: a completed `Sleep` stays ready until reset.
        let at = plan.wake_at();
        if wake.deadline() != at || wake.is_elapsed() {
            wake.as_mut().reset(at);
        }
    }
    Ok(())
}

/// What an input event means for the loop.
enum Input {
    Act(Action),
    /// Nothing to change, but the screen must be drawn again (a resize).
    Redraw,
    Ignore,
}

/// The meaning of an input event; a resize records the new size (the next draw adapts).
fn event_action(ev: &Event, ui: &mut UiState) -> Input {
    let action = match ev {
        Event::Key(key) if ui.filter_editing => keymap::filter_action(key),
        Event::Key(key) => keymap::action(key),
        Event::Mouse(m) => keymap::mouse_action(m),
        Event::Resize(w, h) => {
            ui.screen = Rect::new(0, 0, *w, *h);
            return Input::Redraw;
        }
        _ => None,
    };
    action.map_or(Input::Ignore, Input::Act)
}

/// Reads the coin's premium history on another task and sends it back.
fn fetch_history(
    history: Option<History>,
    symbol: String,
    now: Millis,
    bg: mpsc::UnboundedSender<Background>,
) {
    tokio::spawn(async move {
        let data = match history {
            Some(h) => match h.premium_history(&symbol, now - HISTORY_SPAN_MS).await {
                Ok(samples) => SparkData::Ready(samples),
                Err(e) => SparkData::Failed(e.to_string()),
            },
            None => SparkData::Ready(Vec::new()),
        };
        let _ = bg.send(Background::History { symbol, data });
    });
}
