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
//! SSH link never shows half a frame; test backends do nothing there.

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
    /// After the frame has been flushed.
    fn end_frame(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> FrameBackend for CrosstermBackend<W> {
    fn begin_frame(&mut self) -> io::Result<()> {
        queue!(self, BeginSynchronizedUpdate)
    }
    fn end_frame(&mut self) -> io::Result<()> {
        execute!(self, EndSynchronizedUpdate)
    }
}

impl FrameBackend for TestBackend {}
