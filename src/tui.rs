//! The full-screen dashboard (SPEC §11): ratatui over crossterm.
//!
//! [`run`] takes the terminal ([`terminal::TerminalGuard`], restored on every way out, panics
//! included), then hands over to [`event_loop::run_loop`], which redraws only when something
//! changed, at most `tui.max_fps` times a second ([`schedule`]). Rendering ([`draw`]) is a pure
//! function of the snapshot, the UI state and the time.
//!
//! Modules: [`input`] (the thread reading keys), [`layout`] (regions, column priorities),
//! [`keymap`] (the key table), [`ui_state`]
//! (sort, filter, selection, …), [`widgets`] (one per region), [`theme`] (colours, `NO_COLOR`,
//! ASCII symbols), [`text`] (cell widths, number formats, 초성), [`labels`] (한국어/English),
//! [`favourites`] (`favourites.json`).

pub mod event_loop;
pub mod favourites;
pub mod input;
pub mod keymap;
pub mod labels;
pub mod layout;
pub mod schedule;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod ui_state;
pub mod widgets;

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio_util::sync::CancellationToken;

use crate::app::Running;
use crate::clock::now_ms;
use crate::config::TuiConfig;
pub use event_loop::{Clock, LoopDeps, run_loop};
use terminal::FrameWriter;
use theme::Theme;
use ui_state::UiState;
pub use widgets::draw;

/// Why the dashboard stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Io(#[from] io::Error),
    #[error("reading keyboard input: {0}")]
    Input(#[source] io::Error),
    #[error("terminal backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TuiError {
    /// Wraps a backend's own error type.
    pub fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        TuiError::Backend(Box::new(e))
    }
}

/// Time between frames for a frame-rate cap (at least 1 fps).
#[must_use]
pub fn frame_interval(max_fps: u32) -> Duration {
    Duration::from_secs(1) / max_fps.max(1)
}

/// The UI state a run starts with: config language, clock and colours, `NO_COLOR` from the
/// environment, favourites from `data_dir` (a read error shows in the footer).
#[must_use]
pub fn initial_state(cfg: &TuiConfig, data_dir: &Path) -> UiState {
    let theme = Theme::new(cfg.colors, Theme::no_color_from_env(), cfg.ascii_symbols);
    let (favs, problem) = favourites::load(&favourites::path_in(data_dir));
    let mut ui = UiState::new(cfg, theme, favs);
    if let Some(e) = problem {
        let l = labels::labels(ui.language);
        ui.set_status(format!("{}: {e}", l.saved_failed), true, now_ms());
    }
    ui
}

/// Runs the dashboard on this terminal until the user quits or `cancel` fires; the terminal is
/// restored before this returns (or unwinds).
pub async fn run(
    running: &Running,
    cfg: &TuiConfig,
    data_dir: &Path,
    cancel: CancellationToken,
) -> Result<(), TuiError> {
    let ui = initial_state(cfg, data_dir);
    let guard = terminal::TerminalGuard::enter()?;
    terminal::install_panic_hook();
    // A fixed viewport the size of the screen, resized by the loop on each resize event: the
    // default full-screen one asks the terminal for its size before every frame (open /dev/tty,
    // ioctl, close).
    let (width, height) = ratatui::crossterm::terminal::size()?;
    let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
    let mut term = Terminal::with_options(
        CrosstermBackend::new(FrameWriter::new(io::stdout())),
        TerminalOptions { viewport },
    )?;
    // Once, so the first frame starts from a known screen; frames after it only send changes.
    // Before the input thread starts: this reads the cursor position through crossterm's input.
    term.clear()?;
    let input = input::spawn()?;
    let deps = LoopDeps {
        snapshots: running.state.snapshots.clone(),
        commands: running.state.commands.clone(),
        history: Some(running.history().clone()),
        favourites: Some(favourites::path_in(data_dir)),
        clock: Arc::new(now_ms),
        frame_interval: frame_interval(cfg.max_fps),
        cancel,
    };
    let result = run_loop(&mut term, input, ui, deps).await;
    drop(term);
    drop(guard);
    result
}
