//! Keyboard, mouse and resize events, read on a thread of their own and handed to the UI loop
//! over a channel.
//!
//! crossterm's `EventStream` costs the loop on every wakeup, not only on input: the loop's
//! `select!` polls it each time (per snapshot, per tick), and each poll first tries, with a zero
//! timeout, to take crossterm's reader lock — which the stream's helper thread holds while it
//! waits for input — so `parking_lot`'s slow path spins and yields before giving up. Here one
//! thread waits in `event::poll` and sends what it reads; the loop polls an empty channel, which
//! touches nothing outside it.
//!
//! The thread is not joined: when the dashboard ends it notices the closed channel within
//! [`POLL_INTERVAL`] and exits, reading nothing more. Start it after anything that needs
//! crossterm's reader itself (`Terminal::clear` asks the terminal for the cursor position).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc;

/// How long the reader waits for input before checking that the dashboard still listens. Only
/// bounds how long it outlives the loop; keys arrive as soon as they are typed.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Terminal events as a stream, fed by the reader thread.
#[derive(Debug)]
pub struct InputEvents {
    rx: mpsc::UnboundedReceiver<io::Result<Event>>,
}

impl Stream for InputEvents {
    type Item = io::Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// Starts the reader thread (`kimp-input`).
pub fn spawn() -> io::Result<InputEvents> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("kimp-input".into())
        .spawn(move || read_events(&tx))?;
    Ok(InputEvents { rx })
}

/// Reads events until the receiver is gone or the terminal fails (the error is sent on, and ends
/// the loop as `EventStream`'s did).
fn read_events(tx: &mpsc::UnboundedSender<io::Result<Event>>) {
    loop {
        let ready = match event::poll(POLL_INTERVAL) {
            Ok(ready) => ready,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if tx.is_closed() {
            return;
        }
        if !ready {
            continue;
        }
        let ev = event::read();
        let failed = ev.is_err();
        if tx.send(ev).is_err() || failed {
            return;
        }
    }
}
