//! WebSocket fan-out (SPEC §6.1) with real clients: a snapshot first, `seq` +1 per message,
//! updates coalesced to the configured rate, every liquidation delivered, a lagging client resynced
//! by a snapshot, a stalled client closed with 1013 while another keeps its timing, close codes
//! for bad client messages, 1001 at shutdown, and the connection cap.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kimp::clock::now_ms;
use kimp::model::LiqVenue;
use kimp::server::{Service, Stream};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Bare, Env, liquidation, metric};

/// How long one message may take to arrive before a test fails.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// A client connection that tracks `seq`.
struct Client<S> {
    ws: WebSocketStream<S>,
    seq: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// The next JSON message; asserts `seq` is exactly one more than the previous one.
    async fn next(&mut self) -> Value {
        loop {
            let msg = timeout(MESSAGE_TIMEOUT, self.ws.next())
                .await
                .expect("no message in time")
                .expect("stream ended")
                .expect("socket error");
            match msg {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    let seq = v["seq"].as_u64().unwrap();
                    assert_eq!(seq, self.seq + 1, "seq must be contiguous: {}", v["type"]);
                    self.seq = seq;
                    assert!(v["ts_ms"].is_i64() && v.get("data").is_some(), "{v}");
                    return v;
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Reads until the server closes; returns the close code (skipping any queued messages).
    async fn close_code(&mut self, within: Duration) -> CloseCode {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.ws.next())
                .await
                .expect("no close in time")
            {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code,
                Some(Ok(Message::Close(None))) => panic!("close without a code"),
                Some(Ok(_)) => {}
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    }
}

async fn connect(url: &str) -> Client<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    Client { ws, seq: 0 }
}

/// A client whose socket buffers almost nothing, so the server notices at once when it stops
/// reading.
async fn connect_small(url: &str) -> Client<TcpStream> {
    let addr = url.trim_start_matches("ws://").split('/').next().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr.parse().unwrap()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    Client { ws, seq: 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_stream_starts_with_a_snapshot_and_coalesces_updates() {
    let env = Env::start(|cfg| cfg.server.ws_updates_per_sec = 2).await;
    env.wait_for_data().await;
    let mut market = connect(&env.ws_url(Service::Market, "/ws/market")).await;
    let mut prices = connect(&env.ws_url(Service::Gateway, "/ws/prices")).await;
    for client in [&mut market] {
        let first = client.next().await;
        assert_eq!(first["type"], "snapshot");
        assert_eq!(first["seq"], 1);
        assert!(first["data"]["coins"].as_array().unwrap().len() >= 20);
        assert!(first["data"]["liquidations"]["total"].is_object());
    }
    assert_eq!(prices.next().await["type"], "snapshot");
    let window = Duration::from_secs(3);
    let start = Instant::now();
    let mut updates = Vec::new();
    while start.elapsed() < window {
        let msg = market.next().await;
        match msg["type"].as_str().unwrap() {
            "update" => {
                let data = &msg["data"];
                assert!(
                    data["coins"].is_array() && data["removed"].is_array(),
                    "{data}"
                );
                assert!(data["timestamp"].is_string() && data.get("exchange_rate").is_some());
                updates.push(msg["ts_ms"].as_i64().unwrap());
            }
            "status" => assert!(msg["data"]["feeds"].is_array()),
            other => panic!("unexpected {other}"),
        }
    }
    // 2 per second: the 4-per-second snapshots are coalesced.
    assert!(
        (2..=7).contains(&updates.len()),
        "{} updates in 3 s",
        updates.len()
    );
    for pair in updates.windows(2) {
        assert!(
            pair[1] - pair[0] >= 400,
            "updates {} ms apart",
            pair[1] - pair[0]
        );
    }
    assert_eq!(prices.next().await["seq"], 2, "the gateway stream runs too");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_liquidation_reaches_every_client_in_order() {
    let bare = Bare::serve(|_| {}, &[Service::Liquidation, Service::Gateway]);
    let mut a = connect(&bare.ws_url(Service::Liquidation, "/ws/liquidations")).await;
    let mut b = connect(&bare.ws_url(Service::Gateway, "/ws/liquidations")).await;
    for client in [&mut a, &mut b] {
        let first = client.next().await;
        assert_eq!(first["type"], "snapshot");
        assert!(first["data"]["recent"].as_array().unwrap().is_empty());
        assert!(first["data"]["summary"]["total"]["24h"].is_object());
    }
    let n = 500;
    for batch in 0..5 {
        let events = (0..100)
            .map(|i| liquidation("order", batch * 100 + i, LiqVenue::Bybit, 500.0))
            .collect();
        bare.inject(events).await;
    }
    for client in [&mut a, &mut b] {
        let mut got = Vec::new();
        while got.len() < n {
            let msg = client.next().await;
            if msg["type"] == "liquidation" {
                got.push(msg["data"]["id"].as_str().unwrap().to_string());
            }
        }
        let expected: Vec<String> = (0..n).map(|i| format!("bybit:test:order:{i}")).collect();
        assert_eq!(got, expected);
    }
    // A new client's snapshot holds the newest 200, newest first.
    let mut c = connect(&bare.ws_url(Service::Liquidation, "/ws/liquidations")).await;
    let snap = c.next().await;
    let recent = snap["data"]["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 200);
    assert_eq!(recent[0]["id"], "bybit:test:order:499");
    bare.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_falls_behind_gets_a_fresh_snapshot() {
    let bare = Bare::serve(|s| s.ws_queue_len = 64, &[Service::Liquidation]);
    let mut slow = connect_small(&bare.ws_url(Service::Liquidation, "/ws/liquidations")).await;
    assert_eq!(slow.next().await["type"], "snapshot");
    // It stops reading while 3,000 events (~850 KB) go out.
    let total: i64 = 3_000;
    // Small batches the connection keeps up with until the sockets are full (~520 KB).
    for batch in 0..150 {
        let events = (0..20)
            .map(|i| liquidation("lag", batch * 20 + i, LiqVenue::Okx, 1_000.0))
            .collect();
        bare.inject(events).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Every snapshot is consistent with what follows it: events continue right after its newest
    // one, without a gap or a repeat, up to the last event sent.
    let number = |id: &Value| -> i64 {
        id.as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (mut current, mut events, mut resyncs) = (-1_i64, 0_i64, 0);
    while current < total - 1 {
        let msg = slow.next().await;
        match msg["type"].as_str().unwrap() {
            "liquidation" => {
                let n = number(&msg["data"]["id"]);
                assert_eq!(n, current + 1, "after {resyncs} resyncs");
                current = n;
                events += 1;
            }
            "snapshot" => {
                resyncs += 1;
                let recent = msg["data"]["recent"].as_array().unwrap();
                current = recent.first().map_or(-1, |l| number(&l["id"]));
            }
            _ => {}
        }
    }
    assert!(resyncs >= 1, "no resync");
    assert!(
        events < total,
        "the backlog was replaced, not replayed ({events} sent)"
    );
    // The stream goes on after the resync.
    bare.inject(vec![liquidation("lag", 3_000, LiqVenue::Okx, 1_000.0)])
        .await;
    let next = loop {
        let msg = slow.next().await;
        if msg["type"] == "liquidation" {
            break msg;
        }
    };
    assert_eq!(next["data"]["id"], "okx:test:lag:3000");
    bare.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_closed_1013_without_slowing_the_others() {
    let write_timeout: i64 = 800;
    let bare = Bare::serve(
        |s| {
            s.ws_write_timeout_ms = write_timeout.unsigned_abs();
            s.ws_queue_len = 8_192;
        },
        &[Service::Liquidation],
    );
    let url = bare.ws_url(Service::Liquidation, "/ws/liquidations");
    let mut stalled = connect_small(&url).await;
    assert_eq!(stalled.next().await["type"], "snapshot");
    let mut fast = connect(&url).await;
    assert_eq!(fast.next().await["type"], "snapshot");
    let total = 4_000;
    let reader = tokio::spawn(async move {
        let mut latencies = Vec::new();
        while latencies.len() < total {
            let msg = fast.next().await;
            if msg["type"] == "liquidation" {
                latencies.push(now_ms() - msg["data"]["time_ms"].as_i64().unwrap());
            }
        }
        latencies
    });
    for batch in 0..40 {
        let events = (0..100)
            .map(|i| liquidation("stall", batch * 100 + i, LiqVenue::Bitmex, 2_000.0))
            .collect();
        bare.inject(events).await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut latencies = reader.await.unwrap();
    latencies.sort_unstable();
    let max = *latencies.last().unwrap();
    let median = latencies[latencies.len() / 2];
    assert!(max < write_timeout, "the fast client waited {max} ms");
    assert!(median < 200, "median delivery {median} ms");
    // It is closed once a write to it has waited the write timeout, whatever the others do.
    let evicted = &bare.api.metrics().ws(Stream::Liquidations).evicted;
    let deadline = Instant::now() + Duration::from_secs(5);
    while evicted.get() == 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled client was never evicted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Reading again, it finds its backlog and then the 1013 close.
    let code = stalled.close_code(Duration::from_secs(10)).await;
    assert_eq!(code, CloseCode::Again);
    let metrics = bare
        .api
        .metrics()
        .render(Service::Liquidation, &bare.api.latest().snap);
    assert_eq!(
        metric(&metrics, "kimp_ws_evictions_total{stream=\"liquidations\"}"),
        Some(1.0),
        "{metrics}"
    );
    bare.stop().await;
}

#[tokio::test]
async fn bad_client_messages_close_with_the_right_code() {
    let bare = Bare::serve(|s| s.max_ws_message_bytes = 1_024, &[Service::Market]);
    let url = bare.ws_url(Service::Market, "/ws/market");
    let mut client = connect(&url).await;
    assert_eq!(client.next().await["type"], "snapshot");
    // A client that saw a gap asks for a snapshot.
    client
        .ws
        .send(Message::text(r#"{"type":"snapshot"}"#))
        .await
        .unwrap();
    let again = client.next().await;
    assert_eq!(
        (again["type"].as_str(), again["seq"].as_u64()),
        (Some("snapshot"), Some(2))
    );
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        client.close_code(MESSAGE_TIMEOUT).await,
        CloseCode::Unsupported
    );
    let mut client = connect(&url).await;
    client.next().await;
    client
        .ws
        .send(Message::text("x".repeat(5_000)))
        .await
        .unwrap();
    assert_eq!(client.close_code(MESSAGE_TIMEOUT).await, CloseCode::Size);
    bare.stop().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001() {
    let bare = Bare::serve(|_| {}, &[Service::Market, Service::Liquidation]);
    let mut a = connect(&bare.ws_url(Service::Market, "/ws/market")).await;
    let mut b = connect(&bare.ws_url(Service::Liquidation, "/ws/liquidations")).await;
    a.next().await;
    b.next().await;
    let started = Instant::now();
    bare.stop().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(a.close_code(MESSAGE_TIMEOUT).await, CloseCode::Away);
    assert_eq!(b.close_code(MESSAGE_TIMEOUT).await, CloseCode::Away);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused() {
    let bare = Bare::serve(|s| s.max_connections = 2, &[Service::Market]);
    let url = bare.ws_url(Service::Market, "/ws/market");
    let mut a = connect(&url).await;
    let mut b = connect(&url).await;
    a.next().await;
    b.next().await;
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
        "a third is refused"
    );
    drop(a);
    // The permit returns once the server notices the close.
    let deadline = Instant::now() + MESSAGE_TIMEOUT;
    loop {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await {
            let mut c = Client { ws, seq: 0 };
            assert_eq!(c.next().await["type"], "snapshot");
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = bare
        .api
        .metrics()
        .render(Service::Market, &bare.api.latest().snap);
    let refused = metric(&text, "kimp_connections_refused_total{service=\"market\"}");
    assert!(refused.is_some_and(|n| n >= 1.0), "{text}");
    bare.stop().await;
}

/// Messages longer than a fragment (the snapshot) arrive whole to a client that refuses frames
/// over `FRAGMENT` bytes: the server fragments them, so its per-connection write buffer never
/// holds more than one fragment. A plain GET on a stream path gets a JSON 426.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_are_sent_in_fragments() {
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    let env = Env::start(|_| {}).await;
    env.wait_for_data().await;
    let url = env.ws_url(Service::Gateway, "/ws/prices");
    let config = WebSocketConfig::default().max_frame_size(Some(kimp::server::ws::FRAGMENT));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(&url, Some(config), false)
        .await
        .unwrap();
    let mut client = Client { ws, seq: 0 };
    let snapshot = client.next().await;
    assert_eq!(snapshot["type"], "snapshot");
    let len = snapshot.to_string().len();
    assert!(
        len > 4 * kimp::server::ws::FRAGMENT,
        "snapshot of {len} bytes"
    );
    assert_eq!(client.next().await["seq"], 2);

    let response = reqwest::get(env.url(Service::Gateway, "/ws/prices"))
        .await
        .unwrap();
    assert_eq!(response.status(), 426);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "websocket_required", "{body}");
    env.stop().await;
}
