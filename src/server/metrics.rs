//! `GET /metrics`: Prometheus text format (version 0.0.4). Feed figures come from the snapshot's
//! health rows (messages, parse errors, reconnects, outage seconds, last-message age); HTTP and
//! WebSocket counters are kept here, lock-free except the small per-status HTTP table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::Service;
use crate::state::snapshot::{FeedRow, Snapshot};

/// The two WebSocket streams: market data (`/ws/market`, `/ws/prices`) and liquidations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Market,
    Liquidations,
}

impl Stream {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Market => "market",
            Stream::Liquidations => "liquidations",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one WebSocket stream.
#[derive(Debug, Default)]
pub struct WsCounters {
    /// Connections open now.
    pub open: AtomicI64,
    pub accepted: AtomicU64,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    /// Fresh snapshots sent to clients that fell behind (or asked for one).
    pub resyncs: AtomicU64,
    /// Clients closed with 1013 (stopped reading, or lagged repeatedly).
    pub evicted: AtomicU64,
    /// Clients closed for what they sent (binary, oversized, broken frames).
    pub bad_input: AtomicU64,
}

/// Every counter of the API, shared by the three services.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(&'static str, u16), u64>>,
    refused: [AtomicU64; 3],
    ws: [WsCounters; 2],
    /// Liquidations the fan-out missed from the state task (it then resynced every client).
    pub hub_lagged: AtomicU64,
}

/// `counter += 1`.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Counts one answered request.
    pub fn http(&self, service: Service, status: u16) {
        let mut table = self
            .http
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *table.entry((service.as_str(), status)).or_default() += 1;
    }

    /// Counts one connection refused at the connection cap.
    pub fn refused(&self, service: Service) {
        inc(&self.refused[service.index()]);
    }

    /// The counters of a WebSocket stream.
    #[must_use]
    pub fn ws(&self, stream: Stream) -> &WsCounters {
        &self.ws[stream.index()]
    }

    /// The whole exposition for `service`, with the feeds that service depends on.
    #[must_use]
    pub fn render(&self, service: Service, snap: &Snapshot) -> String {
        let mut out = String::with_capacity(4096);
        let feeds: Vec<&FeedRow> = snap
            .feeds
            .iter()
            .filter(|f| super::health::serves(service, f.feed))
            .collect();
        feed_metrics(&mut out, &feeds);
        self.http_metrics(&mut out);
        self.ws_metrics(&mut out);
        header(
            &mut out,
            "kimp_log_dropped_lines_total",
            "counter",
            "log lines dropped because a log file writer fell behind",
        );
        let dropped = crate::logging::dropped_lines();
        let _ = writeln!(out, "kimp_log_dropped_lines_total {dropped}");
        out
    }

    fn http_metrics(&self, out: &mut String) {
        header(
            out,
            "kimp_http_requests_total",
            "counter",
            "HTTP requests answered",
        );
        let table = self
            .http
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((service, status), n) in table.iter() {
            let _ = writeln!(
                out,
                "kimp_http_requests_total{{service=\"{service}\",code=\"{status}\"}} {n}"
            );
        }
        drop(table);
        header(
            out,
            "kimp_connections_refused_total",
            "counter",
            "connections refused at server.max_connections",
        );
        for service in Service::ALL {
            let n = self.refused[service.index()].load(Ordering::Relaxed);
            let name = service.as_str();
            let _ = writeln!(
                out,
                "kimp_connections_refused_total{{service=\"{name}\"}} {n}"
            );
        }
    }

    fn ws_metrics(&self, out: &mut String) {
        type Get = fn(&WsCounters) -> &AtomicU64;
        let rows: [(&str, &str, Get); 6] = [
            (
                "kimp_ws_connections_total",
                "WebSocket connections accepted",
                |c| &c.accepted,
            ),
            (
                "kimp_ws_messages_sent_total",
                "WebSocket messages sent",
                |c| &c.messages,
            ),
            (
                "kimp_ws_bytes_sent_total",
                "WebSocket payload bytes sent",
                |c| &c.bytes,
            ),
            (
                "kimp_ws_resyncs_total",
                "fresh snapshots sent to clients that fell behind",
                |c| &c.resyncs,
            ),
            (
                "kimp_ws_evictions_total",
                "clients closed with 1013 for not keeping up",
                |c| &c.evicted,
            ),
            (
                "kimp_ws_bad_input_closes_total",
                "clients closed for what they sent",
                |c| &c.bad_input,
            ),
        ];
        let streams = [Stream::Market, Stream::Liquidations];
        header(
            out,
            "kimp_ws_connections",
            "gauge",
            "WebSocket connections open",
        );
        for stream in streams {
            let open = self.ws(stream).open.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "kimp_ws_connections{{stream=\"{}\"}} {open}",
                stream.as_str()
            );
        }
        for (name, help, get) in rows {
            header(out, name, "counter", help);
            for stream in streams {
                let value = get(self.ws(stream)).load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{stream=\"{}\"}} {value}", stream.as_str());
            }
        }
        header(
            out,
            "kimp_ws_fanout_lagged_total",
            "counter",
            "liquidations the fan-out missed from the state task (clients were resynced)",
        );
        let lagged = self.hub_lagged.load(Ordering::Relaxed);
        let _ = writeln!(out, "kimp_ws_fanout_lagged_total {lagged}");
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn feed_metrics(out: &mut String, feeds: &[&FeedRow]) {
    type Value = fn(&FeedRow) -> Option<f64>;
    let rows: [(&str, &str, &str, Value); 5] = [
        (
            "kimp_feed_messages_total",
            "counter",
            "frames received per feed",
            |f| Some(f.messages as f64),
        ),
        (
            "kimp_feed_parse_errors_total",
            "counter",
            "frames that did not parse",
            |f| Some(f.parse_errors as f64),
        ),
        (
            "kimp_feed_reconnects_total",
            "counter",
            "reconnects per feed",
            |f| Some(f.reconnects as f64),
        ),
        (
            "kimp_feed_gap_seconds_total",
            "counter",
            "outage time per feed (open gaps count until now)",
            |f| Some(f.gap_ms as f64 / 1000.0),
        ),
        (
            "kimp_feed_last_message_age_seconds",
            "gauge",
            "age of the last frame (absent before the first)",
            |f| f.age_ms.map(|ms| ms as f64 / 1000.0),
        ),
    ];
    for (name, kind, help, value) in rows {
        header(out, name, kind, help);
        for f in feeds {
            if let Some(v) = value(f) {
                let _ = writeln!(out, "{name}{{feed=\"{}\"}} {v}", escape(f.feed));
            }
        }
    }
    header(
        out,
        "kimp_feed_up",
        "gauge",
        "1 when the feed is usable (live or quiet); the state is a label",
    );
    for f in feeds {
        let up = u8::from(f.state.is_usable());
        let _ = writeln!(
            out,
            "kimp_feed_up{{feed=\"{}\",state=\"{}\"}} {up}",
            escape(f.feed),
            f.state.as_str()
        );
    }
}

/// Label value escaping of the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
