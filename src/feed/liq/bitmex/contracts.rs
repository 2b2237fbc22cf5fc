//! BitMEX contract table from the `instrument` stream and the USD value of a liquidation order
//! (exchanges.md §7, BitMEX's contract rules; per-symbol numbers come from the rows, never assumed).
//!
//! Rows arrive whole in `partial` and `insert` and sparse in `update` (one or a few fields), which
//! merge into the row; an update for a symbol not in the table is ignored (its partial will bring
//! it), as BitMEX's own clients do.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (an `allow`: clippy.toml may list it in doc-valid-idents later)"
)]

use std::collections::HashMap;

use crate::feed::ParseError;
use crate::feed::num::{self, Num};

/// The fields of one instrument row kimp needs (borrowed from the frame; see `BitmexRow`).
pub(super) struct InstrumentFields<'r, 'a> {
    pub symbol: &'r str,
    pub multiplier: Option<&'r Num<'a>>,
    pub is_inverse: Option<bool>,
    pub is_quanto: Option<bool>,
    pub underlying_to_position: Option<&'r Num<'a>>,
    pub underlying_to_settle: Option<&'r Num<'a>>,
    pub settl_currency: Option<&'r str>,
    pub quote_currency: Option<&'r str>,
    pub root_symbol: Option<&'r str>,
    pub last_price: Option<&'r Num<'a>>,
    pub mark_price: Option<&'r Num<'a>>,
}

/// One contract as merged so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Contract {
    multiplier: Option<f64>,
    inverse: bool,
    quanto: bool,
    underlying_to_position: Option<f64>,
    underlying_to_settle: Option<f64>,
    settl_currency: Option<String>,
    quote_currency: Option<String>,
    root_symbol: Option<String>,
    last_price: Option<f64>,
    mark_price: Option<f64>,
}

/// What valuing an order came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Valued {
    /// (quantity in base units, notional in USD).
    Ready(f64, f64),
    /// Needs the XBT price, not known yet.
    NeedXbt,
    /// The contract is not one kimp can value in USD.
    Never(&'static str),
}

impl Contract {
    /// The coin: `rootSymbol` with `XBT` → `BTC`.
    pub(super) fn base(&self) -> Option<&str> {
        match self.root_symbol.as_deref()? {
            "XBT" => Some("BTC"),
            root => Some(root),
        }
    }

    fn price(&self) -> Option<f64> {
        self.mark_price.or(self.last_price).filter(|p| *p > 0.0)
    }

    /// `leaves` contracts at `price` → USD (BitMEX's rules, exchanges.md §7).
    pub(super) fn value(&self, price: f64, leaves: f64, xbt_usd: Option<f64>) -> Valued {
        let Some(multiplier) = self.multiplier else {
            return Valued::Never("no multiplier");
        };
        if self.inverse {
            // `XBTUSD`: one contract is multiplier / underlyingToSettleMultiplier quote units (1 USD).
            let Some(u2s) = self.underlying_to_settle.filter(|v| *v != 0.0) else {
                return Valued::Never("inverse without underlyingToSettleMultiplier");
            };
            if !usd_like(self.quote_currency.as_deref()) {
                return Valued::Never("inverse contract not quoted in USD");
            }
            let notional = leaves * (multiplier / u2s).abs();
            return Valued::Ready(notional / price, notional);
        }
        if self.quanto {
            // `ETHUSD`: the value is in XBT — leaves × price × multiplier satoshis.
            if self.settl_currency.as_deref() != Some("XBt") {
                return Valued::Never("quanto not settled in XBt");
            }
            let Some(xbt_usd) = xbt_usd else {
                return Valued::NeedXbt;
            };
            let notional = leaves * price * multiplier.abs() / 1e8 * xbt_usd;
            return Valued::Ready(notional / price, notional);
        }
        // Linear (`XBTUSDT`, and `ETHM19` quoted in XBT).
        let Some(u2p) = self.underlying_to_position.filter(|v| *v > 0.0) else {
            return Valued::Never("linear without underlyingToPositionMultiplier");
        };
        let quantity = leaves / u2p;
        match self.quote_currency.as_deref() {
            q if usd_like(q) => Valued::Ready(quantity, quantity * price),
            Some("XBT") => xbt_usd.map_or(Valued::NeedXbt, |x| {
                Valued::Ready(quantity, quantity * price * x)
            }),
            _ => Valued::Never("linear contract quoted in neither USD nor XBT"),
        }
    }

    /// Copies every field the row carries; absent and `null` fields keep their value.
    fn merge(&mut self, row: &InstrumentFields<'_, '_>) -> Result<(), ParseError> {
        let set = |slot: &mut Option<f64>, field, n: Option<&Num<'_>>| -> Result<(), ParseError> {
            if let Some(v) = num::optional_f64(field, n)? {
                *slot = Some(v);
            }
            Ok(())
        };
        set(&mut self.multiplier, "multiplier", row.multiplier)?;
        set(
            &mut self.underlying_to_position,
            "underlyingToPositionMultiplier",
            row.underlying_to_position,
        )?;
        set(
            &mut self.underlying_to_settle,
            "underlyingToSettleMultiplier",
            row.underlying_to_settle,
        )?;
        set(&mut self.last_price, "lastPrice", row.last_price)?;
        set(&mut self.mark_price, "markPrice", row.mark_price)?;
        self.inverse = row.is_inverse.unwrap_or(self.inverse);
        self.quanto = row.is_quanto.unwrap_or(self.quanto);
        for (slot, value) in [
            (&mut self.settl_currency, row.settl_currency),
            (&mut self.quote_currency, row.quote_currency),
            (&mut self.root_symbol, row.root_symbol),
        ] {
            if let Some(v) = value {
                *slot = Some(v.to_owned());
            }
        }
        Ok(())
    }
}

fn usd_like(currency: Option<&str>) -> bool {
    matches!(currency, Some("USD" | "USDT" | "USDC"))
}

/// symbol → contract, for one connection.
#[derive(Debug, Clone, Default)]
pub(super) struct Contracts {
    rows: HashMap<String, Contract>,
}

impl Contracts {
    pub(super) fn get(&self, symbol: &str) -> Option<&Contract> {
        self.rows.get(symbol)
    }

    pub(super) fn clear(&mut self) {
        self.rows.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The USD price of XBT: `XBTUSD`'s mark (or last) price, else `XBTUSDT`'s.
    pub(super) fn xbt_usd(&self) -> Option<f64> {
        ["XBTUSD", "XBTUSDT"]
            .iter()
            .find_map(|s| self.rows.get(*s).and_then(Contract::price))
    }

    /// `partial`/`insert` (whole rows: replace) or `update` (sparse: merge into a known row);
    /// `delete` removes.
    pub(super) fn apply(
        &mut self,
        action: &str,
        row: &InstrumentFields<'_, '_>,
    ) -> Result<(), ParseError> {
        match action {
            "partial" | "insert" => {
                let mut contract = Contract::default();
                contract.merge(row)?;
                self.rows.insert(row.symbol.to_owned(), contract);
            }
            "update" => {
                if let Some(contract) = self.rows.get_mut(row.symbol) {
                    contract.merge(row)?;
                }
            }
            "delete" => {
                self.rows.remove(row.symbol);
            }
            other => {
                return Err(ParseError::field(
                    "action",
                    format!("unknown action {other}"),
                ));
            }
        }
        Ok(())
    }
}
