//! Owning the terminal and giving it back on every way out.
//!
//! [`TerminalGuard::enter`] turns on raw mode, the alternate screen and mouse reporting, and
//! hides the cursor; dropping it (normal return, `?`, unwinding) restores all of that, raw mode
//! first (ratatui's order). [`install_panic_hook`] adds a hook, chained in front of the previous
//! one, that restores the terminal before the panic message prints — but only for a panic on
//! the UI thread: a collector panicking on a runtime worker is caught by tokio and must not yank
//! the screen from under a running dashboard. Restoring twice is harmless.
//!
//! [`FrameBackend`] lets the loop wrap each frame in a synchronized update (DEC 2026), so a slow
//! SSH link never shows half a frame; test backends do nothing there. On the real terminal the
//! frame goes through a [`FrameWriter`], which holds it until the end marker is queued too, so a
//! frame is one `write`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::thread::{self, ThreadId};

use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute, queue};

/// Whether the terminal is currently ours (raw, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The thread running the UI loop, whose panics restore the terminal.
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Restores the terminal if it is ours; safe to call from anywhere, any number of times.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    // Errors are ignored: there is nothing better to do with a terminal that will not answer.
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

/// The terminal in dashboard mode for as long as this lives.
#[derive(Debug)]
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Raw mode, alternate screen, mouse, hidden cursor. The calling thread becomes the UI thread
    /// for the panic hook. On error, whatever was switched on is switched off again.
    pub fn enter() -> io::Result<TerminalGuard> {
        *UI_THREAD.lock().unwrap_or_else(PoisonError::into_inner) = Some(thread::current().id());
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard { _private: () };
        enable_raw_mode()?;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        *UI_THREAD.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Installs (once per process) the panic hook that restores the terminal for UI-thread panics,
/// then runs the hook that was there before.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ui = *UI_THREAD.lock().unwrap_or_else(PoisonError::into_inner);
            if ui == Some(thread::current().id()) {
                restore();
            }
            previous(info);
        }));
    });
}

/// A backend that can bracket a frame (synchronized updates on real terminals).
pub trait FrameBackend: Backend {
    /// Before drawing a frame.
    fn begin_frame(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// After the frame has been drawn (`Terminal::draw` returned); sends it.
    fn end_frame(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Output that holds a frame until its synchronized-update end marker and then writes it, marker
/// included, with a single `write` (and flush) to `out` (stdout).
///
/// `Terminal::draw` flushes the backend in the middle of a frame (hiding the cursor is an
/// `execute!`) and at its end, before [`FrameBackend::end_frame`] can queue the end marker: over
/// a `BufWriter` each frame was two writes, the second one 8 bytes. The markers pass through
/// here as single writes of their exact bytes (crossterm writes each command's escape sequence
/// with one `write_str`), so this writer sees where frames begin and end: inside a frame `flush`
/// waits for the end; outside one (the clear at start, a resize) it writes at once.
///
/// Dropping it discards what was never flushed: the terminal guard restores the screen with its
/// own writes, and nothing may follow them.
#[derive(Debug)]
pub struct FrameWriter<W: Write = io::Stdout> {
    out: W,
    buf: Vec<u8>,
    in_frame: bool,
}

/// `BeginSynchronizedUpdate` and `EndSynchronizedUpdate` as crossterm writes them.
const FRAME_BEGIN: &[u8] = b"\x1b[?2026h";
const FRAME_END: &[u8] = b"\x1b[?2026l";

impl<W: Write> FrameWriter<W> {
    /// Room for a full 200×60 redraw with colours without growing.
    const CAPACITY: usize = 64 * 1024;

    pub fn new(out: W) -> Self {
        FrameWriter {
            out,
            buf: Vec::with_capacity(Self::CAPACITY),
            in_frame: false,
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // Cleared even on error: a terminal that refused a frame gets the next one whole.
        let result = self
            .out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush());
        self.buf.clear();
        result
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if bytes == FRAME_BEGIN {
            self.in_frame = true;
        } else if bytes == FRAME_END {
            self.in_frame = false;
            self.write_out()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.in_frame {
            return Ok(());
        }
        self.write_out()
    }
}

impl<W: Write> FrameBackend for CrosstermBackend<FrameWriter<W>> {
    fn begin_frame(&mut self) -> io::Result<()> {
        queue!(self, BeginSynchronizedUpdate)
    }
    fn end_frame(&mut self) -> io::Result<()> {
        // The writer sends the frame when the marker arrives.
        queue!(self, EndSynchronizedUpdate)
    }
}

impl FrameBackend for TestBackend {}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use ratatui::Terminal;
    use ratatui::text::Line;

    use super::*;

    /// Records each `write` the frame writer makes.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frame(term: &mut Terminal<CrosstermBackend<FrameWriter<Writes>>>, text: &str) {
        term.backend_mut().begin_frame().unwrap();
        term.draw(|f| f.render_widget(Line::from(text.to_string()), f.area()))
            .unwrap();
        term.backend_mut().end_frame().unwrap();
    }

    #[test]
    fn a_frame_is_one_write_from_begin_to_end_marker() {
        let writes = Writes::default();
        let backend = CrosstermBackend::new(FrameWriter::new(writes.clone()));
        let viewport = ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 2));
        let mut term =
            Terminal::with_options(backend, ratatui::TerminalOptions { viewport }).unwrap();
        // Outside a frame a flush writes at once.
        term.backend_mut()
            .clear_region(ratatui::backend::ClearType::All)
            .unwrap();
        assert_eq!(writes.0.borrow().len(), 1);
        frame(&mut term, "first");
        frame(&mut term, "second");
        let all = writes.0.borrow();
        assert_eq!(all.len(), 3, "{all:?}");
        for (bytes, text) in all[1..].iter().zip(["first", "second"]) {
            assert!(bytes.starts_with(FRAME_BEGIN), "{bytes:?}");
            assert!(bytes.ends_with(FRAME_END), "{bytes:?}");
            let shown = String::from_utf8_lossy(bytes);
            assert!(shown.contains(text), "{shown:?}");
        }
    }
}
