//! The simulator's control surface over HTTP: `GET /sim/faults` returns the knobs
//! ([`FaultSettings`](super::FaultSettings)), `POST /sim/faults` applies a partial JSON patch.
//!
//! A patch names only what changes, for example
//! `{"upbit":{"silent":true,"malformed_every":3},"fx":{"rest_status":503},"rate_multiplier":2}`;
//! `"rest_status":null` clears a status; `"moved":true` keeps a venue's sockets answering acks
//! and pings without data; `"drop_every_secs":30` cuts its sockets every 30 s (0 = off). Venues: `upbit`, `binance`, `fx`, `bithumb`, `bybit`,
//! `okx`, `fear_greed`, `binance_futures`, `bybit_linear`, `bitmex`. `"liquidation_rate":5000`
//! multiplies liquidation arrivals (0 stops them). One-shot actions are `"drop":["upbit","okx"]`,
//! `"binance_server_shutdown":true`, `"liquidation_cascade":true` and `"reset":true` (applied
//! first). A bad body changes nothing and gets 400 `{"error":{"code":"bad_request","message":...}}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::Shared;
use super::faults::{Faults, RATE_MULTIPLIER_RANGE, SimVenue};
use super::market::LIQUIDATION_RATE_RANGE;

/// `{"error":{"code":..,"message":..}}`, the house error shape of kimp's own HTTP surfaces.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

/// `GET /sim/faults`
pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults.settings()).into_response()
}

/// `POST /sim/faults`: a partial patch; replies with the resulting knobs.
pub(crate) async fn post_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPatch>(&body)
        .map_err(|e| e.to_string())
        .and_then(|patch| patch.apply(&shared.faults))
    {
        Ok(()) => Json(shared.faults.settings()).into_response(),
        Err(message) => json_error(StatusCode::BAD_REQUEST, "bad_request", &message),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FaultPatch {
    reset: bool,
    upbit: Option<VenuePatch>,
    binance: Option<VenuePatch>,
    fx: Option<VenuePatch>,
    bithumb: Option<VenuePatch>,
    bybit: Option<VenuePatch>,
    okx: Option<VenuePatch>,
    fear_greed: Option<VenuePatch>,
    binance_futures: Option<VenuePatch>,
    bybit_linear: Option<VenuePatch>,
    bitmex: Option<VenuePatch>,
    rate_multiplier: Option<f64>,
    liquidation_rate: Option<f64>,
    drop: Vec<SimVenue>,
    binance_server_shutdown: bool,
    liquidation_cascade: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct VenuePatch {
    silent: Option<bool>,
    moved: Option<bool>,
    drop_every_secs: Option<u64>,
    malformed_every: Option<u32>,
    rest_delay_ms: Option<u64>,
    rest_status: StatusPatch,
}

/// `rest_status` in a patch: absent = unchanged, `null` = off, a number = that status.
#[derive(Debug, Default, Clone, Copy)]
enum StatusPatch {
    #[default]
    Unchanged,
    Set(Option<u16>),
}

impl<'de> Deserialize<'de> for StatusPatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<u16>::deserialize(d).map(StatusPatch::Set)
    }
}

