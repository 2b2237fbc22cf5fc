//! The four liquidation collectors (`feed::liq::collect`) against scripted loopback venues: a
//! WebSocket server (`accept_hdr_async`) the test drives connection by connection, and axum REST
//! servers for Bybit's symbol list and OKX's contract table.
//!
//! Per venue: the subscription (URL or frames) arrives, recorded-shape liquidation frames come out
//! as normalised events with the right side and notional, and a dropped connection reconnects and
//! resubscribes. Liveness (SPEC §7): a socket that accepts and sends nothing is reported
//! suspect-silent and reconnected; canaries or pongs without liquidations are `quiet`, never stale;
//! a liquidation makes the stream `live` again. OKX: an unknown `instId` refetches the contract
//! table and releases the held event. Bybit: 1,200 symbols spread over several connections.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "liquidation_feeds/binance.rs"]
mod binance;
#[path = "liquidation_feeds/bitmex.rs"]
mod bitmex;
#[path = "liquidation_feeds/bybit.rs"]
mod bybit;
#[path = "liquidation_feeds/okx.rs"]
mod okx;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kimp::config::LiquidationsConfig;
use kimp::feed::FeedMsg;
use kimp::feed::liq::collect::Options;
use kimp::model::{FeedState, Liquidation, MarketEvent};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_util::sync::CancellationToken;

const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// Longest wait for anything expected; a timeout fails the test.
const WAIT: Duration = Duration::from_secs(10);

/// Non-empty lines of one of kimp's fixtures.
fn fixture_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{OWN}/{name}")).unwrap();
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!lines.is_empty(), "{name} is empty");
    lines
}

/// Every venue disabled; the test enables one.
fn config(enable: impl FnOnce(&mut LiquidationsConfig)) -> LiquidationsConfig {
    let mut cfg = LiquidationsConfig {
        binance_enabled: false,
        bybit_enabled: false,
        okx_enabled: false,
        bitmex_enabled: false,
        ..LiquidationsConfig::default()
    };
    enable(&mut cfg);
    cfg
}

/// Short timing: nothing waits for real-world intervals.
fn options() -> Options {
    let mut opts = Options::from_config(&LiquidationsConfig::default());
    opts.quiet_after = Duration::from_secs(30);
    opts.silent_timeout = Duration::from_secs(5);
    opts.ping_interval = Duration::from_millis(200);
    opts.bitmex_ping_interval = Duration::from_millis(200);
    opts.on_demand_min_gap = Duration::from_millis(300);
    opts.backoff = (
        Duration::from_millis(20),
        Duration::from_millis(100),
        Duration::from_secs(60),
    );
    opts.connect_timeout = Duration::from_secs(2);
    opts.rest_timeout = Duration::from_secs(2);
    opts
}

/// What the test tells one server-side connection to do.
enum Cmd {
    Send(String),
    Close,
}

/// A scripted WebSocket venue: each accepted connection is handed to the test.
struct WsServer {
    addr: SocketAddr,
    conns: mpsc::UnboundedReceiver<ServerConn>,
    accepted: Arc<AtomicUsize>,
}

/// One accepted connection: the request URI, what the client sent (pings answered by `reply` are
/// not included), and a way to send or close.
struct ServerConn {
    uri: String,
    from_client: mpsc::UnboundedReceiver<String>,
    cmds: mpsc::UnboundedSender<Cmd>,
}

