//! OKX contract sizes (exchanges.md §6): `GET /api/v5/public/instruments?instType=SWAP`.
//!
//! Liquidation sizes are in contracts; one contract is `ctVal × ctMult` units of `ctValCcy` — base
//! coin for linear swaps (0.01 BTC for `BTC-USDT-SWAP`), USD for inverse ones (100 for
//! `BTC-USD-SWAP`). The table is shared between the poller that refreshes it and the liquidation
//! parser that reads it ([`SharedOkxInstruments`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde::Deserialize;

use crate::feed::ParseError;
use crate::feed::num::{self, Num};

/// The table as the poller and the parser share it: the poller replaces or extends it, the parser
/// takes a read lock per frame (never across an `.await`).
pub type SharedOkxInstruments = Arc<RwLock<OkxInstruments>>;

/// How one contract is sized.
#[derive(Debug, Clone, PartialEq)]
pub struct OkxContract {
    /// `ctType: inverse` — the contract is worth `ct_val` USD.
    pub inverse: bool,
    /// Units of `ct_val_ccy` per contract (`ctVal × ctMult`).
    pub ct_val: f64,
    pub ct_val_ccy: String,
    pub settle_ccy: String,
}

impl OkxContract {
    /// `sz` contracts at bankruptcy price `price` → (quantity in base units, notional in USD), or
    /// `None` when the contract's currencies are not USD-valued (never guessed).
    #[must_use]
    pub fn value(&self, contracts: f64, price: f64) -> Option<(f64, f64)> {
        let units = contracts * self.ct_val;
        if self.inverse {
            (self.ct_val_ccy == "USD").then(|| (units / price, units))
        } else {
            matches!(self.settle_ccy.as_str(), "USDT" | "USDC" | "USD")
                .then(|| (units, units * price))
        }
    }
}

/// `instId` → contract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OkxInstruments {
    contracts: HashMap<String, OkxContract>,
}

impl OkxInstruments {
    #[must_use]
    pub fn get(&self, inst_id: &str) -> Option<&OkxContract> {
        self.contracts.get(inst_id)
    }

    pub fn insert(&mut self, inst_id: String, contract: OkxContract) {
        self.contracts.insert(inst_id, contract);
    }

    /// Adds (or updates) every contract of `other`; contracts missing from it are kept.
    pub fn extend(&mut self, other: OkxInstruments) {
        self.contracts.extend(other.contracts);
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.contracts.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty()
    }

    /// A new shareable table.
    #[must_use]
    pub fn shared(self) -> SharedOkxInstruments {
        Arc::new(RwLock::new(self))
    }

    /// Replaces the shared table's contents (a poisoned lock is recovered: the table is plain data).
    pub fn replace_shared(shared: &SharedOkxInstruments, table: OkxInstruments) {
        *shared.write().unwrap_or_else(PoisonError::into_inner) = table;
    }
}

/// `{"code":"0","msg":"","data":[…]}`; a row (okx.com/docs-v5 "Get instruments", as recorded in
/// thrasher-corp/gocryptotrader `okx_test.go`): `{"alias":"","baseCcy":"","category":"1",
/// "ctMult":"1","ctType":"linear","ctVal":"0.0001","ctValCcy":"BTC","expTime":"",
/// "instFamily":"BTC-USDC","instId":"BTC-USDC-SWAP","instType":"SWAP",…,"settleCcy":"USDC",
/// "state":"live","tickSz":"0.1","uly":"BTC-USDC"}`.
#[derive(Deserialize)]
struct OkxInstrumentsReply<'a> {
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow, default)]
    msg: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Vec<OkxInstrument<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxInstrument<'a> {
    #[serde(borrow)]
    inst_id: Cow<'a, str>,
    #[serde(borrow)]
    ct_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ct_val: Option<Num<'a>>,
    #[serde(borrow)]
    ct_mult: Option<Num<'a>>,
    #[serde(borrow, default)]
    ct_val_ccy: Cow<'a, str>,
    #[serde(borrow, default)]
    settle_ccy: Cow<'a, str>,
}

/// A reply of the instruments endpoint → the table. `code ≠ "0"` is an error; rows without a
/// usable `ctVal`/`ctType` (spot, options) are left out.
pub fn parse_instruments(body: &[u8]) -> Result<OkxInstruments, ParseError> {
    let reply: OkxInstrumentsReply<'_> = serde_json::from_slice(body)?;
    let code = reply
        .code
        .as_ref()
        .map_or_else(|| "missing".to_owned(), Num::describe);
    if code != "0" {
        return Err(ParseError::Venue(format!("code {code}: {}", reply.msg)));
    }
    let mut table = OkxInstruments::default();
    for row in reply.data {
        match contract(&row) {
            Ok(Some(c)) => table.insert(row.inst_id.into_owned(), c),
            Ok(None) => {}
            Err(error) => tracing::debug!(inst_id = %row.inst_id, %error, "instrument row skipped"),
        }
    }
    Ok(table)
}

fn contract(row: &OkxInstrument<'_>) -> Result<Option<OkxContract>, ParseError> {
    let inverse = match row.ct_type.as_deref() {
        Some("linear") => false,
        Some("inverse") => true,
        _ => return Ok(None),
    };
    let Some(ct_val) = num::optional_f64("ctVal", row.ct_val.as_ref())? else {
        return Ok(None);
    };
    let ct_mult = num::optional_f64("ctMult", row.ct_mult.as_ref())?.unwrap_or(1.0);
    let per_contract = ct_val * ct_mult;
    if per_contract <= 0.0 {
        return Err(ParseError::field(
            "ctVal",
            format!("not positive: {per_contract}"),
        ));
    }
    Ok(Some(OkxContract {
        inverse,
        ct_val: per_contract,
        ct_val_ccy: row.ct_val_ccy.to_string(),
        settle_ccy: row.settle_ccy.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_errors_and_rows() {
        let err = parse_instruments(br#"{"code":"50011","msg":"Too Many Requests","data":[]}"#);
        assert!(matches!(err, Err(ParseError::Venue(m)) if m == "code 50011: Too Many Requests"));
        assert!(parse_instruments(br#"{"msg":"","data":[]}"#).is_err());
        let body = br#"{"code":"0","msg":"","data":[
            {"instId":"BTC-USD-SWAP","ctType":"inverse","ctVal":"100","ctMult":"1","ctValCcy":"USD","settleCcy":"BTC"},
            {"instId":"BTC-USDT","ctType":"","ctVal":"","ctValCcy":"","settleCcy":""},
            {"instId":"BAD-USDT-SWAP","ctType":"linear","ctVal":"0","ctValCcy":"BAD","settleCcy":"USDT"}]}"#;
        let table = parse_instruments(body).unwrap();
        assert_eq!(table.len(), 1);
        let inverse = table.get("BTC-USD-SWAP").unwrap();
        assert_eq!(
            inverse.value(3.0, 50_000.0),
            Some((300.0 / 50_000.0, 300.0))
        );
    }
}