impl FaultPatch {
    /// Validates everything first so a bad patch changes nothing.
    fn apply(self, faults: &Faults) -> Result<(), String> {
        if let Some(m) = self.rate_multiplier {
            let (lo, hi) = RATE_MULTIPLIER_RANGE;
            if !(lo..=hi).contains(&m) {
                return Err(format!(
                    "rate_multiplier must be within {lo}..={hi}, got {m}"
                ));
            }
        }
        if let Some(r) = self.liquidation_rate {
            let (lo, hi) = LIQUIDATION_RATE_RANGE;
            if !(lo..=hi).contains(&r) {
                return Err(format!(
                    "liquidation_rate must be within {lo}..={hi}, got {r}"
                ));
            }
        }
        let venues = [
            (SimVenue::Upbit, self.upbit),
            (SimVenue::Binance, self.binance),
            (SimVenue::Fx, self.fx),
            (SimVenue::Bithumb, self.bithumb),
            (SimVenue::Bybit, self.bybit),
            (SimVenue::Okx, self.okx),
            (SimVenue::FearGreed, self.fear_greed),
            (SimVenue::BinanceFutures, self.binance_futures),
            (SimVenue::BybitLinear, self.bybit_linear),
            (SimVenue::Bitmex, self.bitmex),
        ];
        for (venue, patch) in &venues {
            if let Some(StatusPatch::Set(Some(status))) = patch.as_ref().map(|p| p.rest_status)
                && !(400..=599).contains(&status)
            {
                return Err(format!(
                    "{venue:?}.rest_status must be an HTTP error status (400-599), got {status}"
                ));
            }
        }
        if self.reset {
            faults.reset();
        }
        for (venue, patch) in venues {
            let Some(p) = patch else { continue };
            faults.update_venue(venue, |v| {
                v.silent = p.silent.unwrap_or(v.silent);
                v.moved = p.moved.unwrap_or(v.moved);
                v.drop_every_secs = p.drop_every_secs.unwrap_or(v.drop_every_secs);
                v.malformed_every = p.malformed_every.unwrap_or(v.malformed_every);
                v.rest_delay_ms = p.rest_delay_ms.unwrap_or(v.rest_delay_ms);
                if let StatusPatch::Set(status) = p.rest_status {
                    v.rest_status = status;
                }
            });
        }
        if let Some(m) = self.rate_multiplier {
            faults.set_rate_multiplier(m);
        }
        if let Some(r) = self.liquidation_rate {
            faults.set_liquidation_rate(r);
        }
        for venue in self.drop {
            faults.drop_connections(venue);
        }
        if self.binance_server_shutdown {
            faults.binance_server_shutdown();
        }
        if self.liquidation_cascade {
            faults.liquidation_cascade();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_merges_and_validates() {
        let faults = Faults::default();
        let patch: FaultPatch = serde_json::from_str(
            r#"{"upbit":{"silent":true,"rest_status":503},"okx":{"malformed_every":2,"moved":true,"drop_every_secs":7},"bitmex":{"silent":true},"rate_multiplier":2.5,"liquidation_rate":0,"liquidation_cascade":true,"drop":["fx","fear_greed","bybit_linear"]}"#,
        )
        .unwrap();
        patch.apply(&faults).unwrap();
        let s = faults.settings();
        assert!(s.upbit.silent);
        assert_eq!(s.upbit.rest_status, Some(503));
        assert_eq!(s.okx.malformed_every, 2);
        assert!(s.okx.moved);
        assert_eq!(s.okx.drop_every_secs, 7);
        assert!((s.rate_multiplier - 2.5).abs() < f64::EPSILON);
        assert!(s.bitmex.silent);
        assert!(s.liquidation_rate.abs() < f64::EPSILON);
        assert_eq!(faults.cascades_requested(), 1);

        let clear: FaultPatch = serde_json::from_str(r#"{"upbit":{"rest_status":null}}"#).unwrap();
        clear.apply(&faults).unwrap();
        let s = faults.settings();
        assert_eq!(s.upbit.rest_status, None);
        assert!(s.upbit.silent, "absent fields stay as they were");

        for bad in [
            r#"{"rate_multiplier":0}"#,
            r#"{"liquidation_rate":-1}"#,
            r#"{"upbit":{"rest_status":200}}"#,
            r#"{"nope":1}"#,
            r#"{"drop":["kraken"]}"#,
        ] {
            let result = serde_json::from_str::<FaultPatch>(bad)
                .map_err(|e| e.to_string())
                .and_then(|p| p.apply(&faults));
            assert!(result.is_err(), "{bad} must be rejected");
        }
        assert!(
            faults.settings().upbit.silent,
            "a rejected patch changes nothing"
        );
    }
}
