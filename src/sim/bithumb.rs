//! Simulated Bithumb: the Upbit-compatible v1 ticker WebSocket and the REST endpoints the feed
//! polls (`exchanges.md` §2).
//!
//! The WebSocket runs Upbit's session (`upbit.rs`) with Bithumb's [`Dialect`]: binary frames,
//! silent unknown codes, replacement on re-subscribe, error frame then close 1000,
//! `PING` → `{"status":"UP"}`, idle close after `bithumb_idle_close` (60 s observed); options are
//! camelCase only and the ticker differs as `bithumb_wire.rs` describes. REST errors, including
//! the `rest_status` fault, come with **HTTP 200** and the error in the body, as on the real venue.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;
use super::bithumb_wire::{
    all_krw, asset_warnings, legacy_error, market_list, one_krw, ticker_frame,
};
use super::clock::now_ms;
use super::faults::SimVenue;
use super::upbit::{Dialect, upgrade};
use super::upbit_wire::{SubscribeError, parse_subscribe_camel};

const BITHUMB: Dialect = Dialect {
    venue: SimVenue::Bithumb,
    tx: |shared| &shared.bithumb_tx,
    markets: |model| &model.bithumb,
    frame: ticker_frame,
    parse: parse_subscribe_camel,
    error_frame: SubscribeError::frame_name_first,
    idle: |opts| opts.bithumb_idle_close,
    counters: |stats| (&stats.bithumb_connections, &stats.bithumb_open),
};

/// `GET /bithumb/websocket/v1`
pub(crate) async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade(ws, shared, &BITHUMB)
}

/// A 200 reply with a JSON body (Bithumb's errors too).
fn ok_json(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The v1 error shape: `{"error":{"name":<status>,"message":…}}`, with HTTP 200.
fn v1_error(status: StatusCode, message: &str) -> Response {
    ok_json(json!({"error": {"name": status.as_u16(), "message": message}}).to_string())
}

/// `GET /bithumb/public/ticker/{COIN}_{PAYMENT}` (`ALL_KRW` or one coin, `BTC_KRW`).
pub(crate) async fn public_ticker(
    State(shared): State<Arc<Shared>>,
    Path(pair): Path<String>,
) -> Response {
    if shared
        .faults
        .rest_gate(SimVenue::Bithumb, &shared.cancel)
        .await
        .is_err()
    {
        return ok_json(legacy_error("5500", "Service temporarily unavailable"));
    }
    let (coin, payment) = pair.split_once('_').unwrap_or((pair.as_str(), ""));
    if payment != "KRW" {
        return ok_json(legacy_error("5500", "Invalid Parameter"));
    }
    let now = now_ms();
    let body = {
        let model = shared.model();
        if coin == "ALL" {
            Some(all_krw(&model.bithumb, now))
        } else {
            one_krw(&model.bithumb, coin, now)
        }
    };
    match body {
        Some(body) => shared.faults.rest_body(SimVenue::Bithumb, body),
        // The recorded reply for a coin Bithumb does not list.
        None => ok_json(legacy_error("5500", "상장 코인 아님")),
    }
}

/// `GET /bithumb/v1/market/all[?isDetails=true]` (`is_details` is not Bithumb's spelling: no
/// `market_warning` then).
pub(crate) async fn market_all(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::Bithumb, &shared.cancel)
        .await
    {
        return v1_error(status, "simulated fault");
    }
    let details = query.get("isDetails").is_some_and(|v| v == "true");
    let body = market_list(&shared.model().bithumb, details);
    shared.faults.rest_body(SimVenue::Bithumb, body)
}

/// `GET /bithumb/v1/market/virtual_asset_warning`
pub(crate) async fn virtual_asset_warning(State(shared): State<Arc<Shared>>) -> Response {
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::Bithumb, &shared.cancel)
        .await
    {
        return v1_error(status, "simulated fault");
    }
    let body = asset_warnings(&shared.model().bithumb, shared.started_ms);
    shared.faults.rest_body(SimVenue::Bithumb, body)
}

/// Unrouted Bithumb paths: the gateway's 404 (`rest-errors-recorded.jsonl`, line 3).
pub(crate) async fn not_found() -> Response {
    let body = json!({"name": "not_found", "message": "No Route matched with those values"});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}
