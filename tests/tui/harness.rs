//! Rendering helpers: draw a frame on a `TestBackend`, read it back as the text a terminal shows
//! (wide characters once, no trailing blanks), and a shared backend that lets a test watch the
//! real UI loop's screen and count its frames.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kimp::config::TuiConfig;
use kimp::model::Millis;
use kimp::state::snapshot::Snapshot;
use kimp::tui::terminal::FrameBackend;
use kimp::tui::theme::Theme;
use kimp::tui::ui_state::UiState;
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use unicode_width::UnicodeWidthStr;

/// A UI state with the default config and colours, refreshed for `snap`, on a `w`×`h` screen.
pub fn ui_for(snap: &Snapshot, w: u16, h: u16) -> UiState {
    ui_with(snap, w, h, &Theme::default(), BTreeSet::new())
}

pub fn ui_with(snap: &Snapshot, w: u16, h: u16, theme: &Theme, favs: BTreeSet<String>) -> UiState {
    let mut ui = UiState::new(&TuiConfig::default(), *theme, favs);
    ui.screen = Rect::new(0, 0, w, h);
    ui.refresh(snap);
    ui
}

/// One frame of `snap` and `ui` at `now` on a `w`×`h` test terminal.
pub fn render(snap: &Snapshot, ui: &UiState, w: u16, h: u16, now: Millis) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| kimp::tui::draw(f, snap, ui, now))
        .expect("draw");
    term.backend().buffer().clone()
}

/// The screen as plain text, one line per row, trailing blanks trimmed: what `tmux capture-pane`
/// would show. A two-cell character is written once and its hidden second cell skipped.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(cell.symbol());
            skip = cell.symbol().width().saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Every cell of the buffer with its position.
pub fn cells(buf: &Buffer) -> impl Iterator<Item = (u16, u16, &Cell)> {
    let w = buf.area.width;
    buf.content.iter().enumerate().map(move |(i, c)| {
        let i = u16::try_from(i).expect("small screen");
        (i % w, i / w, c)
    })
}

/// Row `y` of the screen as text.
pub fn row(buf: &Buffer, y: u16) -> String {
    text(buf)
        .lines()
        .nth(usize::from(y))
        .unwrap_or("")
        .to_string()
}

/// The row whose text contains `needle`.
pub fn find_row(buf: &Buffer, needle: &str) -> Option<u16> {
    text(buf)
        .lines()
        .position(|l| l.contains(needle))
        .map(|y| u16::try_from(y).expect("small screen"))
}

/// A `TestBackend` shared between the UI loop (which owns the `Terminal`) and the test, counting
/// the frames flushed and noting when each was and what its first row said.
#[derive(Clone)]
pub struct Shared {
    pub inner: Arc<Mutex<TestBackend>>,
    pub frames: Arc<AtomicUsize>,
    pub headers: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Shared {
    pub fn new(w: u16, h: u16) -> Self {
        Shared {
            inner: Arc::new(Mutex::new(TestBackend::new(w, h))),
            frames: Arc::new(AtomicUsize::new(0)),
            headers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// When each frame was flushed and its first row.
    pub fn headers(&self) -> Vec<(Instant, String)> {
        self.headers.lock().expect("headers lock").clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TestBackend> {
        self.inner.lock().expect("backend lock")
    }

    pub fn screen(&self) -> String {
        text(self.lock().buffer())
    }

    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::SeqCst)
    }

    pub fn resize(&self, w: u16, h: u16) {
        self.lock().resize(w, h);
    }
}

impl Backend for Shared {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.lock().draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.lock().hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.lock().show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.lock().get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.lock().set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.lock().clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.lock().clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.lock().size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.lock().window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        // Terminal::draw flushes the backend exactly once per frame.
        self.frames.fetch_add(1, Ordering::SeqCst);
        let header = row(self.lock().buffer(), 0);
        self.headers
            .lock()
            .expect("headers lock")
            .push((Instant::now(), header));
        self.lock().flush()
    }
}

impl FrameBackend for Shared {}