impl WsServer {
    /// `reply` answers keep-alive texts (`ping` → `pong`) without involving the test.
    async fn start(reply: fn(&str) -> Option<String>) -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (conns_tx, conns) = mpsc::unbounded_channel();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(tcp, reply, conns_tx.clone()));
            }
        });
        WsServer {
            addr,
            conns,
            accepted,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    async fn next(&mut self) -> ServerConn {
        tokio::time::timeout(WAIT, self.conns.recv())
            .await
            .expect("no connection in time")
            .unwrap()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    reply: fn(&str) -> Option<String>,
    conns: mpsc::UnboundedSender<ServerConn>,
) {
    let mut uri = String::new();
    #[expect(clippy::result_large_err, reason = "tungstenite's callback signature")]
    let callback = |req: &Request, resp: Response| {
        uri = req.uri().to_string();
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let (client_tx, from_client) = mpsc::unbounded_channel();
    let (cmds, mut cmd_rx) = mpsc::unbounded_channel();
    let _ = conns.send(ServerConn {
        uri,
        from_client,
        cmds,
    });
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => match reply(&text) {
                    Some(answer) => {
                        if ws.send(Message::text(answer)).await.is_err() {
                            return;
                        }
                    }
                    None => {
                        let _ = client_tx.send(text.to_string());
                    }
                },
                Some(Ok(_)) => {}
                _ => return,
            },
            cmd = cmd_rx.recv() => match cmd {
                Some(Cmd::Send(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Some(Cmd::Close) => {
                    let _ = ws.close(None).await;
                    return;
                }
                // The test dropped the connection handle: keep the socket open, say nothing.
                None => while let Some(Ok(_)) = ws.next().await {},
            },
        }
    }
}

impl ServerConn {
    async fn recv(&mut self) -> String {
        tokio::time::timeout(WAIT, self.from_client.recv())
            .await
            .expect("client sent nothing in time")
            .unwrap()
    }

    fn send(&self, text: impl Into<String>) {
        self.cmds.send(Cmd::Send(text.into())).unwrap();
    }

    fn close(self) {
        self.cmds.send(Cmd::Close).unwrap();
    }
}

/// The collector side: what it sent to the state task, recorded in order.
struct Feed {
    rx: mpsc::Receiver<FeedMsg>,
    seen: Vec<FeedMsg>,
    cancel: CancellationToken,
    _tasks: JoinSet<()>,
}

impl Feed {
    /// Runs `start` with a fresh channel, token and task set.
    fn start(
        start: impl FnOnce(&mpsc::Sender<FeedMsg>, &CancellationToken, &mut JoinSet<()>),
    ) -> Feed {
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        start(&tx, &cancel, &mut tasks);
        Feed {
            rx,
            seen: Vec::new(),
            cancel,
            _tasks: tasks,
        }
    }

    /// The next message matching `want` (everything is recorded in `seen`).
    async fn until(&mut self, what: &str, want: impl Fn(&FeedMsg) -> bool) -> FeedMsg {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:#?}", self.seen))
                .unwrap();
            self.seen.push(msg.clone());
            if want(&msg) {
                return msg;
            }
        }
    }

    /// The next batch of liquidations of `feed`.
    async fn liquidations(&mut self, feed: &str) -> Vec<Liquidation> {
        let msg = self
            .until("liquidations", |m| {
                matches!(m, FeedMsg::Events { feed: f, events } if *f == feed && !events.is_empty())
            })
            .await;
        let FeedMsg::Events { events, .. } = msg else {
            unreachable!()
        };
        events
            .into_iter()
            .map(|e| match e {
                MarketEvent::Liquidation(l) => l,
                other => panic!("not a liquidation: {other:?}"),
            })
            .collect()
    }

    /// The next status of `feed` in `state`; returns its detail.
    async fn status(&mut self, feed: &str, state: FeedState) -> Option<String> {
        let msg = self
            .until(&format!("{feed} {state:?}"), |m| {
                matches!(m, FeedMsg::Status { feed: f, state: s, .. } if *f == feed && *s == state)
            })
            .await;
        let FeedMsg::Status { detail, .. } = msg else {
            unreachable!()
        };
        detail
    }

    /// Everything that arrives during `period`.
    async fn during(&mut self, period: Duration) -> Vec<FeedMsg> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(msg.clone());
            got.push(msg);
        }
        got
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The states of `feed`'s statuses among `msgs`, in order.
fn states(msgs: &[FeedMsg], feed: &str) -> Vec<FeedState> {
    msgs.iter()
        .filter_map(|m| match m {
            FeedMsg::Status { feed: f, state, .. } if *f == feed => Some(*state),
            _ => None,
        })
        .collect()
}

fn close_to(got: f64, want: f64) -> bool {
    (got - want).abs() <= want.abs() * 1e-9
}
