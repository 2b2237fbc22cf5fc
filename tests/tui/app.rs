//! The real UI loop (`run_loop`) on a shared `TestBackend`: scripted keys in, snapshots pushed,
//! the screen and the frame count read back. Waits poll the screen with a deadline; a timeout
//! fails the test.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::Stream;
use kimp::history::{History, PremiumSample};
use kimp::model::{LiqVenue, MarketEvent, Side, Venue};
use kimp::state::snapshot::{Pair, Snapshot};
use kimp::state::task::StateCommand;
use kimp::tui::{Clock, LoopDeps, TuiError, run_loop};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fixtures::{NOW, liquidation, market, snapshot};
use crate::harness::{Shared, ui_for};

const DEADLINE: Duration = Duration::from_secs(5);

pub struct App {
    keys: mpsc::UnboundedSender<io::Result<Event>>,
    pub snaps: watch::Sender<Arc<Snapshot>>,
    commands: mpsc::Receiver<StateCommand>,
    pub screen: Shared,
    cancel: CancellationToken,
    task: JoinHandle<Result<(), TuiError>>,
}

#[derive(Default)]
pub struct Opts {
    pub history: Option<History>,
    pub favourites: Option<PathBuf>,
}

fn input(
    rx: mpsc::UnboundedReceiver<io::Result<Event>>,
) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }))
}

pub fn start(w: u16, h: u16, opts: Opts) -> App {
    let snap = Arc::new(snapshot());
    let (snaps, snaps_rx) = watch::channel(snap.clone());
    let (cmd_tx, commands) = mpsc::channel(16);
    let (keys, key_rx) = mpsc::unbounded_channel();
    let screen = Shared::new(w, h);
    // As `tui::run` has it: a fixed viewport that follows resize events only.
    let viewport = Viewport::Fixed(Rect::new(0, 0, w, h));
    let mut term = Terminal::with_options(screen.clone(), TerminalOptions { viewport }).unwrap();
    let started = Instant::now();
    let clock: Clock =
        Arc::new(move || NOW + i64::try_from(started.elapsed().as_millis()).expect("a short test"));
    let cancel = CancellationToken::new();
    let deps = LoopDeps {
        snapshots: snaps_rx,
        commands: cmd_tx,
        history: opts.history,
        favourites: opts.favourites,
        clock,
        frame_interval: Duration::from_millis(100),
        cancel: cancel.clone(),
    };
    let ui = ui_for(&snap, w, h);
    let task = tokio::spawn(async move { run_loop(&mut term, input(key_rx), ui, deps).await });
    App {
        keys,
        snaps,
        commands,
        screen,
        cancel,
        task,
    }
}

impl App {
    fn press(&self, code: KeyCode) {
        self.press_with(code, KeyModifiers::NONE);
    }

    fn press_with(&self, code: KeyCode, modifiers: KeyModifiers) {
        let event = Event::Key(KeyEvent::new(code, modifiers));
        self.keys.send(Ok(event)).expect("loop is running");
    }

