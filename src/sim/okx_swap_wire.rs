//! OKX v5 SWAP wire formats as the simulator writes them (`exchanges.md` §6,
//! `fixtures/okx/ws-liquidation-orders-*`, `rest-instrument-swap-linear-row-fixture.json`).
//!
//! `liquidation-orders` pushes `{"arg":{"channel":"liquidation-orders","instType":"SWAP"},
//! "data":[{"details":[{"bkLoss","bkPx","ccy":"","posSide","side","sz","ts"}],"instFamily",
//! "instId","instType":"SWAP","uly"}]}`: every value a string, `sz` in **contracts**, `bkPx` the
//! bankruptcy price, `side` the liquidation order's side (`sell` closes a long), `posSide`
//! `long`/`short` for hedge-mode accounts and `net` for one-way ones. One push per instrument and
//! model step, all of that step's liquidations in `details`.
//!
//! `GET /api/v5/public/instruments?instType=SWAP` rows: linear `{COIN}-USDT-SWAP` (`ctType`
//! `linear`, `ctVal` in coins, `settleCcy` USDT) and inverse `BTC-USD-SWAP`, `ETH-USD-SWAP`
//! (`ctType` `inverse`, `ctVal` in USD, settled in the coin); keys sorted like the recorded row.

use serde_json::{Value, json};

use super::market::{ContractKind, LiqContract, SimLiquidation};
use super::wire::{JsonObject, plain};

/// The one subscription argument that covers every swap.
pub(crate) fn liquidation_arg(inst_type: &str) -> String {
    let mut o = JsonObject::with_capacity(64);
    o.str("channel", "liquidation-orders")
        .str("instType", inst_type);
    o.finish()
}

fn family(c: &LiqContract) -> &str {
    c.symbol.strip_suffix("-SWAP").unwrap_or(&c.symbol)
}

/// One push with `events` (all of contract `c`) as its `details`.
pub(crate) fn liquidation_frame<'a>(
    c: &LiqContract,
    events: impl IntoIterator<Item = &'a SimLiquidation>,
) -> String {
    let details: Vec<String> = events
        .into_iter()
        .map(|e| {
            let pos_side = match (e.hedge, e.long) {
                (false, _) => "net",
                (true, true) => "long",
                (true, false) => "short",
            };
            let mut o = JsonObject::with_capacity(160);
            o.str("bkLoss", &plain(e.bk_loss, 4))
                .str("bkPx", &plain(e.price, c.price_decimals))
                .str("ccy", "")
                .str("posSide", pos_side)
                .str("side", if e.long { "sell" } else { "buy" })
                .str("sz", &plain(e.size, c.lot_decimals))
                .str("ts", &e.time_ms.to_string());
            o.finish()
        })
        .collect();
    let mut row = JsonObject::with_capacity(128 + details.len() * 160);
    row.raw("details", &format!("[{}]", details.join(",")))
        .str("instFamily", family(c))
        .str("instId", &c.symbol)
        .str("instType", "SWAP")
        .str("uly", family(c));
    format!(
        "{{\"arg\":{},\"data\":[{}]}}",
        liquidation_arg("SWAP"),
        row.finish()
    )
}

/// When the simulated swaps were listed (epoch ms, as OKX's `listTime`).
const LIST_TIME_MS: u64 = 1_666_076_190_000;

fn instrument(c: &LiqContract, base: &str) -> Value {
    let (ct_type, ct_val, ct_val_ccy, settle) = match c.kind {
        ContractKind::Inverse { usd } => ("inverse", usd, "USD", base),
        ContractKind::Linear { coins } | ContractKind::Quanto { multiplier: coins } => {
            ("linear", coins, base, "USDT")
        }
    };
    let lot = plain(c.lot, c.lot_decimals);
    json!({
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": ct_type,
        "ctVal": plain(ct_val, 8), "ctValCcy": ct_val_ccy, "expTime": "",
        "instFamily": family(c), "instId": c.symbol, "instType": "SWAP",
        "lever": if base == "BTC" || base == "ETH" { "100" } else { "50" },
        "listTime": LIST_TIME_MS.to_string(), "lotSz": lot,
        "maxIcebergSz": "100000000.0000000000000000", "maxLmtSz": "100000000",
        "maxMktSz": "85000", "maxStopSz": "85000",
        "maxTriggerSz": "100000000.0000000000000000", "maxTwapSz": "", "minSz": lot,
        "optType": "", "quoteCcy": "", "settleCcy": settle, "state": "live", "stk": "",
        "tickSz": plain(c.tick, c.price_decimals), "uly": family(c),
    })
}

/// `GET /api/v5/public/instruments?instType=SWAP`: `{"code":"0","msg":"","data":[..]}`.
pub(crate) fn swap_instruments_body(contracts: &[LiqContract]) -> String {
    let data: Vec<Value> = contracts
        .iter()
        .map(|c| {
            let base = c.symbol.split('-').next().unwrap_or("");
            instrument(c, base)
        })
        .collect();
    json!({"code": "0", "msg": "", "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::{LiqExchange, MarketModel};

    #[test]
    fn push_and_rows_have_the_recorded_shape() {
        let m = MarketModel::new(1, 1_795_000_000_000);
        let contracts = m.liquidation_contracts(LiqExchange::Okx);
        let btc = &contracts[0];
        let e = SimLiquidation {
            exchange: LiqExchange::Okx,
            contract: 0,
            long: true,
            price: 82_655.7,
            fill: 82_655.7,
            size: 8.55,
            notional_usd: 0.0,
            time_ms: 1_791_565_600_771,
            id: 1,
            hedge: true,
            bk_loss: 0.0,
        };
        assert_eq!(
            liquidation_frame(btc, [&e]),
            r#"{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"82655.7","ccy":"","posSide":"long","side":"sell","sz":"8.55","ts":"1791565600771"}],"instFamily":"BTC-USDT","instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT"}]}"#
        );
        let body: Value =
            serde_json::from_str(&swap_instruments_body(contracts)).unwrap_or_default();
        let rows = body["data"].as_array().cloned().unwrap_or_default();
        let row = |id: &str| rows.iter().find(|r| r["instId"] == id).cloned();
        let linear = row("BTC-USDT-SWAP").unwrap_or_default();
        assert_eq!(
            (
                &linear["ctType"],
                &linear["ctVal"],
                &linear["ctValCcy"],
                &linear["settleCcy"]
            ),
            (
                &json!("linear"),
                &json!("0.01"),
                &json!("BTC"),
                &json!("USDT")
            )
        );
        let inverse = row("BTC-USD-SWAP").unwrap_or_default();
        assert_eq!(
            (
                &inverse["ctType"],
                &inverse["ctVal"],
                &inverse["ctValCcy"],
                &inverse["settleCcy"]
            ),
            (
                &json!("inverse"),
                &json!("100"),
                &json!("USD"),
                &json!("BTC")
            )
        );
        assert_eq!(
            row("PEPE-USDT-SWAP").unwrap_or_default()["ctVal"],
            "10000000"
        );
    }
}
