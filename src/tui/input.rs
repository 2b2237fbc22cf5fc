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
//! The thread is not joined (quitting never waits for it): when the dashboard ends it notices
//! the closed channel within [`POLL_INTERVAL`] and exits without taking another event. Start it
//! after anything that needs crossterm's reader itself (`Terminal::clear` asks the terminal for
//! the cursor position).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc;

/// How long the reader waits for input before checking that the dashboard still listens. Only
/// bounds how long it outlives the loop; keys arrive as soon as they are typed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Terminal events as a stream, fed by the reader thread.
///
/// If the thread stops without saying why (it panicked), the stream says so with an error,
/// which ends the loop: a dashboard that no longer reads keys could not even be quit.
#[derive(Debug)]
pub struct InputEvents {
    rx: mpsc::UnboundedReceiver<io::Result<Event>>,
    ended: bool,
}

impl Stream for InputEvents {
    type Item = io::Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) if !self.ended => {
                self.ended = true;
                let stopped = io::Error::other("the thread reading the terminal stopped");
                Poll::Ready(Some(Err(stopped)))
            }
            other => other,
        }
    }
}

/// Starts the reader thread (`kimp-input`).
pub fn spawn() -> io::Result<InputEvents> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("kimp-input".into())
        .spawn(move || read_events(&tx))?;
    Ok(InputEvents { rx, ended: false })
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

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    use super::*;

    #[tokio::test]
    async fn events_pass_and_a_vanished_reader_is_an_error() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut input = InputEvents { rx, ended: false };
        let key = Event::Key(KeyEvent::from(KeyCode::Char('q')));
        tx.send(Ok(key.clone())).unwrap();
        assert_eq!(input.next().await.unwrap().unwrap(), key);
        drop(tx);
        assert!(input.next().await.unwrap().is_err());
        assert!(input.next().await.is_none());
    }
}