    fn type_text(&self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Waits until the screen satisfies `want`; panics with the screen after [`DEADLINE`].
    async fn wait_for(&self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen.screen();
            if want(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn shows(&self, needle: &str) -> String {
        self.wait_for(needle, |s| s.contains(needle)).await
    }

    pub async fn quits(self) {
        self.press(KeyCode::Char('q'));
        let result = tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("loop ends on q");
        result.expect("no panic").expect("no error");
    }
}

#[tokio::test]
async fn sort_filter_favourite_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("favourites.json");
    let app = start(
        120,
        40,
        Opts {
            favourites: Some(path.clone()),
            ..Opts::default()
        },
    );
    app.shows("정렬 김프 ▼").await;
    app.press(KeyCode::Char('s'));
    app.shows("정렬 테더김프 ▼").await;
    app.press_with(KeyCode::Char('S'), KeyModifiers::SHIFT);
    app.shows("정렬 테더김프 ▲").await;
    app.press(KeyCode::Char('/'));
    app.type_text("ㅂㅌ");
    app.press(KeyCode::Enter);
    let screen = app
        .wait_for("only 비트코인", |s| {
            s.contains("필터: ㅂㅌ") && !s.contains("이더리움")
        })
        .await;
    assert!(screen.contains("비트코인 BTC"), "{screen}");
    app.press(KeyCode::Char('f'));
    app.shows("★").await;
    let start = Instant::now();
    while std::fs::read_to_string(&path).map_or(true, |t| !t.contains("BTC")) {
        assert!(start.elapsed() < DEADLINE, "favourites.json not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.press(KeyCode::Esc);
    // Filter gone, the favourite pinned on top of all rows.
    let screen = app.wait_for("all rows", |s| s.contains("이더리움")).await;
    let first_row = screen.lines().nth(4).unwrap();
    assert!(
        first_row.contains("★") && first_row.contains("BTC"),
        "{screen}"
    );
    app.quits().await;
}

#[tokio::test]
async fn pair_switch_sends_set_pair_and_follows_the_snapshot() {
    let mut app = start(120, 40, Opts::default());
    app.shows("Upbit ↔ Binance").await;
    app.press(KeyCode::Char('d'));
    let cmd = tokio::time::timeout(DEADLINE, app.commands.recv())
        .await
        .unwrap()
        .unwrap();
    let want = Pair {
        domestic: Venue::Bithumb,
        global: Venue::Binance,
    };
    assert_eq!(cmd, StateCommand::SetPair(want));
    // Until the state task applies it, the header shows the pending pair.
    app.shows("Bithumb ↔ Binance…").await;
    app.press(KeyCode::Char('o'));
    let cmd = tokio::time::timeout(DEADLINE, app.commands.recv())
        .await
        .unwrap()
        .unwrap();
    let want = Pair {
        domestic: Venue::Bithumb,
        global: Venue::Bybit,
    };
    assert_eq!(cmd, StateCommand::SetPair(want));
    let mut state = market();
    state.set_pair(want);
    app.snaps.send_replace(Arc::new(state.snapshot(NOW + 500)));
    let screen = app
        .wait_for("applied pair", |s| {
            s.contains("Bithumb ↔ Bybit ") || s.contains("Bithumb ↔ Bybit\n")
        })
        .await;
    assert!(
        screen.contains("Bithumb ₩") && screen.contains("Bybit $"),
        "{screen}"
    );
    app.quits().await;
}

#[tokio::test]
async fn freeze_holds_the_tape() {
    let app = start(120, 40, Opts::default());
    app.shows("LONG").await;
    app.press(KeyCode::Char(' '));
    app.shows("정지").await;
    let mut state = market();
    let liq = liquidation(99, LiqVenue::Bybit, "WLD", Side::Short, 77_000.0, 1.05, 0);
    state.apply(
        kimp::feed::FeedMsg::Events {
            feed: "bybit.liquidations",
            events: vec![MarketEvent::Liquidation(liq)],
        },
        NOW,
    );
    app.snaps.send_replace(Arc::new(state.snapshot(NOW + 100)));
    // The table moves on, the frozen tape does not.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !app.screen.screen().contains("WLD"),
        "{}",
        app.screen.screen()
    );
    app.press(KeyCode::Char(' '));
    let screen = app.shows("WLD").await;
    assert!(!screen.contains("정지"), "{screen}");
    // + raises the minimum size: small events leave the tape.
    for _ in 0..4 {
        app.press(KeyCode::Char('+'));
    }
    let screen = app
        .wait_for("$100K minimum", |s| s.contains("≥$100K"))
        .await;
    assert!(
        !screen.contains("WLD") && screen.contains("$1.2M"),
        "{screen}"
    );
    app.quits().await;
}

#[tokio::test]
async fn help_opens_and_escape_closes() {
    let app = start(80, 24, Opts::default());
    app.shows("비트코인").await;
    app.press(KeyCode::Char('?'));
    app.shows("도움말 — 키").await;
    app.press(KeyCode::Esc);
    app.wait_for("help closed", |s| !s.contains("도움말 — 키"))
        .await;
    app.press(KeyCode::Char('l'));
    app.shows("? help  q quit").await;
    app.quits().await;
}

#[tokio::test]
async fn ctrl_c_quits_and_cancel_stops() {
    let app = start(80, 24, Opts::default());
    app.shows("비트코인").await;
    app.press(KeyCode::Char('/'));
    // Ctrl-C quits even while typing a filter.
    app.press_with(KeyCode::Char('c'), KeyModifiers::CONTROL);
    tokio::time::timeout(DEADLINE, app.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let app = start(80, 24, Opts::default());
    app.shows("비트코인").await;
    app.cancel.cancel();
    tokio::time::timeout(DEADLINE, app.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn idle_screen_draws_once_a_second_and_bursts_are_capped() {
    let app = start(120, 40, Opts::default());
    app.shows("비트코인").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = app.screen.frames();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = app.screen.frames() - before;
    // Only the clock tick: ~3 frames in 3 s (a 10 fps loop would have drawn 30).
    assert!((2..=5).contains(&idle), "{idle} frames while idle");

    let before = app.screen.frames();
    let state = market();
    let started = Instant::now();
    for i in 0..100 {
        app.snaps.send_replace(Arc::new(state.snapshot(NOW + i)));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let burst = app.screen.frames() - before;
    // At most 10 frames a second (plus a clock tick a second and one of slack), however long
    // the 100 snapshots took on a busy machine; one frame per snapshot would be 100.
    let secs = started.elapsed().as_secs_f64();
    let cap = usize::try_from(started.elapsed().as_millis() * 11 / 1_000).unwrap() + 3;
    assert!(
        (3..=cap).contains(&burst) && burst < 50,
        "{burst} frames for 100 snapshots in {secs:.2} s (cap {cap})"
    );
    app.quits().await;
}

#[tokio::test]
async fn resize_redraws_with_the_new_layout() {
    let app = start(200, 60, Opts::default());
    let wide = app.shows("English").await;
    assert!(wide.lines().count() == 60, "{wide}");
    app.screen.resize(80, 24);
    app.keys.send(Ok(Event::Resize(80, 24))).unwrap();
    let small = app
        .wait_for("an 80×24 frame", |s| {
            // The old 200-column frame, reflowed by the resize, has no clock at the end of
            // the first row; a real 80×24 frame has.
            let header = s.lines().next().unwrap_or("");
            s.lines().count() == 24 && header.ends_with("KST") && s.contains("비트코인 BTC")
        })
        .await;
    assert!(!small.contains("English"), "{small}");
    app.quits().await;
}

#[tokio::test]
async fn detail_reads_history_off_the_loop() {
    let history = History::in_memory().unwrap();
    for i in 0..30 {
        history.record_premium(PremiumSample {
            minute_ms: NOW - (30 - i) * 60_000,
            coin: "BTC".into(),
            domestic: Venue::Upbit,
            global: Venue::Binance,
            premium_percent: Some(2.0 + (i as f64) / 100.0),
            premium_usdt_percent: Some(0.9),
        });
    }
    history.flush().await.unwrap();
    let app = start(
        120,
        40,
        Opts {
            history: Some(history),
            ..Opts::default()
        },
    );
    app.shows("비트코인").await;
    app.press(KeyCode::Char('/'));
    app.type_text("BTC");
    app.press(KeyCode::Enter);
    app.press(KeyCode::Enter);
    let screen = app.shows("백분위").await;
    assert!(
        screen.contains("Bithumb") && screen.contains("Bybit") && screen.contains("OKX"),
        "{screen}"
    );
    app.press(KeyCode::Esc);
    app.wait_for("detail closed", |s| !s.contains("백분위"))
        .await;
    app.quits().await;
}

#[tokio::test]
async fn a_failed_favourites_save_shows_in_the_footer() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should go: the rename fails.
    let path = dir.path().join("favourites.json");
    std::fs::create_dir_all(&path).unwrap();
    let app = start(
        120,
        40,
        Opts {
            favourites: Some(path),
            ..Opts::default()
        },
    );
    app.shows("비트코인").await;
    app.press(KeyCode::Char('f'));
    app.shows("즐겨찾기 저장 실패").await;
    app.quits().await;
}
