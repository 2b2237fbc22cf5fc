//! `[server]`: the REST + WebSocket API of `--serve` (SPEC §6, §7), kept apart from `config.rs`.

use std::net::IpAddr;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::error::KeyPath;
use super::validate::Problem;

/// `[server]`: listen address, ports, access and limits of the API services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address of every service (an IP address, no port). Loopback unless asked for.
    pub bind: String,
    /// Market data service (`/api/market/…`, `/ws/market`); 0 = any free port.
    pub market_port: u16,
    /// Liquidation service (`/api/liquidations/…`, `/ws/liquidations`); 0 = any free port.
    pub liquidation_port: u16,
    /// API gateway (`/api/coins/latest`, `/ws/prices`, …); 0 = any free port.
    pub gateway_port: u16,
    /// Bearer token required on every request but `/health` when non-empty.
    pub token: String,
    /// Origins browsers may call the API from (`https://example.com`, or `*`); empty = none.
    pub cors_origins: Vec<String>,
    /// WebSocket `update` messages per second per connection, at most (changes are coalesced).
    pub ws_updates_per_sec: u32,
    /// Open connections per service, HTTP and WebSocket together; more are refused.
    pub max_connections: usize,
    /// Largest message a WebSocket client may send; larger closes the connection (1009).
    pub max_ws_message_bytes: usize,
    /// Messages queued per WebSocket client; a client further behind gets a fresh snapshot.
    /// The queue is one shared ring per stream whose frames are freed once every client has
    /// read them, so a long one costs memory only while someone lags. 16,384 is 1.6 s of a
    /// 10,000 events/s liquidation burst (256 lost events to resyncs in `kimp-load burst`).
    pub ws_queue_len: usize,
    /// A write to a WebSocket client that takes longer than this closes it (1013).
    pub ws_write_timeout_ms: u64,
    /// A request not answered within this is answered with a 503 timeout error.
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1".into(),
            market_port: 8001,
            liquidation_port: 8002,
            gateway_port: 8000,
            token: String::new(),
            cors_origins: Vec::new(),
            ws_updates_per_sec: 4,
            max_connections: 10_000,
            max_ws_message_bytes: 4_096,
            ws_queue_len: 16_384,
            ws_write_timeout_ms: 5_000,
            request_timeout_secs: 10,
        }
    }
}

type Check = Result<(), Problem>;

fn problem(name: &str, message: impl Into<String>) -> Check {
    Err(Problem {
        path: KeyPath::of(&["server", name]),
        message: message.into(),
    })
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(name: &str, value: T, min: T, max: T) -> Check {
    if value < min || value > max {
        return problem(
            name,
            format!("{value} is out of range, expected {min} to {max}"),
        );
    }
    Ok(())
}

impl ServerConfig {
    /// The post-merge checks of the section.
    pub(crate) fn check(&self) -> Check {
        let Ok(ip) = parse_bind_ip(&self.bind) else {
            return problem(
                "bind",
                format!(
                    "`{}` is not an IP address, expected e.g. 127.0.0.1 or 0.0.0.0",
                    self.bind
                ),
            );
        };
        if !ip.is_loopback() && self.token.is_empty() {
            return problem(
                "bind",
                format!(
                    "`{ip}` exposes the API beyond this machine: set server.token (or KIMP_API_TOKEN) too"
                ),
            );
        }
        let ports = [
            ("market_port", self.market_port),
            ("liquidation_port", self.liquidation_port),
            ("gateway_port", self.gateway_port),
        ];
        for (i, (name, port)) in ports.iter().enumerate() {
            let clash = ports[i + 1..].iter().find(|(_, p)| p == port && *port != 0);
            if let Some((other, _)) = clash {
                return problem(name, format!("{port} is already server.{other}"));
            }
        }
        if self
            .token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return problem("token", "must not contain spaces or control characters");
        }
        for (i, origin) in self.cors_origins.iter().enumerate() {
            check_origin(origin).map_err(|message| Problem {
                path: KeyPath::of(&["server", "cors_origins"]).index(i),
                message,
            })?;
        }
        range("ws_updates_per_sec", self.ws_updates_per_sec, 1, 50)?;
        range("max_connections", self.max_connections, 1, 1_000_000)?;
        range(
            "max_ws_message_bytes",
            self.max_ws_message_bytes,
            64,
            1 << 20,
        )?;
        range("ws_queue_len", self.ws_queue_len, 4, 65_536)?;
        range("ws_write_timeout_ms", self.ws_write_timeout_ms, 100, 60_000)?;
        range("request_timeout_secs", self.request_timeout_secs, 1, 3_600)
    }
}

/// The listen IP of `server.bind` / `--bind`.
pub fn parse_bind_ip(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("invalid address `{text}`, expected an IP address such as 127.0.0.1"))
}

/// `*`, or an origin: scheme `http`/`https`, a host, an optional port, nothing else.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let url = Url::parse(origin).map_err(|e| format!("`{origin}` is not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && !origin.ends_with('/');
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare {
        return Err(format!(
            "`{origin}` is not an origin, expected scheme://host[:port] such as https://example.com"
        ));
    }
    Ok(())
}
